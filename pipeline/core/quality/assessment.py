"""Measure and judge one image into a QualityReport; the perceptual hash; pure, no I/O."""

from __future__ import annotations

from typing import Any, Final

import cv2
import numpy as np
from PIL import Image

from pipeline.core.chart.locate import chart_polygon
from pipeline.core.chart.model import ChartReport
from pipeline.core.profile import QualityThresholds, Tier
from pipeline.core.quality.check import Measures, judge_measures
from pipeline.core.quality.measure import (
    Analysis,
    analyse,
    estimate_noise,
    find_object_box,
    measure_clipping,
    measure_colour_cast,
    measure_sharpness,
    scale_box,
    suggest_crop,
    to_array,
    to_luminance,
)
from pipeline.core.quality.model import (
    EUROPEANA_TIERS,
    RANK,
    Box,
    QualityReport,
)
from pipeline.core.shrink import fit_long_edge

# What needs the backdrop in view: a close-up (a detail, a maker's mark) fills the frame with
# the object on purpose, so these checks would only cry wolf there.
_BACKDROP_CHECKS: Final = frozenset({"colour_cast", "framing", "edges"})


def assess_quality(
    image: Image.Image | np.ndarray[Any, np.dtype[Any]],
    thresholds: QualityThresholds,
    *,
    close_up: bool = False,
    chart: ChartReport | None = None,
    analysis: Analysis | None = None,
) -> QualityReport:
    """Measure and judge an upright 8-bit RGB or greyscale image (PIL or uint8 array).

    With `close_up`, the backdrop checks are measured but not judged (status pass, saying so).
    `chart` (from `pipeline.core.chart.read_chart`) adds the colour chart's finding.
    `analysis`: `analyse(image, thresholds)` when the caller made it already (the framing
    uses it too), else made here.
    """
    return assess_quality_with_chart(
        image, thresholds, close_up=close_up, chart=chart, analysis=analysis
    )[0]


def assess_quality_with_chart(
    image: Image.Image | np.ndarray[Any, np.dtype[Any]],
    thresholds: QualityThresholds,
    *,
    close_up: bool = False,
    chart: ChartReport | None = None,
    analysis: Analysis | None = None,
) -> tuple[QualityReport, Box | None]:
    """assess_quality, and the object's box (upright px) with a measured, whole chart masked
    out of the same analysis copy: what the object measures against the chart (None without
    such a chart, or when nothing else stands out)."""
    pixels = to_array(image)
    height, width = pixels.shape[:2]
    total = width * height
    highlights, shadows = measure_clipping(pixels)
    noise = estimate_noise(pixels)
    if analysis is None:
        analysis = analyse(pixels, thresholds)
    small, scale_x, scale_y = analysis.small, analysis.scale_x, analysis.scale_y
    luma = to_luminance(small)
    thumb = cv2.resize(
        luma,
        fit_long_edge(luma.shape[1], luma.shape[0], 64, enlarge=True),
        interpolation=cv2.INTER_AREA,
    )
    blank = float(thumb.std()) < thresholds.blank_std
    lab, backdrop_mask, object_mask = analysis.lab, analysis.backdrop, analysis.differs
    box_small = None if blank else find_object_box(object_mask)
    bbox = scale_box(box_small, scale_x, scale_y, width, height) if box_small else None
    location = chart.location if chart is not None and chart.measurement is not None else None
    without_chart = None
    if location is not None and location.complete:
        card = chart_polygon(location) / np.array([scale_x, scale_y], np.float32)
        masked = object_mask.copy()
        cv2.fillConvexPoly(masked, np.round(card).astype(np.int32), 0)
        found = find_object_box(masked)
        without_chart = scale_box(found, scale_x, scale_y, width, height) if found else None
    measures = Measures(
        width=width,
        height=height,
        tier=classify_tier(width, height),
        sharpness=measure_sharpness(small, box_small, thresholds),
        highlights=highlights,
        shadows=shadows,
        luminance=float(luma.mean()),
        cast=None if blank else measure_colour_cast(lab, small, backdrop_mask),
        noise=noise,
        blank=blank,
        bbox=bbox,
        fill=None if bbox is None else bbox.width * bbox.height / total,
        chart=chart,
    )
    findings = judge_measures(measures, thresholds)
    if close_up:
        findings = [
            f.model_copy(
                update={"status": "pass", "message": "Not judged on a close-up view: no backdrop."}
            )
            if f.check in _BACKDROP_CHECKS
            else f
            for f in findings
        ]
    report = QualityReport(
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
        suggested_crop=suggest_crop(bbox, thresholds.crop_margin, width, height) if bbox else None,
        phash=compute_phash(luma),
        findings=findings,
        verdict=max((f.status for f in findings), key=RANK.__getitem__, default="pass"),
    )
    return report, without_chart


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
    pixels = to_array(image) if isinstance(image, Image.Image) else np.asarray(image)
    luma = to_luminance(pixels) if pixels.ndim == 3 else pixels.astype(np.float32)
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
