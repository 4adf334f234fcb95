"""Judge a scan's technical quality from its upright 8-bit pixels; pure, no I/O, never edits them.

Which resolution each measure uses ("analysis copy" is the image shrunk with INTER_AREA to at
most `analysis_long_edge` on its long edge, 1000 px by default; never enlarged):

- clipping, size, resolution tier: every pixel of the full image (shrinking hides clipping);
- noise: 256 small patches of the full image (shrinking averages noise away);
- sharpness: the analysis copy's luminance resampled to exactly `sharpness_long_edge` (1000 px)
  on its long edge, so two photographs of one object at different sizes score alike: the
  variance of the 3×3 Laplacian on the object's box (on the whole frame when no object is
  found), i.e. detail at access-copy scale; a scan too small to hold that detail is enlarged
  and scores low, as it should;
- exposure, blank frame, colour cast, object box, perceptual hash: the analysis copy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final, Literal, Self

import cv2
import numpy as np
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field, model_validator

Status = Literal["pass", "warn", "fail"]
Tier = Literal["tier_0", "tier_1", "tier_2", "tier_3"]
_RANK: Final[dict[str, int]] = {"pass": 0, "warn": 1, "fail": 2}

# Europeana Publishing Framework: the minimum image size of content tiers 1, 2 and 3 (tier 4
# asks the same 0.95 MP as tier 3); below 0.1 MP an image reaches no tier ("tier_0").
EUROPEANA_TIERS: Final[tuple[tuple[Tier, int], ...]] = (
    ("tier_3", 950_000),
    ("tier_2", 420_000),
    ("tier_1", 100_000),
)
_TIER_ORDER: Final[tuple[Tier, ...]] = ("tier_0", "tier_1", "tier_2", "tier_3")

_U8 = np.ndarray[Any, np.dtype[np.uint8]]
_F32 = np.ndarray[Any, np.dtype[np.float32]]


class QualityThresholds(BaseModel):
    """Every threshold of the quality checks; defaults suit studio object photography on a
    grey backdrop. Luminance values are 8-bit sRGB levels (0–255)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    analysis_long_edge: int = Field(default=1000, ge=256, le=4000)
    sharpness_long_edge: int = Field(default=1000, ge=256, le=8000)
    sharpness_warn: float = Field(default=40.0, ge=0)
    sharpness_fail: float = Field(default=15.0, ge=0)
    highlights_warn: float = Field(default=0.02, ge=0, le=1)
    highlights_fail: float = Field(default=0.10, ge=0, le=1)
    shadows_warn: float = Field(default=0.02, ge=0, le=1)
    shadows_fail: float = Field(default=0.10, ge=0, le=1)
    underexposed_warn: float = Field(default=70.0, ge=0, le=255)
    underexposed_fail: float = Field(default=40.0, ge=0, le=255)
    overexposed_warn: float = Field(default=195.0, ge=0, le=255)
    overexposed_fail: float = Field(default=225.0, ge=0, le=255)
    cast_warn: float = Field(default=3.0, ge=0, description="chroma of the backdrop, CIELAB")
    cast_fail: float = Field(default=6.0, ge=0)
    noise_warn: float = Field(default=3.5, ge=0, description="σ of the luminance, 8-bit levels")
    noise_fail: float = Field(default=7.0, ge=0)
    blank_std: float = Field(default=2.0, ge=0, description="σ of a 64 px thumbnail's luminance")
    min_long_edge_warn: int = Field(default=3000, ge=1)
    min_long_edge_fail: int = Field(default=1000, ge=1)
    tier_warn_below: Tier = "tier_3"
    tier_fail_below: Tier = "tier_2"
    fill_warn: float = Field(default=0.15, ge=0, le=1, description="object box / frame area")
    fill_fail: float = Field(default=0.03, ge=0, le=1)
    edge_margin: float = Field(default=0.003, ge=0, le=0.2, description="of the frame's side")
    border_fraction: float = Field(default=0.05, gt=0, le=0.25, description="backdrop band")
    object_delta_e: float = Field(default=10.0, gt=0, description="ΔE from the backdrop")
    crop_margin: float = Field(default=0.05, ge=0, le=1, description="of the box's long side")

    @model_validator(mode="after")
    def _fail_beyond_warn(self) -> Self:
        problems = [
            f"{low} must not exceed {high}"
            for low, high in (
                ("sharpness_fail", "sharpness_warn"),
                ("highlights_warn", "highlights_fail"),
                ("shadows_warn", "shadows_fail"),
                ("underexposed_fail", "underexposed_warn"),
                ("underexposed_warn", "overexposed_warn"),
                ("overexposed_warn", "overexposed_fail"),
                ("cast_warn", "cast_fail"),
                ("noise_warn", "noise_fail"),
                ("min_long_edge_fail", "min_long_edge_warn"),
                ("fill_fail", "fill_warn"),
            )
            if getattr(self, low) > getattr(self, high)
        ]
        if _TIER_ORDER.index(self.tier_fail_below) > _TIER_ORDER.index(self.tier_warn_below):
            problems.append("tier_fail_below must not be above tier_warn_below")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Box(_Model):
    """A rectangle in full-resolution pixels of the upright image."""

    x: int = Field(ge=0)
    y: int = Field(ge=0)
    width: int = Field(ge=1)
    height: int = Field(ge=1)

    def to_pil_box(self) -> tuple[int, int, int, int]:
        """(left, upper, right, lower), as `Image.crop` takes it."""
        return self.x, self.y, self.x + self.width, self.y + self.height


