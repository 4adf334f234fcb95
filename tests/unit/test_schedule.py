"""The nightly schedule as beat sees it, batch progress figures and the fixity summary."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from celery.schedules import crontab
from pydantic import ValidationError

from config.settings import SohoaSettings
from pipeline.cli.render import render_progress
from pipeline.core.layout import is_valid_batch_id
from pipeline.services.batch import BatchProgress, default_batch_id
from pipeline.services.schedule import (
    FINISH_BATCHES,
    FIXITY_SAMPLE,
    NIGHTLY_BACKLOG,
    NightlyJob,
    PeriodicJob,
    fixity_counts,
    nightly_jobs,
    periodic_jobs,
    summarise_audit,
)
from workers.app import beat_schedule, bulk_queue, celery_config


def settings(**values: object) -> SohoaSettings:
    return SohoaSettings(_env_file=None, **values)  # type: ignore[arg-type]


def test_without_a_hot_folder_only_the_fixity_sample_is_scheduled() -> None:
    assert nightly_jobs(settings()) == [NightlyJob("nightly-fixity", FIXITY_SAMPLE, 3, 30)]


def test_both_jobs_at_the_configured_times(tmp_path: Path) -> None:
    jobs = nightly_jobs(
        settings(hot_folder=tmp_path, nightly_at="01:05", fixity_at="23:59", fixity_sample=10)
    )
    assert jobs == [
        NightlyJob("nightly-backlog", NIGHTLY_BACKLOG, 1, 5),
        NightlyJob("nightly-fixity", FIXITY_SAMPLE, 23, 59),
    ]


def test_a_sample_of_zero_turns_the_fixity_job_off(tmp_path: Path) -> None:
    assert [j.task for j in nightly_jobs(settings(hot_folder=tmp_path, fixity_sample=0))] == [
        NIGHTLY_BACKLOG
    ]


def test_nightly_times_follow_the_museums_time_zone() -> None:
    """02:00 in Huế is 19:00 UTC the day before: beat must read the times in the given zone."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from workers.app import app, configure_app

    hue = settings(schedule_timezone="Asia/Ho_Chi_Minh", fixity_at="02:00")
    before = dict(app.conf)
    try:
        configure_app(hue)
        entry = beat_schedule(hue)["nightly-fixity"]["schedule"]
        entry.app = app
        # At 18:30 UTC (01:30 in Huế) the 02:00 run is half an hour away, not 7.5 hours.
        now = datetime(2026, 11, 27, 18, 30, tzinfo=UTC).astimezone(ZoneInfo("Asia/Ho_Chi_Minh"))
        entry.nowfun = lambda: now
        assert round(entry.remaining_estimate(now).total_seconds()) == 30 * 60
    finally:
        app.conf.update(before)


def test_an_unknown_time_zone_is_refused_with_an_example() -> None:
    with pytest.raises(ValidationError, match="Asia/Ho_Chi_Minh"):
        settings(schedule_timezone="Asia/Hue")


@pytest.mark.parametrize("value", ["24:00", "2:00", "02:60", "0200", "tonight"])
def test_times_that_are_not_hh_mm_are_refused(value: str) -> None:
    with pytest.raises(ValidationError, match="nightly_at"):
        settings(nightly_at=value)


def test_beat_entries_are_crontabs_on_the_bulk_queue(tmp_path: Path) -> None:
    configured = settings(hot_folder=tmp_path, nightly_at="02:10", queue_prefix="night")
    entries = beat_schedule(configured)
    assert set(entries) == {"nightly-backlog", "nightly-fixity", "finish-batches"}
    backlog = entries["nightly-backlog"]
    assert backlog["task"] == "sohoa.nightly_backlog"
    assert backlog["schedule"] == crontab(hour=2, minute=10)
    assert backlog["options"] == {"queue": bulk_queue(configured)} == {"queue": "night.bulk"}
    assert entries["nightly-fixity"]["schedule"] == crontab(hour=3, minute=30)
    config = celery_config(configured)
    assert config["beat_schedule"] == entries
    assert config["timezone"] == "UTC"
    assert config["beat_schedule_filename"] == str(Path("var") / "celerybeat-schedule")


@dataclass
class _Finding:
    key: str
    expected: str
    found: str | None


