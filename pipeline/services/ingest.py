"""Ingest one scan: read once, hash, decode, store the master, derivatives and the scan record."""

from __future__ import annotations

import logging
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline import __version__, metrics
from pipeline.adapters.s3_stage import COPY_LIMIT, copy_master
from pipeline.core.decode_check import unique
from pipeline.core.derivatives import Derivative
from pipeline.core.fixity import digest_bytes
from pipeline.core.iiif import IiifTileSet, to_media_type
from pipeline.core.layout import (
    derivative_key,
    iiif_base_key,
    master_key,
    scan_record_key,
    to_staged_sha256,
)
from pipeline.core.naming import ParsedName, parse_scan_name, to_nfc, to_printable
from pipeline.core.records import DerivativeRef, IiifRef, ScanRecord, StoredObject
from pipeline.core.scan import prepare_scan
from pipeline.errors import (
    ConfigurationError,
    FileTooLargeError,
    IntegrityError,
    PermanentError,
    PixelLimitError,
    QuarantineUnavailableError,
    RetryableError,
    SohoaError,
    WorkerLostError,
)
from pipeline.library_output import capture_native_stderr
from pipeline.sandbox import deadline, decode_timeout_error
from pipeline.services.context import Context
from pipeline.services.models import ProcessScanTask, ScanResult
from pipeline.services.quarantine import quarantine_file
from pipeline.services.repair import ensure_master
from pipeline.services.session_index import index_scan
from pipeline.services.source import open_source
from pipeline.services.views import claim_view

log = logging.getLogger(__name__)


def process_scan(ctx: Context, task: ProcessScanTask) -> ScanResult:
    """Store one file and prove it, or quarantine it with a reason; never half of both.

    A staged file (`task.staged`, SOHOA_HANDOFF=stage) is read from storage instead of its
    path, its master stored by a server-side copy, and the staged object deleted once the scan
    record is written (or the file is quarantined).

    Permanent errors quarantine the file. Retryable and configuration errors propagate (the
    caller decides to retry or stop); the source is untouched. Anything else is a bug: logged
    with its traceback and quarantined as INTERNAL, so one bad file never stops the worker.
    A caller's `Interrupted` (pipeline/sandbox.py) is no Exception: it passes through as it is.
    """
    result = _process_scan(ctx, task)
    if result.status == "stored":
        release_staged(ctx, task)
    return result


def _process_scan(ctx: Context, task: ProcessScanTask) -> ScanResult:
    started = time.monotonic()
    path = Path(task.path)
    name = path.name
    sha256: str | None = None
    data: bytes | None = None
    try:
        if task.staged:
            # A bad name is told as such even when its staged bytes went with a twin's task.
            sha256 = to_staged_sha256(task.staged)
            parse_scan_name(name, ctx.profile.naming.pattern)
        try:
            data = _read_staged(ctx, task) if task.staged else _read_source(path, ctx)
        except FileNotFoundError:
            return _stored_twin(ctx, task) or _source_missing(ctx, task)
        digests = digest_bytes(data)
        metrics.observe_stage("read", time.monotonic() - started)
        sha256 = digests.sha256
        _check_staged(ctx, task, sha256)
        parsed = parse_scan_name(name, ctx.profile.naming.pattern)
        result = _store_scan(ctx, path, data, digests.sha256, parsed, staged=task.staged)
    except PermanentError as exc:
        return _quarantined(ctx, task, path, exc, sha256, started, data)
    except (RetryableError, ConfigurationError):
        raise
    except MemoryError:
        # The worker child's memory ceiling stopped it; the memory is freed with the frames.
        return _quarantined(ctx, task, path, _out_of_memory(name, ctx), sha256, started, data)
    except Exception as exc:
        log.exception("internal error while processing %s", to_printable(task.path))
        error = SohoaError(
            f"File {name!r} hit an internal error in Sohoa ({type(exc).__name__}); the file "
            "itself may be fine: report it to the maintainers with the worker log, then drop "
            "it again.",
            file=name,
        )
        return _quarantined(ctx, task, path, error, sha256, started, data)
    return result.model_copy(update={"seconds": round(time.monotonic() - started, 3)})


def _read_staged(ctx: Context, task: ProcessScanTask) -> bytes:
    """The staged file's bytes from storage; FileNotFoundError when the object is gone."""
    found = ctx.store.get_bytes(str(task.staged))
    if found is None:
        raise FileNotFoundError(task.staged)
    _check_size(Path(task.path), len(found[0]), ctx)
    return found[0]


