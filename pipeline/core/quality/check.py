"""The quality checks as a table: what each measures, its thresholds, its sentence; no pixels."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

from pipeline.core.chart.model import ChartReport
from pipeline.core.profile import TIER_ORDER, QualityThresholds, Tier
from pipeline.core.quality.model import (
    EUROPEANA_TIERS,
    RANK,
    Box,
    ColourCast,
    Finding,
    Status,
)


@dataclass(frozen=True)
class Measures:
    """What the checks judge, measured once on one image."""

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
    chart: ChartReport | None = None


def status_above(value: float, warn: float, fail: float) -> tuple[Status, float]:
    """Status when a high value is bad, and the threshold that decided it."""
    if value > fail:
        return "fail", fail
    return ("warn", warn) if value > warn else ("pass", warn)


def status_below(value: float, warn: float, fail: float) -> tuple[Status, float]:
    """Status when a low value is bad, and the threshold that decided it."""
    if value < fail:
        return "fail", fail
    return ("warn", warn) if value < warn else ("pass", warn)


@dataclass(frozen=True)
class Check:
    """One threshold check: what it measures, which thresholds judge it, what it says.

    `measure` gives the judged value, or None when the image has nothing to measure (then
    `missing`, if set, is said as a warning); `shown` and `shown_limit` turn the value and the
    deciding threshold into what the finding records; `says` is the archivist's sentence.
    """

    name: str
    measure: Callable[[Measures], float | None]
    limits: Callable[[QualityThresholds], tuple[float, float]]  # (warn, fail)
    bad: Literal["high", "low"]
    says: Callable[[Measures, QualityThresholds, float, Status], str]
    shown: Callable[[Measures, float], float] = lambda m, value: value
    shown_limit: Callable[[float], float] = lambda limit: limit
    applies: Callable[[Measures], bool] = lambda m: True
    missing: str | None = None

    def __call__(self, m: Measures, t: QualityThresholds) -> Finding | None:
        if not self.applies(m):
            return None
        value = self.measure(m)
        if value is None:
            if self.missing is None:
                return None
            return Finding(
                check=self.name, status="warn", value=None, threshold=None, message=self.missing
            )
        warn, fail = self.limits(t)
        judge = status_above if self.bad == "high" else status_below
        status, limit = judge(value, warn, fail)
        return Finding(
            check=self.name,
            status=status,
            value=self.shown(m, value),
            threshold=self.shown_limit(limit),
            message=self.says(m, t, limit, status),
        )


def _judge_blank(m: Measures, t: QualityThresholds) -> Finding | None:
    if not m.blank:
        return None
    return Finding(
        check="blank",
        status="fail",
        value=None,
        threshold=t.blank_std,
        message="Frame is blank or nearly uniform: check the lens cap, exposure and framing, "
        "and reshoot.",
    )


def _judged_on_chart(m: Measures) -> bool:
    """A measured chart in the frame: its neutral patches judge white balance and exposure
    exactly (colour_chart's one finding names both), so the backdrop's and the frame's rough
    figures are only reported, never a second finding with the same remedy."""
    return m.chart is not None and m.chart.measurement is not None


def _deferred(check: str, value: float | None, figure: str, what: str) -> Finding:
    return Finding(
        check=check,
        status="pass",
        value=value,
        threshold=None,
        message=f"{figure}: {what} is judged on the colour chart's neutral patches (colour_chart).",
    )


def _judge_colour_cast(m: Measures, t: QualityThresholds) -> Finding | None:
    if m.cast is not None and _judged_on_chart(m):
        figure = f"Backdrop a* {m.cast.a:+.1f}, b* {m.cast.b:+.1f}"
        return _deferred("colour_cast", m.cast.chroma, figure, "the white balance")
    return _COLOUR_CAST(m, t)


def _judge_exposure(m: Measures, t: QualityThresholds) -> Finding:
    """Too dark and too bright are one check: the worse of the two speaks."""
    if _judged_on_chart(m):
        figure = f"Mean luminance {m.luminance:.0f}"
        return _deferred("exposure", round(m.luminance, 2), figure, "the exposure")
    under, under_limit = status_below(m.luminance, t.underexposed_warn, t.underexposed_fail)
    over, over_limit = status_above(m.luminance, t.overexposed_warn, t.overexposed_fail)
    value = round(m.luminance, 2)
    if RANK[under] >= RANK[over] and under != "pass":
        return Finding(
            check="exposure",
            status=under,
            value=value,
            threshold=under_limit,
            message=f"Image is underexposed (mean luminance {m.luminance:.0f} < "
            f"{under_limit:.0f}): increase the exposure and reshoot.",
        )
    if over != "pass":
        return Finding(
            check="exposure",
            status=over,
            value=value,
            threshold=over_limit,
            message=f"Image is overexposed (mean luminance {m.luminance:.0f} > "
            f"{over_limit:.0f}): reduce the exposure and reshoot.",
        )
    return Finding(
        check="exposure",
        status="pass",
        value=value,
        threshold=None,
        message=f"Exposure is normal (mean luminance {m.luminance:.0f}).",
    )


def _judge_edges(m: Measures, t: QualityThresholds) -> Finding | None:
    if m.blank or m.bbox is None or m.fill is None:
        return None
    margin_x, margin_y = t.edge_margin * m.width, t.edge_margin * m.height
    touches = (
        m.bbox.x <= margin_x
        or m.bbox.y <= margin_y
        or m.bbox.x + m.bbox.width >= m.width - margin_x
        or m.bbox.y + m.bbox.height >= m.height - margin_y
    )
    return Finding(
        check="edges",
        status="warn" if touches else "pass",
        value=None,
        threshold=t.edge_margin,
        message="Object touches the edge of the frame and may be cut off: widen the framing and "
        "reshoot."
        if touches
        else "Object is clear of the frame's edges.",
    )


def _judge_colour_chart(m: Measures, t: QualityThresholds) -> Finding | None:
    """The colour chart's finding, graded by the chart module with the profile's [colour]
    levels; nothing when the frame shows no chart (the session judges that)."""
    chart = m.chart
    if chart is None or not chart.found:
        return None
    measured = chart.measurement
    return Finding(
        check="colour_chart",
        status=chart.status,
        value=None if measured is None else measured.mean_delta_e,
        threshold=None,
        message=chart.message,
    )


def _unless(status: Status, remedy: str) -> str:
    """The sentence's ending: the remedy when the check did not pass, else a full stop."""
    return remedy if status != "pass" else "."


def _has_content(m: Measures) -> bool:
    return not m.blank


def _tier_rank(tier: Tier) -> float:
    return TIER_ORDER.index(tier)


def _megapixels(m: Measures) -> float:
    return m.width * m.height / 1e6


Judge = Callable[[Measures, QualityThresholds], Finding | None]

_COLOUR_CAST: Final = Check(
    "colour_cast",
    measure=lambda m: None if m.cast is None else m.cast.chroma,
    limits=lambda t: (t.cast_warn, t.cast_fail),
    bad="high",
    says=lambda m, t, limit, status: (
        f"Backdrop colour is off neutral by {m.cast.chroma:.1f} (a* {m.cast.a:+.1f}, "
        f"b* {m.cast.b:+.1f})"
        + _unless(
            status,
            f", more than {limit:.0f}: set the white balance on the grey card and reshoot.",
        )
        if m.cast is not None
        else ""
    ),
)

# In the order the findings are listed. A blank frame stops before sharpness (there is nothing
# to focus on), and a frame without an object before edges.
CHECKS: Final[tuple[Judge, ...]] = (
    Check(
        "long_edge",
        measure=lambda m: max(m.width, m.height),
        limits=lambda t: (t.min_long_edge_warn, t.min_long_edge_fail),
        bad="low",
        says=lambda m, t, limit, status: (
            f"Long edge is {max(m.width, m.height)} px (at least {limit:.0f} expected)"
            + _unless(status, ": rescan at a higher resolution.")
        ),
    ),
    Check(
        "resolution_tier",
        measure=lambda m: _tier_rank(m.tier),
        limits=lambda t: (_tier_rank(t.tier_warn_below), _tier_rank(t.tier_fail_below)),
        bad="low",
        shown=lambda m, value: round(_megapixels(m), 3),
        shown_limit=lambda rank: dict(EUROPEANA_TIERS).get(TIER_ORDER[int(rank)], 0) / 1e6,
        says=lambda m, t, limit, status: (
            f"Image is {_megapixels(m):.2f} MP, Europeana {m.tier.replace('_', ' ')}"
            + _unless(
                status,
                f" (below {t.tier_warn_below.replace('_', ' ')}): rescan at a higher resolution.",
            )
        ),
    ),
    _judge_blank,
    Check(
        "highlights",
        measure=lambda m: m.highlights,
        limits=lambda t: (t.highlights_warn, t.highlights_fail),
        bad="high",
        shown=lambda m, value: round(value, 6),
        says=lambda m, t, limit, status: (
            f"{m.highlights:.1%} of pixels are clipped white"
            + _unless(
                status,
                f" (> {limit:.1%}): lower the exposure or soften the lights and reshoot.",
            )
        ),
    ),
    Check(
        "shadows",
        measure=lambda m: m.shadows,
        limits=lambda t: (t.shadows_warn, t.shadows_fail),
        bad="high",
        shown=lambda m, value: round(value, 6),
        says=lambda m, t, limit, status: (
            f"{m.shadows:.1%} of pixels are clipped black"
            + _unless(
                status, f" (> {limit:.1%}): raise the exposure or add fill light and reshoot."
            )
        ),
    ),
    _judge_exposure,
    _judge_colour_cast,
    Check(
        "noise",
        measure=lambda m: m.noise,
        limits=lambda t: (t.noise_warn, t.noise_fail),
        bad="high",
        shown=lambda m, value: round(value, 3),
        says=lambda m, t, limit, status: (
            f"Noise level is {m.noise:.1f}"
            + _unless(
                status,
                f" (> {limit:.0f}): lower the ISO, add light or use a longer exposure on a tripod.",
            )
        ),
    ),
    Check(
        "sharpness",
        measure=lambda m: m.sharpness,
        limits=lambda t: (t.sharpness_warn, t.sharpness_fail),
        bad="low",
        shown=lambda m, value: round(value, 2),
        applies=_has_content,
        says=lambda m, t, limit, status: (
            f"Image is blurred (sharpness {m.sharpness:.0f} < {limit:.0f}): reshoot with "
            "focus on the object."
            if status != "pass"
            else f"Image is sharp (sharpness {m.sharpness:.0f})."
        ),
    ),
    Check(
        "framing",
        measure=lambda m: None if m.bbox is None else m.fill,
        limits=lambda t: (t.fill_warn, t.fill_fail),
        bad="low",
        shown=lambda m, value: round(value, 4),
        applies=_has_content,
        missing="No object stands out from the backdrop: check that the object is in the frame "
        "and differs from the backdrop.",
        says=lambda m, t, limit, status: (
            f"Object fills {m.fill or 0:.0%} of the frame"
            + _unless(status, f" (< {limit:.0%}): move closer or zoom in and reshoot.")
        ),
    ),
    _judge_edges,
    _judge_colour_chart,
)


def judge_measures(m: Measures, t: QualityThresholds) -> list[Finding]:
    """Every check of CHECKS that applies to these measures, in the table's order."""
    return [finding for check in CHECKS if (finding := check(m, t)) is not None]
