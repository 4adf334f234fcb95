"""Measures of an upright 8-bit image (clipping, noise, backdrop, object box, sharpness,
cast); pure, never judges them."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

import cv2
import numpy as np
from PIL import Image

from pipeline.core.profile import QualityThresholds
from pipeline.core.quality.model import (
    Box,
    ColourCast,
)
from pipeline.core.shrink import fit_long_edge, shrink_by_whole_factor

U8 = np.ndarray[Any, np.dtype[np.uint8]]
F32 = np.ndarray[Any, np.dtype[np.float32]]


@dataclass(frozen=True)
class Analysis:
    """The reduced copy of one upright image that the backdrop checks work on, and what they
    find in it; made once per scan for the quality checks and the chart framing alike."""

    small: U8  # at most `analysis_long_edge` long, by a whole factor
    scale_x: float  # full-size pixels per `small` pixel
    scale_y: float
    lab: F32  # `small` in CIELAB
    backdrop: np.ndarray[Any, np.dtype[np.bool_]]  # backdrop pixels of the border band
    differs: U8  # 0/255: what differs from the backdrop (read-only: copy it to draw on it)


def analyse(pixels: U8, thresholds: QualityThresholds) -> Analysis:
    """`pixels` reduced (`shrink_by_whole_factor`) and split into backdrop and object."""
    small, scale_x, scale_y = shrink_by_whole_factor(pixels, thresholds.analysis_long_edge)
    lab = to_lab(small)
    backdrop, differs = split_backdrop(lab, thresholds)
    differs.flags.writeable = False
    return Analysis(small, scale_x, scale_y, lab, backdrop, differs)


def to_array(image: Image.Image | np.ndarray[Any, np.dtype[Any]]) -> U8:
    if isinstance(image, Image.Image):
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        return np.asarray(image)
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise ValueError(f"expected 8-bit pixels, got {array.dtype}")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    elif array.ndim == 3 and array.shape[2] == 4:
        array = array[:, :, :3]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] == 3)):
        raise ValueError(f"expected an (h, w) or (h, w, 3) array, got shape {array.shape}")
    if min(array.shape[:2]) < 1:
        raise ValueError(f"empty image: {array.shape[1]}×{array.shape[0]}")
    return np.ascontiguousarray(array)


def to_luminance(pixels: np.ndarray[Any, np.dtype[Any]]) -> F32:
    """Rec. 709 luma of sRGB-encoded values, float32 in 0–255."""
    if pixels.ndim == 2:
        return pixels.astype(np.float32)
    weights = np.array([[0.2126, 0.7152, 0.0722]], dtype=np.float32)
    return np.asarray(cv2.transform(pixels.astype(np.float32), weights), dtype=np.float32)


def measure_clipping(pixels: U8) -> tuple[float, float]:
    """Fractions of pixels with any channel at 255 and at 0, counted on every pixel.

    In bands of rows that stay in the cache: the image is read from memory once, and a band's
    masks are made only when its own extremes reach an end (a glint, a black chart patch).
    """
    height, width = pixels.shape[:2]
    total = width * height
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    flat = pixels.reshape(height, -1)
    rows = max(1, _CLIPPING_BAND_PIXELS // max(width, 1))
    clipped = [0, 0]
    for top in range(0, height, rows):
        band = pixels[top : top + rows]
        lowest, highest, _, _ = cv2.minMaxLoc(flat[top : top + rows])
        # The pixels with every channel inside the range are counted; the rest touch the end.
        for end, (inside, present) in enumerate(
            (((0, 254), highest >= 255), ((1, 255), lowest <= 0))
        ):
            if present:
                low, high = (inside[0],) * channels, (inside[1],) * channels
                mask = cv2.inRange(band, low, high)
                clipped[end] += band.shape[0] * width - cv2.countNonZero(mask)
    return clipped[0] / total, clipped[1] / total


_CLIPPING_BAND_PIXELS: Final = 1 << 16
_IMMERKAER: Final = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)


def estimate_noise(pixels: U8) -> float:
    """Immerkær's fast estimate of the luminance noise σ, on full-resolution patches.

    The kernel (two Laplacians' difference) cancels smooth shading, leaving noise; edges and
    texture still raise it, so the estimate is the lower quartile over 16×16 patches spread
    over the frame: the flattest quarter, which on a studio shot is the backdrop.
    """
    height, width = pixels.shape[:2]
    if min(height, width) < 32:
        return 0.0  # too small for patches: such an image fails on its size anyway
    size = min(64, height // 4, width // 4)
    rows = np.linspace(0, height - size, 16).round().astype(int)
    cols = np.linspace(0, width - size, 16).round().astype(int)
    # A row of 16 patches at a time: the float copies of all 256 patches of a colour scan
    # would take ~30 MB at once; per patch, the arithmetic is the same.
    sigma = np.concatenate(
        [
            _immerkaer_sigma(np.stack([pixels[r : r + size, c : c + size] for c in cols]))
            for r in rows
        ]
    )
    return float(np.percentile(sigma, 25))


def _immerkaer_sigma(patches: U8) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Immerkær's σ of each of a stack of square patches (N×size×size, ×3 in colour)."""
    size = patches.shape[1]
    luma = (
        patches.astype(np.float32)
        if patches.ndim == 3
        else patches.astype(np.float32) @ np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
    )
    response = np.zeros((luma.shape[0], size - 2, size - 2), dtype=np.float32)
    for dy in range(3):
        for dx in range(3):
            response += _IMMERKAER[dy, dx] * luma[:, dy : dy + size - 2, dx : dx + size - 2]
    sigma: np.ndarray[Any, np.dtype[np.float64]] = (
        np.abs(response).sum(axis=(1, 2)) * math.sqrt(math.pi / 2) / (6 * (size - 2) ** 2)
    )
    return sigma


def to_lab(small: U8) -> F32:
    rgb = small if small.ndim == 3 else cv2.cvtColor(small, cv2.COLOR_GRAY2RGB)
    scaled = rgb.astype(np.float32)
    scaled *= np.float32(1 / 255)  # in place: one float copy, not two
    lab = cv2.cvtColor(scaled, cv2.COLOR_RGB2Lab)
    return np.asarray(lab, dtype=np.float32)


def _border_mask(shape: tuple[int, ...], fraction: float) -> np.ndarray[Any, np.dtype[np.bool_]]:
    height, width = shape[:2]
    band_y, band_x = max(1, round(height * fraction)), max(1, round(width * fraction))
    mask = np.ones((height, width), dtype=bool)
    mask[band_y : height - band_y, band_x : width - band_x] = False
    return mask


def split_backdrop(
    lab: F32, thresholds: QualityThresholds
) -> tuple[np.ndarray[Any, np.dtype[np.bool_]], U8]:
    """(backdrop pixels of the border band, 0/255 mask of what differs from the backdrop).

    The backdrop is modelled as a smooth quadratic surface in CIELAB, fitted to the border band
    with outliers (an object or shadow reaching the edge) dropped, so that a sweep's gradient
    and vignetting are not taken for the object. Lightness counts half in the difference:
    soft shadows on the backdrop change lightness, hardly colour.
    """
    height, width = lab.shape[:2]
    border = _border_mask(lab.shape, thresholds.border_fraction)
    ys, xs = np.nonzero(border)
    step = max(1, len(ys) // 5000)
    ys, xs = ys[::step], xs[::step]
    samples = lab[ys, xs].astype(np.float64)
    design = _surface_terms(xs / width, ys / height)
    # Start from the median colour, which an object covering part of the band cannot drag the
    # way it drags a least-squares fit; then refit the surface to what lies near it.
    coefficients = np.zeros((design.shape[1], 3))
    coefficients[0] = np.median(samples, axis=0)
    keep = _weighted_distance(samples - coefficients[0]) < thresholds.object_delta_e
    for _ in range(3):
        if keep.sum() < design.shape[1] * 4:
            break
        # Normal equations: six unknowns on [0, 1] coordinates are well conditioned, and a 6×6
        # solve is far cheaper than lstsq's SVD of the whole sample.
        chosen = design[keep]
        try:
            coefficients = np.linalg.solve(chosen.T @ chosen, chosen.T @ samples[keep])
        except np.linalg.LinAlgError:
            coefficients, *_ = np.linalg.lstsq(chosen, samples[keep], rcond=None)
        residual = _weighted_distance(samples - design @ coefficients)
        cut = max(3.0 * float(np.median(residual[keep])) * 1.4826, thresholds.object_delta_e / 2)
        keep = residual < cut
    distance = _distance_from_surface(lab, coefficients)
    differs = (distance > thresholds.object_delta_e).astype(np.uint8) * 255
    backdrop = border & (distance <= thresholds.object_delta_e / 2)
    return backdrop, differs


def _surface_terms(x: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=-1)


def _distance_from_surface(lab: F32, coefficients: np.ndarray[Any, Any]) -> F32:
    """Weighted ΔE of every pixel from the fitted surface, one channel at a time (the surface
    is built from row and column terms: no pixel-by-term matrix, few temporaries)."""
    height, width = lab.shape[:2]
    x = np.arange(width, dtype=np.float32) / np.float32(width)
    y = np.arange(height, dtype=np.float32) / np.float32(height)
    cross = np.outer(y, x)
    total = np.zeros((height, width), dtype=np.float32)
    c = coefficients.astype(np.float32)
    for channel, weight in ((0, 0.25), (1, 1.0), (2, 1.0)):
        model = cross * c[4, channel]
        model += (c[0, channel] + c[2, channel] * y + c[5, channel] * y * y)[:, None]
        model += (c[1, channel] * x + c[3, channel] * x * x)[None, :]
        np.subtract(lab[:, :, channel], model, out=model)
        model *= model
        total += np.float32(weight) * model if weight != 1.0 else model
    return np.sqrt(total)


def _weighted_distance(delta: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    lightness, a, b = delta[..., 0] * 0.5, delta[..., 1], delta[..., 2]
    distance: np.ndarray[Any, Any] = np.sqrt(lightness * lightness + a * a + b * b)
    return distance


def find_object_box(mask: U8) -> tuple[int, int, int, int] | None:
    """Box (x, y, w, h) of the largest region after cleanup, with regions at least a tenth its
    size (a lid beside its box); None when nothing sizeable differs from the backdrop."""
    height, width = mask.shape
    long_edge = max(height, width)
    open_size = max(3, round(long_edge * 0.004) | 1)
    close_size = max(5, round(long_edge * 0.012) | 1)
    opened = cv2.morphologyEx(
        mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (open_size,) * 2)
    )
    closed = cv2.morphologyEx(
        opened, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (close_size,) * 2)
    )
    count, _, stats, _ = cv2.connectedComponentsWithStats(closed, connectivity=8)
    if count <= 1:
        return None
    areas = stats[1:, cv2.CC_STAT_AREA]
    largest = int(areas.max())
    if largest < 0.001 * height * width:
        return None
    chosen = stats[1:][areas >= largest / 10]
    left = int(chosen[:, cv2.CC_STAT_LEFT].min())
    top = int(chosen[:, cv2.CC_STAT_TOP].min())
    right = int((chosen[:, cv2.CC_STAT_LEFT] + chosen[:, cv2.CC_STAT_WIDTH]).max())
    bottom = int((chosen[:, cv2.CC_STAT_TOP] + chosen[:, cv2.CC_STAT_HEIGHT]).max())
    return left, top, right - left, bottom - top


def scale_box(box: tuple[int, int, int, int], sx: float, sy: float, width: int, height: int) -> Box:
    x, y, w, h = box
    left, top = max(0, math.floor(x * sx)), max(0, math.floor(y * sy))
    right, bottom = min(width, math.ceil((x + w) * sx)), min(height, math.ceil((y + h) * sy))
    return Box(x=left, y=top, width=max(1, right - left), height=max(1, bottom - top))


def suggest_crop(box: Box, margin: float, width: int, height: int) -> Box:
    pad = round(max(box.width, box.height) * margin)
    left, top = max(0, box.x - pad), max(0, box.y - pad)
    right = min(width, box.x + box.width + pad)
    bottom = min(height, box.y + box.height + pad)
    return Box(x=left, y=top, width=right - left, height=bottom - top)


def measure_sharpness(
    small: U8, box_small: tuple[int, int, int, int] | None, thresholds: QualityThresholds
) -> float:
    target = thresholds.sharpness_long_edge
    luma = to_luminance(small)
    size = fit_long_edge(luma.shape[1], luma.shape[0], target, enlarge=True)
    if size != (luma.shape[1], luma.shape[0]):
        enlarge = target > max(luma.shape[:2])
        method = cv2.INTER_CUBIC if enlarge else cv2.INTER_AREA
        luma = np.asarray(cv2.resize(luma, size, interpolation=method), dtype=np.float32)
    laplacian = cv2.Laplacian(luma, cv2.CV_32F, ksize=1)
    if box_small is not None:
        sx, sy = size[0] / small.shape[1], size[1] / small.shape[0]
        x, y, w, h = box_small
        region = laplacian[
            max(0, round(y * sy)) : round((y + h) * sy), max(0, round(x * sx)) : round((x + w) * sx)
        ]
        if region.size >= 1024:
            laplacian = region
    return float(laplacian.var())


def measure_colour_cast(
    lab: F32, small: U8, backdrop: np.ndarray[Any, np.dtype[np.bool_]]
) -> ColourCast | None:
    if small.ndim == 2 or backdrop.sum() < 100:
        return None
    a = float(lab[..., 1][backdrop].mean())
    b = float(lab[..., 2][backdrop].mean())
    return ColourCast(a=round(a, 2), b=round(b, 2), chroma=round(math.hypot(a, b), 2))