def _check_staged(ctx: Context, task: ProcessScanTask, sha256: str) -> None:
    """Bytes read from incoming/{sha256} must hash to that SHA-256 (storage checked them on
    the way in; this catches damage at rest): never stored. The damaged object is deleted, so
    that sending the file again stages it afresh instead of finding it there."""
    expected = (to_staged_sha256(task.staged) if task.staged else None) or sha256
    if sha256 != expected:
        name = Path(task.path).name
        release_staged(ctx, task)
        raise IntegrityError(
            f"The staged copy of {name!r} ({task.staged}) does not hash to its name: expected "
            f"SHA-256 {expected}, found {sha256}; it was removed: drop the file (or run its "
            "batch) again.",
            file=name,
            expected=expected,
            found=sha256,
        )


def _source_missing(ctx: Context, task: ProcessScanTask) -> ScanResult:
    name = Path(task.path).name
    shown = to_printable(task.path)
    if task.staged:
        message = (
            f"File {name!r} is no longer staged in storage ({task.staged}): it was removed "
            "after SOHOA_STAGE_RETENTION_DAYS before a worker reached it; drop it again."
        )
    elif ctx.settings.handoff == "stage":
        message = (
            f"File {name!r} was not staged (the producer could not read it, or it is over the "
            f"profile's size limit) and this worker cannot see {shown}: check the file and "
            "drop it again."
        )
    else:
        message = (
            f"File {name!r} is no longer at {shown}: it was moved or deleted before a worker "
            "reached it; drop it again."
        )
    return ScanResult(
        status="failed", path=task.path, name=name, code="SOURCE_MISSING", message=message
    )


def _stored_twin(ctx: Context, task: ProcessScanTask) -> ScanResult | None:
    """A staged object deleted by the task of the same bytes under another name (or by this
    task's own earlier attempt) once their scan record was written: this file is stored too."""
    sha256 = to_staged_sha256(task.staged) if task.staged else None
    path = Path(task.path)
    try:
        slug = parse_scan_name(path.name, ctx.profile.naming.pattern).object_slug
    except PermanentError:
        return None
    found = ctx.store.read_json(scan_record_key(slug, sha256)) if sha256 else None
    if found is None:
        return None
    _remember_name(ctx, scan_record_key(slug, str(sha256)), path.name)
    quality = found[0].get("quality") or {}
    return ScanResult(
        status="stored",
        path=task.path,
        name=to_nfc(path.name),
        object=slug,
        scan_id=sha256,
        already_stored=True,
        qc_verdict=quality.get("verdict"),
    )


def release_staged(ctx: Context, task: ProcessScanTask) -> None:
    """Delete the task's staged object once its file is recorded or set aside; a failure only
    leaves it for the finishing round (SOHOA_STAGE_RETENTION_DAYS)."""
    if not task.staged:
        return
    try:
        ctx.store.delete(task.staged)
    except SohoaError as exc:
        log.warning("staged %s left for the finishing round: %s", task.staged, exc.message)


def quarantine_worker_lost(ctx: Context, task: ProcessScanTask, deliveries: int) -> ScanResult:
    """Set aside a file that killed its worker `deliveries` times, without touching it again."""
    path = Path(task.path)
    error = WorkerLostError(
        f"File {path.name!r} stopped the worker process {deliveries} times (a crash or memory "
        "exhaustion while decoding it), so it was set aside: run `sohoa process` on it to see "
        "the error, and export it again from the original.",
        file=path.name,
    )
    return _quarantined(ctx, task, path, error, None, time.monotonic())


def quarantine_timed_out(ctx: Context, task: ProcessScanTask, seconds: float) -> ScanResult:
    """Set aside a file whose processing outlived the task's hard time limit (the child was
    killed while stuck in C code, where no deadline can interrupt it)."""
    path = Path(task.path)
    error = decode_timeout_error(path.name, seconds)
    return _quarantined(ctx, task, path, error, None, time.monotonic())


def _out_of_memory(name: str, ctx: Context) -> PixelLimitError:
    return PixelLimitError(
        f"File {name!r} needs more memory to decode than a worker may use "
        f"({ctx.settings.worker_memory_mb:,} MB, SOHOA_WORKER_MEMORY_MB): it declares more "
        "pixels than it can hold or is a decompression bomb; export it again, or raise the "
        "limit if the scan is genuine.",
        file=name,
    )


def _read_source(path: Path, ctx: Context) -> bytes:
    """The file's bytes, read once: a regular file only (a link, FIFO or device is refused
    unopened, NOT_REGULAR_FILE), no larger than the profile allows."""
    with open_source(path) as handle:
        _check_size(path, os.fstat(handle.fileno()).st_size, ctx)
        return handle.read()


def _check_size(path: Path, size: int, ctx: Context) -> None:
    limit = ctx.profile.limits.max_file_mb * 1024 * 1024
    if size > limit:
        raise FileTooLargeError(
            f"File {path.name!r} is {size / 2**20:,.0f} MB, above the profile's limit of "
            f"{limit / 2**20:,.0f} MB: raise limits.max_file_mb if it is genuine.",
            file=path.name,
        )


