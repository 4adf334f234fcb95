"""Catalogue models (scan and artefact records) and merging them; pure, no I/O."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline.core.chart import ChartReport
from pipeline.core.inventory import InventoryRow
from pipeline.core.metadata import ScanMetadata
from pipeline.core.naming import view_sort_key
from pipeline.core.quality import QualityReport
from pipeline.core.session import SessionColour
from pipeline.core.session.framing import MeasuredSize, check_dimensions
from pipeline.core.tagging import Tag, tag_inventory

SCHEMA_VERSION: Final = 1
_STORED = (
    "Of the stored master's first page as its header declares it (raw, before any EXIF or TIFF "
    "orientation). Absent from older records, whose width/height may be the displayed size "
    "for a TIFF with Orientation 5-8"
)
_DISPLAYED = "As shown, upright (after the EXIF or TIFF orientation); absent from older records"
_BIT_DEPTH = "Bits per sample of the stored master, as its header declares them"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StoredObject(_Model):
    """An object in the bucket and the digest it was verified against."""

    bucket: str
    key: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)
    media_type: str
    verified_by: Literal["storage-sha256", "read-back"] | None = Field(
        default=None,
        description=(
            "Masters: how the stored bytes were proven equal to the source after upload "
            "(the server's SHA-256 of what it received, or a full read-back); "
            "absent in older records"
        ),
    )


class DerivativeRef(StoredObject):
    """A derivative JPEG: where it is and how big it is."""

    width: int = Field(ge=1)
    height: int = Field(ge=1)


class IiifRef(_Model):
    """Where a scan's static IIIF tiles are: `{base_key}/info.json` and the tiles below it."""

    bucket: str
    base_key: str
    files: int = Field(ge=1)
    size: int = Field(ge=0, description="Bytes of all the files together")


class ScanRecord(_Model):
    """What one scan is and where its bytes went: `scans/{object}/{scan_id}.json`."""

    schema_version: Literal[1] = SCHEMA_VERSION
    scan_id: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the master bytes")
    object: str
    accession: str
    view: str
    seq: int = Field(ge=0)
    source_names: list[str] = Field(min_length=1)
    format: str
    media_type: str
    width: int = Field(ge=1, description="Same as stored_width (the name older readers know)")
    height: int = Field(ge=1, description="Same as stored_height")
    upright_width: int = Field(ge=1, description="Same as displayed_width")
    upright_height: int = Field(ge=1, description="Same as displayed_height")
    stored_width: int | None = Field(default=None, ge=1, description=_STORED)
    stored_height: int | None = Field(default=None, ge=1, description=_STORED)
    displayed_width: int | None = Field(default=None, ge=1, description=_DISPLAYED)
    displayed_height: int | None = Field(default=None, ge=1, description=_DISPLAYED)
    mode: str
    bit_depth: int = Field(description=_BIT_DEPTH)
    pages: int = Field(ge=1)
    icc_profile: str | None
    orientation: int | None
    file_size: int = Field(ge=1)
    md5: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{32}$",
        description="Records before 0.2 only; SHA-256 is the fixity value",
    )
    master: StoredObject
    derivatives: dict[str, DerivativeRef]
    iiif: IiifRef | None = None
    # Embedded metadata, GPS and serial numbers included: scan records are never published.
    metadata: ScanMetadata | None = None
    quality: QualityReport | None = None
    tags: list[Tag] = []
    warnings: list[str] = []
    profile: str
    pipeline_version: str
    processed_at: datetime
    session: SessionColour | None = Field(
        default=None, description="Its capture session's colour score, once the session is scored"
    )
    measured_size: MeasuredSize | None = Field(
        default=None, description="The object measured against the chart in the same frame"
    )
    chart: ChartReport | None = Field(
        default=None,
        description="The colour chart in its frame, measured; None when not looked for",
    )


class ViewEntry(_Model):
    """One view of an artefact, as listed in its record."""

    scan_id: str = Field(pattern=r"^[0-9a-f]{64}$")
    view: str
    seq: int
    source_name: str
    format: str
    width: int = Field(description="Same as stored_width (the name older readers know)")
    height: int = Field(description="Same as stored_height")
    upright_width: int | None = Field(default=None, description="Same as displayed_width")
    upright_height: int | None = Field(default=None, description="Same as displayed_height")
    stored_width: int | None = Field(default=None, description=_STORED)
    stored_height: int | None = Field(default=None, description=_STORED)
    displayed_width: int | None = Field(default=None, description=_DISPLAYED)
    displayed_height: int | None = Field(default=None, description=_DISPLAYED)
    bit_depth: int = Field(description=_BIT_DEPTH)
    pages: int
    icc_profile: str | None
    master: StoredObject
    derivatives: dict[str, DerivativeRef]
    iiif: IiifRef | None = None
    capture_datetime: str | None = Field(default=None, description="From EXIF, with offset")
    camera: str | None = Field(default=None, description="EXIF make and model")
    quality: QualityReport | None = None
    tags: list[Tag] = []
    session: SessionColour | None = Field(
        default=None, description="Colour accuracy proven by its capture session's chart"
    )
    measured_size: MeasuredSize | None = Field(
        default=None, description="The object measured against the chart in the same frame"
    )


