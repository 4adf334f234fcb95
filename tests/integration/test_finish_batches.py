"""Morning reports for unattended runs: `sohoa.finish_batches` and the fixity sample's report,
run by a real worker process against real Redis and SeaweedFS (no eager mode)."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from celery.result import AsyncResult

from pipeline.adapters.redis_batch import BatchState
from pipeline.services.batch import read_progress
from tests.conftest import QUEUE_PREFIX, S3Server, Stack
from tests.support.stacks import running_stack
from tests.support.wait import wait_until
from tests.unit.images import encode, gradient_rgb
from workers.app import bulk_queue, configure_app, interactive_queue

pytestmark = pytest.mark.integration

VIEWS = ("front", "back", "left", "right")


@pytest.fixture()
def unattended(s3_server: S3Server, clean_redis: str, tmp_path: Path) -> Iterator[Stack]:
    """A stack whose finishers call a message lost after 2 s of absence (not a minute)."""
    with running_stack(
        s3_server, clean_redis, tmp_path, batch_stall_seconds=2.0, fixity_sample=5
    ) as stack:
        yield stack


def write_scans(folder: Path, count: int, prefix: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        data = encode(gradient_rgb(48, 32, seed=500 + i), "JPEG", quality=90)
        (folder / f"{prefix}.{i // 4:02d}_{VIEWS[i % 4]}_1.jpg").write_bytes(data)


def state_of(stack: Stack) -> BatchState:
    return BatchState(stack.settings.redis_url, prefix=stack.settings.queue_prefix)


def finish_round(stack: Stack) -> dict[str, Any]:
    """One `sohoa.finish_batches` round, sent as beat sends it and run by the worker."""
    app = configure_app(stack.settings)
    sent = app.send_task("sohoa.finish_batches", queue=interactive_queue(stack.settings))
    result: dict[str, Any] = sent.get(timeout=120)
    return result


def finish_until_done(stack: Stack, batch_id: str, timeout: float = 180) -> list[dict[str, Any]]:
    """Rounds until one finishes `batch_id`; every round's result, in order."""
    rounds = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rounds.append(finish_round(stack))
        if any(item["batch_id"] == batch_id for item in rounds[-1]["finished"]):
            return rounds
        time.sleep(0.5)
    raise AssertionError(f"batch {batch_id} not finished in {timeout} s: {rounds[-3:]}")


def wait_settled(stack: Stack, batch_id: str, timeout: float = 120) -> None:
    state = state_of(stack)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        progress = read_progress(state, batch_id)
        if progress is not None and progress.remaining == 0:
            return
        time.sleep(0.2)
    raise AssertionError(f"batch {batch_id} did not settle in {timeout} s")


def report_of(stack: Stack, batch_id: str) -> dict[str, Any]:
    found = stack.store.get_bytes(f"reports/{batch_id}.json")
    assert found is not None, f"reports/{batch_id}.json is not in the bucket"
    report: dict[str, Any] = json.loads(found[0])
    return report