class ColourCast(_Model):
    """Mean CIELAB a* and b* of the backdrop (0, 0 is neutral) and their distance from it."""

    a: float
    b: float
    chroma: float


class Finding(_Model):
    """The outcome of one check, with a sentence an archivist can act on."""

    check: str
    status: Status
    value: float | None
    threshold: float | None
    message: str


class QualityReport(_Model):
    """Measures of one image and the checks made on them; `verdict` is the worst status."""

    width: int
    height: int
    megapixels: float
    long_edge: int
    resolution_tier: Tier
    analysis_long_edge: int = Field(description="long edge of the analysis copy, pixels")
    sharpness: float = Field(description="variance of the Laplacian at the sharpness scale")
    highlights_clipped: float = Field(description="fraction of pixels at 255 in any channel")
    shadows_clipped: float = Field(description="fraction of pixels at 0 in any channel")
    mean_luminance: float = Field(description="8-bit sRGB levels, Rec. 709 weights")
    colour_cast: ColourCast | None = Field(description="None for greyscale or no backdrop")
    noise_sigma: float = Field(description="Immerkær's σ of the luminance, 8-bit levels")
    blank: bool
    object_bbox: Box | None
    fill_fraction: float | None = Field(description="object box area / frame area")
    suggested_crop: Box | None
    phash: str = Field(pattern=r"^[0-9a-f]{16}$")
    findings: list[Finding]
    verdict: Status

    def problems(self) -> list[Finding]:
        """The findings that are not a pass."""
        return [finding for finding in self.findings if finding.status != "pass"]


# --- entry points ------------------------------------------------------------------------------


# What needs the backdrop in view: a close-up (a detail, a maker's mark) fills the frame with
# the object on purpose, so these checks would only cry wolf there.
_BACKDROP_CHECKS: Final = frozenset({"colour_cast", "framing", "edges"})