class ArtefactRecord(_Model):
    """The catalogue record of one artefact: `records/{object}.json`, the public contract."""

    schema_version: Literal[1] = SCHEMA_VERSION
    object: str
    accession_number: str
    inventory: InventoryRow | None
    views: list[ViewEntry]
    tags: list[Tag] = Field(default=[], description="From the inventory, with provenance")
    status: Literal["ready"] = "ready"
    warnings: list[str] = []
    profile: str
    pipeline_version: str
    updated_at: datetime


def to_view_entry(scan: ScanRecord) -> ViewEntry:
    """A view for the public record: no restricted metadata (GPS, serial numbers) ever."""
    shared = set(ViewEntry.model_fields) - {"source_name", "capture_datetime", "camera"}
    exif = scan.metadata.exif if scan.metadata else None
    camera = " ".join(p for p in (exif.make, exif.model) if p) if exif else ""
    return ViewEntry(
        source_name=scan.source_names[0],
        capture_datetime=exif.capture_datetime if exif else None,
        camera=camera or None,
        **scan.model_dump(include=shared),
    )


def build_record(
    object_slug: str,
    scans: list[ScanRecord],
    inventory: InventoryRow | None,
    *,
    previous: ArtefactRecord | None,
    profile: str,
    pipeline_version: str,
    now: datetime,
    dimension_tolerance: float = 0.10,
) -> ArtefactRecord:
    """Merge an artefact's scans and inventory row; keep `updated_at` when nothing changed."""
    ordered = sorted(scans, key=lambda s: (*view_sort_key(s.view, s.seq), s.scan_id))
    warnings: list[str] = []
    if inventory is None:
        warnings.append(
            "No inventory row for this object: add its accession number to the inventory sheet "
            "and ingest again to complete the record."
        )
    seen: dict[tuple[str, int], str] = {}
    for scan in ordered:
        key = (scan.view, scan.seq)
        if key in seen:
            warnings.append(
                f"Two different scans claim view {scan.view} #{scan.seq}: "
                f"{seen[key]} and {scan.source_names[0]}; rename one of them."
            )
        seen[key] = scan.source_names[0]
    # Different accession numbers that fold to one slug ("Huế.1" and "Hue.1") are two objects
    # sharing a key: say so rather than merge them silently. File names write "/" as "-".
    spellings = {_spelling(s.accession): s.accession for s in ordered}
    if inventory is not None:
        spellings.setdefault(_spelling(inventory.accession_number), inventory.accession_number)
    if len(spellings) > 1:
        warnings.append(
            "Different accession numbers share this record: "
            + ", ".join(sorted(spellings.values()))
            + "; if they are different objects, rename the files of one of them."
        )
    for scan in ordered:
        if inventory is not None and scan.measured_size is not None:
            found = check_dimensions(scan.measured_size, inventory.dimensions, dimension_tolerance)
            if found:
                warnings.append(f"{scan.source_names[0]}: {found}")
    accession = inventory.accession_number if inventory else ordered[0].accession
    tagged = tag_inventory(inventory) if inventory else None
    if tagged is not None:
        warnings.extend(tagged.notes)
    record = ArtefactRecord(
        object=object_slug,
        accession_number=accession,
        inventory=inventory,
        views=[to_view_entry(scan) for scan in ordered],
        tags=tagged.tags if tagged else [],
        warnings=warnings,
        profile=profile,
        pipeline_version=pipeline_version,
        updated_at=now,
    )
    if previous is not None and same_content(previous, record):
        return previous
    return record


def _spelling(accession: str) -> str:
    return unicodedata.normalize("NFC", accession).replace("/", "-").casefold()


def same_content(a: ArtefactRecord, b: ArtefactRecord) -> bool:
    """Equal apart from the time stamp: then the stored record is left as it is."""
    return a.model_dump(exclude={"updated_at"}) == b.model_dump(exclude={"updated_at"})


def json_schemas() -> dict[str, dict[str, object]]:
    """The JSON Schemas (2020-12) of the persisted records, as committed under schemas/."""
    out: dict[str, dict[str, object]] = {}
    for name, model, title in (
        ("record", ArtefactRecord, "Catalogue record: records/{object}.json"),
        ("scan", ScanRecord, "Scan record: scans/{object}/{scan_id}.json"),
    ):
        schema = model.model_json_schema(mode="serialization")
        out[name] = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"https://sohoa.invalid/schemas/{name}.schema.json",
            **schema,
            "title": title,
        }
    return out
