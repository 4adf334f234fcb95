"""Normalisation traps (issue #3): orientation from XMP, 12-bit and float samples, modes, CMYK,
ICC conversion through LittleCMS, and the silent traps of Pillow and OpenCV. Every input is made
here: numpy pixels, Pillow/tifffile files, ICC profiles built from published primaries and curves.
"""

from __future__ import annotations

import inspect
import io
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms, ImageOps

import pipeline.core
from pipeline.core.derivatives import make_derivatives
from pipeline.core.imaging import (
    SRGB_ICC,
    DecodedScan,
    decode_scan,
    to_display_array,
    to_upright_pixels,
)
from pipeline.core.profile import ProcessingProfile
from pipeline.core.scan import prepare_scan
from pipeline.samples.icc import (
    D50_XYZ,
    D65_XY,
    SRGB_PRIMARIES,
    adapt_to_d50,
    make_adobe_rgb_profile,
    make_rgb_to_xyz_matrix,
)
from tests.unit.images import encode, gradient_rgb

LIMIT = 10**9


def decode(data: bytes, name: str = "a_front_1.tif") -> DecodedScan:
    return decode_scan(data, name=name, max_pixels=LIMIT)


def display(data: bytes, name: str = "a_front_1.tif") -> np.ndarray:
    return to_display_array(decode(data, name))


def tiff(array: np.ndarray, **options: object) -> bytes:
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, array, **options)
    return buffer.getvalue()


def banded(height: int = 60, width: int = 90) -> np.ndarray:
    """Grey picture with a white band down its left edge: shows where 'left' went."""
    array = np.full((height, width, 3), 60, np.uint8)
    array[:, :10] = 255
    return array


# --- orientation -----------------------------------------------------------------------------

XMP_ATTRIBUTE = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="{o}"/></rdf:RDF></x:xmpmeta>'
)
XMP_ELEMENT = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:tiff="http://ns.adobe.com/tiff/1.0/"><tiff:Orientation>{o}</tiff:Orientation>'
    b"</rdf:Description></rdf:RDF></x:xmpmeta>"
)


@pytest.mark.parametrize("template", [XMP_ATTRIBUTE, XMP_ELEMENT])
def test_xmp_only_orientation_in_a_jpeg_is_applied_once_and_recorded(template):
    xmp = template.replace(b"{o}", b"6")
    data = encode(banded(), "JPEG", quality=95, xmp=xmp)
    scan = decode(data, "x_front_1.jpg")
    assert b"Exif\0\0" not in data  # no EXIF at all: the orientation is only in XMP
    assert scan.orientation == 6
    upright = to_display_array(scan)
    assert upright.shape[:2] == (90, 60)  # turned a quarter, not a half or not at all
    assert upright[:8].mean() > 200  # 6 = rotate 90° clockwise: the left band is on top


def test_xmp_only_orientation_in_a_tiff_is_applied():
    xmp = XMP_ATTRIBUTE.replace(b"{o}", b"8")
    data = tiff(banded(), photometric="rgb", extratags=[(700, 1, len(xmp), xmp, True)])
    scan = decode(data)
    assert scan.orientation == 8
    upright = to_display_array(scan)
    assert upright.shape[:2] == (90, 60)
    assert upright[-8:].mean() > 200  # 8 = rotate 90° counter-clockwise: left goes to bottom


@pytest.mark.parametrize("compression", ["zlib", "lzw"])
@pytest.mark.parametrize("where", ["tag", "xmp"])
def test_compressed_tiff_orientation_is_applied_exactly_once(compression, where):
    # Pillow decodes these with libtiff, which applies (and drops) the TIFF tag by itself.
    if where == "tag":
        extratags = [(274, "H", 1, 6, True)]
    else:
        xmp = XMP_ATTRIBUTE.replace(b"{o}", b"6")
        extratags = [(700, 1, len(xmp), xmp, True)]
    data = tiff(banded(), photometric="rgb", compression=compression, extratags=extratags)
    scan = decode(data)
    assert scan.orientation == 6
    upright = to_display_array(scan)
    assert upright.shape[:2] == (90, 60)
    assert upright[:8].mean() > 200


def test_exif_wins_over_xmp_and_rotation_happens_once():
    exif = Image.Exif()
    exif[0x0112] = 3
    data = encode(
        banded(), "JPEG", quality=95, exif=exif.tobytes(), xmp=XMP_ATTRIBUTE.replace(b"{o}", b"6")
    )
    scan = decode(data, "x_front_1.jpg")
    assert scan.orientation == 3
    upright = to_display_array(scan)
    assert upright.shape[:2] == (60, 90)
    assert upright[:, -8:].mean() > 200  # 180°: the band is on the right


