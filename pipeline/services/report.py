"""Batch reports (JSON, CSV, self-contained HTML), on disk and in the bucket; no processing."""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline import __version__
from pipeline.adapters.s3_store import S3Store
from pipeline.errors import BatchBusyError, RetryableError
from pipeline.services.audit import AuditReport
from pipeline.services.batch import BatchRun
from pipeline.services.ingest import derivative_key
from pipeline.services.intake import summarise
from pipeline.services.models import ScanResult

log = logging.getLogger(__name__)

REPORT_VERSION: Literal[1] = 1
FORMATS = ("json", "csv", "html")
CONTENT_TYPES = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "html": "text/html; charset=utf-8",
}
# The id becomes part of an S3 key and of file names: letters, digits and . _ - only.
_BATCH_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
# A thumbnail larger than this is not a thumbnail; the report must stay small enough to mail.
_MAX_THUMBNAIL_BYTES = 256 * 1024
_VERDICTS = ("pass", "warn", "fail")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReportFile(_Model):
    """One file of the batch, as the report shows it."""

    name: str
    path: str
    status: Literal["stored", "quarantined", "failed"]
    code: str | None = None
    message: str | None = None
    object: str | None = None
    scan_id: str | None = None
    qc_verdict: Literal["pass", "warn", "fail"] | None = None
    seconds: float = 0.0
    bytes_stored: int = 0
    already_stored: bool = False
    quarantine_path: str | None = None


class ReportSummary(_Model):
    """The figures at the top of the report."""

    files: int
    stored: int
    new: int
    already_stored: int
    quarantined: int
    failed: int
    bytes_stored: int
    objects: int
    duration_seconds: float
    files_per_hour: float | None
    qc: dict[str, int]
    codes: dict[str, int]


class BatchReportRecord(_Model):
    """reports/{batch_id}.json: what one batch did, file by file (schemas/report.schema.json)."""

    report_version: Literal[1] = REPORT_VERSION
    batch_id: str
    started_at: datetime
    finished_at: datetime
    inputs: list[str]
    pipeline_version: str = __version__
    summary: ReportSummary
    files: list[ReportFile] = Field(default_factory=list)


@dataclass(frozen=True)
class BatchInfo:
    """What the caller knows about the batch besides its results."""

    batch_id: str
    started_at: datetime
    finished_at: datetime
    inputs: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ReportFiles:
    """The three renderings of one report, as bytes."""

    batch_id: str
    json: bytes
    csv: bytes
    html: bytes

    def by_format(self) -> dict[str, bytes]:
        return {"json": self.json, "csv": self.csv, "html": self.html}


@dataclass(frozen=True)
class SavedReport:
    """Where a report was written."""

    keys: list[str]
    paths: list[Path]


def is_valid_batch_id(batch_id: str) -> bool:
    return bool(_BATCH_ID.match(batch_id))


def report_key(batch_id: str, fmt: str) -> str:
    if not is_valid_batch_id(batch_id):
        raise ValueError(
            f"Batch id {batch_id!r} cannot name a report: use letters, digits, '.', '_' and '-' "
            "(at most 128, starting with a letter or digit)."
        )
    return f"reports/{batch_id}.{fmt}"


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


def build_report(results: Iterable[dict[str, Any]], batch: BatchInfo) -> BatchReportRecord:
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
            qc={verdict: summary.qc.get(verdict, 0) for verdict in _VERDICTS},
            codes=dict(sorted(summary.codes.items())),
        ),
        files=files,
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


# --- rendering -----------------------------------------------------------------------------------


def render_json(report: BatchReportRecord) -> bytes:
    data = report.model_dump(mode="json")
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


