"""`sohoa batch` against real Redis, SeaweedFS and worker processes: interrupted and resumed,
workers killed, messages lost; every file ends stored once (PUTs counted) or quarantined."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from pipeline.adapters import embedded
from pipeline.adapters.s3_store import to_etag
from pipeline.adapters.sqlite_index import SqliteIndex
from tests.conftest import QUEUE_PREFIX, S3Server, Stack
from tests.support.s3_proxy import Rule
from tests.support.stacks import (
    forget_broker_connections,
    own_redis,
    proxied_stack,
    running_stack,
)
from tests.support.wait import wait_until
from tests.unit.images import encode, gradient_rgb
from workers.app import configure_app, interactive_queue

pytestmark = pytest.mark.integration

VIEWS = ("front", "back", "left", "right")
# Our own Redis (the tests age unacknowledged messages: a short visibility timeout in the
# machine's Redis would hand back other runs' messages too) and fast redelivery.
FAST = {
    "visibility_timeout": 20,
    "task_time_limit": 15,
    "task_soft_time_limit": 12,
    "batch_stall_seconds": 2.0,
    "metrics_port": 0,
}


def make_scans(folder: Path, count: int) -> list[Path]:
    """`count` tiny distinct JPEGs, four views per object."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"BATCH.{i // 4:03d}_{VIEWS[i % 4]}_1.jpg"
        path.write_bytes(encode(gradient_rgb(64, 48, seed=i), "JPEG", quality=90))
        paths.append(path)
    return paths


def start_batch(stack: Stack, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "batch", *args],
        env=stack.env,
        cwd=stack.home,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def pause_publishing(stack: Stack) -> None:
    """The worker stops taking from the interactive queue (records' messages wait there), as
    `celery control cancel_consumer` does: a publish queued now is only in Redis."""
    app = configure_app(stack.settings)
    queue = interactive_queue(stack.settings)
    replies = app.control.cancel_consumer(queue, destination=[stack.worker_name], reply=True)
    assert replies, "the worker did not answer cancel_consumer"


def resume_publishing(stack: Stack) -> None:
    """The worker takes from the interactive queue again (asked until it answers: after a Redis
    restart it answers once it has reconnected)."""
    app = configure_app(stack.settings)
    queue = interactive_queue(stack.settings)

    def resumed() -> bool:
        forget_broker_connections()
        return bool(
            app.control.add_consumer(
                queue, destination=[stack.worker_name], reply=True, timeout=1.0
            )
        )

    wait_until(resumed, "the worker to consume the interactive queue again", timeout=60)


def assert_catalogue_complete(stack: Stack, views: dict[str, int]) -> None:
    """Every artefact (slug -> its number of scans) has a record listing all its stored scans,
    `sohoa show` finds it, and the catalogue index holds exactly these records' versions."""
    for slug, count in views.items():
        stored = {Path(k).stem for k in stack.store.list_keys(f"scans/{slug}/")}
        found = stack.store.read_json(f"records/{slug}.json")
        assert found is not None, f"no record for {slug}, whose {len(stored)} scans are stored"
        assert {v["scan_id"] for v in found[0]["views"]} == stored and len(stored) == count
    first = sorted(views)[0]
    shown = stack.sohoa("show", first.upper(), "--json")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert len(json.loads(shown.stdout)["views"]) == views[first]

    def indexed() -> bool:
        etags = {slug: stack.store.head(f"records/{slug}.json")["ETag"] for slug in views}
        with SqliteIndex(stack.settings.catalogue_index_path) as index:
            held = index.versions()
        return {s: held.get(s) for s in views} == {s: to_etag(e) for s, e in etags.items()}

    wait_until(indexed, "the catalogue index to hold every record", timeout=60)


def payload_path(message: dict) -> str | None:
    """The file a process_scan message (as kombu keeps it in Redis) is about; None for another
    task's (a scan's settle_session follows it on the bulk queue)."""
    if message.get("headers", {}).get("task") != "sohoa.process_scan":
        return None
    _args, kwargs, _embed = json.loads(base64.b64decode(message["body"]))
    return str(kwargs["payload"]["path"])


def received_task_ids(stack: Stack) -> list[str]:
    """Every process_scan delivery the stack's workers logged (redeliveries keep their id)."""
    found = []
    for log in sorted(stack.home.glob("worker-*.log")):
        found += re.findall(r"sohoa\.process_scan\[([0-9a-f-]+)\] received", log.read_text())
    return found


@pytest.mark.slow
def test_an_interrupted_batch_resumes_and_stores_every_scan_once(
    s3_server: S3Server, tmp_path: Path
) -> None:
    """Fault: `sohoa batch` and the whole worker (main process and children) are SIGKILLed
    mid-batch, with tasks queued, held by the dead worker and done; a new worker is started
    and the batch run again. The broker's visibility timeout is ten minutes.
    Outcome: the tasks the dead worker held are found (no live worker holds them, at two
    looks) and given back to the queue within SOHOA_BATCH_STALL_SECONDS, not after the
    visibility timeout; `sohoa status` meanwhile counts them orphaned, not in progress; each
    scan is stored once (PUTs counted), nothing sent twice, every record current and indexed;
    a third run sends nothing and does not repeat the second run's figures."""
    # Enough scans that the cut lands mid-batch with work queued, held and done: 12 results
    # in, one upload held, and 27 files still queued behind them (40: the same three states
    # as 80 and 200 had, at half the time of 80).
    count = 40
    folder = tmp_path / "scans"
    make_scans(folder, count)
    (folder / "BATCH.BAD_front_1.jpg").write_text("Đây không phải là ảnh.\n")
    files = count + 1
    # The dead worker's messages must not come back on their own during the test.
    slow_broker = {**FAST, "visibility_timeout": 600}
    with (
        own_redis(tmp_path) as redis_url,
        proxied_stack(s3_server, redis_url, tmp_path, concurrency=2, **slow_broker) as built,
    ):
        stack, proxy = built.stack, built.proxy
        broker = redis.Redis.from_url(redis_url)
        results = f"{QUEUE_PREFIX}:batch:night-1:results"

        first = start_batch(stack, str(folder), "--batch-id", "night-1")
        wait_until(
            lambda: broker.hlen(results) >= 12 or first.poll() is not None,
            "12 results",
            timeout=120,
        )
        assert first.poll() is None, first.communicate()[0]
        # One upload held, so that the worker surely dies holding a task it has not finished.
        upload = proxy.add(Rule("PUT", "masters/", "hold", seconds=60))
        wait_until(lambda: upload.fired == 1, "a master upload to be held", timeout=60)
        # A power cut, as far as these two are concerned: no warm shutdown, no goodbye.
        os.killpg(first.pid, signal.SIGKILL)
        assert stack.worker is not None
        os.killpg(stack.worker.pid, signal.SIGKILL)
        first.wait(timeout=10)
        stack.worker.wait(timeout=10)
        settled = [json.loads(v) for v in broker.hvals(results)]
        assert len(settled) < files, "the batch finished before it could be interrupted"
        stored_before = sum(1 for r in settled if r["status"] == "stored")
        held = [json.loads(raw) for raw in broker.hvals("unacked")]
        # The dead worker's scans without a result: the batch must give these back.
        held_by_the_dead = sum(
            1
            for message, _, queue in held
            if queue == f"{QUEUE_PREFIX}.bulk"
            and (path := payload_path(message)) is not None
            and not broker.hexists(results, path)
        )
        assert held_by_the_dead > 0, "the worker held no unfinished scan when it was killed"

        # No worker holds what the dead one took: orphaned, not in progress.
        picture = json.loads(stack.sohoa("status", "--json").stdout)
        assert (picture["in_progress"], picture["orphaned"]) == (0, len(held)), picture
        stack.start_worker(concurrency=2)
        report_dir = tmp_path / "report"
        second = stack.sohoa(
            "batch", str(folder), "--batch-id", "night-1", "--report", str(report_dir), timeout=280
        )
        output = second.stdout + second.stderr
        # One file is not an image: quarantined, so the exit status says "look at the report".
        assert second.returncode == 1, output
        assert "resuming" in output
        assert "BATCH.BAD_front_1.jpg" in output and "NOT_AN_IMAGE" in output
        assert f"given back:  {held_by_the_dead} (taken by a worker that is gone)" in output
        assert f"records:     {count // 4} of {count // 4} current" in output

        # Every scan stored exactly once: one successful master PUT per scan, none repeated.
        master_puts = [s for s in proxy.seen if s.method == "PUT" and s.key.startswith("masters/")]
        created = [s.key for s in master_puts if s.status == 200]
        assert len(created) == count, sorted(s.status for s in master_puts)
        assert len(set(created)) == count
        masters = sorted(stack.store.list_keys("masters/"))
        assert masters == sorted(created)
        assert len(list(stack.store.list_keys("scans/"))) == count

        # Nothing was sent twice: the re-run skipped what was stored and waited for what was
        # still queued or held by the killed worker (its messages came back on their own).
        received = received_task_ids(stack)
        assert len(set(received)) == files, (len(set(received)), len(received))
        plan = re.search(
            r"queued (\d+), already stored (\d+), still queued from before (\d+)", output
        )
        assert plan is not None, output
        queued_again, skipped, waited_for = (int(n) for n in plan.groups())
        assert skipped >= stored_before
        assert queued_again + skipped + waited_for <= files

        # The report's counts match the bucket, on disk and in the bucket alike.
        report = json.loads((report_dir / "night-1.json").read_text("utf-8"))
        summary = report["summary"]
        assert summary["files"] == files
        assert summary["stored"] == count == len(masters)
        assert summary["quarantined"] == 1 and summary["failed"] == 0
        assert summary["codes"] == {"NOT_AN_IMAGE": 1}
        stored_ids = {f["scan_id"] for f in report["files"] if f["status"] == "stored"}
        assert stored_ids == {Path(key).stem for key in masters}
        # Its page shows every scan that failed QC (all are thumbnail-sized) by its thumbnail,
        # read back from the bucket.
        failing = [f for f in report["files"] if f["qc_verdict"] == "fail"]
        page = (report_dir / "night-1.html").read_text("utf-8")
        assert failing and page.count('src="data:image/') == len(failing)
        in_bucket = stack.store.get_bytes("reports/night-1.json")
        assert in_bucket is not None
        assert json.loads(in_bucket[0])["summary"] == summary

        assert_catalogue_complete(stack, {f"batch.{i:03d}": 4 for i in range(count // 4)})

        # Running it once more sends nothing and uploads nothing, and says so.
        before = len(proxy.seen)
        third = stack.sohoa("batch", str(folder), "--batch-id", "night-1", timeout=120)
        assert third.returncode == 1
        assert f"queued 0, already stored {count}" in third.stdout
        assert f"{count} stored (0 new, {count} already there" in third.stdout
        assert "0.0 MiB written by this run" in third.stdout
        # (The upload held for 60 s from the dead worker is logged when its hold ends, with no
        # status: it never reached storage. Any PUT this run made has one.)
        puts = [s for s in proxy.seen[before:] if s.method == "PUT" and "masters/" in s.key]
        assert not [s for s in puts if s.status is not None], puts
        assert len(set(received_task_ids(stack))) == files


@pytest.mark.slow
def test_messages_lost_by_the_broker_are_found_and_sent_again(
    s3_server: S3Server, tmp_path: Path
) -> None:
    count = 12
    folder = tmp_path / "scans"
    make_scans(folder, count)
    with (
        own_redis(tmp_path) as redis_url,
        # No worker yet, so that the messages are still queued when they vanish.
        running_stack(s3_server, redis_url, tmp_path, workers=0, **FAST) as stack,
    ):
        broker = redis.Redis.from_url(redis_url)
        follower = start_batch(stack, str(folder), "--batch-id", "lost-1")
        queue = f"{QUEUE_PREFIX}.bulk"
        wait_until(
            lambda: (
                broker.hlen(f"{QUEUE_PREFIX}:batch:lost-1:files") == count
                and broker.llen(queue) == count
            ),
            "every file queued",
            timeout=120,
        )
        # What a Redis restarted without its data does to the queue (never a FLUSH).
        for key in broker.scan_iter(match=f"{queue}*"):
            broker.delete(key)
        assert broker.llen(queue) == 0
        stack.start_worker(concurrency=2)
        output, _ = follower.communicate(timeout=180)
        assert follower.returncode == 0, output
        assert f"sent again:  {count}" in output
        assert len(list(stack.store.list_keys("masters/"))) == count
        assert len(list(stack.store.list_keys("scans/"))) == count
        found = stack.store.get_bytes("reports/lost-1.json")
        assert found is not None
        summary = json.loads(found[0])["summary"]
        assert (summary["files"], summary["stored"], summary["new"]) == (count, count, count)


@pytest.mark.slow
def test_redis_restarted_empty_mid_batch_loses_no_scan(s3_server: S3Server, tmp_path: Path) -> None:
    """Fault: Redis is killed mid-batch and comes back empty on the same port (no AOF): the
    queue, the unacknowledged messages, the results and the batch's progress are all gone,
    and with them the messages that would publish the records of the artefacts stored so far.
    Outcome: the worker and `sohoa batch` reconnect; reconciliation against the bucket sends
    the unfinished files again and publishes the records whose message was lost; every scan
    ends stored, each master uploaded once, every artefact has a record listing all its
    views, in `sohoa show` and the catalogue index; the batch exits 0 only then."""
    # Six artefacts: a restart after 6 of 24 scans leaves some stored without their record
    # (publishing is paused) and most still queued, as 40 did.
    count = 24
    folder = tmp_path / "scans"
    make_scans(folder, count)
    port = embedded.find_free_ports(1, grpc_twins=False)[0]
    redis_url = f"redis://127.0.0.1:{port}/0"

    def start_empty_redis(name: str) -> embedded.ServerProcess:
        # An empty data folder each time: what a Redis that kept nothing comes back as.
        return embedded.start_redis(tmp_path / name, port=port, log_path=tmp_path / f"{name}.log")

    server = start_empty_redis("redis-1")
    forget_broker_connections()
    try:
        with proxied_stack(s3_server, redis_url, tmp_path, concurrency=1, **FAST) as built:
            stack, proxy = built.stack, built.proxy
            # Slow the uploads a little, so that the restart lands in the middle of the batch.
            proxy.add(Rule("PUT", "masters/", "delay", times=count, seconds=0.25))
            # Records are published only after the restart: every publish queued before it is
            # lost with Redis (by hand, 5 of 40 artefacts were left without a record).
            pause_publishing(stack)
            follower = start_batch(stack, str(folder), "--batch-id", "restart-1")
            wait_until(
                lambda: len(list(stack.store.list_keys("scans/"))) >= 6,
                "6 scans stored",
                timeout=120,
            )
            embedded.stop_process(
                server.pid, name_hint="redis-server", start_ticks=server.start_ticks, timeout=1
            )
            server = start_empty_redis("redis-2")
            stored_before = len(list(stack.store.list_keys("scans/")))
            assert stored_before < count, "the batch ended before Redis restarted"
            assert list(stack.store.list_keys("records/")) == []
            resume_publishing(stack)

            output, _ = follower.communicate(timeout=240)

            assert follower.returncode == 0, output
            assert re.search(r"sent again:\s+[1-9]", output), output  # the loss was noticed
            assert_catalogue_complete(stack, {f"batch.{i:03d}": 4 for i in range(count // 4)})
            artefacts = count // 4
            # The records whose publish was lost come back either from the batch's republish
            # or from the session scoring, which rescores in full once Redis forgot its basis
            # (whichever runs first); test_finish_batches proves the republish on its own.
            assert re.search(rf"records:\s+{artefacts} of {artefacts} current", output), output
            assert len(list(stack.store.list_keys("masters/"))) == count
            assert len(list(stack.store.list_keys("scans/"))) == count
            created = [
                s.key
                for s in proxy.seen
                if s.method == "PUT" and s.key.startswith("masters/") and s.status == 200
            ]
            assert sorted(created) == sorted(set(created)), "a master was uploaded twice"
            assert len(created) == count
    finally:
        forget_broker_connections()
        embedded.stop_process(server.pid, name_hint="redis-server", start_ticks=server.start_ticks)


def test_a_batch_with_an_inventory_gives_its_records_the_rows(stack: Stack, tmp_path: Path) -> None:
    """`sohoa batch DIR --inventory CSV`: the rows are registered before the scans are sent, so
    the published records carry them; a row with a problem is reported by its line."""
    folder = tmp_path / "drop"
    make_scans(folder, 4)  # BATCH.000, four views
    inventory = tmp_path / "inventory.csv"
    inventory.write_text(
        "accession_number,name_vi,name_en,material\n"
        "BATCH.000,Lư hương đồng,Bronze incense burner,đồng\n"
        ",Không có số hiệu,No accession number,\n",
        "utf-8",
    )

    done = stack.sohoa("batch", str(folder), "--inventory", str(inventory), "--batch-id", "inv-1")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "Inventory: 1 rows loaded, 1 problems, 1 new or changed." in done.stdout
    assert "inventory.csv, line 3" in done.stderr
    deadline = time.monotonic() + 60
    while True:
        found = stack.store.read_json("records/batch.000.json")
        record = found[0] if found else {}
        if len(record.get("views", [])) == 4 and record.get("inventory"):
            break
        assert time.monotonic() < deadline, f"record not complete: {record}"
        time.sleep(0.2)
    assert record["inventory"]["name_vi"] == "Lư hương đồng"
    assert record["inventory"]["material"] == "đồng"
