"""Per-scan memory (issue #14): full-size copies mapped on their own, the decoder's pixels let
go once copied, the access JPEG swapped in place, the noise patches a row at a time; each with
the same pixels and bytes as the plain way."""

from __future__ import annotations

import io
import math

import cv2
import numpy as np
import pytest
from PIL import Image

from pipeline.core import pages
from pipeline.core.derivatives import _as_bgr, make_derivatives
from pipeline.core.profile import DerivativeSettings, ProcessingProfile
from pipeline.core.quality.measure import estimate_noise
from pipeline.core.scan import prepare_scan
from tests.unit.images import gradient_rgb


def test_a_large_array_is_mapped_on_its_own_and_a_small_one_is_not():
    large = pages.empty((2000, 3000, 3), np.uint8)  # 18 MB
    assert large.shape == (2000, 3000, 3) and large.dtype == np.uint8
    assert not large.flags.owndata and large.flags.writeable and large.flags.c_contiguous
    assert pages.owns_pages(large)
    large[-1, -1] = (1, 2, 3)
    assert tuple(large[-1, -1]) == (1, 2, 3)
    # A part of it, or another object's bytes, may not be overwritten as if owned.
    assert not pages.owns_pages(large[:10])
    assert not pages.owns_pages(np.frombuffer(bytes(pages.MIN_BYTES), np.uint8))
    small = pages.empty((10, 10, 3), np.uint16)
    assert small.flags.owndata and small.dtype == np.uint16 and pages.owns_pages(small)


@pytest.mark.parametrize("writeable", [True, False])
def test_the_bgr_swap_gives_opencv_its_order_and_leaves_the_pixels_as_they_were(writeable):
    rgb = gradient_rgb(300, 200, seed=3)
    pixels = rgb.copy() if writeable else np.frombuffer(rgb.tobytes(), np.uint8).reshape(rgb.shape)
    with _as_bgr(pixels) as bgr:
        assert np.array_equal(bgr, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        assert (bgr is pixels) == writeable  # swapped in place only when it may be
    assert np.array_equal(pixels, rgb)


def test_derivatives_are_the_same_bytes_from_a_writeable_or_a_read_only_array():
    rgb = gradient_rgb(1600, 1200, seed=5)
    settings = DerivativeSettings()
    read_only = np.frombuffer(rgb.tobytes(), np.uint8).reshape(rgb.shape)
    writeable = rgb.copy()
    made = [make_derivatives(array, settings) for array in (read_only, writeable)]
    assert [d.data for d in made[0]] == [d.data for d in made[1]]
    assert np.array_equal(writeable, rgb)


def test_prepare_scan_lets_go_of_the_decoders_pixels_and_keeps_its_facts():
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    Image.fromarray(gradient_rgb(320, 240)).save(buffer, "JPEG", quality=90, exif=exif.tobytes())
    prepared = prepare_scan(
        buffer.getvalue(), name="a_front_1.jpg", view="front", profile=ProcessingProfile(),
        iiif_id=None,
    )  # fmt: skip
    assert (prepared.upright_width, prepared.upright_height) == (240, 320)
    decoded = prepared.decoded
    assert (decoded.width, decoded.height, decoded.orientation) == (320, 240, 6)
    assert decoded.image.size == (320, 240) and decoded.image.mode == "RGB"
    with pytest.raises(ValueError, match="closed image"):
        decoded.image.tobytes()


def _noise_all_at_once(pixels: np.ndarray) -> float:
    """Immerkær's estimate as it was computed before, all 256 patches at once."""
    height, width = pixels.shape[:2]
    size = min(64, height // 4, width // 4)
    rows = np.linspace(0, height - size, 16).round().astype(int)
    cols = np.linspace(0, width - size, 16).round().astype(int)
    patches = np.stack([pixels[r : r + size, c : c + size] for r in rows for c in cols])
    weights = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
    luma = patches.astype(np.float32) if patches.ndim == 3 else patches.astype(np.float32) @ weights
    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)
    response = np.zeros((luma.shape[0], size - 2, size - 2), dtype=np.float32)
    for dy in range(3):
        for dx in range(3):
            response += kernel[dy, dx] * luma[:, dy : dy + size - 2, dx : dx + size - 2]
    sigma = np.abs(response).sum(axis=(1, 2)) * math.sqrt(math.pi / 2) / (6 * (size - 2) ** 2)
    return float(np.percentile(sigma, 25))


@pytest.mark.parametrize("shape", [(1200, 1800, 3), (333, 250, 3), (500, 700), (40, 33, 3)])
def test_the_noise_estimate_a_row_at_a_time_is_the_estimate_all_at_once(shape):
    rng = np.random.default_rng(11)
    pixels = np.clip(rng.normal(128, 20, shape), 0, 255).astype(np.uint8)
    assert estimate_noise(pixels) == _noise_all_at_once(pixels)
