import gc
import io
import struct
import sys
import zlib

import numpy as np
import pytest
import tifffile

from pipeline.core.imaging import decode_scan
from pipeline.core.sniff import sniff_format
from pipeline.errors import (
    CorruptImageError,
    EmptyFileError,
    NotAnImageError,
    PixelLimitError,
    TruncatedImageError,
    UnsupportedFormatError,
)
from tests.unit.images import encode, gradient_rgb, jpeg_bytes, png_bytes, tiff_bytes

LIMIT = 300_000_000


def decode(data: bytes, name: str = "x_front_1.tif", max_pixels: int = LIMIT):
    return decode_scan(data, name=name, max_pixels=max_pixels)


# --- sniffing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "fmt"),
    [(jpeg_bytes(), "JPEG"), (png_bytes(), "PNG"), (tiff_bytes(), "TIFF")],
)
def test_format_comes_from_the_bytes(data, fmt):
    assert sniff_format(data[:32], name="whatever.jpg").pillow_format == fmt


@pytest.mark.parametrize(
    ("head", "word"),
    [
        (b"%PDF-1.7\n", "PDF"),
        (b"%!PS-Adobe-3.0 EPSF-3.0", "EPS"),
        (b"8BPS\x00\x01", "PSD"),
        (b"\x00\x00\x00\x10ftypcrx \x00\x00\x00\x01", "raw"),
        (b"GIF89a\x01\x00", "GIF"),
    ],
)
def test_refused_formats_name_themselves_and_a_remedy(head, word):
    with pytest.raises(UnsupportedFormatError) as info:
        decode(head + b"\x00" * 64, name="scan_front_1.tif")
    assert info.value.code == "UNSUPPORTED_FORMAT"
    assert word in info.value.message
    assert "scan_front_1.tif" in info.value.message


def test_empty_file():
    with pytest.raises(EmptyFileError) as info:
        decode(b"", name="a_front_1.jpg")
    assert info.value.code == "EMPTY_FILE"
    assert "a_front_1.jpg" in info.value.message
    assert "copy it again" in info.value.message


def test_text_named_jpg_is_not_an_image():
    with pytest.raises(NotAnImageError) as info:
        decode(b"hello, this is a text file\n", name="a_front_1.jpg")
    assert info.value.code == "NOT_AN_IMAGE"
    assert "a_front_1.jpg" in info.value.message


# --- truncation and corruption --------------------------------------------------------------------


@pytest.mark.parametrize("fraction", [0.3, 0.6, 0.95])
def test_truncated_jpeg(fraction):
    data = jpeg_bytes(640, 480)
    with pytest.raises(TruncatedImageError) as info:
        decode(data[: int(len(data) * fraction)], name="t_front_1.jpg")
    assert info.value.code == "TRUNCATED"
    assert "t_front_1.jpg" in info.value.message


@pytest.mark.parametrize("fraction", [0.3, 0.8])
def test_truncated_png(fraction):
    data = png_bytes(640, 480)
    with pytest.raises((TruncatedImageError, CorruptImageError)) as info:
        decode(data[: int(len(data) * fraction)], name="t_front_1.png")
    assert info.value.code in ("TRUNCATED", "CORRUPT")


@pytest.mark.parametrize("fraction", [0.5, 0.9, 0.999])
def test_truncated_uncompressed_tiff_is_caught_even_when_pillow_would_decode_it(fraction):
    data = tiff_bytes(640, 480)
    with pytest.raises(TruncatedImageError) as info:
        decode(data[: int(len(data) * fraction)], name="t_front_1.tif")
    assert "truncated" in info.value.message


def test_png_with_broken_crc_is_corrupt():
    data = bytearray(png_bytes())
    # Flip a byte inside the first IDAT chunk's data: its CRC no longer matches.
    idat = data.index(b"IDAT")
    data[idat + 10] ^= 0xFF
    with pytest.raises((CorruptImageError, TruncatedImageError)):
        decode(bytes(data), name="c_front_1.png")


def _png_with_size(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))


def test_decompression_bomb_is_refused_before_decoding():
    bomb = _png_with_size(100_000, 100_000)
    assert len(bomb) < 200
    with pytest.raises(PixelLimitError) as info:
        decode(bomb, name="bomb_front_1.png")
    assert info.value.code == "PIXEL_LIMIT"
    assert "bomb_front_1.png" in info.value.message
    assert "10000 MP" in info.value.message


def test_pixel_ceiling_comes_from_the_profile_not_pillow():
    with pytest.raises(PixelLimitError) as info:
        decode(png_bytes(2000, 1000), max_pixels=1_000_000)
    assert "2000×1000" in info.value.message
    # 100 MP is above Pillow's own default ceiling (~89 MP) and below the profile's: accepted.
    big = encode(np.zeros((10_000, 10_000), np.uint8), "PNG")
    scan = decode(big, name="big_front_1.png")
    assert (scan.width, scan.height) == (10_000, 10_000)


def test_multipage_tiff_every_page_is_decoded():
    pages = [gradient_rgb(200, 100, seed=i) for i in range(3)]
    buffer = io.BytesIO()
    with tifffile.TiffWriter(buffer) as tif:
        for page in pages:
            tif.write(page, photometric="rgb")
    scan = decode(buffer.getvalue())
    assert scan.pages == 3


def test_multipage_tiff_with_a_truncated_second_page_is_rejected():
    buffer = io.BytesIO()
    with tifffile.TiffWriter(buffer) as tif:
        tif.write(gradient_rgb(200, 100), photometric="rgb")
        tif.write(gradient_rgb(200, 100, seed=2), photometric="rgb")
    data = buffer.getvalue()
    with pytest.raises(TruncatedImageError) as info:
        decode(data[: len(data) - 5000])
    assert "page 2" in info.value.message


@pytest.mark.parametrize("bits", [8, 16])
def test_decoding_a_tiff_lets_go_of_its_bytes_without_waiting_for_the_garbage_collector(bits):
    # A worker keeps malloc's heap whole between scans: bytes held by a reference cycle
    # until the next collection would keep a 72 MB hole the next scan cannot reuse.
    samples = gradient_rgb(64, 48).astype(np.uint16) * 257 if bits == 16 else gradient_rgb(64, 48)
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, samples, photometric="rgb")
    data = buffer.getvalue()
    before = sys.getrefcount(data)
    gc.disable()
    try:
        scan = decode_scan(data, name="x.tif", max_pixels=10**6)
        assert scan.bit_depth == bits
        del scan
        assert sys.getrefcount(data) == before
    finally:
        gc.enable()