@pytest.mark.parametrize("value", [0, 9, 255])
def test_invalid_exif_orientation_is_ignored(value):
    exif = Image.Exif()
    exif[0x0112] = value
    scan = decode(encode(banded(), "JPEG", exif=exif.tobytes()), "x_front_1.jpg")
    assert scan.orientation is None
    assert to_display_array(scan).shape[:2] == (60, 90)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_matches_the_standard(orientation):
    # PNG (lossless) with EXIF, compared with Pillow's reference implementation pixel for pixel.
    source = gradient_rgb(48, 30)
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(source, "PNG", exif=exif.tobytes())
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))))
    assert np.array_equal(display(data, "x_front_1.png"), expected)


@pytest.mark.parametrize("orientation", [3, 6, 7])
def test_tiff_orientation_tag_on_the_uncompressed_fast_path(orientation):
    source = gradient_rgb(48, 30)
    data = tiff(source, photometric="rgb", extratags=[(274, "H", 1, orientation, True)])
    scan = decode(data)
    assert scan.samples is not None  # viewed in the file's bytes, Pillow did not decode it
    exif = Image.Exif()
    exif[0x0112] = orientation
    reference = encode(source, "PNG", exif=exif.tobytes())
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(reference))))
    assert np.array_equal(to_display_array(scan), expected)


# --- tones -------------------------------------------------------------------------------------


def test_12_bit_samples_in_16_bit_words_fill_the_8_bit_range():
    ramp = np.linspace(0, 4095, 256 * 3).round().astype(np.uint16).reshape(16, 16, 3)
    out = display(tiff(ramp, photometric="rgb")).astype(int)
    expected = np.round(ramp.astype(float) * 255 / 4095).astype(int)
    assert np.abs(out - expected).max() <= 1
    assert out.max() == 255  # not nearly black (x * 255 / 65535 would peak at 16)
    assert np.abs(out - (ramp >> 8)).max() > 200  # nor the high byte


def test_12_bit_declared_by_max_sample_value_tag():
    samples = np.full((8, 8), 1000, np.uint16)  # dark, but the tag says 12-bit
    data = tiff(samples, extratags=[(281, "H", 1, 4095, True)])
    assert display(data)[0, 0] == round(1000 * 255 / 4095)


def test_full_16_bit_gradient_is_rounded_not_truncated():
    ramp = np.linspace(0, 65535, 64 * 64 * 3).round().astype(np.uint16).reshape(64, 64, 3)
    out = display(tiff(ramp, photometric="rgb")).astype(int)
    exact = ramp.astype(np.float64) * 255 / 65535
    assert np.abs(out - exact).max() <= 0.5 + 1e-9
    assert (out != (ramp >> 8)).any()


def test_big_endian_16_bit_tiff():
    ramp = np.linspace(0, 65535, 32 * 32 * 3).round().astype(np.uint16).reshape(32, 32, 3)
    out = display(tiff(ramp, photometric="rgb", byteorder=">")).astype(int)
    assert np.abs(out - np.round(ramp.astype(float) * 255 / 65535)).max() <= 1


@pytest.mark.parametrize("compression", [None, "zlib"])
def test_float_grey_tiff_in_0_to_1_becomes_correct_8_bit(compression):
    ramp = np.linspace(0.0, 1.0, 256, dtype=np.float32).reshape(16, 16)
    out = display(tiff(ramp, compression=compression))
    assert out.ndim == 2 and out.dtype == np.uint8
    assert np.abs(out.astype(int) - np.round(ramp * 255)).max() <= 1


def test_one_bit_image_becomes_black_and_white_grey():
    bits = Image.fromarray((np.indices((16, 16)).sum(axis=0) % 2 * 255).astype(np.uint8)).convert(
        "1"
    )
    for fmt, name in (("PNG", "x_front_1.png"), ("TIFF", "x_front_1.tif")):
        buffer = io.BytesIO()
        bits.save(buffer, fmt)
        out = display(buffer.getvalue(), name)
        assert out.ndim == 2
        assert set(np.unique(out)) == {0, 255}
        assert out[0, 0] == 0 and out[0, 1] == 255


def _palette_image() -> Image.Image:
    image = Image.new("P", (4, 1))
    image.putpalette([200, 30, 40, 10, 120, 250, 255, 255, 255] + [0] * (256 * 3 - 9))
    image.putdata([0, 1, 2, 0])
    return image


