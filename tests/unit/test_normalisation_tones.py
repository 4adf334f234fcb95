"""Normalisation traps (issue #3), tones and modes: deep, float, 1-bit, palette, alpha, CMYK."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tests.unit.images import encode
from tests.unit.normalisation_input import display, tiff

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
