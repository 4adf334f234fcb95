"""Find a ColorChecker Classic in a scan, measure it in CIEDE2000 and grade it; pure, no I/O.

Detection runs on a reduced copy (`locate`); the patches are sampled at full resolution and
full bit depth through the scan's own ICC profile into CIELAB D50 (`measure`) and compared with
X-Rite's published values (`reference`); `grade` turns the figures into a star level and a
finding; `correct` fits the 3×3 matrix that maps the measured chart onto its reference.
"""

from pipeline.core.chart.colorimetry import (
    delta_e_2000,
    lab_to_linear_srgb,
    lab_to_xyz,
    linear_srgb_to_lab,
    xyz_to_lab,
)
from pipeline.core.chart.correct import apply_correction, fit_correction, pixels_per_mm
from pipeline.core.chart.grade import grade_measurement, read_chart, split_finding
from pipeline.core.chart.locate import find_charts
from pipeline.core.chart.measure import measure_chart
from pipeline.core.chart.model import (
    ChartLocation,
    ChartMeasurement,
    ChartProblem,
    ChartReport,
    ChartStatus,
    ColourCorrection,
    Edition,
    PatchMeasurement,
)
from pipeline.core.chart.reference import NEUTRAL, PATCH_NAMES, reference_lab

__all__ = [
    "NEUTRAL",
    "PATCH_NAMES",
    "ChartLocation",
    "ChartMeasurement",
    "ChartProblem",
    "ChartReport",
    "ChartStatus",
    "ColourCorrection",
    "Edition",
    "PatchMeasurement",
    "apply_correction",
    "delta_e_2000",
    "find_charts",
    "fit_correction",
    "grade_measurement",
    "lab_to_linear_srgb",
    "lab_to_xyz",
    "linear_srgb_to_lab",
    "measure_chart",
    "pixels_per_mm",
    "read_chart",
    "reference_lab",
    "split_finding",
    "xyz_to_lab",
]