def test_palette_without_transparency_gives_its_exact_colours():
    buffer = io.BytesIO()
    _palette_image().save(buffer, "PNG")
    out = display(buffer.getvalue(), "x_front_1.png")
    assert out.shape == (1, 4, 3)
    assert [tuple(int(v) for v in px) for px in out[0]] == [
        (200, 30, 40),
        (10, 120, 250),
        (255, 255, 255),
        (200, 30, 40),
    ]


def test_palette_with_a_transparent_index_is_composited_on_neutral_grey():
    buffer = io.BytesIO()
    _palette_image().save(buffer, "PNG", transparency=1)
    out = display(buffer.getvalue(), "x_front_1.png")
    assert tuple(int(v) for v in out[0, 1]) == (128, 128, 128)
    assert tuple(int(v) for v in out[0, 0]) == (200, 30, 40)


@pytest.mark.parametrize("alpha", [0, 128, 255])
def test_la_is_composited_on_a_neutral_backdrop(alpha):
    la = np.zeros((4, 4, 2), np.uint8)
    la[..., 0], la[..., 1] = 255, alpha
    out = display(encode(la, "PNG"), "x_front_1.png").astype(int)
    expected = round((255 * alpha + 128 * (255 - alpha)) / 255)
    assert np.abs(out - expected).max() <= 1


def test_rgba_half_transparent_red_is_blended_not_dropped():
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[...] = (255, 0, 0, 128)
    out = display(encode(rgba, "PNG"), "x_front_1.png").astype(int)
    assert np.abs(out[0, 0] - [191, 64, 64]).max() <= 1


def test_adobe_inverted_cmyk_jpeg_comes_out_positive():
    # Photoshop writes CMYK JPEGs inverted with an APP14 "Adobe" marker (libjpeg does the same
    # for Pillow); a reader that ignores the marker produces a negative.
    patches = [(0, 255, 255, 0), (255, 0, 0, 0), (0, 0, 0, 0), (0, 0, 0, 255)]
    cmyk = Image.new("CMYK", (64, 16))
    for index, ink in enumerate(patches):
        cmyk.paste(ink, (index * 16, 0, index * 16 + 16, 16))
    buffer = io.BytesIO()
    cmyk.save(buffer, "JPEG", quality=95)
    data = buffer.getvalue()
    assert b"\xff\xee" in data[:200] and b"Adobe" in data[:200]
    out = display(data, "x_front_1.jpg").astype(int)
    red, cyan, paper, black = (out[8, 8 + 16 * i] for i in range(4))
    assert red[0] > 200 and red[1] < 60 and red[2] < 60
    assert cyan[0] < 60 and cyan[1] > 200 and cyan[2] > 200
    assert paper.min() > 230
    assert black.max() < 30


# --- colour: ICC profiles through LittleCMS ---------------------------------------------------

# Published primaries and whites (CIE xy).
PROPHOTO = ((0.7347, 0.2653), (0.1596, 0.8404), (0.0366, 0.0001))
ECI_RGB_V2 = ((0.67, 0.33), (0.21, 0.71), (0.14, 0.08))
DISPLAY_P3 = ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060))
D50_XY = (0.3457, 0.3585)


def srgb_decode(v: np.ndarray) -> np.ndarray:
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def srgb_encode(y: np.ndarray) -> np.ndarray:
    return np.where(y <= 0.0031308, 12.92 * y, 1.055 * np.power(np.maximum(y, 0), 1 / 2.4) - 0.055)


def lstar_decode(v: np.ndarray) -> np.ndarray:
    lightness = v * 100
    return np.where(lightness > 8, ((lightness + 16) / 116) ** 3, lightness / 903.3)


def lstar_encode(y: np.ndarray) -> np.ndarray:
    return np.where(y > 0.008856, 116 * np.cbrt(y) - 16, 903.3 * y) / 100


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(float(value) * 65536))


def _xyz_tag(xyz) -> bytes:
    return b"XYZ \0\0\0\0" + b"".join(_s15(v) for v in xyz)


def _curve_tag(decode_curve) -> bytes:
    # A 1024-entry table: encoded value -> linear light, as ICC 'curv' tables store it.
    table = np.clip(decode_curve(np.linspace(0, 1, 1024)), 0, 1)
    entries = np.round(table * 65535).astype(">u2").tobytes()
    return b"curv\0\0\0\0" + struct.pack(">I", 1024) + entries


def _gamma_tag(gamma: float) -> bytes:
    return b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256))