def assess_quality(
    image: Image.Image | np.ndarray[Any, np.dtype[Any]],
    thresholds: QualityThresholds,
    *,
    close_up: bool = False,
) -> QualityReport:
    """Measure and judge an upright 8-bit RGB or greyscale image (PIL or uint8 array).

    With `close_up`, the backdrop checks are measured but not judged (status pass, saying so).
    """
    pixels = _to_array(image)
    height, width = pixels.shape[:2]
    total = width * height
    highlights, shadows = _clipped_fractions(pixels)
    noise = _estimate_noise(pixels)
    small, scale_x, scale_y = _shrink(pixels, thresholds.analysis_long_edge)
    luma = _luminance(small)
    thumb = cv2.resize(luma, _fit(luma.shape, 64), interpolation=cv2.INTER_AREA)
    blank = float(thumb.std()) < thresholds.blank_std
    lab = _to_lab(small)
    backdrop_mask, object_mask = _split_backdrop(lab, thresholds)
    box_small = None if blank else _object_box(object_mask)
    bbox = _scale_box(box_small, scale_x, scale_y, width, height) if box_small else None
    measures = _Measures(
        width=width,
        height=height,
        tier=classify_tier(width, height),
        sharpness=_measure_sharpness(small, box_small, thresholds),
        highlights=highlights,
        shadows=shadows,
        luminance=float(luma.mean()),
        cast=None if blank else _colour_cast(lab, small, backdrop_mask),
        noise=noise,
        blank=blank,
        bbox=bbox,
        fill=None if bbox is None else bbox.width * bbox.height / total,
    )
    findings = _judge(measures, thresholds)
    if close_up:
        findings = [
            f.model_copy(
                update={"status": "pass", "message": "Not judged on a close-up view: no backdrop."}
            )
            if f.check in _BACKDROP_CHECKS
            else f
            for f in findings
        ]
    return QualityReport(
        width=width,
        height=height,
        megapixels=round(total / 1e6, 3),
        long_edge=max(width, height),
        resolution_tier=measures.tier,
        analysis_long_edge=max(small.shape[:2]),
        sharpness=round(measures.sharpness, 2),
        highlights_clipped=round(highlights, 6),
        shadows_clipped=round(shadows, 6),
        mean_luminance=round(measures.luminance, 2),
        colour_cast=measures.cast,
        noise_sigma=round(noise, 3),
        blank=blank,
        object_bbox=bbox,
        fill_fraction=None if measures.fill is None else round(measures.fill, 4),
        suggested_crop=_crop_box(bbox, thresholds.crop_margin, width, height) if bbox else None,
        phash=compute_phash(luma),
        findings=findings,
        verdict=max((f.status for f in findings), key=_RANK.__getitem__, default="pass"),
    )


def classify_tier(width: int, height: int) -> Tier:
    """Europeana's image-size tier of a width × height image (thresholds inclusive)."""
    pixels = width * height
    for tier, minimum in EUROPEANA_TIERS:
        if pixels >= minimum:
            return tier
    return "tier_0"


