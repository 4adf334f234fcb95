"""Look at scans without storing anything: one file as ingest would see it, near-duplicate scans.

Neither function talks to the broker or writes to the bucket; `inspect_scan` touches no storage
at all, `find_duplicate_scans` only lists and reads scan records.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.core.chart import ChartReport
from pipeline.core.decode_check import unique
from pipeline.core.imaging import decode_scan
from pipeline.core.inventory import InventoryRow
from pipeline.core.layout import SCANS_PREFIX
from pipeline.core.metadata import ScanMetadata
from pipeline.core.naming import parse_scan_name, to_nfc
from pipeline.core.profile import ProcessingProfile
from pipeline.core.quality import QualityReport
from pipeline.core.scan import analyse_scan
from pipeline.core.tagging import (
    Tag,
    find_near_duplicates,
    merge_tags,
    tag_inventory,
)
from pipeline.errors import FileTooLargeError, PermanentError, SohoaError
from pipeline.library_output import capture_native_stderr
from pipeline.services.read_ahead import FileRead, read_and_hash

if TYPE_CHECKING:  # boto3 costs a quarter of a second to import; inspecting a file needs none
    from pipeline.adapters.s3_store import S3Store

log = logging.getLogger(__name__)

DEFAULT_MAX_DISTANCE = 6
# Scan records are small; a few reads in flight hide the round trips.
_READ_THREADS = 16


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- one file ------------------------------------------------------------------------------------


class FileFacts(_Model):
    """The file as it is on disk."""

    path: str
    name: str = Field(description="NFC")
    size: int
    sha256: str | None = Field(description="The scan id it would get; None when not read")
    md5: str | None


class NameFacts(_Model):
    """What the file name says, read with the profile's naming pattern."""

    accession: str
    object: str
    view: str
    view_known: bool
    seq: int


class ImageFacts(_Model):
    """The decoded first page, as the scan record would describe it."""

    format: str
    media_type: str
    width: int
    height: int
    upright_width: int
    upright_height: int
    mode: str
    bit_depth: int
    pages: int
    icc_profile: str | None
    orientation: int | None


class Problem(_Model):
    """A reason ingest would quarantine the file: its stable code and a sentence with a remedy."""

    code: str
    message: str


class InspectResult(_Model):
    """Everything ingest would learn about one file, and whether it would store it.

    `metadata.restricted` (GPS, serial numbers) is included for the operator; it is never
    published. `problems[0]`, when there is one, is the code ingest would quarantine with.
    """

    file: FileFacts
    name: NameFacts | None = None
    image: ImageFacts | None = None
    metadata: ScanMetadata | None = None
    quality: QualityReport | None = None
    colour: ChartReport | None = None
    tags: list[Tag] = []
    tag_notes: list[str] = []
    warnings: list[str] = []
    problems: list[Problem] = []
    profile: str
    seconds: float = 0.0

    @property
    def would_store(self) -> bool:
        return not self.problems