CSV_COLUMNS = list(ReportFile.model_fields)
# A cell starting with one of these is a formula to a spreadsheet (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def render_csv(report: BatchReportRecord) -> bytes:
    """One row per file; UTF-8 with a BOM, or Excel shows Vietnamese names as mojibake."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for item in report.files:
        row = item.model_dump(mode="json")
        writer.writerow({key: _csv_cell(value) for key, value in row.items()})
    return buffer.getvalue().encode("utf-8-sig")


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def render_html(report: BatchReportRecord, thumbnails: Mapping[str, bytes] | None = None) -> bytes:
    """A page that opens anywhere: inline CSS, no script, thumbnails as data: URIs by scan id."""
    thumbs = thumbnails or {}
    s = report.summary
    esc = _esc
    title = f"Batch {report.batch_id}"
    figures = [
        ("files", f"{s.files:,}"),
        ("stored", f"{s.stored:,}"),
        ("new", f"{s.new:,}"),
        ("already stored", f"{s.already_stored:,}"),
        ("quarantined", f"{s.quarantined:,}"),
        ("failed", f"{s.failed:,}"),
        ("objects", f"{s.objects:,}"),
        ("bytes written", _human_bytes(s.bytes_stored)),
        ("duration", _human_duration(s.duration_seconds)),
        ("rate", f"{s.files_per_hour:,.0f} files/h" if s.files_per_hour is not None else "–"),
    ]
    attention = [f for f in report.files if f.status != "stored" or f.qc_verdict == "fail"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)} — Sohoa report</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{esc(title)}</h1>",
        '<p class="meta">'
        f"{esc(_when(report.started_at))} → {esc(_when(report.finished_at))} · "
        f"Sohoa {esc(report.pipeline_version)}</p>",
    ]
    if report.inputs:
        parts.append(
            '<p class="meta">Inputs: '
            + ", ".join(f"<code>{esc(i)}</code>" for i in report.inputs)
            + "</p>"
        )
    parts.append('<div class="figures">')
    for label, value in figures:
        cls = ' class="bad"' if label in ("quarantined", "failed") and value != "0" else ""
        parts.append(f"<div{cls}><b>{esc(value)}</b><span>{esc(label)}</span></div>")
    parts.append("</div>")
    parts.append('<h2>Quality control</h2><table class="small"><tr>')
    parts.extend(f'<th><span class="qc {v}">{v}</span></th>' for v in _VERDICTS)
    parts.append("</tr><tr>")
    parts.extend(f"<td>{s.qc.get(v, 0):,}</td>" for v in _VERDICTS)
    parts.append("</tr></table>")
    if s.codes:
        parts.append('<h2>Reasons</h2><table class="small"><tr><th>code</th><th>files</th></tr>')
        parts.extend(
            f"<tr><td><code>{esc(c)}</code></td><td>{n:,}</td></tr>" for c, n in s.codes.items()
        )
        parts.append("</table>")
    if attention:
        parts.append(f"<h2>Needs attention ({len(attention):,})</h2>")
        parts.append(_file_table(attention, thumbs, with_thumbnails=True))
    parts.append(f"<h2>All files ({len(report.files):,})</h2>")
    parts.append(_file_table(report.files, thumbs, with_thumbnails=False))
    parts.append("</body>")
    parts.append("</html>")
    return ("\n".join(parts) + "\n").encode("utf-8")


def _file_table(
    files: list[ReportFile], thumbs: Mapping[str, bytes], *, with_thumbnails: bool
) -> str:
    esc = _esc
    head = ["file", "status", "code", "message", "object", "QC", "seconds"]
    if with_thumbnails:
        head.append("thumbnail")
    rows = ["<table>", "<tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    for f in files:
        qc = (
            f'<span class="qc {esc(f.qc_verdict)}">{esc(f.qc_verdict)}</span>'
            if f.qc_verdict
            else ""
        )
        cells = [
            f'<td title="{esc(f.path)}">{esc(f.name)}</td>',
            f'<td><span class="st {esc(f.status)}">{esc(f.status)}</span></td>',
            f"<td><code>{esc(f.code or '')}</code></td>",
            f"<td>{esc(f.message or '')}</td>",
            f"<td>{esc(f.object or '')}</td>",
            f"<td>{qc}</td>",
            f'<td class="num">{f.seconds:.2f}</td>',
        ]
        if with_thumbnails:
            uri = _data_uri(thumbs.get(f.scan_id or "")) if f.qc_verdict == "fail" else None
            cells.append(f'<td><img src="{uri}" alt="{esc(f.name)}"></td>' if uri else "<td></td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    rows.append("</table>")
    return "\n".join(rows)


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _data_uri(data: bytes | None) -> str | None:
    if not data or len(data) > _MAX_THUMBNAIL_BYTES:
        return None
    if data.startswith(b"\xff\xd8\xff"):
        media = "image/jpeg"
    elif data.startswith(b"\x89PNG\r\n\x1a\n"):
        media = "image/png"
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        media = "image/webp"
    else:
        return None  # only image types a browser shows: never an arbitrary payload
    return f"data:{media};base64," + base64.b64encode(data).decode("ascii")


def _when(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    return f"{value:,.1f} TiB"


def _human_duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


_CSS = (
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2em;"
    "color:#222}"
    "h1{font-size:1.6em;margin:0 0 .2em}h2{font-size:1.15em;margin:1.6em 0 .5em}"
    ".meta{color:#666;margin:.2em 0}code{font:12px ui-monospace,Menlo,Consolas,monospace}"
    ".figures{display:flex;flex-wrap:wrap;gap:.6em;margin:1.2em 0}"
    ".figures div{border:1px solid #ddd;border-radius:6px;padding:.5em .9em;min-width:7em}"
    ".figures b{display:block;font-size:1.35em}.figures span{color:#666;font-size:.9em}"
    ".figures .bad{border-color:#d33;background:#fff4f4}"
    "table{border-collapse:collapse;width:100%}table.small{width:auto}"
    "th,td{border-bottom:1px solid #eee;padding:.3em .6em;text-align:left;vertical-align:top}"
    "th{background:#f6f6f6}td.num{text-align:right;white-space:nowrap}"
    "img{max-width:160px;max-height:160px}"
    ".st,.qc{padding:0 .45em;border-radius:3px;font-size:.9em}"
    ".stored,.pass{background:#e5f5e8}.quarantined,.warn{background:#fff1d6}"
    ".failed,.fail{background:#fde0e0}"
    "@media print{body{margin:0}}"
)


def render_report(
    report: BatchReportRecord, thumbnails: Mapping[str, bytes] | None = None
) -> ReportFiles:
    return ReportFiles(
        batch_id=report.batch_id,
        json=render_json(report),
        csv=render_csv(report),
        html=render_html(report, thumbnails),
    )


# --- storing -------------------------------------------------------------------------------------


def fetch_qc_thumbnails(
    store: S3Store, report: BatchReportRecord, *, limit: int = 200
) -> dict[str, bytes]:
    """The thumbnails of the scans that failed QC (scan id -> JPEG), at most `limit` of them.

    A thumbnail that cannot be read just now is left out: the report matters more than its
    pictures, and the scan's record points at the same image.
    """
    found: dict[str, bytes] = {}
    for item in report.files:
        if len(found) >= limit:
            break
        if item.qc_verdict != "fail" or not item.scan_id or not item.object:
            continue
        try:
            got = store.get_bytes(derivative_key(item.object, item.scan_id, "thumb"))
        except RetryableError as exc:
            log.warning("report %s: thumbnail of %s left out: %s", report.batch_id, item.name, exc)
            continue
        if got is not None:
            found[item.scan_id] = got[0]
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
) -> SavedReport:
    """Build, render, write locally (first, so it survives a storage outage), then upload."""
    report = build_report(results, batch)
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
        info = BatchInfo(run.batch_id, started, datetime.now(UTC), inputs)
        saved = save_batch_report(store, results, info, directory=directory)
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


def fixity_report_keys(moment: datetime) -> list[str]:
    """reports/fixity/YYYYMMDD.json and .csv (the UTC day of the check; a folder of its own,
    so no batch id can take these names)."""
    return [f"reports/fixity/{moment.astimezone(UTC):%Y%m%d}.{fmt}" for fmt in ("json", "csv")]


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
