"""A batch report's model and its renderings (JSON, CSV, self-contained HTML); pure: no I/O."""

from __future__ import annotations

import base64
import csv
import html
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline import __version__
from pipeline.core.session import SessionRecord
from pipeline.core.session.swatch import render_sessions_html

REPORT_VERSION: Literal[1] = 1
FORMATS = ("json", "csv", "html")
# A thumbnail larger than this is not a thumbnail; the report must stay small enough to mail.
_MAX_THUMBNAIL_BYTES = 256 * 1024
VERDICTS = ("pass", "warn", "fail")


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
    sessions: list[SessionRecord] = Field(
        default_factory=list, description="The capture sessions of the batch's scans"
    )


@dataclass(frozen=True)
class ReportFiles:
    """The three renderings of one report, as bytes."""

    batch_id: str
    json: bytes
    csv: bytes
    html: bytes

    def by_format(self) -> dict[str, bytes]:
        return {"json": self.json, "csv": self.csv, "html": self.html}


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
    parts.extend(f'<th><span class="qc {v}">{v}</span></th>' for v in VERDICTS)
    parts.append("</tr><tr>")
    parts.extend(f"<td>{s.qc.get(v, 0):,}</td>" for v in VERDICTS)
    parts.append("</tr></table>")
    if s.codes:
        parts.append('<h2>Reasons</h2><table class="small"><tr><th>code</th><th>files</th></tr>')
        parts.extend(
            f"<tr><td><code>{esc(c)}</code></td><td>{n:,}</td></tr>" for c, n in s.codes.items()
        )
        parts.append("</table>")
    parts.append(render_sessions_html(report.sessions))
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
    ".session{border:1px solid #ddd;border-radius:6px;padding:.2em .9em .7em;margin:.6em 0}"
    "h3{font-size:1em;margin:.6em 0 .3em}.swatch{margin:.5em 0}"
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