def inspect_scan(
    path: Path,
    profile: ProcessingProfile,
    *,
    inventory: dict[str, InventoryRow] | None = None,
    read: FileRead | None = None,
    md5: bool = True,
) -> InspectResult:
    """Run ingest's steps on one file (size, name, decode, metadata, quality, tags) and report.

    A bad name does not stop the rest (its pixels are still worth seeing); a file too large or
    one that does not decode does. `inventory` (rows by object slug) adds the row's tags.
    `read`: the file as the caller read it already (`read_ahead.ReadAhead`, with the profile's
    size limit), else it is read here; `md5=False` leaves the MD5 out (None), as a report
    that does not show it needs no second hash.
    OSError from reading the file propagates: that is the caller's environment, not the file.
    """
    started = time.monotonic()
    name = to_nfc(path.name)
    limit = profile.limits.max_file_mb * 1024 * 1024
    if read is None:
        read = read_and_hash(path, limit=limit, md5=md5)
    size = read.size
    result = InspectResult(
        file=FileFacts(path=str(path), name=name, size=size, sha256=None, md5=None),
        profile=profile.name,
    )
    if read.data is None or size > limit:
        error = FileTooLargeError(
            f"File {path.name!r} is {size / 2**20:,.0f} MB, above the profile's limit of "
            f"{limit / 2**20:,.0f} MB: raise limits.max_file_mb if it is genuine.",
            file=path.name,
        )
        return _finish(result, started, problems=[_problem(error)])
    data = read.data
    result.file.sha256, result.file.md5 = read.sha256, read.md5 if md5 else None
    problems: list[Problem] = []
    try:
        parsed = parse_scan_name(name, profile.naming.pattern)
        result.name = NameFacts(
            accession=parsed.accession,
            object=parsed.object_slug,
            view=parsed.view,
            view_known=parsed.view_known,
            seq=parsed.seq,
        )
    except PermanentError as exc:
        problems.append(_problem(exc))
    try:
        _analyse(result, data, profile, inventory or {})
    except PermanentError as exc:
        problems.append(_problem(exc))
    except Exception as exc:
        # As in ingest: an unknown exception is a bug in Sohoa, not a verdict on the file.
        log.exception("internal error while inspecting %s", path)
        internal = SohoaError(
            f"File {path.name!r} hit an internal error in Sohoa ({type(exc).__name__}); the "
            "file itself may be fine: report it to the maintainers with this output.",
            file=path.name,
        )
        problems.append(_problem(internal))
    return _finish(result, started, problems=problems)


def _analyse(
    result: InspectResult,
    data: bytes,
    profile: ProcessingProfile,
    inventory: dict[str, InventoryRow],
) -> None:
    """The steps of ingest's `_store_scan`, in its order, minus every write."""
    name = result.file.name
    view = result.name.view if result.name else None
    with capture_native_stderr() as said:
        decoded = decode_scan(data, name=name, max_pixels=profile.limits.max_pixels)
        # As a worker prepares the scan (the checks see sRGB pixels when it cuts tiles), minus
        # the derivatives and tiles themselves.
        seen = analyse_scan(data, decoded, view=view, profile=profile, srgb=profile.iiif.enabled)
    decoded.warnings = unique([*decoded.warnings, *said])
    upright_height, upright_width = seen.pixels.shape[:2]
    notes: list[str] = []
    tag_lists = [seen.tags]
    row = inventory.get(result.name.object) if result.name else None
    if row is not None:
        tagged = tag_inventory(row)
        tag_lists.append(tagged.tags)
        notes.extend(tagged.notes)
    elif result.name and inventory:
        notes.append(f"No inventory row for {result.name.accession!r}: no inventory tags.")
    warnings = list(decoded.warnings)
    if result.name and not result.name.view_known:
        warnings.append(
            f"View {result.name.view!r} is not one of the known views (front, back, left, "
            "right, top, bottom, detail, mark, target); ingest keeps it as written."
        )
    fmt = decoded.format
    result.image = ImageFacts(
        format=fmt.pillow_format,
        media_type=fmt.media_type,
        width=decoded.width,
        height=decoded.height,
        upright_width=upright_width,
        upright_height=upright_height,
        mode=decoded.mode,
        bit_depth=decoded.bit_depth,
        pages=decoded.pages,
        icc_profile=decoded.icc_description,
        orientation=decoded.orientation,
    )
    result.metadata = seen.metadata
    result.quality = seen.quality
    result.colour = seen.chart
    result.tags = merge_tags(*tag_lists)
    result.tag_notes = notes
    result.warnings = warnings


def _problem(error: SohoaError) -> Problem:
    return Problem(code=error.code, message=error.message)


def _finish(result: InspectResult, started: float, *, problems: list[Problem]) -> InspectResult:
    return result.model_copy(
        update={"problems": problems, "seconds": round(time.monotonic() - started, 3)}
    )


# --- near-duplicates in the bucket ---------------------------------------------------------------


