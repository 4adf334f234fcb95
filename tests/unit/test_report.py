"""Batch reports: the counts match the results, and each rendering reads back as what it claims."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar

import jsonschema
import pytest

from pipeline.core.layout import report_key
from pipeline.core.report import (
    CSV_COLUMNS,
    BatchReportRecord,
    ReportFile,
    render_csv,
    render_html,
    render_json,
    render_report,
)
from pipeline.services.report import (
    BatchInfo,
    build_report,
    to_file_results,
    write_report,
)
from schemas import load_schema
from tests.unit.images import jpeg_bytes

STARTED = datetime(2025, 3, 1, 22, 0, tzinfo=UTC)
BATCH = BatchInfo(
    batch_id="20250301-220000-a1b2c3",
    started_at=STARTED,
    finished_at=STARTED + timedelta(minutes=30),
    inputs=["/srv/scans/night"],
)
SHA = {n: f"{n:x}" * 64 for n in range(1, 6)}
EVIL = '<script>alert("x")</script>_front_1.tif'


def stored(name: str, sha: str, *, qc: str = "pass", already: bool = False) -> dict[str, Any]:
    return {
        "status": "stored",
        "path": f"/srv/scans/night/{name}",
        "name": name,
        "object": "btcvh.gs.0012",
        "scan_id": sha,
        "bytes_stored": 0 if already else 1_000_000,
        "already_stored": already,
        "qc_verdict": qc,
        "seconds": 1.25,
        "publish_task_id": "c0ffee",
    }


def results() -> list[dict[str, Any]]:
    return [
        stored("BTCVH.GS.0012_front_1.tif", SHA[1]),
        stored("BTCVH.GS.0012_back_1.tif", SHA[2], qc="warn"),
        stored("BTCVH.GS.0012_top_1.tif", SHA[3], qc="fail"),
        stored("Bình_gốm_front_1.tif", SHA[4], already=True),
        {
            "status": "quarantined",
            "path": f"/srv/scans/night/{EVIL}",
            "name": EVIL,
            "code": "TRUNCATED",
            "message": f"File {EVIL!r} ends early & was cut: copy it again.",
            "quarantine_path": f"/var/quarantine/x/{EVIL}",
            "seconds": 0.1,
        },
        {
            "status": "quarantined",
            "path": "/srv/scans/night/=HYPERLINK(1)_front_1.jpg",
            "name": "=HYPERLINK(1)_front_1.jpg",
            "code": "NOT_AN_IMAGE",
            "message": "not an image",
        },
        # What wait_for returns for a task that raised: no path, no name.
        {"status": "failed", "code": "TASK_FAILED", "message": "boom"},
    ]


def test_counts_match_the_inputs() -> None:
    report = build_report(results(), BATCH)
    s = report.summary
    assert (s.files, s.stored, s.new, s.already_stored) == (7, 4, 3, 1)
    assert (s.quarantined, s.failed) == (2, 1)
    assert s.bytes_stored == 3_000_000
    assert s.objects == 1
    assert s.qc == {"pass": 2, "warn": 1, "fail": 1}
    assert s.codes == {"NOT_AN_IMAGE": 1, "TASK_FAILED": 1, "TRUNCATED": 1}
    assert s.duration_seconds == 1800
    assert s.files_per_hour == 14.0
    assert [f.status for f in report.files].count("stored") == 4
    assert report.files[-1].name == "?"


def test_an_empty_batch_of_no_duration_has_no_rate() -> None:
    report = build_report([], BatchInfo("empty", STARTED, STARTED))
    assert report.summary.files == 0
    assert report.summary.files_per_hour is None
    render_report(report)


def test_json_validates_against_the_committed_schema() -> None:
    data = json.loads(render_json(build_report(results(), BATCH)))
    jsonschema.Draft202012Validator(
        load_schema("report"), format_checker=jsonschema.FormatChecker()
    ).validate(data)
    assert BatchReportRecord.model_validate(data) == build_report(results(), BATCH)


def test_schema_and_models_name_the_same_fields() -> None:
    schema = load_schema("report")
    assert set(schema["properties"]) == set(BatchReportRecord.model_fields)
    assert set(schema["properties"]["files"]["items"]["properties"]) == set(ReportFile.model_fields)
    summary = schema["properties"]["summary"]
    assert set(summary["properties"]) == set(summary["required"])


def test_schema_rejects_a_report_without_its_figures() -> None:
    data = json.loads(render_json(build_report(results(), BATCH)))
    del data["summary"]["quarantined"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(load_schema("report")).validate(data)


def test_csv_parses_back_row_for_row() -> None:
    report = build_report(results(), BATCH)
    raw = render_csv(report)
    assert raw.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8"
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert list(rows[0]) == CSV_COLUMNS
    assert len(rows) == len(report.files)
    assert [r["name"] for r in rows[:5]] == [f.name for f in report.files[:5]]
    assert rows[3]["name"] == "Bình_gốm_front_1.tif"
    assert rows[4]["message"] == report.files[4].message  # quotes, commas and & survive
    assert rows[2]["qc_verdict"] == "fail"
    assert rows[0]["code"] == "" and rows[4]["code"] == "TRUNCATED"
    assert float(rows[0]["seconds"]) == 1.25
    # A name a spreadsheet would run as a formula is defused.
    assert rows[5]["name"] == "'=HYPERLINK(1)_front_1.jpg"


class _Page(HTMLParser):
    """Collects what a browser would see, and checks that every tag opened is closed."""

    VOID: ClassVar[set[str]] = {"meta", "img", "br", "link", "hr", "input"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []
        self.images: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "img":
            self.images.append(dict(attrs)["src"] or "")
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse_page(raw: bytes) -> _Page:
    page = _Page()
    page.feed(raw.decode("utf-8"))
    page.close()
    assert not page.errors, page.errors
    assert not page.stack, f"unclosed: {page.stack}"
    return page


def test_html_is_well_formed_self_contained_and_escapes_user_text() -> None:
    thumb = jpeg_bytes(64, 48)
    raw = render_html(build_report(results(), BATCH), {SHA[3]: thumb, SHA[1]: thumb})
    page = parse_page(raw)
    assert "script" not in page.tags
    assert b"<script>" not in raw
    assert "&lt;script&gt;" in raw.decode()
    text = "".join(page.text)
    assert EVIL in text  # shown to the reader as written, never run
    assert "Bình_gốm_front_1.tif" in text
    for figure in ("4", "3", "2", "1", "30 min 00 s", "14 files/h", "2.9 MiB"):
        assert figure in text
    # Self-contained: no link, no external source; the one QC failure's picture is inline.
    assert "link" not in page.tags
    assert b"http://" not in raw and b"https://" not in raw
    assert len(page.images) == 1 and page.images[0].startswith("data:image/jpeg;base64,")


def test_html_embeds_only_image_bytes() -> None:
    raw = render_html(build_report(results(), BATCH), {SHA[3]: b"<svg onload=alert(1)>"})
    assert parse_page(raw).images == []


def test_report_files_are_named_by_batch(tmp_path: Path) -> None:
    files = render_report(build_report(results(), BATCH))
    paths = write_report(files, tmp_path / "reports")
    assert sorted(p.name for p in paths) == [
        f"{BATCH.batch_id}.{ext}" for ext in ("csv", "html", "json")
    ]
    assert paths[0].read_bytes() == files.json
    assert report_key(BATCH.batch_id, "html") == f"reports/{BATCH.batch_id}.html"
    with pytest.raises(ValueError, match="cannot name a report"):
        report_key("../etc/passwd", "json")


def test_every_file_sent_gets_a_row() -> None:
    paths = [Path("/drop/a_front_1.tif"), Path("/drop/b_front_1.tif"), Path("/drop/c_front_1.tif")]
    rows = to_file_results(
        paths,
        ["t1", "t2", "t3"],
        {
            "t1": stored("a_front_1.tif", SHA[1]),
            "t2": {"status": "failed", "code": "TASK_FAILED", "message": "boom"},
        },
    )
    assert [r["name"] for r in rows] == ["a_front_1.tif", "b_front_1.tif", "c_front_1.tif"]
    assert rows[1]["path"] == "/drop/b_front_1.tif"
    assert rows[2]["code"] == "UNFINISHED" and rows[2]["status"] == "failed"
    assert build_report(rows, BATCH).summary.failed == 2
