"""Batch reports: built from results, kept on disk and in the bucket; renders nothing itself."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.adapters.s3_store import S3Store
from pipeline.core.layout import derivative_key, fixity_report_keys, report_key
from pipeline.core.report import (
    FORMATS,
    VERDICTS,
    BatchReportRecord,
    ReportFile,
    ReportFiles,
    ReportSummary,
    render_report,
)
from pipeline.core.session import SessionRecord
from pipeline.errors import BatchBusyError, RetryableError
from pipeline.services.assembly import open_record_stream
from pipeline.services.audit import AuditReport
from pipeline.services.batch import BatchRun
from pipeline.services.intake import summarise
from pipeline.services.models import PublishRecordTask, ScanResult
from pipeline.services.notify import notify_record_changed
from pipeline.services.parallel import read_each
from pipeline.services.publish import publish_record
from pipeline.services.session_scoring import settle_for_report

log = logging.getLogger(__name__)

CONTENT_TYPES = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "html": "text/html; charset=utf-8",
}


@dataclass(frozen=True)
class BatchInfo:
    """What the caller knows about the batch besides its results."""

    batch_id: str
    started_at: datetime
    finished_at: datetime
    inputs: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SavedReport:
    """Where a report was written."""

    keys: list[str]
    paths: list[Path]


# --- building ------------------------------------------------------------------------------------


def to_file_results(
    paths: list[Path], task_ids: list[str], results: Mapping[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """One result per file sent, in the order sent: the task's result, or why there is none.

    A task that raised has only a code and a message; one still running when the wait timed
    out has nothing. Both still name their file, so the report lists every file of the batch.
    """
    rows: list[dict[str, Any]] = []
    for path, task_id in zip(paths, task_ids, strict=True):
        result = results.get(task_id)
        if result is None:
            result = ScanResult(
                status="failed",
                path=str(path),
                name=path.name,
                code="UNFINISHED",
                message=f"File {path.name!r} was still queued or running when the wait ended: "
                "it may still finish; run the ingest again later to be sure.",
            ).model_dump()
        rows.append(
            {
                **result,
                "path": result.get("path") or str(path),
                "name": result.get("name") or path.name,
            }
        )
    return rows


def build_report(
    results: Iterable[dict[str, Any]],
    batch: BatchInfo,
    sessions: Iterable[SessionRecord] = (),
) -> BatchReportRecord:
    """Count and list what happened; the counts are the ingest summary's own."""
    rows = list(results)
    summary = summarise(rows)
    files = [_to_report_file(row) for row in rows]
    duration = max(0.0, (batch.finished_at - batch.started_at).total_seconds())
    return BatchReportRecord(
        batch_id=batch.batch_id,
        started_at=batch.started_at,
        finished_at=batch.finished_at,
        inputs=list(batch.inputs),
        summary=ReportSummary(
            files=summary.files,
            stored=summary.stored,
            new=summary.stored - summary.already_stored,
            already_stored=summary.already_stored,
            quarantined=summary.quarantined,
            failed=summary.failed,
            bytes_stored=summary.bytes_stored,
            objects=len(summary.objects),
            duration_seconds=round(duration, 3),
            files_per_hour=round(summary.files / duration * 3600, 1) if duration > 0 else None,
            qc={verdict: summary.qc.get(verdict, 0) for verdict in VERDICTS},
            codes=dict(sorted(summary.codes.items())),
        ),
        files=files,
        sessions=list(sessions),
    )


def _to_report_file(row: dict[str, Any]) -> ReportFile:
    path = str(row.get("path") or "")
    status = row.get("status")
    return ReportFile(
        name=str(row.get("name") or Path(path).name or "?"),
        path=path,
        # Anything that did not end stored or quarantined failed, whatever it says.
        status=status if status in ("stored", "quarantined") else "failed",
        code=row.get("code"),
        message=row.get("message"),
        object=row.get("object"),
        scan_id=row.get("scan_id"),
        qc_verdict=row.get("qc_verdict"),
        seconds=float(row.get("seconds") or 0.0),
        bytes_stored=int(row.get("bytes_stored") or 0),
        already_stored=bool(row.get("already_stored")),
        quarantine_path=row.get("quarantine_path"),
    )