@pytest.mark.slow
def test_a_detached_batch_is_reported_and_finished_once_by_the_task(
    unattended: Stack, tmp_path: Path
) -> None:
    stack = unattended
    folder = tmp_path / "night"
    write_scans(folder, 20, "FIN")
    (folder / "FIN.99_front_1.jpg").write_text("không phải ảnh\n")
    sent = stack.sohoa("batch", str(folder), "--batch-id", "fin-1", "--detach")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert "queued 21" in sent.stdout

    rounds = finish_until_done(stack, "fin-1")
    [done] = [item for item in rounds[-1]["finished"] if item["batch_id"] == "fin-1"]
    assert done["written"] is True
    assert done["report"] == f"s3://{stack.settings.bucket}/reports/fin-1.json"

    # The report's counts match the bucket, file by file.
    report = report_of(stack, "fin-1")
    masters = sorted(stack.store.list_keys("masters/"))
    summary = report["summary"]
    assert (summary["files"], summary["stored"], summary["new"]) == (21, 20, 20)
    assert summary["stored"] == len(masters) == len(list(stack.store.list_keys("scans/")))
    assert (summary["quarantined"], summary["failed"]) == (1, 0)
    assert summary["codes"] == {"NOT_AN_IMAGE": 1}
    stored_ids = {f["scan_id"] for f in report["files"] if f["status"] == "stored"}
    assert stored_ids == {Path(key).stem for key in masters}
    assert report["inputs"] == [str(folder.resolve())]
    for fmt in ("csv", "html"):
        assert stack.store.head(f"reports/fin-1.{fmt}") is not None
    rows = list(csv.DictReader(io.StringIO(stack.store.get_bytes("reports/fin-1.csv")[0].decode())))  # type: ignore[index]
    assert len(rows) == 21

    # Marked finished, with the report's location, as `sohoa status` shows it.
    shown = stack.sohoa("status", "fin-1", "--json")
    assert shown.returncode == 0, shown.stderr
    described = json.loads(shown.stdout)
    assert described["state"] == "finished"
    assert described["report"] == done["report"]
    assert f"report       {done['report']}" in stack.sohoa("status", "fin-1").stdout
    overview = json.loads(stack.sohoa("status", "--json").stdout)
    assert [b["report"] for b in overview["batches"] if b["batch_id"] == "fin-1"] == [
        done["report"]
    ]

    # A second round does nothing: the report is not written again.
    before = {fmt: stack.store.head(f"reports/fin-1.{fmt}") for fmt in ("json", "csv", "html")}
    queued = stack.sohoa("beat", "--now", "finish")  # as an operator would, by hand
    assert queued.returncode == 0, queued.stdout + queued.stderr
    match = re.search(r"Queued sohoa\.finish_batches \(task ([0-9a-f-]+)\)", queued.stdout)
    assert match is not None, queued.stdout
    again = AsyncResult(match.group(1), app=configure_app(stack.settings)).get(timeout=120)
    assert again == {"finished": [], "waiting": [], "busy": []}
    after = {fmt: stack.store.head(f"reports/fin-1.{fmt}") for fmt in ("json", "csv", "html")}
    for fmt in before:
        assert before[fmt] is not None and after[fmt] is not None
        assert after[fmt]["ETag"] == before[fmt]["ETag"]  # type: ignore[index]
        assert after[fmt]["LastModified"] == before[fmt]["LastModified"]  # type: ignore[index]


@pytest.mark.slow
def test_a_batch_whose_queue_was_emptied_is_completed_by_the_task(
    unattended: Stack, tmp_path: Path
) -> None:
    stack = unattended
    count = 12
    folder = tmp_path / "lost"
    write_scans(folder, count, "LOST")
    stack.stop_workers()  # so that the messages are still queued when they vanish
    sent = stack.sohoa("batch", str(folder), "--batch-id", "lost-2", "--detach")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    broker = redis.Redis.from_url(stack.settings.redis_url)
    queue = bulk_queue(stack.settings)
    assert broker.llen(queue) == count
    # What a Redis restarted without its data does to the queue (never a FLUSH).
    for key in broker.scan_iter(match=f"{queue}*"):
        broker.delete(key)
    stack.start_worker(concurrency=2)

    rounds = finish_until_done(stack, "lost-2")
    sent_again = sum(
        item.get("sent_again", 0)
        for one in rounds
        for item in one["waiting"]
        if item["batch_id"] == "lost-2"
    )
    assert sent_again == count, rounds
    assert len(list(stack.store.list_keys("masters/"))) == count
    summary = report_of(stack, "lost-2")["summary"]
    assert (summary["files"], summary["stored"], summary["new"]) == (count, count, count)
    assert json.loads(stack.sohoa("status", "lost-2", "--json").stdout)["state"] == "finished"


