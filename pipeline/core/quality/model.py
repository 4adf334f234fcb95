"""The quality thresholds, findings and report; models only, no measuring."""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline.core.profile import Tier

Status = Literal["pass", "warn", "fail"]
RANK: Final[dict[str, int]] = {"pass": 0, "warn": 1, "fail": 2}

# Europeana Publishing Framework: the minimum image size of content tiers 1, 2 and 3 (tier 4
# asks the same 0.95 MP as tier 3); below 0.1 MP an image reaches no tier ("tier_0").
EUROPEANA_TIERS: Final[tuple[tuple[Tier, int], ...]] = (
    ("tier_3", 950_000),
    ("tier_2", 420_000),
    ("tier_1", 100_000),
)


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
