"""Grade a chart measurement into a star level and a finding; read a scan's chart in one call."""

from __future__ import annotations

from typing import Any

import numpy as np

from pipeline.core.chart.correct import pixels_per_mm
from pipeline.core.chart.locate import find_charts
from pipeline.core.chart.measure import measure_chart
from pipeline.core.chart.model import ChartMeasurement, ChartReport, ChartStatus
from pipeline.core.profile import ColourSettings

_NO_CHART = "No colour chart in the frame."


def grade_measurement(
    measurement: ChartMeasurement, settings: ColourSettings
) -> tuple[int, ChartStatus, str]:
    """The star level (0–4) of a measurement, its status and a sentence a photographer can
    act on (mean ΔE2000, the cast or exposure error of the neutral patches, the remedy)."""
    mean = measurement.mean_delta_e
    level = next((4 - rank for rank, limit in enumerate(settings.levels) if mean <= limit), 0)
    status: ChartStatus = (
        "fail" if level < settings.fail_below else "warn" if level < settings.warn_below else "pass"
    )
    stars = f"{level} star{'s' if level != 1 else ''}"
    parts = [f"Colour chart: mean ΔE2000 {mean:.1f} ({stars})"]
    a, b = measurement.neutral_a, measurement.neutral_b
    remedies: list[str] = []
    if not measurement.greyscale and max(abs(a), abs(b)) > settings.neutral_cast_warn:
        parts.append(f"{_cast_name(a, b)} cast: a* {a:+.0f}, b* {b:+.0f} on the neutral patches")
        remedies.append("the white balance")
    l_error = measurement.neutral_l_error
    if abs(l_error) > settings.neutral_l_warn:
        way = "dark" if l_error < 0 else "bright"
        parts.append(f"neutral patches {abs(l_error):.0f} L* too {way}")
        remedies.append("the exposure")
    sentence = ", ".join(parts)
    if status != "pass" and not remedies:
        sentence += f", worst patch {measurement.worst_patch}; check the lighting and the camera "
        sentence += "profile"
    elif remedies:
        sentence += "; check " + " and ".join(remedies)
    return level, status, sentence + "."


def _cast_name(a: float, b: float) -> str:
    if abs(b) >= abs(a):
        return "warm" if b > 0 else "cool"
    return "magenta" if a > 0 else "green"


def read_chart(
    pixels: np.ndarray[Any, np.dtype[Any]],
    settings: ColourSettings,
    *,
    icc: bytes | None = None,
    precise: np.ndarray[Any, np.dtype[Any]] | None = None,
) -> ChartReport:
    """Find, measure and grade the colour chart of one scan; never raises for a bad chart.

    `pixels` are the upright 8-bit pixels in the scan's own encoding (`icc`, None for sRGB);
    `precise`, when the master has more than 8 bits, the same upright pixels at full depth,
    which the patches are then sampled from. No chart, a chart cut by the frame's edge, two
    charts or an unreadable one is a report with a finding, not an error.
    """
    charts = find_charts(pixels, long_edge=settings.detect_long_edge)
    if not charts:
        return ChartReport(
            found=False, charts=0, problem="none_found", status="pass", message=_NO_CHART
        )
    # A whole chart is worth more than a larger one cut by the frame's edge.
    location = next((chart for chart in charts if chart.complete), charts[0])
    scale = round(pixels_per_mm(location, settings.patch_pitch_mm), 4)
    if not location.complete:
        return ChartReport(
            found=True,
            charts=len(charts),
            problem="cut_by_edge",
            location=location,
            status="warn",
            message=f"A colour chart is cut by the frame's edge ({location.in_frame} of 24 "
            "patches in view): not measured; frame the whole chart.",
            pixels_per_mm=scale,
        )
    source = precise if precise is not None and precise.shape[:2] == pixels.shape[:2] else pixels
    try:
        measurement = measure_chart(source, location, icc=icc, edition=settings.reference)
    except (ValueError, ArithmeticError) as exc:
        return ChartReport(
            found=True,
            charts=len(charts),
            problem="unreadable",
            location=location,
            status="warn",
            message=f"A colour chart was found but could not be measured ({exc}): reshoot it "
            "flat, evenly lit and in focus.",
            pixels_per_mm=scale,
        )
    level, status, message = grade_measurement(measurement, settings)
    problem = None
    if len(charts) > 1:
        problem = "several"
        status = "warn" if status == "pass" else status
        message += f" {len(charts)} charts in the frame: the largest was measured."
    return ChartReport(
        found=True,
        charts=len(charts),
        problem=problem,
        location=location,
        measurement=measurement,
        level=level,
        status=status,
        message=message,
        pixels_per_mm=scale,
    )