def compute_phash(image: Image.Image | np.ndarray[Any, np.dtype[Any]]) -> str:
    """A 64-bit DCT perceptual hash as 16 hex digits (pHash: 32×32 luminance, the 8×8 lowest
    frequencies, each bit set when above their median)."""
    pixels = _to_array(image) if isinstance(image, Image.Image) else np.asarray(image)
    luma = _luminance(pixels) if pixels.ndim == 3 else pixels.astype(np.float32)
    small = cv2.resize(luma, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
    low = cv2.dct(small)[:8, :8]
    bits = (low > np.median(low)).flatten()
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return f"{value:016x}"


def hamming_distance(a: str, b: str) -> int:
    """How many of the 64 bits of two perceptual hashes differ (0 = alike, 64 = opposite)."""
    for text in (a, b):
        if len(text) != 16 or any(c not in "0123456789abcdefABCDEF" for c in text):
            raise ValueError(f"not a 16-hex-digit perceptual hash: {text!r}")
    return (int(a, 16) ^ int(b, 16)).bit_count()


# --- measures ----------------------------------------------------------------------------------


def _to_array(image: Image.Image | np.ndarray[Any, np.dtype[Any]]) -> _U8:
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


def _fit(shape: tuple[int, ...], long_edge: int) -> tuple[int, int]:
    height, width = shape[:2]
    scale = long_edge / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _shrink(pixels: _U8, long_edge: int) -> tuple[_U8, float, float]:
    """The analysis copy and its scale (full-resolution pixels per analysis pixel, x and y).

    OpenCV's INTER_AREA is several times faster for whole-number factors, so the bulk of the
    reduction is one whole-number step on the image cropped to a multiple of it (dropping
    fewer pixels than the factor at the right and bottom edges), then a small exact step.
    """
    height, width = pixels.shape[:2]
    factor = max(width, height) // long_edge
    if factor < 1 or max(width, height) <= long_edge:
        return pixels, 1.0, 1.0
    used_w, used_h = width - width % factor, height - height % factor
    small = np.asarray(
        cv2.resize(
            pixels[:used_h, :used_w],
            (used_w // factor, used_h // factor),
            interpolation=cv2.INTER_AREA,
        ),
        dtype=np.uint8,
    )
    if max(small.shape[:2]) > long_edge:
        exact = cv2.resize(small, _fit(small.shape, long_edge), interpolation=cv2.INTER_AREA)
        small = np.asarray(exact, dtype=np.uint8)
    return small, used_w / small.shape[1], used_h / small.shape[0]


def _luminance(pixels: np.ndarray[Any, np.dtype[Any]]) -> _F32:
    """Rec. 709 luma of sRGB-encoded values, float32 in 0–255."""
    if pixels.ndim == 2:
        return pixels.astype(np.float32)
    weights = np.array([[0.2126, 0.7152, 0.0722]], dtype=np.float32)
    return np.asarray(cv2.transform(pixels.astype(np.float32), weights), dtype=np.float32)


def _clipped_fractions(pixels: _U8) -> tuple[float, float]:
    """Fractions of pixels with any channel at 255 and at 0, counted on every pixel."""
    height, width = pixels.shape[:2]
    total = width * height
    lowest, highest, _, _ = cv2.minMaxLoc(pixels.reshape(height, -1))
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    counts = []
    # The pixels with every channel inside the range are counted; the rest touch the end.
    # One pass and a one-channel mask: twice as fast as a per-channel compare merged after.
    for inside, present in (((0, 254), highest >= 255), ((1, 255), lowest <= 0)):
        if not present:  # the common case for one end or both: skip the full-size masks
            counts.append(0.0)
            continue
        low, high = (inside[0],) * channels, (inside[1],) * channels
        mask = cv2.inRange(pixels, low, high)
        counts.append((total - cv2.countNonZero(mask)) / total)
    return counts[0], counts[1]


_IMMERKAER: Final = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)


def _estimate_noise(pixels: _U8) -> float:
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
    patches = np.stack([pixels[r : r + size, c : c + size] for r in rows for c in cols])
    luma = (
        patches.astype(np.float32)
        if patches.ndim == 3
        else patches.astype(np.float32) @ np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)
    )
    response = np.zeros((luma.shape[0], size - 2, size - 2), dtype=np.float32)
    for dy in range(3):
        for dx in range(3):
            response += _IMMERKAER[dy, dx] * luma[:, dy : dy + size - 2, dx : dx + size - 2]
    sigma = np.abs(response).sum(axis=(1, 2)) * math.sqrt(math.pi / 2) / (6 * (size - 2) ** 2)
    return float(np.percentile(sigma, 25))


def _to_lab(small: _U8) -> _F32:
    rgb = small if small.ndim == 3 else cv2.cvtColor(small, cv2.COLOR_GRAY2RGB)
    lab = cv2.cvtColor(rgb.astype(np.float32) * np.float32(1 / 255), cv2.COLOR_RGB2Lab)
    return np.asarray(lab, dtype=np.float32)


def _border_mask(shape: tuple[int, ...], fraction: float) -> np.ndarray[Any, np.dtype[np.bool_]]:
    height, width = shape[:2]
    band_y, band_x = max(1, round(height * fraction)), max(1, round(width * fraction))
    mask = np.ones((height, width), dtype=bool)
    mask[band_y : height - band_y, band_x : width - band_x] = False
    return mask


def _split_backdrop(
    lab: _F32, thresholds: QualityThresholds
) -> tuple[np.ndarray[Any, np.dtype[np.bool_]], _U8]:
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


def _distance_from_surface(lab: _F32, coefficients: np.ndarray[Any, Any]) -> _F32:
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


def _object_box(mask: _U8) -> tuple[int, int, int, int] | None:
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


