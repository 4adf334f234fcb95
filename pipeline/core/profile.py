"""Processing profile models (sizes, quality, naming, limits): validation only; no file I/O."""

from __future__ import annotations

from typing import Final, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Tier = Literal["tier_0", "tier_1", "tier_2", "tier_3"]
TIER_ORDER: Final[tuple[Tier, ...]] = ("tier_0", "tier_1", "tier_2", "tier_3")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DerivativeSettings(_Strict):
    access: int = Field(default=3000, ge=16, le=20000)
    preview: int = Field(default=1200, ge=16, le=20000)
    thumb: int = Field(default=400, ge=16, le=20000)
    jpeg_quality: int = Field(default=90, ge=1, le=100)
    progressive: bool = True
    subsampling: Literal["4:4:4", "4:2:2", "4:2:0"] = "4:2:0"

    def sizes(self) -> dict[str, int]:
        return {"access": self.access, "preview": self.preview, "thumb": self.thumb}


class NamingSettings(_Strict):
    pattern: str = "{accession}_{view}_{seq}"
    # Different bytes under a view and number an artefact already holds: NAME_CONFLICT (the
    # file is quarantined, both files named), or "next_seq": stored as the next free number.
    on_conflict: Literal["conflict", "next_seq"] = "conflict"

    @field_validator("pattern")
    @classmethod
    def _has_accession(cls, value: str) -> str:
        if "{accession}" not in value:
            raise ValueError("the filename pattern must contain {accession}")
        return value


class IiifSettings(_Strict):
    """Static IIIF Image API 3 level-0 tiles, written beside the derivatives."""

    enabled: bool = True
    tile_size: int = Field(default=512, ge=128, le=4096)
    quality: int = Field(default=85, ge=1, le=100)


class LimitSettings(_Strict):
    max_pixels: int = Field(default=300_000_000, ge=1_000_000)
    max_file_mb: int = Field(default=4096, ge=1)


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


class ColourSettings(_Strict):
    """The colour chart in a scan: which reference it is measured against and how it is graded.

    `levels` are the largest mean CIEDE2000 for 4, 3, 2 and 1 stars (modelled on FADGI's star
    levels; the README says where the numbers come from); a scan whose level is below
    `warn_below` warns, below `fail_below` fails.
    """

    detect: bool = True
    reference: Literal["after_2014", "before_2014"] = "after_2014"
    levels: tuple[float, float, float, float] = (2.0, 4.0, 5.0, 8.0)
    warn_below: int = Field(default=3, ge=0, le=4)
    fail_below: int = Field(default=2, ge=0, le=4)
    neutral_cast_warn: float = Field(
        default=3.0, ge=0, description="a*/b* of the neutral patches named as a cast"
    )
    neutral_l_warn: float = Field(
        default=3.0, ge=0, description="L* error of the neutral patches named as exposure"
    )
    patch_pitch_mm: float = Field(
        default=44.5, gt=0, description="centre-to-centre distance of the chart's patches"
    )
    detect_long_edge: int = Field(default=1600, ge=400, le=6000)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if list(self.levels) != sorted(self.levels) or self.levels[0] <= 0:
            raise ValueError("levels must be positive and rise from 4 stars to 1 star")
        if self.fail_below > self.warn_below:
            raise ValueError("fail_below must not be above warn_below")
        return self


class SessionSettings(_Strict):
    """Capture sessions and their colour reference (pipeline/core/session)."""

    window_hours: float = Field(default=4.0, gt=0, le=168, description="gap that ends a session")
    require_reference: bool = Field(default=False, description="a session with no chart fails")
    correct: bool = Field(default=False, description="apply the session's 3×3 matrix to access")
    exclude_chart: bool = Field(default=False, description="crop the chart out of access images")
    chart_margin: float = Field(default=0.05, ge=0, le=1, description="of the object box's side")
    dimension_tolerance: float = Field(default=0.10, gt=0, le=1, description="vs the inventory")


class ProcessingProfile(_Strict):
    """What the pipeline makes of a scan; recorded by name in every record."""

    name: str = "default"
    derivatives: DerivativeSettings = DerivativeSettings()
    naming: NamingSettings = NamingSettings()
    iiif: IiifSettings = IiifSettings()
    quality: QualityThresholds = QualityThresholds()
    limits: LimitSettings = LimitSettings()
    colour: ColourSettings = ColourSettings()
    session: SessionSettings = SessionSettings()