class ScanRef(_Model):
    """Which scan: where its record is and what it shows."""

    key: str
    object: str
    scan_id: str
    view: str
    seq: int
    source_names: list[str]


class DuplicatePair(_Model):
    """Two scans whose perceptual hashes differ in `distance` of 64 bits."""

    distance: int
    same_object: bool
    a: ScanRef
    b: ScanRef


class SkippedScan(_Model):
    """A scan record left out of the comparison, and why."""

    key: str
    reason: str


class DuplicatesResult(_Model):
    """Near-duplicate pairs among the bucket's scans, closest first."""

    scanned: int = Field(description="Scan records compared")
    max_distance: int
    scope: Literal["all", "across_objects"]
    pairs: list[DuplicatePair]
    skipped: list[SkippedScan]
    seconds: float


class _QualitySummary(BaseModel):
    model_config = ConfigDict(extra="ignore")

    phash: str = Field(pattern=r"^[0-9a-f]{16}$")
    blank: bool = False


class _ScanSummary(BaseModel):
    """The few fields of a scan record this needs; the rest of the record is not validated."""

    model_config = ConfigDict(extra="ignore")

    scan_id: str
    object: str
    view: str
    seq: int
    source_names: list[str]
    quality: _QualitySummary | None = None


def find_duplicate_scans(
    store: S3Store, *, max_distance: int = DEFAULT_MAX_DISTANCE, across_objects: bool = False
) -> DuplicatesResult:
    """Pairs of scans in `scans/` whose perceptual hashes are within `max_distance` bits.

    Blank frames are skipped (every lens-cap shot hashes alike), as are records without a
    quality report or that do not parse. With `across_objects`, pairs within one artefact
    (a vase's front and back often hash alike) are left out.
    """
    started = time.monotonic()
    refs: dict[str, ScanRef] = {}
    items: list[tuple[str, str]] = []
    skipped: list[SkippedScan] = []
    for key, summary, reason in _read_summaries(store):
        if summary is None or summary.quality is None:
            skipped.append(SkippedScan(key=key, reason=reason or "no quality report (no pHash)"))
            continue
        if summary.quality.blank:
            skipped.append(SkippedScan(key=key, reason="blank frame: its pHash means nothing"))
            continue
        refs[key] = ScanRef(
            key=key,
            object=summary.object,
            scan_id=summary.scan_id,
            view=summary.view,
            seq=summary.seq,
            source_names=summary.source_names,
        )
        items.append((key, summary.quality.phash))
    pairs: list[DuplicatePair] = []
    for near in find_near_duplicates(items, max_distance):
        a, b = refs[near.a], refs[near.b]
        if across_objects and a.object == b.object:
            continue
        pairs.append(
            DuplicatePair(distance=near.distance, same_object=a.object == b.object, a=a, b=b)
        )
    return DuplicatesResult(
        scanned=len(items),
        max_distance=max_distance,
        scope="across_objects" if across_objects else "all",
        pairs=pairs,
        skipped=skipped,
        seconds=round(time.monotonic() - started, 3),
    )


def _read_summaries(store: S3Store) -> Iterator[tuple[str, _ScanSummary | None, str | None]]:
    keys = sorted(key for key in store.list_keys(SCANS_PREFIX) if key.endswith(".json"))

    def read(key: str) -> tuple[str, _ScanSummary | None, str | None]:
        try:
            found = store.read_json(key)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return key, None, f"not JSON ({exc})"
        if found is None:
            return key, None, "deleted while being read"
        return key, *_summarise(found[0])

    with ThreadPoolExecutor(max_workers=_READ_THREADS) as pool:
        # map() keeps the keys' order and re-raises a storage error here.
        yield from pool.map(read, keys)


def _summarise(data: Any) -> tuple[_ScanSummary | None, str | None]:
    try:
        return _ScanSummary.model_validate(data), None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return None, f"not a valid scan record ({where}: {first['msg']})"
