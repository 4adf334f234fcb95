"""The quality thresholds, findings and report; models only, no measuring."""

from __future__ import annotations

from typing import Final, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

Status = Literal["pass", "warn", "fail"]
Tier = Literal["tier_0", "tier_1", "tier_2", "tier_3"]
RANK: Final[dict[str, int]] = {"pass": 0, "warn": 1, "fail": 2}

# Europeana Publishing Framework: the minimum image size of content tiers 1, 2 and 3 (tier 4
# asks the same 0.95 MP as tier 3); below 0.1 MP an image reaches no tier ("tier_0").
EUROPEANA_TIERS: Final[tuple[tuple[Tier, int], ...]] = (
    ("tier_3", 950_000),
    ("tier_2", 420_000),
    ("tier_1", 100_000),
)
TIER_ORDER: Final[tuple[Tier, ...]] = ("tier_0", "tier_1", "tier_2", "tier_3")


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
        if TIER_ORDER.index(self.tier_fail_below) > TIER_ORDER.index(self.tier_warn_below):
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
