"""`sohoa status`, the worker's /metrics (summed over its prefork children) and the nightly
jobs, against real Redis, SeaweedFS and a real worker process."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from pipeline.adapters import embedded
from pipeline.adapters.redis_batch import BatchState
from pipeline.services.batch import read_progress
from tests.conftest import S3Server, Stack
from tests.support.stacks import running_stack
from tests.unit.images import encode, gradient_rgb
from workers.app import bulk_queue, configure_app, interactive_queue

pytestmark = pytest.mark.integration


@pytest.fixture()
def observed(s3_server: S3Server, clean_redis: str, tmp_path: Path) -> Iterator[Stack]:
    """A stack whose worker serves /metrics on a free port and knows a hot folder."""
    port = embedded.find_free_ports(1, grpc_twins=False)[0]
    hot = tmp_path / "hot"
    hot.mkdir()
    with running_stack(
        s3_server,
        clean_redis,
        tmp_path,
        metrics_port=port,
        hot_folder=hot,
        fixity_sample=5,
        nightly_at="01:15",
        fixity_at="04:45",
    ) as stack:
        yield stack


def write_scans(folder: Path, count: int, *, prefix: str = "MET") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        data = encode(gradient_rgb(64, 48, seed=100 + i), "JPEG", quality=90)
        (folder / f"{prefix}.{i:02d}_front_1.jpg").write_bytes(data)


def scrape(stack: Stack) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    url = f"http://127.0.0.1:{stack.settings.metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_and_status_after_a_batch(observed: Stack, tmp_path: Path) -> None:
    stack = observed
    folder = tmp_path / "scans"
    write_scans(folder, 4)
    (folder / "MET.99_front_1.jpg").write_bytes(b"\x00" * 300)
    done = stack.sohoa("batch", str(folder), "--batch-id", "metrics-1")
    assert done.returncode == 1, done.stdout + done.stderr

    metrics = scrape(stack)
    scans = {
        labels: value for (name, labels), value in metrics.items() if name == "sohoa_scans_total"
    }
    assert scans == {
        (("code", ""), ("status", "stored")): 4.0,
        (("code", "NOT_AN_IMAGE"), ("status", "quarantined")): 1.0,
    }
    stages = {
        dict(labels)["stage"]: value
        for (name, labels), value in metrics.items()
        if name == "sohoa_stage_seconds_count"
    }
    # The bad file is read and hashed, then refused before any decoding or upload.
    assert stages == {"read": 5.0, "decode": 4.0, "upload": 4.0}
    report = json.loads(stack.store.get_bytes("reports/metrics-1.json")[0])  # type: ignore[index]
    assert metrics[("sohoa_uploaded_bytes_total", ())] == report["summary"]["bytes_stored"] > 0
    for queue in (interactive_queue(stack.settings), bulk_queue(stack.settings)):
        assert ("sohoa_queue_depth", (("queue", queue),)) in metrics

    status = stack.sohoa("status", "--json")
    assert status.returncode == 0, status.stderr
    picture = json.loads(status.stdout)
    assert stack.worker_name in picture["workers"]
    assert picture["queues"] == {
        interactive_queue(stack.settings): 0,
        bulk_queue(stack.settings): 0,
    }
    assert picture["today"] == {"stored": 4, "already_stored": 0, "quarantined": 1, "failed": 0}
    [batch] = picture["batches"]
    assert batch["batch_id"] == "metrics-1"
    assert (batch["total"], batch["stored"], batch["quarantined"], batch["remaining"]) == (
        5,
        4,
        1,
        0,
    )
    assert batch["state"] == "finished"

    text = stack.sohoa("status", "metrics-1")
    assert text.returncode == 0
    assert "5/5 done: 4 stored" in text.stdout
    missing = stack.sohoa("status", "no-such-batch")
    assert missing.returncode == 1
    assert "no-such-batch" in missing.stderr and "sohoa report" in missing.stderr


def test_the_nightly_jobs_run_on_a_real_worker(observed: Stack) -> None:
    stack = observed
    listed = stack.sohoa("beat", "--list")
    assert listed.returncode == 0
    assert "01:15 UTC  nightly-backlog" in listed.stdout
    assert "04:45 UTC  nightly-fixity" in listed.stdout
    # The beat itself starts with that schedule (and stops on SIGTERM).
    beat_log = stack.home / "beat.log"
    beat = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "beat", "--loglevel", "DEBUG"],
        env=stack.env,
        cwd=stack.home,
        stdout=beat_log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while "beat: Starting" not in beat_log.read_text() and time.monotonic() < deadline:
            assert beat.poll() is None, beat_log.read_text()
            time.sleep(0.2)
    finally:
        beat.terminate()
        beat.wait(timeout=20)
    started = beat_log.read_text()
    assert "beat: Starting" in started and "nightly-backlog" in started, started

    assert stack.settings.hot_folder is not None
    write_scans(stack.settings.hot_folder, 3, prefix="HOT")
    app = configure_app(stack.settings)
    sent = app.send_task("sohoa.nightly_backlog", queue=bulk_queue(stack.settings))
    backlog = sent.get(timeout=60)
    assert (backlog["status"], backlog["files"], backlog["sent"]) == ("sent", 3, 3)
    state = BatchState(stack.settings.redis_url, prefix=stack.settings.queue_prefix)
    deadline = time.monotonic() + 60
    progress = read_progress(state, backlog["batch_id"])
    while progress is not None and progress.remaining and time.monotonic() < deadline:
        time.sleep(0.2)
        progress = read_progress(state, backlog["batch_id"])
    assert progress is not None and (progress.stored, progress.remaining) == (3, 0)

    fixity = app.send_task(
        "sohoa.fixity_sample", kwargs={"sample": 5, "seed": 1}, queue=bulk_queue(stack.settings)
    ).get(timeout=60)
    assert fixity["ok"] is True, fixity
    assert (fixity["sample"], fixity["changed"], fixity["missing"]) == (5, [], [])

    # One master damaged in the bucket: the next sample (all of them here) says which.
    [key, *_] = sorted(stack.store.list_keys("masters/"))
    head = stack.store.head(key)
    assert head is not None
    stack.store.client.put_object(
        Bucket=stack.settings.bucket, Key=key, Body=b"bit rot", Metadata=head["Metadata"]
    )
    damaged = app.send_task(
        "sohoa.fixity_sample", kwargs={"sample": 5, "seed": 1}, queue=bulk_queue(stack.settings)
    ).get(timeout=60)
    assert damaged["ok"] is False
    assert len(damaged["changed"]) == 1
    assert key in json.dumps(damaged["changed"])


def test_a_detached_batch_is_followed_by_status_and_finished_by_a_rerun(
    observed: Stack, tmp_path: Path
) -> None:
    stack = observed
    folder = tmp_path / "detached"
    write_scans(folder, 3, prefix="DET")
    sent = stack.sohoa("batch", str(folder), "--batch-id", "det-1", "--detach")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert "queued 3" in sent.stdout and "sohoa status det-1" in sent.stdout
    state = BatchState(stack.settings.redis_url, prefix=stack.settings.queue_prefix)
    deadline = time.monotonic() + 60
    progress = read_progress(state, "det-1")
    while progress is not None and progress.remaining and time.monotonic() < deadline:
        time.sleep(0.2)
        progress = read_progress(state, "det-1")
    shown = json.loads(stack.sohoa("status", "det-1", "--json").stdout)
    assert (shown["stored"], shown["remaining"], shown["state"]) == (3, 0, "settled")

    finished = stack.sohoa("batch", str(folder), "--batch-id", "det-1")
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "queued 0, already stored 3" in finished.stdout
    report = json.loads(stack.store.get_bytes("reports/det-1.json")[0])  # type: ignore[index]
    # The report tells the batch's whole story: stored by its first run, not "already there".
    assert (report["summary"]["stored"], report["summary"]["new"]) == (3, 3)
