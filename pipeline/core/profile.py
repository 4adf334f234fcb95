"""Processing profile models (sizes, quality, naming, limits): validation only; no file I/O."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipeline.core.quality import QualityThresholds


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


class ProcessingProfile(_Strict):
    """What the pipeline makes of a scan; recorded by name in every record."""

    name: str = "default"
    derivatives: DerivativeSettings = DerivativeSettings()
    naming: NamingSettings = NamingSettings()
    iiif: IiifSettings = IiifSettings()
    quality: QualityThresholds = QualityThresholds()
    limits: LimitSettings = LimitSettings()