def _store_scan(
    ctx: Context,
    path: Path,
    data: bytes,
    sha256: str,
    parsed: ParsedName,
    *,
    staged: str | None = None,
) -> ScanResult:
    store = ctx.store
    slug = parsed.object_slug
    record_key = scan_record_key(slug, sha256)
    name = to_nfc(path.name)
    existing = store.read_json(record_key)
    known = ScanRecord.model_validate(existing[0]) if existing is not None else None
    # Same bytes seen before: their master is re-hashed (bit rot keeps size and metadata) and
    # put back from this file if it changed; an absent one is stored again below.
    state = ensure_master(ctx, known, data, sha256, name=name, absent_too=False) if known else None
    if known is not None and state != "absent":
        _remember_name(ctx, record_key, path.name)
        restored = state == "restored"
        group = index_scan(ctx, known, _folder(path))
        return ScanResult(
            status="stored",
            path=str(path),
            name=name,
            object=slug,
            scan_id=sha256,
            already_stored=not restored,
            bytes_stored=len(data) if restored else 0,
            # The master object was written again (the worker log says why).
            master_created=restored,
            qc_verdict=known.quality.verdict if known.quality else None,
            session_group=group,
        )

    stage_started = time.monotonic()
    # Decoding untrusted bytes is the risky part: bounded in time here, in memory by the
    # worker child's rlimit (pipeline/sandbox.py).
    with deadline(ctx.settings.decode_deadline, name=name), capture_native_stderr() as said:
        prepared = prepare_scan(
            data,
            name=name,
            view=parsed.view,
            profile=ctx.profile,
            iiif_id=f"{ctx.settings.public_base_url.rstrip('/')}/{iiif_base_key(sha256)}",
        )
    prepared.warnings = unique([*prepared.warnings, *said])
    metrics.observe_stage("decode", time.monotonic() - stage_started)
    stage_started = time.monotonic()
    decoded, derivatives, quality = prepared.decoded, prepared.derivatives, prepared.quality
    # Before anything is stored: other bytes holding this view and number end it here.
    claim = claim_view(ctx, slug, parsed.view, parsed.seq, sha256, path.name)
    fmt = decoded.format
    key = master_key(slug, sha256, fmt.extension)
    stored = None
    if staged and len(data) <= COPY_LIMIT:
        # The bytes are in storage already: a server-side copy, not a second upload.
        stored = copy_master(
            store, staged, key, sha256=sha256, size=len(data), content_type=fmt.media_type,
            name=name,
        )  # fmt: skip
    if stored is None:
        stored = store.store_master(
            key, data, sha256=sha256, content_type=fmt.media_type, name=name
        )
    refs = store_derivatives(ctx, slug, sha256, derivatives)
    iiif = store_tiles(ctx, prepared.tiles, sha256) if prepared.tiles else None
    warnings = prepared.warnings
    if claim.warning:
        warnings.append(claim.warning)
    if not parsed.view_known:
        warnings.append(
            f"View {parsed.view!r} is not one of the known views (front, back, left, right, "
            "top, bottom, detail, mark, target); kept as written."
        )
    record = ScanRecord(
        scan_id=sha256,
        object=slug,
        accession=parsed.accession,
        view=parsed.view,
        seq=claim.seq,
        source_names=[path.name],
        format=fmt.pillow_format,
        media_type=fmt.media_type,
        width=decoded.width,
        height=decoded.height,
        upright_width=prepared.upright_width,
        upright_height=prepared.upright_height,
        stored_width=decoded.width,
        stored_height=decoded.height,
        displayed_width=prepared.upright_width,
        displayed_height=prepared.upright_height,
        mode=decoded.mode,
        bit_depth=decoded.bit_depth,
        pages=decoded.pages,
        icc_profile=decoded.icc_description,
        orientation=decoded.orientation,
        file_size=len(data),
        master=StoredObject(
            bucket=stored.bucket,
            key=key,
            sha256=sha256,
            size=len(data),
            media_type=fmt.media_type,
            verified_by=stored.verified_by,
        ),
        derivatives=refs,
        iiif=iiif,
        metadata=prepared.metadata,
        quality=quality,
        tags=prepared.tags,
        warnings=warnings,
        chart=prepared.chart,
        measured_size=prepared.measured_size,
        profile=ctx.profile.name,
        pipeline_version=__version__,
        processed_at=datetime.now(UTC).replace(microsecond=0),
    )
    # Written last: a scan record exists only once everything it points at is stored.
    created: list[bool] = []

    def merge(current: dict[str, Any] | None) -> dict[str, Any] | None:
        created[:] = [current is None]  # the attempt that succeeds decides
        return _merge_scan(current, record)

    store.update_json(record_key, merge)
    # After the record: the session's scoring reads the record of every scan it indexes.
    group = index_scan(ctx, record, _folder(path))
    metrics.observe_stage("upload", time.monotonic() - stage_started)
    if created != [True]:
        # The same bytes under another name (an NFD twin, a copy) were stored by another task
        # while this one worked: one scan, counted once, and this file is "already there".
        return ScanResult(
            status="stored",
            path=str(path),
            name=name,
            object=slug,
            scan_id=sha256,
            already_stored=True,
            qc_verdict=quality.verdict,
            session_group=group,
        )
    return ScanResult(
        status="stored",
        path=str(path),
        name=name,
        object=slug,
        scan_id=sha256,
        bytes_stored=len(data)
        + sum(ref.size for ref in refs.values())
        + (iiif.size if iiif else 0),
        master_created=stored.created,
        qc_verdict=quality.verdict,
        session_group=group,
    )


