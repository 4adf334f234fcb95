"""Worker processes die at the worst moments (SIGKILL, SIGTERM, a duplicate delivery): every scan
still ends stored once and verified, its record complete, never lost and never twice.

These tests run their own redis-server: they age and lose broker state, and the unacked index
of the machine's Redis is shared with every other run. The fault-injecting S3 proxy makes the
moment of each fault deterministic (it holds or delays one request, and the test acts then).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import redis
import tifffile

from pipeline.services.models import ProcessScanTask
from tests.conftest import S3Server, Stack
from tests.integration.test_backbone import write_jpeg
from tests.integration.test_worker_lost import active_child
from tests.support.s3_proxy import Rule
from tests.support.stacks import ProxiedStack, own_redis, proxied_stack
from tests.support.wait import wait_until
from workers import client

pytestmark = pytest.mark.integration

# A killed worker's message comes back after the visibility timeout: keep it short here.
FAST_REDELIVERY = {
    "visibility_timeout": 20,
    "task_time_limit": 18,
    "task_soft_time_limit": 15,
    "multipart_threshold_mb": 5,
    "multipart_chunk_mb": 5,
}


# For the tests that wait for a dead worker's message to come back (the broker gives it back
# after the visibility timeout, counted from its delivery): sooner still, with time limits
# below it, as the settings require; their tasks are small (the slow uploads are the first
# delivery's, which is killed).
SOON_REDELIVERY = {
    **FAST_REDELIVERY,
    "visibility_timeout": 12,
    "task_time_limit": 11,
    "task_soft_time_limit": 9,
}


def _proxied(s3: S3Server, home: Path, settings: dict[str, object]) -> Iterator[ProxiedStack]:
    with (
        own_redis(home) as url,
        proxied_stack(s3, url, home, concurrency=2, **settings) as built,
    ):
        yield built


@pytest.fixture()
def proxied(s3_server: S3Server, tmp_path: Path) -> Iterator[ProxiedStack]:
    yield from _proxied(s3_server, tmp_path, FAST_REDELIVERY)


@pytest.fixture()
def redelivered_soon(s3_server: S3Server, tmp_path: Path) -> Iterator[ProxiedStack]:
    yield from _proxied(s3_server, tmp_path, SOON_REDELIVERY)


def kill_worker(stack: Stack) -> None:
    """SIGKILL the whole worker: its main process and every pool child (its process group)."""
    assert stack.worker is not None
    os.killpg(stack.worker.pid, signal.SIGKILL)
    stack.worker.wait(timeout=10)


def result_of(task_id: str, timeout: float = 90) -> dict:
    done = client.wait_for([task_id], timeout=timeout)
    assert task_id in done, f"task {task_id} has no result after {timeout} s"
    return done[task_id]


def assert_stored_once(stack: Stack, slug: str, data: bytes) -> dict:
    """One master (re-hashed from the bucket), one scan record, one view in the artefact's
    record, every file the record points at present, and the catalogue as a reader sees it:
    `sohoa show` gives that view, the index lists the artefact once."""
    sha = hashlib.sha256(data).hexdigest()
    masters = list(stack.store.list_keys(f"masters/{slug}/"))
    assert [k.rsplit("/", 1)[1].split(".")[0] for k in masters] == [sha], masters
    assert stack.store.hash_object(masters[0]) == (sha, len(data))
    assert list(stack.store.list_keys(f"scans/{slug}/")) == [f"scans/{slug}/{sha}.json"]
    # The record is published by the task the scan's task queues: give it a moment.
    wait_until(
        lambda: stack.store.head(f"records/{slug}.json") is not None,
        "the record",
        timeout=30,
        interval=0.05,
    )
    record = stack.store.read_json(f"records/{slug}.json")
    assert record is not None, "no record"
    views = record[0]["views"]
    assert [v["scan_id"] for v in views] == [sha]
    for ref in views[0]["derivatives"].values():
        stored = stack.store.get_bytes(ref["key"])
        assert stored is not None and hashlib.sha256(stored[0]).hexdigest() == ref["sha256"]
    assert stack.store.head(f"{views[0]['iiif']['base_key']}/info.json") is not None
    shown = stack.sohoa("show", slug.upper(), "--json")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert [v["scan_id"] for v in json.loads(shown.stdout)["views"]] == [sha]
    assert_indexed_once(stack, slug.upper())
    return record[0]


def assert_indexed_once(stack: Stack, accession: str) -> None:
    """The catalogue index (the worker's read model) lists the artefact exactly once."""
    deadline = time.monotonic() + 30
    while True:
        found = stack.sohoa("search", accession, "--json")
        hits = json.loads(found.stdout)["hits"] if found.returncode == 0 else []
        # Until the artefact is indexed, an accession query may find its neighbours by their
        # near-identical numbers (CHILD.2 for CHILD.1): wait for the artefact itself.
        if any(h["accession_number"] == accession for h in hits):
            break
        assert time.monotonic() < deadline, found.stdout + found.stderr
        time.sleep(0.5)
    assert [h["accession_number"] for h in hits] == [accession]


def big_tiff(path: Path) -> bytes:
    """About 6.3 MB: two parts (5 MB and the rest) when the multipart threshold is 5 MB."""
    rng = np.random.default_rng(11)
    tifffile.imwrite(path, rng.integers(0, 255, (1500, 1400, 3), dtype=np.uint8), photometric="rgb")
    return path.read_bytes()


def multipart_uploads(stack: Stack) -> list[dict]:
    found = stack.store.client.list_multipart_uploads(Bucket=stack.store.masters_bucket)
    return list(found.get("Uploads", []))


def test_the_whole_worker_killed_mid_multipart_upload_finishes_after_a_restart(
    redelivered_soon: ProxiedStack, tmp_path: Path
) -> None:
    """Fault: SIGKILL the whole worker (main process and children) in the middle of a
    multipart upload of a large master, then start a worker again.
    Outcome: redelivered and finished; one master, re-hashed from the bucket; the dead upload's
    parts aborted; one record, shown by `sohoa show` and indexed once."""
    stack, proxy = redelivered_soon.stack, redelivered_soon.proxy
    source = tmp_path / "BIG.1_front_1.tif"
    data = big_tiff(source)
    # Part 2 never reaches the server: the worker dies while the proxy holds it.
    held = proxy.add(Rule("PUT", "masters/", "hold", query="partNumber=2", seconds=60))
    task_id = client.send_scan(ProcessScanTask(path=str(source), batch_id="kill"))
    wait_until(lambda: held.fired == 1, "the upload of part 2", timeout=60, interval=0.05)
    kill_worker(stack)
    stale = multipart_uploads(stack)
    assert len(stale) == 1, "the dead worker left an unfinished upload"

    proxy.rules.clear()
    stack.start_worker(concurrency=1)
    result = result_of(task_id)

    assert result["status"] == "stored", result
    assert multipart_uploads(stack) == []
    assert "aborting a stale multipart upload" in (stack.worker_log or Path()).read_text()
    assert proxy.count("POST", "masters/", query="uploadId=") >= 1  # completed in parts
    assert_stored_once(stack, "big.1", data)
    assert source.read_bytes() == data


def test_a_worker_child_killed_mid_scan_is_redelivered_and_stored_once(
    proxied: ProxiedStack, tmp_path: Path
) -> None:
    """Fault: SIGKILL the pool child running a scan (what a segfault or the OOM killer does)
    while its master is being uploaded, with the other child busy and more scans queued.
    Outcome: the worker's main process lives and the message is redelivered at once, at the
    head of its queue (before the scans queued behind it); one master, one scan record, one
    view (as `sohoa show` gives it), one catalogue entry."""
    stack, proxy = proxied.stack, proxied.proxy
    source = tmp_path / "CHILD.1_front_1.jpg"
    data = write_jpeg(source, seed=30)
    # Both children (concurrency 2) held in their master uploads; two scans wait in Redis.
    slow = proxy.add(Rule("PUT", "masters/", "delay", times=2, seconds=5))
    task_id = client.send_scan(ProcessScanTask(path=str(source), batch_id="child"))
    others = []
    for n in (2, 3, 4):
        write_jpeg(tmp_path / f"CHILD.{n}_front_1.jpg", seed=30 + n)
        task = ProcessScanTask(path=str(tmp_path / f"CHILD.{n}_front_1.jpg"), batch_id="child")
        others.append(client.send_scan(task))
    wait_until(lambda: slow.fired == 2, "both master uploads", timeout=60, interval=0.05)
    pid = active_child(stack, task_id)
    assert pid is not None and stack.worker is not None and pid != stack.worker.pid
    os.kill(pid, signal.SIGKILL)

    result = result_of(task_id)
    assert result["status"] == "stored", result
    assert all(result_of(other)["status"] == "stored" for other in others)
    log = stack.worker_log.read_text() if stack.worker_log else ""
    assert log.count(f"process_scan[{task_id}] received") == 2
    ours = (task_id, *others)
    order = [t for line in log.splitlines() if "] received" in line for t in ours if t in line]
    # Two were taken at first (one per child); the killed one's message came back first.
    assert order[2] == task_id, order
    assert stack.worker.poll() is None
    assert_stored_once(stack, "child.1", data)


@pytest.mark.parametrize(
    ("upload_seconds", "grace", "stack_fixture"),
    # Killed after the grace, its message comes back after the visibility timeout: soon.
    [(3, 15, "proxied"), (25, 2, "redelivered_soon")],
    ids=["finishes-within-grace", "killed-after-grace"],
)
def test_sigterm_during_a_long_task_then_sigkill_loses_nothing_and_duplicates_nothing(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    upload_seconds: float,
    grace: float,
    stack_fixture: str,
) -> None:
    """Fault: SIGTERM the worker while a task runs (its master upload is slow), SIGKILL it
    after a grace period (shortened from 30 s).
    Outcome: the task finishes within the grace, or is redelivered to the next worker; never
    lost, one master, one view in the record and one entry in the catalogue index."""
    built: ProxiedStack = request.getfixturevalue(stack_fixture)
    stack, proxy = built.stack, built.proxy
    source = tmp_path / "LONG.1_front_1.jpg"
    data = write_jpeg(source, seed=31)
    slow = proxy.add(Rule("PUT", "masters/", "delay", seconds=upload_seconds))
    task_id = client.send_scan(ProcessScanTask(path=str(source), batch_id="term"))
    wait_until(lambda: slow.fired == 1, "the master upload", timeout=60, interval=0.05)

    assert stack.worker is not None
    stack.worker.send_signal(signal.SIGTERM)  # warm shutdown: finish what is running
    try:
        stack.worker.wait(timeout=grace)
        finished_in_grace = True
    except subprocess.TimeoutExpired:
        kill_worker(stack)
        finished_in_grace = False
    assert finished_in_grace == (upload_seconds < grace)

    stack.start_worker(concurrency=1)
    result = result_of(task_id)
    assert result["status"] == "stored", result
    log = stack.worker_log.read_text() if stack.worker_log else ""
    # Redelivered only when the first worker did not finish it.
    assert (f"process_scan[{task_id}] received" in log) == (not finished_in_grace)
    assert_stored_once(stack, "long.1", data)


def test_a_task_delivered_twice_at_once_stores_once(proxied: ProxiedStack, tmp_path: Path) -> None:
    """Fault: a task outlives the broker's visibility timeout, so the broker hands the same
    message to a second worker child while the first still runs it.
    Outcome: both finish; the second delivery is a no-op: one master, one scan record, one
    view, in `sohoa show` and once in the catalogue index."""
    stack, proxy = proxied.stack, proxied.proxy
    source = tmp_path / "TWICE.1_front_1.jpg"
    data = write_jpeg(source, seed=32)
    slow = proxy.add(Rule("PUT", "masters/", "delay", seconds=12))
    task_id = client.send_scan(ProcessScanTask(path=str(source), batch_id="twice"))
    wait_until(
        lambda: slow.fired == 1, "the first delivery's master upload", timeout=60, interval=0.05
    )

    # Time passing beyond the visibility timeout, made instant: the message's entry in the
    # unacked index is aged, and the broker's own restore sweep hands it out again.
    broker = redis.Redis.from_url(stack.settings.redis_url)
    tags = [tag for tag, body in broker.hgetall("unacked").items() if task_id.encode() in body]
    assert len(tags) == 1
    broker.zadd("unacked_index", {tags[0]: 0})
    log_path = stack.worker_log or Path()
    wait_until(
        lambda: log_path.read_text().count(f"process_scan[{task_id}] received") == 2,
        "the second delivery",
        timeout=30,
        interval=0.05,
    )
    assert slow.fired == 1 and proxy.count("PUT", "masters/") == 0, "both run at once"

    result = result_of(task_id)
    assert result["status"] == "stored", result
    wait_until(
        lambda: log_path.read_text().count(f"process_scan[{task_id}] succeeded") == 2,
        "both deliveries to finish",
        timeout=30,
        interval=0.05,
    )
    puts = [s.status for s in proxy.seen if s.method == "PUT" and s.key.startswith("masters/")]
    assert sorted(puts, key=str) == [200, 412], "the slower delivery found the master stored"
    record = assert_stored_once(stack, "twice.1", data)
    assert record["views"][0]["source_name"] == source.name
    broker.close()


def test_a_crash_between_the_derivatives_and_the_record_leaves_no_record_until_completed(
    redelivered_soon: ProxiedStack, tmp_path: Path
) -> None:
    """Fault: the worker dies (SIGKILL, whole worker) after the master, derivatives and tiles
    are stored but before the scan record is written.
    Outcome: no record exists meanwhile (none points at missing files); after a restart the
    redelivered task completes it, and every file the record names is there; `sohoa show`
    and the catalogue index have it."""
    stack, proxy = redelivered_soon.stack, redelivered_soon.proxy
    source = tmp_path / "CRASH.1_front_1.jpg"
    data = write_jpeg(source, seed=33)
    held = proxy.add(Rule("PUT", "scans/", "hold", seconds=60))
    task_id = client.send_scan(ProcessScanTask(path=str(source), batch_id="crash"))
    wait_until(lambda: held.fired == 1, "the scan record write", timeout=60, interval=0.05)
    kill_worker(stack)

    sha = hashlib.sha256(data).hexdigest()
    assert stack.store.head(f"derivatives/crash.1/{sha}/thumb.jpg") is not None
    assert stack.store.head(f"iiif/{sha}/info.json") is not None
    assert list(stack.store.list_keys("scans/")) == []
    assert list(stack.store.list_keys("records/")) == []
    assert list(stack.store.list_keys("manifests/")) == []

    proxy.rules.clear()
    stack.start_worker(concurrency=1)
    result = result_of(task_id)
    assert result["status"] == "stored", result
    assert result["master_created"] is False  # stored by the dead worker, verified again
    wait_until(
        lambda: stack.store.head("records/crash.1.json") is not None,
        "the record",
        timeout=30,
        interval=0.05,
    )
    assert_stored_once(stack, "crash.1", data)
