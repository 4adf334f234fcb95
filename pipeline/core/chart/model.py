"""What finding and measuring a colour chart yields: models only, no pixels, no measuring."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Edition = Literal["after_2014", "before_2014"]
ChartStatus = Literal["pass", "warn", "fail"]
# Why a scan has no graded measurement: no chart in view, a chart cut by the frame's edge,
# two charts (the larger one is measured), or patches that could not be read as a chart.
ChartProblem = Literal["none_found", "cut_by_edge", "several", "unreadable"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChartLocation(_Model):
    """Where a ColorChecker Classic lies, in full-resolution pixels of the upright image.

    `centres` holds the 24 patch centres in the chart's reading order (row by row from
    "dark skin" to "black"); `corners` the outer corners of the patch grid in the same order
    (dark skin, bluish green, black, white corners). `pitch_px` is the centre-to-centre distance
    of neighbouring patches; `angle` the rotation of the chart's first row, degrees
    counter-clockwise from the image's x axis.
    """

    centres: list[tuple[float, float]] = Field(min_length=24, max_length=24)
    corners: list[tuple[float, float]] = Field(min_length=4, max_length=4)
    pitch_px: float = Field(gt=0)
    angle: float
    sample_px: int = Field(ge=1, description="side of the square sampled in each patch")
    in_frame: int = Field(ge=0, le=24, description="patches whose sample square is in the frame")
    match: float = Field(description="mean ΔE of the identification, on the reduced copy")

    @property
    def complete(self) -> bool:
        return self.in_frame == 24


class PatchMeasurement(_Model):
    """One patch: its reference and measured CIELAB (D50) and their CIEDE2000 difference."""

    index: int = Field(ge=0, le=23)
    name: str
    reference: tuple[float, float, float]
    measured: tuple[float, float, float]
    delta_e: float = Field(ge=0, description="CIEDE2000")


class ChartMeasurement(_Model):
    """The chart's patches measured against a published reference, and their summary."""

    edition: Edition
    source: str = Field(description="how pixels became CIELAB: the profile and the bit depth")
    patches: list[PatchMeasurement] = Field(min_length=24, max_length=24)
    mean_delta_e: float
    max_delta_e: float
    p90_delta_e: float
    worst_patch: str
    neutral_l_error: float = Field(description="mean measured − reference L* of the 6 neutrals")
    neutral_a: float = Field(description="mean a* of the neutral patches (0 is neutral)")
    neutral_b: float = Field(description="mean b* of the neutral patches (0 is neutral)")
    greyscale: bool = Field(description="a one-channel scan: ΔE there is mostly ΔL*")


class ChartReport(_Model):
    """The colour chart of one scan: where it is, what it measures, its level and finding.

    `level` is the star level (0–4, modelled on FADGI's) of `measurement`, None when nothing was
    measured; `status` and `message` are the finding the scan's QC shows.
    """

    found: bool
    charts: int = Field(ge=0, description="how many charts were seen")
    problem: ChartProblem | None = None
    location: ChartLocation | None = None
    measurement: ChartMeasurement | None = None
    level: int | None = Field(default=None, ge=0, le=4)
    status: ChartStatus
    message: str
    pixels_per_mm: float | None = Field(default=None, description="from the patch pitch")


class ColourCorrection(_Model):
    """A 3×3 matrix on linear sRGB (D65) that maps the measured chart onto its reference with
    white preserved, and the chart's mean/max CIEDE2000 before and after applying it."""

    matrix: list[list[float]] = Field(min_length=3, max_length=3)
    mean_delta_e_before: float
    mean_delta_e_after: float
    max_delta_e_before: float
    max_delta_e_after: float
