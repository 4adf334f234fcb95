"""The models of a scan's embedded metadata; data only, no parsing."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TechnicalMetadata(_Model):
    """How the file is built, as its headers declare it (hashes and size live elsewhere)."""

    format: str | None = None
    compression: str | None = None
    compression_code: int | None = Field(default=None, description="TIFF Compression tag")
    progressive: bool | None = None
    pages: int | None = None
    tiled: bool = False
    width: int | None = None
    height: int | None = None
    bit_depth: int | None = Field(default=None, description="bits per sample")
    samples_per_pixel: int | None = None
    colour_mode: str | None = Field(default=None, description="Pillow mode of the first page")
    photometric: str | None = Field(default=None, description="TIFF PhotometricInterpretation")
    icc_description: str | None = None
    x_resolution: float | None = None
    y_resolution: float | None = None
    resolution_unit: Literal["inch", "cm", "metre", "none"] | None = None
    dpi_x: float | None = Field(default=None, description="x resolution in pixels per inch")
    dpi_y: float | None = None


class ExifMetadata(_Model):
    """Camera and capture facts from EXIF (IFD0 and the Exif IFD); GPS is not here."""

    make: str | None = None
    model: str | None = None
    lens: str | None = None
    exposure_time: float | None = Field(default=None, description="seconds")
    f_number: float | None = None
    iso: int | None = None
    focal_length: float | None = Field(default=None, description="millimetres")
    capture_datetime: str | None = Field(
        default=None, description="ISO 8601; with the UTC offset when OffsetTimeOriginal is set"
    )
    orientation: int | None = Field(default=None, ge=1, le=8)
    software: str | None = None
    artist: str | None = None
    copyright: str | None = None
    description: str | None = None


class XmpMetadata(_Model):
    """Descriptive XMP: Dublin Core, photoshop, IPTC Core and xmp basic properties."""

    title: str | None = None
    description: str | None = None
    creator: list[str] = []
    rights: str | None = None
    subject: list[str] = []
    headline: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    credit: str | None = None
    source: str | None = None
    date_created: str | None = None
    location: str | None = None
    country_code: str | None = None
    creator_tool: str | None = None
    create_date: str | None = None
    languages: dict[str, dict[str, str]] = Field(
        default={}, description="every language of a multilingual field (title, description…)"
    )


class IptcMetadata(_Model):
    """IPTC-IIM (record 2) fields, decoded with the declared coded character set."""

    object_name: str | None = None
    headline: str | None = None
    caption: str | None = None
    keywords: list[str] = []
    by_line: list[str] = []
    credit: str | None = None
    source: str | None = None
    copyright: str | None = None
    city: str | None = None
    sublocation: str | None = None
    province_state: str | None = None
    country: str | None = None
    country_code: str | None = None
    date_created: str | None = None
    character_set: str | None = None


class GpsPosition(_Model):
    """Where the photograph was taken: WGS 84 degrees, metres above sea level."""

    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    altitude: float | None = None


class RestrictedMetadata(_Model):
    """Facts that can locate or identify people or stores: never published, never indexed."""

    gps: GpsPosition | None = None
    body_serial: str | None = None
    lens_serial: str | None = None
    camera_owner: str | None = None


class ScanMetadata(_Model):
    """Everything embedded in one scan; `restricted` must be dropped before publishing."""

    technical: TechnicalMetadata
    exif: ExifMetadata
    xmp: XmpMetadata
    iptc: IptcMetadata
    restricted: RestrictedMetadata
    warnings: list[str] = []

    def public_dump(self) -> dict[str, Any]:
        """The JSON-ready metadata without the restricted part."""
        return self.model_dump(mode="json", exclude={"restricted"})