def _scale_box(
    box: tuple[int, int, int, int], sx: float, sy: float, width: int, height: int
) -> Box:
    x, y, w, h = box
    left, top = max(0, math.floor(x * sx)), max(0, math.floor(y * sy))
    right, bottom = min(width, math.ceil((x + w) * sx)), min(height, math.ceil((y + h) * sy))
    return Box(x=left, y=top, width=max(1, right - left), height=max(1, bottom - top))


def _crop_box(box: Box, margin: float, width: int, height: int) -> Box:
    pad = round(max(box.width, box.height) * margin)
    left, top = max(0, box.x - pad), max(0, box.y - pad)
    right = min(width, box.x + box.width + pad)
    bottom = min(height, box.y + box.height + pad)
    return Box(x=left, y=top, width=right - left, height=bottom - top)


def _measure_sharpness(
    small: _U8, box_small: tuple[int, int, int, int] | None, thresholds: QualityThresholds
) -> float:
    target = thresholds.sharpness_long_edge
    luma = _luminance(small)
    size = _fit(luma.shape, target)
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


def _colour_cast(
    lab: _F32, small: _U8, backdrop: np.ndarray[Any, np.dtype[np.bool_]]
) -> ColourCast | None:
    if small.ndim == 2 or backdrop.sum() < 100:
        return None
    a = float(lab[..., 1][backdrop].mean())
    b = float(lab[..., 2][backdrop].mean())
    return ColourCast(a=round(a, 2), b=round(b, 2), chroma=round(math.hypot(a, b), 2))


# --- judging -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Measures:
    width: int
    height: int
    tier: Tier
    sharpness: float
    highlights: float
    shadows: float
    luminance: float
    cast: ColourCast | None
    noise: float
    blank: bool
    bbox: Box | None
    fill: float | None


def _status_above(value: float, warn: float, fail: float) -> tuple[Status, float]:
    """Status when a high value is bad, and the threshold that decided it."""
    if value > fail:
        return "fail", fail
    return ("warn", warn) if value > warn else ("pass", warn)


def _status_below(value: float, warn: float, fail: float) -> tuple[Status, float]:
    """Status when a low value is bad, and the threshold that decided it."""
    if value < fail:
        return "fail", fail
    return ("warn", warn) if value < warn else ("pass", warn)


