"""Normalisation traps (issue #3) of Pillow and OpenCV, and how the pipeline avoids them."""

from __future__ import annotations

import inspect
import io
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

import pipeline.core
from pipeline.core.derivatives import make_derivatives
from pipeline.core.imaging import SRGB_ICC, to_display_array
from pipeline.core.profile import ProcessingProfile
from pipeline.core.scan import prepare_scan
from tests.unit.icc_builder import SPACES, delta_e, encode_in, rgb_profile
from tests.unit.images import encode, gradient_rgb
from tests.unit.normalisation_input import banded, decode, tiff

# --- traps of the libraries themselves ---------------------------------------------------------


def test_trap_pillow_opens_16_bit_rgb_tiff_as_8_bit_but_we_do_not():
    ramp = np.linspace(0, 65535, 16 * 16 * 3).round().astype(np.uint16).reshape(16, 16, 3)
    data = tiff(ramp, photometric="rgb")
    assert Image.open(io.BytesIO(data)).mode == "RGB"  # the trap: 8 bits per sample
    scan = decode(data)
    assert scan.bit_depth == 16
    assert scan.samples is not None and scan.samples.dtype.itemsize == 2
    assert np.array_equal(np.asarray(scan.samples), ramp)


def test_trap_opencv_default_read_drops_bits_and_orients_itself():
    ramp = np.linspace(0, 65535, 16 * 16).round().astype(np.uint16).reshape(16, 16)
    png16 = encode(ramp, "PNG")
    assert cv2.imdecode(np.frombuffer(png16, np.uint8), cv2.IMREAD_COLOR).dtype == np.uint8
    exif = Image.Exif()
    exif[0x0112] = 6
    jpeg = encode(banded(), "JPEG", exif=exif.tobytes())
    turned = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert turned.shape[:2] == (90, 60)  # OpenCV applied EXIF orientation by itself
    kept = cv2.imdecode(
        np.frombuffer(jpeg, np.uint8), cv2.IMREAD_UNCHANGED | cv2.IMREAD_IGNORE_ORIENTATION
    )
    assert kept.shape[:2] == (60, 90)
    # Ours: the stored size, then rotated exactly once.
    scan = decode(jpeg, "x_front_1.jpg")
    assert (scan.width, scan.height) == (90, 60)
    assert to_display_array(scan).shape[:2] == (90, 60)


def _core_sources() -> list[tuple[str, str]]:
    folder = Path(inspect.getfile(pipeline.core)).parent
    return [(path.name, path.read_text()) for path in sorted(folder.glob("*.py"))]


def test_trap_where_opencv_decodes_it_is_told_to_keep_bits_and_orientation():
    for name, source in _core_sources():
        for call in ("cv2.imread(", "cv2.imdecode("):
            start = source.find(call)
            while start >= 0:
                statement = source[start : source.find(")", start) + 1]
                assert (
                    "IMREAD_UNCHANGED" in statement and "IMREAD_IGNORE_ORIENTATION" in statement
                ), (
                    name,
                    statement,
                )
                start = source.find(call, start + 1)


def test_trap_opencv_ignores_icc_but_we_convert():
    primaries, white, trc, encode_curve = SPACES["ProPhoto RGB"]
    encoded = encode_in((200, 80, 40), primaries, white, encode_curve)
    data = encode(
        np.broadcast_to(encoded, (8, 8, 3)).copy(),
        "PNG",
        icc_profile=rgb_profile("ProPhoto RGB", primaries, white, trc),
    )
    raw = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    assert tuple(raw[0, 0][::-1]) == tuple(encoded)  # OpenCV: the encoded values, as they are
    assert delta_e(to_display_array(decode(data, "x_front_1.png"))[0, 0], (200, 80, 40)) < 2.0


def test_trap_pillow_draft_works_only_for_jpeg_and_rounds_to_a_scale():
    png = Image.open(io.BytesIO(encode(gradient_rgb(640, 480), "PNG")))
    assert png.draft("RGB", (160, 120)) is None and png.size == (640, 480)  # ignored
    jpeg = Image.open(io.BytesIO(encode(gradient_rgb(640, 480), "JPEG")))
    jpeg.draft("RGB", (100, 100))  # not the aspect of the image: the scale keeps both >= asked
    assert jpeg.size == (160, 120)


def test_we_never_draft_the_decode_full_resolution_feeds_stats_and_tiles():
    for name, source in _core_sources():
        assert ".draft(" not in source, name
    data = encode(gradient_rgb(640, 480), "JPEG")
    scan = decode(data, "x_front_1.jpg")
    assert scan.image.size == (640, 480)
    assert to_display_array(scan).shape[:2] == (480, 640)


def test_derivatives_from_a_converted_scan_embed_srgb_and_no_other_profile():
    pixels = gradient_rgb(200, 150)
    made = make_derivatives(
        pixels,
        ProcessingProfile().derivatives.model_copy(
            update={"access": 100, "preview": 60, "thumb": 20}
        ),
    )
    for item in made:
        assert Image.open(io.BytesIO(item.data)).info.get("icc_profile") == SRGB_ICC


def test_grey_uncompressed_tiff_is_viewed_without_pillow_and_exact():
    grey = gradient_rgb(40, 30)[..., 1].copy()
    scan = decode(tiff(grey))
    assert scan.samples is not None
    assert np.array_equal(to_display_array(scan), grey)


def test_the_access_derivative_serves_as_iiif_full_max():
    profile = ProcessingProfile.model_validate(
        {"derivatives": {"access": 300, "preview": 120, "thumb": 40}, "iiif": {"tile_size": 128}}
    )
    data = encode(gradient_rgb(600, 400), "PNG")
    prepared = prepare_scan(
        data, name="a_front_1.png", view="front", profile=profile, iiif_id="http://h/iiif/x"
    )
    assert prepared.tiles is not None
    files = dict(prepared.tiles.files)
    access = next(d for d in prepared.derivatives if d.name == "access")
    assert files["full/max/0/default.jpg"] == access.data
    assert prepared.tiles.info["maxWidth"] == 300
    assert Image.open(io.BytesIO(access.data)).size == (300, 200)