@dataclass
class _Report:
    changed: list[_Finding] = field(default_factory=list)
    missing: list[_Finding] = field(default_factory=list)
    untracked: list[_Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.changed and not self.missing


def test_the_fixity_summary_is_json_with_every_finding_named() -> None:
    report = _Report(
        changed=[_Finding("masters/a/1.tif", "aa", "bb")],
        missing=[_Finding("masters/b/2.tif", "cc", None)],
        untracked=[_Finding("masters/c/3.tif", "", None)] * 2,
    )
    summary = summarise_audit(report, sample=10)
    assert json.loads(json.dumps(summary)) == summary
    assert summary["ok"] is False and summary["sample"] == 10
    assert summary["changed"] == [{"key": "masters/a/1.tif", "expected": "aa", "found": "bb"}]
    assert summary["missing"][0]["key"] == "masters/b/2.tif"
    assert summary["untracked"] == 2
    assert summarise_audit(_Report(), sample=3)["ok"] is True


def test_progress_figures_rate_and_eta() -> None:
    progress = BatchProgress(
        "b", total=100, stored=30, quarantined=5, failed=5, processed=20, elapsed=60.0
    )
    assert (progress.done, progress.remaining) == (40, 60)
    assert progress.per_hour == pytest.approx(1200.0)
    assert progress.eta_seconds == pytest.approx(180.0)
    line = render_progress(progress)
    assert "40/100 done: 30 stored, 5 quarantined, 5 failed, 60 remaining" in line
    assert "1,200/h" in line and "ETA 3 min 00 s" in line
    idle = BatchProgress("b", total=10)
    assert idle.eta_seconds is None and "ETA –" in render_progress(idle)


def test_the_default_batch_id_is_stable_per_folder_and_names_a_report(tmp_path: Path) -> None:
    folder = tmp_path / "Scans 2025/03 Huế"
    folder.mkdir(parents=True)
    first = default_batch_id(folder)
    assert first == default_batch_id(folder / ".." / folder.name)
    assert first != default_batch_id(tmp_path)
    assert is_valid_batch_id(first)


def test_the_api_metrics_app_answers_even_without_redis() -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from pipeline.metrics import api_metrics_app

    app = FastAPI()
    # Nothing listens on port 1: the queue depths are left out, the scrape still answers.
    app.mount("/metrics", api_metrics_app(settings(redis_url="redis://127.0.0.1:1/0")))
    with TestClient(app) as client:
        response = client.get("/metrics/")
    assert response.status_code == 200
    assert "# TYPE sohoa_queue_depth gauge" in response.text
    assert "process_cpu_seconds_total" in response.text or "python_info" in response.text


def test_a_second_worker_serves_its_metrics_on_the_next_port() -> None:
    import socket
    import urllib.request

    from prometheus_client import CollectorRegistry

    from pipeline.metrics import PORT_TRIES, serve

    taken = []
    try:
        first = socket.socket()
        first.bind(("127.0.0.1", 0))
        first.listen()
        taken.append(first)
        port = first.getsockname()[1]
        server = serve("127.0.0.1", port, CollectorRegistry())
        assert server is not None
        try:
            assert port < server.server_port < port + PORT_TRIES
            url = f"http://127.0.0.1:{server.server_port}/metrics"
            with urllib.request.urlopen(url, timeout=5) as answer:
                assert answer.status == 200
        finally:
            server.shutdown()
            server.server_close()
    finally:
        for sock in taken:
            sock.close()


def test_unattended_batches_are_finished_every_ten_minutes_by_default() -> None:
    assert periodic_jobs(settings()) == [PeriodicJob("finish-batches", FINISH_BATCHES, 10)]
    assert periodic_jobs(settings(finish_batches_minutes=0)) == []
    with pytest.raises(ValidationError, match="finish_batches_minutes"):
        settings(finish_batches_minutes=-1)


def test_the_finish_round_goes_ahead_of_bulk_work_and_expires_with_its_period() -> None:
    from datetime import timedelta

    configured = settings(finish_batches_minutes=7, queue_prefix="night")
    entry = beat_schedule(configured)["finish-batches"]
    assert entry["task"] == "sohoa.finish_batches"
    assert entry["schedule"] == timedelta(minutes=7)
    # Behind ten thousand bulk scans it would never run; missed rounds must not pile up.
    assert entry["options"] == {"queue": "night.interactive", "expires": 7 * 60}
    assert "finish-batches" not in beat_schedule(settings(finish_batches_minutes=0))


def test_fixity_reports_are_named_by_the_utc_day_of_the_check() -> None:
    from datetime import datetime, timedelta, timezone

    from pipeline.core.layout import fixity_report_keys

    # 03:30 in Huế on the 28th is 20:30 UTC on the 27th.
    hue = datetime(2026, 11, 28, 3, 30, tzinfo=timezone(timedelta(hours=7)))
    assert fixity_report_keys(hue) == [
        "reports/fixity/20261127.json",
        "reports/fixity/20261127.csv",
    ]


def test_fixity_counts_cover_every_kind_of_finding() -> None:
    report = _Report(changed=[_Finding("a", "1", "2")], untracked=[_Finding("c", "", None)] * 3)
    assert fixity_counts(report) == {
        "changed": 1,
        "missing": 0,
        "untracked": 3,
        "unreadable": 0,
        "unpublished": 0,
    }