def test_two_finishers_at_once_write_one_report(unattended: Stack, tmp_path: Path) -> None:
    stack = unattended
    folder = tmp_path / "twice"
    write_scans(folder, 6, "TWO")
    sent = stack.sohoa("batch", str(folder), "--batch-id", "two-1", "--detach")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    wait_settled(stack, "two-1")
    state = state_of(stack)

    # While someone else holds the batch's lock, a round leaves it alone.
    assert state.acquire_lock("two-1", "someone-else", 60)
    held = finish_round(stack)
    assert held["busy"] == [{"batch_id": "two-1", "holder": "someone-else"}]
    assert held["finished"] == [] and stack.store.head("reports/two-1.json") is None
    state.release_lock("two-1", "someone-else")

    # Two rounds at once (two beats by mistake), on the worker's two processes: one report.
    app = configure_app(stack.settings)
    pair = [
        app.send_task("sohoa.finish_batches", queue=interactive_queue(stack.settings))
        for _ in range(2)
    ]
    results = [r.get(timeout=120) for r in pair]
    written = [i for r in results for i in r["finished"] if i["batch_id"] == "two-1"]
    assert [i["written"] for i in written if i["written"]] == [True], results
    assert report_of(stack, "two-1")["summary"]["stored"] == 6
    # And a foreground run afterwards starts the batch over, as a re-run always did.
    rerun = stack.sohoa("batch", str(folder), "--batch-id", "two-1")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "queued 0, already stored 6" in rerun.stdout
    assert "reports/two-1.html" in rerun.stdout


def test_the_batch_lock_is_taken_once_extended_by_its_owner_and_expires(
    clean_redis: str,
) -> None:
    state = BatchState(clean_redis, prefix=QUEUE_PREFIX)
    try:
        assert state.acquire_lock("b", "one", 30)
        assert not state.acquire_lock("b", "two", 30)
        assert state.acquire_lock("b", "one", 30)  # its owner extends it
        state.release_lock("b", "two")  # not the owner: nothing happens
        assert state.lock_holder("b") == "one"
        state.release_lock("b", "one")
        assert state.lock_holder("b") is None
        assert state.acquire_lock("b", "two", 0.2)
        time.sleep(0.6)  # a holder that died lets go on its own
        assert state.acquire_lock("b", "three", 30)
        assert state.lock_holder("b") == "three"
    finally:
        state.close()


def test_batches_whose_record_expired_leave_the_index(clean_redis: str) -> None:
    state = BatchState(clean_redis, prefix=QUEUE_PREFIX)
    client = redis.Redis.from_url(clean_redis, decode_responses=True)
    try:
        month_ago = datetime.now(UTC).timestamp() - 31 * 24 * 3600
        client.zadd(f"{QUEUE_PREFIX}:batches", {"forgotten": month_ago})
        assert "forgotten" in state.all_batches()
        state.save_meta("today", {"batch_id": "today"})
        assert state.all_batches() == ["today"]
    finally:
        client.close()
        state.close()