def _judge(m: _Measures, t: QualityThresholds) -> list[Finding]:
    findings: list[Finding] = []

    def add(
        check: str, status: Status, value: float | None, limit: float | None, text: str
    ) -> None:
        findings.append(
            Finding(check=check, status=status, value=value, threshold=limit, message=text)
        )

    long_edge = max(m.width, m.height)
    status, limit = _status_below(long_edge, t.min_long_edge_warn, t.min_long_edge_fail)
    add(
        "long_edge",
        status,
        long_edge,
        limit,
        f"Long edge is {long_edge} px (at least {limit:.0f} expected)"
        + (": rescan at a higher resolution." if status != "pass" else "."),
    )
    rank = _TIER_ORDER.index(m.tier)
    tier_status: Status = (
        "fail"
        if rank < _TIER_ORDER.index(t.tier_fail_below)
        else "warn"
        if rank < _TIER_ORDER.index(t.tier_warn_below)
        else "pass"
    )
    megapixels = m.width * m.height / 1e6
    deciding = t.tier_fail_below if tier_status == "fail" else t.tier_warn_below
    add(
        "resolution_tier",
        tier_status,
        round(megapixels, 3),
        dict(EUROPEANA_TIERS).get(deciding, 0) / 1e6,
        f"Image is {megapixels:.2f} MP, Europeana {m.tier.replace('_', ' ')}"
        + (
            f" (below {t.tier_warn_below.replace('_', ' ')}): rescan at a higher resolution."
            if tier_status != "pass"
            else "."
        ),
    )
    if m.blank:
        add(
            "blank",
            "fail",
            None,
            t.blank_std,
            "Frame is blank or nearly uniform: check the lens cap, exposure and framing, "
            "and reshoot.",
        )
    status, limit = _status_above(m.highlights, t.highlights_warn, t.highlights_fail)
    add(
        "highlights",
        status,
        round(m.highlights, 6),
        limit,
        f"{m.highlights:.1%} of pixels are clipped white"
        + (
            f" (> {limit:.1%}): lower the exposure or soften the lights and reshoot."
            if status != "pass"
            else "."
        ),
    )
    status, limit = _status_above(m.shadows, t.shadows_warn, t.shadows_fail)
    add(
        "shadows",
        status,
        round(m.shadows, 6),
        limit,
        f"{m.shadows:.1%} of pixels are clipped black"
        + (
            f" (> {limit:.1%}): raise the exposure or add fill light and reshoot."
            if status != "pass"
            else "."
        ),
    )
    under, under_limit = _status_below(m.luminance, t.underexposed_warn, t.underexposed_fail)
    over, over_limit = _status_above(m.luminance, t.overexposed_warn, t.overexposed_fail)
    if _RANK[under] >= _RANK[over] and under != "pass":
        add(
            "exposure",
            under,
            round(m.luminance, 2),
            under_limit,
            f"Image is underexposed (mean luminance {m.luminance:.0f} < {under_limit:.0f}): "
            "increase the exposure and reshoot.",
        )
    elif over != "pass":
        add(
            "exposure",
            over,
            round(m.luminance, 2),
            over_limit,
            f"Image is overexposed (mean luminance {m.luminance:.0f} > {over_limit:.0f}): "
            "reduce the exposure and reshoot.",
        )
    else:
        add(
            "exposure",
            "pass",
            round(m.luminance, 2),
            None,
            f"Exposure is normal (mean luminance {m.luminance:.0f}).",
        )
    if m.cast is not None:
        status, limit = _status_above(m.cast.chroma, t.cast_warn, t.cast_fail)
        add(
            "colour_cast",
            status,
            m.cast.chroma,
            limit,
            f"Backdrop colour is off neutral by {m.cast.chroma:.1f} (a* {m.cast.a:+.1f}, "
            f"b* {m.cast.b:+.1f})"
            + (
                f", more than {limit:.0f}: set the white balance on the grey card and reshoot."
                if status != "pass"
                else "."
            ),
        )
    status, limit = _status_above(m.noise, t.noise_warn, t.noise_fail)
    add(
        "noise",
        status,
        round(m.noise, 3),
        limit,
        f"Noise level is {m.noise:.1f}"
        + (
            f" (> {limit:.0f}): lower the ISO, add light or use a longer exposure on a tripod."
            if status != "pass"
            else "."
        ),
    )
    if m.blank:
        return findings
    status, limit = _status_below(m.sharpness, t.sharpness_warn, t.sharpness_fail)
    add(
        "sharpness",
        status,
        round(m.sharpness, 2),
        limit,
        (
            f"Image is blurred (sharpness {m.sharpness:.0f} < {limit:.0f}): reshoot with "
            "focus on the object."
        )
        if status != "pass"
        else f"Image is sharp (sharpness {m.sharpness:.0f}).",
    )
    if m.bbox is None or m.fill is None:
        add(
            "framing",
            "warn",
            None,
            None,
            "No object stands out from the backdrop: check that the object is in the frame "
            "and differs from the backdrop.",
        )
        return findings
    status, limit = _status_below(m.fill, t.fill_warn, t.fill_fail)
    add(
        "framing",
        status,
        round(m.fill, 4),
        limit,
        f"Object fills {m.fill:.0%} of the frame"
        + (f" (< {limit:.0%}): move closer or zoom in and reshoot." if status != "pass" else "."),
    )
    margin_x, margin_y = t.edge_margin * m.width, t.edge_margin * m.height
    touches = (
        m.bbox.x <= margin_x
        or m.bbox.y <= margin_y
        or m.bbox.x + m.bbox.width >= m.width - margin_x
        or m.bbox.y + m.bbox.height >= m.height - margin_y
    )
    add(
        "edges",
        "warn" if touches else "pass",
        None,
        t.edge_margin,
        "Object touches the edge of the frame and may be cut off: widen the framing and reshoot."
        if touches
        else "Object is clear of the frame's edges.",
    )
    return findings