# --- storing -------------------------------------------------------------------------------------


def fetch_qc_thumbnails(
    store: S3Store, report: BatchReportRecord, *, limit: int = 200
) -> dict[str, bytes]:
    """The thumbnails of the scans that failed QC (scan id -> JPEG), at most `limit` of them,
    read several at a time (a batch whose scans all fail QC has one per file).

    A thumbnail that cannot be read just now is left out: the report matters more than its
    pictures, and the scan's record points at the same image.
    """
    wanted = [
        item for item in report.files if item.qc_verdict == "fail" and item.scan_id and item.object
    ]

    def fetch(item: ReportFile) -> bytes | None:
        try:
            got = store.get_bytes(derivative_key(str(item.object), str(item.scan_id), "thumb"))
        except RetryableError as exc:
            log.warning("report %s: thumbnail of %s left out: %s", report.batch_id, item.name, exc)
            return None
        return got[0] if got is not None else None

    found: dict[str, bytes] = {}
    # In batches of `limit`: past the first, only as many as are still missing are read.
    while wanted and len(found) < limit:
        batch, wanted = wanted[: limit - len(found)], wanted[limit - len(found) :]
        for item, data in zip(batch, read_each(fetch, batch, name="thumbs"), strict=True):
            if data is not None:
                found[str(item.scan_id)] = data
    return found


def write_report(files: ReportFiles, directory: Path) -> list[Path]:
    """Write `{batch_id}.json/.csv/.html` into `directory` (created if missing)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt, data in files.by_format().items():
        path = directory / Path(report_key(files.batch_id, fmt)).name
        tmp = path.with_name(path.name + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)
        written.append(path)
    return written


def upload_report(store: S3Store, files: ReportFiles) -> list[str]:
    """Put the three files under reports/ in the bucket; a report of the same id is replaced."""
    keys = []
    for fmt, data in files.by_format().items():
        key = report_key(files.batch_id, fmt)
        store.put_bytes(key, data, content_type=CONTENT_TYPES[fmt])
        keys.append(key)
    return keys


def save_batch_report(
    store: S3Store,
    results: Iterable[dict[str, Any]],
    batch: BatchInfo,
    *,
    directory: Path | None = None,
    sessions: Iterable[SessionRecord] = (),
) -> SavedReport:
    """Build, render, write locally (first, so it survives a storage outage), then upload."""
    report = build_report(results, batch, sessions)
    files = render_report(report, fetch_qc_thumbnails(store, report))
    paths = write_report(files, directory) if directory is not None else []
    return SavedReport(keys=upload_report(store, files), paths=paths)


@dataclass(frozen=True)
class FinishedBatch:
    """A batch brought to its end: its results and where its report is."""

    results: list[dict[str, Any]]
    bucket: str
    keys: list[str]  # reports/{batch}.json, .csv, .html in the bucket (empty: not uploaded)
    paths: list[Path]  # the copies written to a local directory, if one was asked for
    written: bool  # False when another finisher had written the report (it was kept)
    error: str | None = None  # why the report could not be uploaded (the batch stays open)

    @property
    def location(self) -> str | None:
        json_key = next((k for k in self.keys if k.endswith(".json")), None)
        return f"s3://{self.bucket}/{json_key}" if json_key else None


def finish_batch(run: BatchRun, *, directory: Path | None = None) -> FinishedBatch:
    """Write the batch's report to reports/ in the bucket (and to `directory`) and mark the
    batch finished, once, whoever comes first: `sohoa batch` or `sohoa.finish_batches`.

    A report that cannot be uploaded leaves the batch open, so that the next finisher writes
    it; a report another finisher wrote is kept (and copied to `directory`).
    """
    store = run.ctx.store
    meta = run.state.read_meta(run.batch_id) or {}
    started = _parse_moment(meta.get("started_at")) or datetime.now(UTC)
    inputs = [str(i) for i in (meta.get("inputs") or run.inputs)]
    paths: list[Path] = []

    def write(results: list[dict[str, Any]]) -> dict[str, Any]:
        # The batch's end is where its sessions are complete: score them before reporting.
        scored = settle_for_report(
            run.ctx,
            (r.get("session_group") for r in results),
            republish=lambda objects: _republish(run, objects),
        )
        info = BatchInfo(run.batch_id, started, datetime.now(UTC), inputs)
        saved = save_batch_report(
            store, results, info, directory=directory, sessions=scored.sessions
        )
        paths.extend(saved.paths)
        return {"bucket": store.bucket, "keys": saved.keys}

    try:
        written = run.finish(write)
    except BatchBusyError:
        raise
    except RetryableError as exc:
        if directory is not None:
            paths = [p for f in FORMATS if (p := directory / f"{run.batch_id}.{f}").exists()]
        return FinishedBatch(run.results(), store.bucket, [], paths, False, exc.message)
    report = run.report or {}
    bucket = str(report.get("bucket") or store.bucket)
    keys = [str(k) for k in report.get("keys") or []]
    if not written and directory is not None:
        found = find_report(store, run.batch_id)
        paths = download_report(store, found, directory) if found is not None else []
    return FinishedBatch(run.results(), bucket, keys, paths, written)


def _parse_moment(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text)) if text else None
    except ValueError:
        return None


def save_fixity_report(store: S3Store, audit: AuditReport, moment: datetime) -> list[str]:
    """The fixity check's findings, every one, as JSON and CSV under reports/ in the bucket."""
    json_key, csv_key = fixity_report_keys(moment)
    store.put_bytes(json_key, audit.to_json().encode("utf-8"), content_type=CONTENT_TYPES["json"])
    store.put_bytes(csv_key, audit.to_csv().encode("utf-8"), content_type=CONTENT_TYPES["csv"])
    return [json_key, csv_key]