def _desc_tag(text: str) -> bytes:
    raw = text.encode("ascii") + b"\0"
    return b"desc\0\0\0\0" + struct.pack(">I", len(raw)) + raw + b"\0" * 8 + b"\0" * 3 + b"\0" * 67


def build_profile(space: bytes, description: str, tags: list[tuple[bytes, bytes]]) -> bytes:
    """An ICC v2 display profile ('mntr', `space` -> XYZ) from its tags."""
    tags = [(b"desc", _desc_tag(description)), (b"wtpt", _xyz_tag(D50_XYZ)), *tags]
    offset = 128 + 4 + 12 * len(tags)
    table, body = struct.pack(">I", len(tags)), b""
    for signature, data in tags:
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += data + b"\0" * (-len(data) % 4)
    size = 128 + len(table) + len(body)
    header = (
        struct.pack(">I", size)
        + b"\0" * 4
        + struct.pack(">I", 0x02100000)
        + b"mntr"
        + space
        + b"XYZ "
        + struct.pack(">6H", 2025, 1, 1, 0, 0, 0)
        + b"acsp"
        + b"\0" * 24
        + struct.pack(">I", 0)
        + b"".join(_s15(v) for v in D50_XYZ)
        + b"\0" * 48
    )
    assert len(header) == 128
    return header + table + body


def rgb_profile(description, primaries, white, trc_tag) -> bytes:
    colorants = adapt_to_d50(make_rgb_to_xyz_matrix(primaries, white), white)
    tags = [(name, _xyz_tag(colorants[:, i])) for i, name in enumerate((b"rXYZ", b"gXYZ", b"bXYZ"))]
    return build_profile(
        b"RGB ", description, [*tags, (b"rTRC", trc_tag), (b"gTRC", trc_tag), (b"bTRC", trc_tag)]
    )


def encode_in(srgb8, primaries, white, encode_curve) -> np.ndarray:
    """An sRGB colour's 8-bit encoding in another RGB space (through XYZ at D50, Bradford)."""
    linear = srgb_decode(np.asarray(srgb8, np.float64) / 255)
    to_pcs = adapt_to_d50(make_rgb_to_xyz_matrix(SRGB_PRIMARIES, D65_XY), D65_XY)
    from_pcs = np.linalg.inv(adapt_to_d50(make_rgb_to_xyz_matrix(primaries, white), white))
    target = np.clip(from_pcs @ to_pcs @ linear, 0, 1)
    return np.round(encode_curve(target) * 255).astype(np.uint8)


def to_lab(rgb8) -> np.ndarray:
    pixel = np.asarray(rgb8, np.uint8).reshape(1, 1, 3)
    lab = cv2.cvtColor(pixel.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)
    return lab.reshape(3).astype(np.float64)


def delta_e(a, b) -> float:
    return float(np.linalg.norm(to_lab(a) - to_lab(b)))


def gamma(value: float):
    return lambda v: np.power(v, value)


def inverse_gamma(value: float):
    return lambda y: np.power(y, 1 / value)


SPACES = {
    "ProPhoto RGB": (PROPHOTO, D50_XY, _gamma_tag(1.8), inverse_gamma(1.8)),
    "eciRGB v2": (ECI_RGB_V2, D50_XY, _curve_tag(lstar_decode), lstar_encode),
    "Display P3": (DISPLAY_P3, D65_XY, _curve_tag(srgb_decode), srgb_encode),
}
COLOURS = [(200, 80, 40), (40, 150, 90), (70, 90, 200), (128, 128, 128)]


@pytest.mark.parametrize("space", list(SPACES))
@pytest.mark.parametrize("fmt", ["TIFF", "PNG", "JPEG"])
def test_tagged_rgb_is_converted_to_srgb_through_littlecms(space, fmt):
    primaries, white, trc, encode_curve = SPACES[space]
    profile = rgb_profile(space, primaries, white, trc)
    assert (
        ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(profile))).strip()
        == space
    )
    encoded = np.stack([encode_in(c, primaries, white, encode_curve) for c in COLOURS])
    pixels = np.repeat(np.repeat(encoded[None], 16, axis=0), 16, axis=1)  # 16 × 64 patches
    data = encode(
        pixels,
        fmt,
        icc_profile=profile,
        **({"quality": 100, "subsampling": 0} if fmt == "JPEG" else {}),
    )
    scan = decode(data, f"x_front_1.{fmt.lower()}")
    assert scan.icc_description == space
    out = to_display_array(scan)
    for index, colour in enumerate(COLOURS):
        found = out[8, index * 16 + 8]
        assert delta_e(found, colour) < 2.0, (space, colour, found)
    # The test can fail: read as if sRGB, the saturated colours are visibly off.
    assert max(delta_e(encoded[i], COLOURS[i]) for i in range(3)) > 5


