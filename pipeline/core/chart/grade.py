"""Grade a chart measurement into a star level and a finding; read a scan's chart in one call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from pipeline.core.chart.correct import pixels_per_mm
from pipeline.core.chart.locate import find_charts
from pipeline.core.chart.measure import measure_chart
from pipeline.core.chart.model import ChartMeasurement, ChartReport, ChartStatus
from pipeline.core.profile import ColourSettings

_NO_CHART = "No colour chart in the frame."


@dataclass(frozen=True)
class _NeutralCheck:
    """One way the neutral patches can be off: what it is called, when, and the remedy."""

    describe: Callable[[ChartMeasurement], str]
    is_off: Callable[[ChartMeasurement, ColourSettings], bool]
    remedy: str


# Every way the neutral row is off goes into one sentence with every remedy: a chart shot
# both warm and dark is one finding, not two saying "reshoot" twice.
_NEUTRAL_CHECKS: Final = (
    _NeutralCheck(
        describe=lambda m: (
            f"have a {_cast_name(m.neutral_a, m.neutral_b)} cast (a* {m.neutral_a:+.0f}, "
            f"b* {m.neutral_b:+.0f})"
        ),
        is_off=lambda m, s: (
            not m.greyscale and max(abs(m.neutral_a), abs(m.neutral_b)) > s.neutral_cast_warn
        ),
        remedy="the white balance",
    ),
    _NeutralCheck(
        describe=lambda m: (
            f"are {abs(m.neutral_l_error):.0f} L* too "
            + ("dark" if m.neutral_l_error < 0 else "bright")
        ),
        is_off=lambda m, s: abs(m.neutral_l_error) > s.neutral_l_warn,
        remedy="the exposure",
    ),
)


def grade_measurement(
    measurement: ChartMeasurement, settings: ColourSettings
) -> tuple[int, ChartStatus, str]:
    """The star level (0–4) of a measurement, its status and one sentence a photographer can
    act on: mean ΔE2000, every way the neutral patches are off (cast, exposure), the remedies."""
    mean = measurement.mean_delta_e
    level = next((4 - rank for rank, limit in enumerate(settings.levels) if mean <= limit), 0)
    status: ChartStatus = (
        "fail" if level < settings.fail_below else "warn" if level < settings.warn_below else "pass"
    )
    stars = f"{level} star{'s' if level != 1 else ''}"
    sentence = f"Colour chart: mean ΔE2000 {mean:.1f} ({stars})"
    off = [check for check in _NEUTRAL_CHECKS if check.is_off(measurement, settings)]
    if off:
        said = " and ".join(check.describe(measurement) for check in off)
        remedies = " and ".join(check.remedy for check in off)
        sentence += f"; the neutral patches {said}: check {remedies}"
    elif status != "pass":
        sentence += f", worst patch {measurement.worst_patch}; check the lighting and the camera "
        sentence += "profile"
    return level, status, sentence + "."


def split_finding(message: str) -> tuple[str, str | None]:
    """A graded chart's sentence as (headline, advice): 'Colour chart: mean ΔE2000 8.0 (0
    stars)' and 'the neutral patches …: check …' (None when it passed without a remark), for
    a summary that states the figures its own way and must not say them twice."""
    headline, _, advice = message.rstrip(".").partition("; ")
    return headline, (advice + ".") if advice else None


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
            message=f"A colour chart was found but could not be measured ({exc}): "
            + (
                "export the scan again with its camera's colour profile embedded."
                if "ICC" in str(exc)
                else "reshoot it flat, evenly lit and in focus."
            ),
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
