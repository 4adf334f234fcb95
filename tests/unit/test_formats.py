"""Issue #16, judged right: AVIF, HEIC, TIFF codecs, truncation, bit depth, both sizes, grey
profiles, one warning per unreadable profile; every file generated here."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.core.imaging import decode_scan, to_display_array
from pipeline.core.metadata import extract_metadata
from pipeline.core.profile import ProcessingProfile
from pipeline.core.scan import prepare_scan
from pipeline.core.sniff import sniff_format
from pipeline.errors import (
    AnimatedImageError,
    CorruptImageError,
    TruncatedImageError,
    UnsupportedFormatError,
)
from pipeline.samples.icc import make_adobe_rgb_profile
from tests.unit import format_samples as make
from tests.unit.images import gradient_rgb

LIMIT = 300_000_000


def decode(data: bytes, name: str = "x_front_1.x"):
    return decode_scan(data, name=name, max_pixels=LIMIT)


def close(a: np.ndarray, b: np.ndarray, tolerance: float, *, lossy: bool = False) -> bool:
    """Same shape and pixels within `tolerance` (on average for a lossy codec's noise; the
    wrong turn of a gradient is off by ~100)."""
    if a.shape != b.shape:
        return False
    difference = np.abs(a.astype(int) - b.astype(int))
    return float(difference.mean() if lossy else difference.max()) <= tolerance


# --- 1. AVIF, and animations ----------------------------------------------------------------------


def test_a_still_avif_is_accepted_and_turned_by_its_orientation():
    pixels = gradient_rgb(64, 40)
    scan = decode(make.avif(pixels, quality=100, exif=make.exif_with_orientation(6)))
    assert (scan.format.pillow_format, scan.format.media_type) == ("AVIF", "image/avif")
    assert (scan.width, scan.height, scan.orientation, scan.bit_depth) == (64, 40, 6, 8)
    upright = to_display_array(scan)
    assert close(upright, np.rot90(pixels, -1), 6, lossy=True)  # turned once, clockwise


@pytest.mark.parametrize(
    "data",
    [make.animated_avif(), make.animated("WEBP"), make.animated("PNG")],
    ids=["avif-sequence", "webp", "apng"],
)
def test_an_animation_is_refused_with_its_own_code(data):
    with pytest.raises(AnimatedImageError) as info:
        decode(data, name="vase_front_1.avif")
    assert info.value.code == "ANIMATED"
    assert "vase_front_1.avif" in info.value.message and "still image" in info.value.message


@pytest.mark.parametrize(
    ("brands", "kind"),
    [
        (b"avif\0\0\0\0mif1miaf", "AVIF"),
        (b"mif1\0\0\0\0mif1avifmiaf", "AVIF"),
        (b"heic\0\0\0\0mif1heic", "HEIF"),
        (b"mif1\0\0\0\0mif1heic", "HEIF"),
    ],
)
def test_iso_bmff_brands_say_avif_or_heif(brands, kind):
    head = (8 + len(brands)).to_bytes(4, "big") + b"ftyp" + brands
    assert sniff_format(head + b"\0" * 64, name="x").pillow_format == kind


# --- 2. HEIC --------------------------------------------------------------------------------------


def test_heic_decodes_upright_once_with_both_sizes():
    pixels = gradient_rgb(64, 40)
    scan = decode(make.heic(pixels, orientation=6))
    assert (scan.format.pillow_format, scan.format.media_type) == ("HEIF", "image/heic")
    assert scan.orientation == 6 and scan.bit_depth == 8
    assert (scan.width, scan.height) == (64, 40)  # as stored, before libheif turns it
    upright = to_display_array(scan)
    assert close(upright, np.rot90(pixels, -1), 6, lossy=True)  # libheif turned it, once


def test_heic_above_8_bits_keeps_its_depth_and_samples():
    scan = decode(make.heic(gradient_rgb(64, 40), ten_bit=True))
    assert scan.bit_depth == 10
    assert scan.samples is not None and scan.samples.dtype == np.uint16
    assert close(to_display_array(scan), gradient_rgb(64, 40), 6, lossy=True)


def test_heic_profile_is_honoured_and_the_master_is_the_file():
    pixels = np.full((40, 64, 3), (40, 200, 60), np.uint8)
    profile = ProcessingProfile()
    data = make.heic(pixels, icc=make_adobe_rgb_profile())
    prepared = prepare_scan(
        data, name="a_front_1.heic", view="front", profile=profile, iiif_id=None
    )
    assert prepared.decoded.icc_description == "Adobe RGB (1998)"
    # Adobe RGB's saturated green lies outside sRGB: converted, it is no longer the raw value.
    # (prepare_scan let go of the decoder's pixels once it had its own copy: decoded again.)
    decoded = decode_scan(data, name="a_front_1.heic", max_pixels=10**8)
    shown = to_display_array(decoded)[20, 32].astype(int)
    assert abs(shown[1] - 200) <= 10 and shown[0] < 40 - 10
    assert prepared.metadata.technical.format == "HEIF"
    assert all(d.data[:3] == b"\xff\xd8\xff" for d in prepared.derivatives)


def test_heic_truncated_or_damaged_is_told_apart():
    data = make.heic(gradient_rgb(64, 40))
    with pytest.raises(TruncatedImageError):
        decode(data[: len(data) // 2])
    with pytest.raises(CorruptImageError):
        decode(data[:200] + bytes(len(data) - 200))


# --- 3. TIFF codecs Pillow's libtiff lacks, and truncation ----------------------------------------


@pytest.mark.parametrize(
    ("compression", "name"),
    [(("webp", None, {"lossless": True}), "WebP"), ("lerc", "LERC"), ("jpegxl", "JPEG XL")],
)
def test_a_tiff_whose_codec_libtiff_lacks_is_decoded_and_flagged(compression, name):
    pixels = gradient_rgb(64, 40)
    codec = compression[0] if isinstance(compression, tuple) else compression
    options = compression[2] if isinstance(compression, tuple) else None
    import io

    import tifffile

    buffer = io.BytesIO()
    tifffile.imwrite(buffer, pixels, compression=codec, compressionargs=options, photometric="rgb")
    scan = decode(buffer.getvalue())
    assert close(to_display_array(scan), pixels, 3)
    assert any(name in w and "uncompressed or LZW" in w for w in scan.warnings)


def test_a_tiff_codec_nobody_here_decodes_is_unsupported_by_name():
    data = bytearray(make.tiff(gradient_rgb(64, 40), compression="lzw"))
    at = data.find(b"\x03\x01\x03\x00\x01\x00\x00\x00\x05\x00")  # Compression = 5, little-endian
    assert at > 0
    data[at + 8 : at + 10] = (64999).to_bytes(2, "little")
    with pytest.raises(UnsupportedFormatError) as info:
        decode(bytes(data), name="a_front_1.tif")
    assert "compression 64999" in info.value.message
    assert "export it as uncompressed or LZW TIFF" in info.value.message


def test_damaged_data_in_such_a_codec_is_corrupt():
    data = bytearray(make.tiff(gradient_rgb(64, 40), compression="webp"))
    import io

    import tifffile

    offset = int(tifffile.TiffFile(io.BytesIO(bytes(data))).pages[0].dataoffsets[0])
    data[offset + 20 : offset + 60] = b"\0" * 40
    with pytest.raises(CorruptImageError) as info:
        decode(bytes(data))
    assert "WebP" in info.value.message


@pytest.mark.parametrize("compression", [None, "lzw", "webp"])
@pytest.mark.parametrize("keep", [0.2, 0.5, 0.9])
def test_a_truncated_multi_page_tiff_is_truncated_never_corrupt(compression, keep):
    data = make.tiff(gradient_rgb(90, 60), compression=compression, pages=3)
    with pytest.raises(TruncatedImageError) as info:
        decode(data[: int(len(data) * keep)])
    assert "copy it again" in info.value.message


# --- 4. bit depth: the stored master's, everywhere ------------------------------------------------


@pytest.mark.parametrize(
    ("data", "bits"),
    [
        (make.sixteen_bit_png(3), 16),
        (make.sixteen_bit_png(1), 16),
        (make.one_bit_tiff(), 1),
        (make.tiff(gradient_rgb(64, 40).astype(np.uint16) * 257, compression="lzw"), 16),
    ],
    ids=["png-rgb-16", "png-grey-16", "tiff-1", "tiff-rgb-16-lzw"],
)
def test_bit_depth_is_the_masters_in_the_scan_and_its_metadata(data, bits):
    prepared = prepare_scan(
        data, name="a_front_1.x", view="front", profile=ProcessingProfile(), iiif_id=None
    )
    assert prepared.decoded.bit_depth == bits
    assert prepared.metadata.technical.bit_depth == bits


# --- 5. stored and displayed sizes ----------------------------------------------------------------


@pytest.mark.parametrize("compression", [None, "lzw", "zstd", "webp"])
@pytest.mark.parametrize("orientation", [1, 5, 6, 7, 8])
def test_a_turned_tiff_reports_its_stored_size_and_shows_upright(compression, orientation):
    data = make.tiff(gradient_rgb(64, 40), compression=compression, orientation=orientation)
    prepared = prepare_scan(
        data, name="a_front_1.tif", view="front", profile=ProcessingProfile(), iiif_id=None
    )
    assert (prepared.decoded.width, prepared.decoded.height) == (64, 40)
    assert (prepared.metadata.technical.width, prepared.metadata.technical.height) == (64, 40)
    turned = orientation >= 5
    expected = (40, 64) if turned else (64, 40)
    assert (prepared.upright_width, prepared.upright_height) == expected


# --- 6. grey profiles on grey pixels; 10. one warning for an unreadable profile -------------------


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_a_grey_profile_applies_to_grey_pixels_with_alpha(fmt):
    scan = decode(make.grey_with_alpha(fmt))
    untagged = to_display_array(decode(make.grey_with_alpha(fmt, icc=None)))
    shown = to_display_array(scan)
    assert scan.warnings == []
    # Grey 128 under gamma 1.8 is lighter in sRGB (about 146): the profile was applied.
    assert int(untagged[10, 32].max()) == 128
    assert 140 <= int(shown[10, 32].max()) <= 152


def test_an_unreadable_profile_is_one_warning_not_two():
    data = make.tiff(gradient_rgb(64, 40), icc=b"not a profile at all" * 10)
    scan = decode(data)
    metadata = extract_metadata(data, scan.image, icc=scan.icc)
    said = [w for w in [*scan.warnings, *metadata.warnings] if "profile" in w.lower()]
    assert len(said) == 1, said