@dataclass(frozen=True)
class StoredReport:
    """A report found in the bucket: its keys and its summary figures."""

    batch_id: str
    bucket: str
    keys: dict[str, str]
    summary: ReportSummary | None


def find_report(store: S3Store, batch_id: str) -> StoredReport | None:
    """Which of a batch's report files are in the bucket, with the JSON's summary; None if none."""
    keys = {fmt: report_key(batch_id, fmt) for fmt in FORMATS}
    present = {fmt: key for fmt, key in keys.items() if store.head(key) is not None}
    if not present:
        return None
    summary = None
    found = store.read_json(keys["json"]) if "json" in present else None
    if found is not None:
        summary = BatchReportRecord.model_validate(found[0]).summary
    return StoredReport(batch_id=batch_id, bucket=store.bucket, keys=present, summary=summary)


def download_report(store: S3Store, found: StoredReport, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for key in found.keys.values():
        got = store.get_bytes(key)
        if got is None:
            continue
        path = directory / Path(key).name
        path.write_bytes(got[0])
        written.append(path)
    return written


def _republish(run: BatchRun, objects: Iterable[str]) -> None:
    """Rebuild these records (their sessions' colour moved) as a lost publish is rebuilt: by
    the workers, which also tell the API replicas and update the catalogue index; here, when
    this run has no workers to send to."""
    if run.send_publish is not None:
        for slug in objects:
            run.send_publish(PublishRecordTask(object=slug))
        return
    stream = open_record_stream(run.ctx.settings)
    try:
        for slug in objects:
            if publish_record(run.ctx, slug).status == "written":
                notify_record_changed(stream, slug)
    finally:
        stream.close()
