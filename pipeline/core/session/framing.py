"""Framing and scale from a located chart: the object's box without the chart, the access crop
that leaves the chart out, the object's size in millimetres and its agreement with the
inventory's dimensions; pure, no I/O."""

from __future__ import annotations

import re
from typing import Any, Final

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pipeline.core.chart import ChartLocation
from pipeline.core.chart.locate import chart_polygon
from pipeline.core.profile import QualityThresholds
from pipeline.core.quality.measure import (
    Analysis,
    analyse,
    find_object_box,
    scale_box,
    suggest_crop,
)
from pipeline.core.quality.model import Box

_NUMBER = r"(\d+(?:[.,]\d+)?)\s*(mm|cm|m)\b"
# Vietnamese inventory words: cao = height; rộng, ngang, dài, đường kính (ĐK) = a width.
_HEIGHT: Final = re.compile(r"\bcao\b[^0-9;]*" + _NUMBER, re.IGNORECASE)
_WIDTH: Final = re.compile(
    r"(?:\brộng\b|\bngang\b|\bdài\b|\bđk\b|đường kính|\bwidth\b|\bdiam\w*)[^0-9;]*" + _NUMBER,
    re.IGNORECASE,
)
_TO_MM: Final = {"mm": 1.0, "cm": 10.0, "m": 1000.0}


class MeasuredSize(BaseModel):
    """The object's size in the plane of the chart, from the chart's patch pitch."""

    model_config = ConfigDict(extra="forbid")

    width_mm: float = Field(gt=0)
    height_mm: float = Field(gt=0)
    pixels_per_mm: float = Field(gt=0)


def object_box_without_chart(
    pixels: np.ndarray[Any, np.dtype[Any]],
    location: ChartLocation,
    thresholds: QualityThresholds,
    analysis: Analysis | None = None,
) -> Box | None:
    """The object's box (upright px) as the quality checks find it, with the chart masked out.

    `analysis`: the quality checks' `analyse(pixels, thresholds)`, when the caller has it."""
    height, width = pixels.shape[:2]
    if analysis is None:
        analysis = analyse(pixels, thresholds)
    sx, sy = analysis.scale_x, analysis.scale_y
    mask = analysis.differs.copy()
    card = chart_polygon(location) / np.array([sx, sy], np.float32)
    cv2.fillConvexPoly(mask, np.round(card).astype(np.int32), 0)
    found = find_object_box(mask)
    return scale_box(found, sx, sy, width, height) if found else None


def crop_without_chart(
    box: Box, location: ChartLocation, margin: float, size: tuple[int, int]
) -> Box:
    """The access crop: the object's box with `margin` (of its long side), shrunk where it
    would take in the chart, toward the object."""
    width, height = size
    crop = suggest_crop(box, margin, width, height)
    xs, ys = chart_polygon(location)[:, 0], chart_polygon(location)[:, 1]
    left, top = crop.x, crop.y
    right, bottom = crop.x + crop.width, crop.y + crop.height
    chart = (float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max()))
    if chart[0] < right and chart[2] > left and chart[1] < bottom and chart[3] > top:
        # Cut the side that loses least and still holds the object's box.
        options = []
        if chart[0] >= box.x + box.width:
            options.append(
                ((int(chart[0]) - left) * (bottom - top), (left, top, int(chart[0]), bottom))
            )
        if chart[2] <= box.x:
            options.append(
                (
                    (right - int(chart[2]) - 1) * (bottom - top),
                    (int(chart[2]) + 1, top, right, bottom),
                )
            )
        if chart[1] >= box.y + box.height:
            options.append(
                ((right - left) * (int(chart[1]) - top), (left, top, right, int(chart[1])))
            )
        if chart[3] <= box.y:
            options.append(
                (
                    (right - left) * (bottom - int(chart[3]) - 1),
                    (left, int(chart[3]) + 1, right, bottom),
                )
            )
        if options:
            left, top, right, bottom = max(options)[1]
    return Box(x=left, y=top, width=max(1, right - left), height=max(1, bottom - top))


def measure_object(box: Box, pixels_per_mm: float) -> MeasuredSize:
    return MeasuredSize(
        width_mm=round(box.width / pixels_per_mm, 1),
        height_mm=round(box.height / pixels_per_mm, 1),
        pixels_per_mm=round(pixels_per_mm, 4),
    )


def parse_dimensions(text: str) -> tuple[float | None, float | None]:
    """(height, widest width) in mm from an inventory's dimensions ('Cao 42 cm; ĐK miệng 11
    cm; ĐK đáy 14 cm' -> (420, 140)); None for what it does not say."""
    heights = [float(n.replace(",", ".")) * _TO_MM[u.lower()] for n, u in _HEIGHT.findall(text)]
    widths = [float(n.replace(",", ".")) * _TO_MM[u.lower()] for n, u in _WIDTH.findall(text)]
    return (heights[0] if heights else None, max(widths) if widths else None)


def check_dimensions(measured: MeasuredSize, dimensions: str, tolerance: float) -> str | None:
    """A warning when the inventory's height or width differs from the measured one by more
    than `tolerance` (a fraction); None when they agree or the inventory says neither."""
    height, width = parse_dimensions(dimensions)
    problems = []
    for name, stated, found in (
        ("height", height, measured.height_mm),
        ("width", width, measured.width_mm),
    ):
        if stated and abs(found - stated) > tolerance * stated:
            problems.append(f"{name} {found / 10:.1f} cm measured, {stated / 10:.1f} cm listed")
    if not problems:
        return None
    return (
        "The inventory's dimensions disagree with the object measured against the colour chart "
        f"({'; '.join(problems)}): check the inventory, or shoot the chart beside the object, "
        "in its plane."
    )


def frame_with_chart(
    pixels: np.ndarray[Any, np.dtype[Any]],
    location: ChartLocation | None,
    pixels_per_mm: float | None,
    thresholds: QualityThresholds,
    *,
    exclude_chart: bool,
    margin: float,
    analysis: Analysis | None = None,
) -> tuple[MeasuredSize | None, Box | None]:
    """With a located chart in the frame: the object's size (from the chart's scale) and, when
    `exclude_chart`, the access crop that leaves the chart out; (None, None) without one.
    `analysis`: the quality checks' reduced copy of `pixels`, when the caller has it."""
    if location is None or not location.complete:
        return None, None
    height, width = pixels.shape[:2]
    return frame_with_box(
        object_box_without_chart(pixels, location, thresholds, analysis),
        location,
        pixels_per_mm,
        (width, height),
        exclude_chart=exclude_chart,
        margin=margin,
    )


def frame_with_box(
    box: Box | None,
    location: ChartLocation | None,
    pixels_per_mm: float | None,
    size: tuple[int, int],
    *,
    exclude_chart: bool,
    margin: float,
) -> tuple[MeasuredSize | None, Box | None]:
    """frame_with_chart from the object's box without the chart, found already (the quality
    checks find it from the same analysis copy: `assess_quality_with_chart`)."""
    if box is None or location is None or not location.complete:
        return None, None
    measured = measure_object(box, pixels_per_mm) if pixels_per_mm else None
    crop = crop_without_chart(box, location, margin, size) if exclude_chart else None
    return measured, crop