@pytest.mark.parametrize("gamma_value", [1.0, 1.8])
def test_grey_gamma_profile_is_converted(gamma_value):
    profile = build_profile(
        b"GRAY", f"Grey gamma {gamma_value}", [(b"kTRC", _gamma_tag(gamma_value))]
    )
    grey = np.full((8, 8), 128, np.uint8)
    scan = decode(encode(grey, "PNG", icc_profile=profile), "x_front_1.png")
    assert scan.icc_description is not None
    out = to_display_array(scan).astype(int)
    expected = round(float(srgb_encode(np.array((128 / 255) ** gamma_value))) * 255)
    assert np.abs(out - expected).max() <= 1
    assert abs(expected - 128) > 10


def test_adobe_rgb_16_bit_tiff_converts_on_both_paths_alike():
    # With tiles the full size is converted; without, the conversion follows the first shrink.
    from pipeline.samples.icc import encode_adobe_rgb16

    colour = np.array([200, 80, 40]) / 255
    samples = encode_adobe_rgb16(np.broadcast_to(colour, (300, 450, 3)))
    data = tiff(
        samples, photometric="rgb", extratags=[(34675, 7, None, make_adobe_rgb_profile(), False)]
    )
    profile = ProcessingProfile.model_validate(
        {"derivatives": {"access": 300, "preview": 120, "thumb": 40}, "iiif": {"tile_size": 128}}
    )
    with_tiles = prepare_scan(
        data, name="a_front_1.tif", view="front", profile=profile, iiif_id="http://h/iiif/x"
    )
    without = prepare_scan(data, name="a_front_1.tif", view="front", profile=profile, iiif_id=None)
    assert with_tiles.tiles is not None
    tile = next(content for path, content in with_tiles.tiles.files if path.startswith("0,0,"))
    for encoded in [
        *(d.data for d in with_tiles.derivatives),
        *(d.data for d in without.derivatives),
        tile,
    ]:
        image = Image.open(io.BytesIO(encoded))
        assert image.info.get("icc_profile") == SRGB_ICC  # derivatives embed sRGB
        middle = np.asarray(image.convert("RGB"))[image.height // 2, image.width // 2]
        assert delta_e(middle, (200, 80, 40)) < 2.5
    assert [d.data for d in with_tiles.derivatives] == [
        d.data
        for d in prepare_scan(
            data, name="a_front_1.tif", view="front", profile=profile, iiif_id="http://h/iiif/x"
        ).derivatives
    ]


def test_untagged_is_treated_as_srgb_and_left_alone():
    pixels = gradient_rgb(40, 30)
    scan = decode(encode(pixels, "PNG"), "x_front_1.png")
    _, convert = to_upright_pixels(scan)
    assert convert is None
    assert np.array_equal(to_display_array(scan), pixels)
    assert scan.warnings == []


def test_an_srgb_tagged_scan_is_not_transformed_again():
    pixels = gradient_rgb(40, 30)
    scan = decode(encode(pixels, "PNG", icc_profile=SRGB_ICC), "x_front_1.png")
    _, convert = to_upright_pixels(scan)
    assert convert is None  # LittleCMS's own probe found it sRGB already
    assert np.abs(to_display_array(scan).astype(int) - pixels).max() <= 1


@pytest.mark.parametrize(
    "profile",
    [
        b"garbage" * 30,
        make_adobe_rgb_profile()[:200],  # truncated
    ],
)
def test_broken_profile_is_a_warning_on_the_record_not_a_rejection(profile):
    pixels = gradient_rgb(40, 30)
    data = tiff(pixels, photometric="rgb", extratags=[(34675, 7, None, profile, False)])
    scan = decode(data)
    assert scan.warnings and any("ICC" in w or "colour" in w for w in scan.warnings)
    assert np.array_equal(to_display_array(scan), pixels)  # treated as sRGB


def test_a_grey_profile_on_rgb_pixels_is_a_warning():
    profile = build_profile(b"GRAY", "Grey gamma 2.2", [(b"kTRC", _gamma_tag(2.2))])
    pixels = gradient_rgb(40, 30)
    scan = decode(encode(pixels, "PNG", icc_profile=profile), "x_front_1.png")
    out = to_display_array(scan)
    assert np.array_equal(out, pixels)
    assert any("GRAY" in w for w in scan.warnings)


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
