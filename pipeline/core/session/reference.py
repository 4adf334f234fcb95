"""A chart shot's measurement as the score of its session: figures, patches and the fitted
correction; pure, no I/O (the measuring itself is pipeline/core/chart's)."""

from __future__ import annotations

from pipeline.core.chart import ChartReport, fit_correction
from pipeline.core.session.model import PatchScore, ReferenceScore


def to_reference_score(report: ChartReport | None) -> ReferenceScore | None:
    """The score a measured, graded chart gives its session; None for anything less (no chart,
    a chart cut by the edge, an unreadable one: those stay the scan's own QC finding)."""
    if report is None or report.measurement is None or report.level is None:
        return None
    measurement = report.measurement
    correction = fit_correction(measurement)
    return ReferenceScore(
        level=report.level,
        verdict=report.status,
        mean_delta_e=round(measurement.mean_delta_e, 3),
        max_delta_e=round(measurement.max_delta_e, 3),
        p90_delta_e=round(measurement.p90_delta_e, 3),
        worst_patch=measurement.worst_patch,
        finding=report.message,
        patches=[
            PatchScore(
                name=p.name,
                measured=_rounded(p.measured),
                reference=_rounded(p.reference),
                delta_e=round(p.delta_e, 3),
            )
            for p in measurement.patches
        ],
        matrix=correction.matrix,
        mean_delta_e_corrected=correction.mean_delta_e_after,
        pixels_per_mm=report.pixels_per_mm,
    )


def _rounded(lab: tuple[float, float, float]) -> tuple[float, float, float]:
    return (round(lab[0], 2), round(lab[1], 2), round(lab[2], 2))