def _folder(path: Path) -> str:
    """The batch folder: the session of scans that carry no camera data."""
    return str(path.parent.resolve())


def store_derivatives(
    ctx: Context, slug: str, scan_id: str, derivatives: list[Derivative]
) -> dict[str, DerivativeRef]:
    """Write a scan's derivative JPEGs, each with its SHA-256 (which storage checks)."""
    refs: dict[str, DerivativeRef] = {}
    for item in derivatives:
        dkey = derivative_key(slug, scan_id, item.name)
        item_digests = digest_bytes(item.data)
        ctx.store.put_bytes(dkey, item.data, content_type="image/jpeg", sha256=item_digests.sha256)
        refs[item.name] = DerivativeRef(
            bucket=ctx.store.bucket,
            key=dkey,
            sha256=item_digests.sha256,
            size=len(item.data),
            media_type="image/jpeg",
            width=item.width,
            height=item.height,
        )
    return refs


def store_tiles(ctx: Context, tiles: IiifTileSet, scan_id: str) -> IiifRef:
    """Write the scan's level-0 tiles; info.json last, so it never points at missing tiles."""
    base = iiif_base_key(scan_id)
    images = [item for item in tiles.files if item[0] != "info.json"]
    info = [item for item in tiles.files if item[0] == "info.json"]

    ctx.store.put_small_many(
        [(f"{base}/{path}", body, to_media_type(path)) for path, body in images]
    )
    for path, body in info:
        ctx.store.put_small(f"{base}/{path}", body, content_type=to_media_type(path))
    return IiifRef(
        bucket=ctx.store.bucket,
        base_key=base,
        files=len(tiles.files),
        size=sum(len(body) for _, body in tiles.files),
    )


def _merge_scan(current: dict[str, Any] | None, record: ScanRecord) -> dict[str, Any] | None:
    if current is None:
        return record.model_dump(mode="json")
    return _add_names(current, record.source_names)


def _remember_name(ctx: Context, key: str, source_name: str) -> None:
    ctx.store.update_json(key, lambda cur: _add_names(cur, [source_name]) if cur else None)


def _add_names(current: dict[str, Any], names: list[str]) -> dict[str, Any] | None:
    """The same bytes under another name are the same scan: keep every name it arrived as."""
    known = list(current["source_names"])
    new = [n for n in names if n not in known]
    return {**current, "source_names": known + new} if new else None


def _quarantined(
    ctx: Context,
    task: ProcessScanTask,
    path: Path,
    error: SohoaError,
    sha256: str | None,
    started: float,
    data: bytes | None = None,
) -> ScanResult:
    status, target = "quarantined", None
    try:
        target = quarantine_file(
            path,
            error,
            quarantine_dir=ctx.settings.quarantine_path,
            batch_id=task.batch_id,
            sha256=sha256,
            # Staged: the copy comes from storage (the worker may not see the drop folder).
            data=_staged_bytes(ctx, task, data),
        )
        log.warning("quarantined %s: %s %s", to_printable(str(path)), error.code, error.message)
        release_staged(ctx, task)
    except QuarantineUnavailableError as unavailable:
        # An outcome all the same: the batch ends, and says which file and why.
        log.error("could not quarantine %s: %s", to_printable(str(path)), unavailable.message)
        status, error = "failed", unavailable
    return ScanResult(
        status=status,
        path=str(path),
        name=to_nfc(path.name),
        scan_id=sha256,
        code=error.code,
        message=error.message,
        quarantine_path=str(target) if target is not None else None,
        seconds=round(time.monotonic() - started, 3),
    )


def _staged_bytes(ctx: Context, task: ProcessScanTask, data: bytes | None) -> bytes | None:
    """A staged file's bytes for its quarantine copy: those read already, else storage's
    (never decoded); None for a file not staged, or a staged object gone."""
    if not task.staged or data is not None:
        return data if task.staged else None
    try:
        found = ctx.store.get_bytes(task.staged)
    except SohoaError:
        return None
    return found[0] if found else None