def test_the_fixity_sample_writes_its_report_with_the_damaged_master(
    unattended: Stack, tmp_path: Path
) -> None:
    stack = unattended
    folder = tmp_path / "fixity"
    write_scans(folder, 3, "FIX")
    done = stack.sohoa("batch", str(folder), "--batch-id", "fix-1")
    assert done.returncode == 0, done.stdout + done.stderr
    quiet = stack.sohoa("status")
    assert "Fixity:      no sample checked yet" in quiet.stdout

    [key, *_] = sorted(stack.store.list_keys("masters/"))
    head = stack.store.head(key)
    assert head is not None
    stack.store.client.put_object(
        Bucket=stack.settings.bucket, Key=key, Body=b"bit rot", Metadata=head["Metadata"]
    )
    app = configure_app(stack.settings)
    result = app.send_task(
        "sohoa.fixity_sample", kwargs={"sample": 5, "seed": 1}, queue=bulk_queue(stack.settings)
    ).get(timeout=60)
    day = datetime.now(UTC).strftime("%Y%m%d")
    json_key, csv_key = f"reports/fixity/{day}.json", f"reports/fixity/{day}.csv"
    assert result["ok"] is False
    assert result["report"] == {"bucket": stack.settings.bucket, "keys": [json_key, csv_key]}
    assert result["counts"] == {
        "changed": 1,
        "missing": 0,
        "untracked": 0,
        "unreadable": 0,
        "unpublished": 0,
    }

    stored = stack.store.get_bytes(json_key)
    assert stored is not None
    findings = json.loads(stored[0])
    assert findings["checked"] == 3 and findings["ok"] is False
    [changed] = findings["changed"]
    assert changed["key"] == key and changed["found_size"] == len(b"bit rot")
    assert changed["expected_sha256"] == head["Metadata"]["sha256"]
    table = stack.store.get_bytes(csv_key)
    assert table is not None
    [row] = list(csv.DictReader(io.StringIO(table[0].decode("utf-8"))))
    assert (row["kind"], row["key"]) == ("changed", key)

    picture = json.loads(stack.sohoa("status", "--json").stdout)
    fixity = picture["fixity"]
    assert fixity["checked"] == 3 and fixity["counts"]["changed"] == 1
    assert fixity["report"]["keys"] == [json_key, csv_key]
    text = stack.sohoa("status").stdout
    assert "3 checked, 1 changed, 0 missing, 0 untracked" in text
    assert f"s3://{stack.settings.bucket}/{json_key}" in text


@pytest.mark.slow
def test_records_whose_publish_was_lost_are_published_by_the_finishing_round(
    unattended: Stack, tmp_path: Path
) -> None:
    """Fault: every record's publish message is lost (queued while the worker took nothing
    from the interactive queue, then gone as after a Redis restart), the session scoring's
    republishes with them.
    Outcome: the finishing round finds the artefacts without a record, publishes them again
    (it says how many), and ends the batch only once they are current."""
    stack = unattended
    count = 8
    folder = tmp_path / "unpublished"
    write_scans(folder, count, "PUB")
    app = configure_app(stack.settings)
    queue = interactive_queue(stack.settings)
    worker = [str(stack.worker_name)]
    assert app.control.cancel_consumer(queue, destination=worker, reply=True)
    sent = stack.sohoa("batch", str(folder), "--batch-id", "pub-1", "--detach")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    wait_settled(stack, "pub-1")
    broker = redis.Redis.from_url(stack.settings.redis_url)

    def scans_and_scoring_done() -> bool:
        inspect = app.control.inspect(destination=worker, timeout=1.0)
        held = [inspect.active(), inspect.reserved(), inspect.scheduled()]
        busy = any(not replies or any(replies.values()) for replies in held)
        return not busy and broker.llen(bulk_queue(stack.settings)) == 0

    wait_until(scans_and_scoring_done, "the scans and their sessions' scoring to end", timeout=120)
    assert broker.llen(queue) >= 2  # at least one publish per artefact, waiting
    for key in broker.scan_iter(match=f"{queue}*"):
        broker.delete(key)  # what a Redis restarted without its data does (never a FLUSH)
    assert list(stack.store.list_keys("records/")) == []
    assert app.control.add_consumer(queue, destination=worker, reply=True)

    rounds = finish_until_done(stack, "pub-1")
    published_again = [
        item.get("published_again", 0)
        for one in rounds
        for item in one["waiting"]
        if item["batch_id"] == "pub-1"
    ]
    assert max(published_again, default=0) == count // 4, rounds
    for slug in ("pub.00", "pub.01"):
        found = stack.store.read_json(f"records/{slug}.json")
        assert found is not None, f"no record for {slug}"
        assert len(found[0]["views"]) == 4
    summary = report_of(stack, "pub-1")["summary"]
    assert (summary["files"], summary["stored"]) == (count, count)
