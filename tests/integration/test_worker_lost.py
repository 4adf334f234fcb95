"""A file that kills its worker process is tried a bounded number of times, then set aside."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest
import redis
import tifffile
from kombu import Connection

from pipeline.services.models import ProcessScanTask
from tests.conftest import QUEUE_PREFIX, Stack
from workers import client
from workers.app import REDELIVERY_TRANSPORT, app

pytestmark = pytest.mark.integration


def active_child(stack: Stack, task_id: str) -> int | None:
    """The PID of the pool process running `task_id` on the stack's worker, if any."""
    replies = app.control.inspect(destination=[stack.worker_name], timeout=1.0).active() or {}
    for tasks in replies.values():
        for item in tasks:
            if item["id"] == task_id:
                return int(item["worker_pid"])
    return None


def test_a_file_that_keeps_killing_its_worker_is_quarantined_as_worker_lost(
    stack: Stack, tmp_path: Path
) -> None:
    # Big enough that decoding takes a moment: the test kills the child while it works on it.
    path = tmp_path / "KILL.1_front_1.tif"
    rng = np.random.default_rng(3)
    tifffile.imwrite(path, rng.integers(0, 255, (6000, 8000, 3), dtype=np.uint8), photometric="rgb")
    deliveries = redis.Redis.from_url(stack.settings.redis_url)
    task_id = client.send_scan(ProcessScanTask(path=str(path), batch_id="lost"))

    kills: list[int] = []
    deadline = time.monotonic() + 120
    result: dict | None = None
    while time.monotonic() < deadline:
        done = client.wait_for([task_id], timeout=0, poll=0)
        if task_id in done:
            result = done[task_id]
            break
        # Kill only once this delivery is counted, i.e. while the file is being decoded.
        counted = int(deliveries.get(f"{QUEUE_PREFIX}:deliveries:{task_id}:0") or 0)
        # The crash happens on each of the allowed deliveries; the next one must set it aside.
        crashing = len(kills) < stack.settings.max_deliveries and counted == len(kills) + 1
        pid = active_child(stack, task_id) if crashing else None
        if pid is not None and pid not in kills:
            os.kill(pid, signal.SIGKILL)  # what a segfault or the OOM killer would do
            kills.append(pid)
        time.sleep(0.05)

    assert result is not None, f"no result after {len(kills)} kills"
    assert len(kills) == stack.settings.max_deliveries
    log = stack.worker_log.read_text() if stack.worker_log else ""
    assert log.count(f"process_scan[{task_id}] received") == stack.settings.max_deliveries + 1
    assert result["status"] == "quarantined"
    assert result["code"] == "WORKER_LOST"
    assert f"stopped the worker process {stack.settings.max_deliveries} times" in result["message"]
    reason = json.loads(Path(result["quarantine_path"] + ".reason.json").read_text("utf-8"))
    assert reason["code"] == "WORKER_LOST"
    # Nothing half-stored, nothing in the catalogue, and the worker (its main process) serves.
    assert list(stack.store.list_keys("masters/")) == []
    assert list(stack.store.list_keys("scans/")) == list(stack.store.list_keys("records/")) == []
    shown = stack.sohoa("show", "KILL.1")
    assert shown.returncode == 1 and "no record for 'KILL.1'" in shown.stderr
    assert stack.worker is not None and stack.worker.poll() is None
    assert client.is_answering(stack.worker_name or "")


@pytest.mark.parametrize(("transport", "head"), [(REDELIVERY_TRANSPORT, True), ("redis", False)])
def test_a_rejected_message_goes_back_to_the_head_of_its_queue(
    clean_redis: str, transport: str, head: bool
) -> None:
    # What Celery does when a worker child dies (task_reject_on_worker_lost): reject, requeue.
    # kombu's own transport (the control case) puts the message behind all the others.
    with Connection(clean_redis, transport=transport) as connection:
        queue = connection.SimpleQueue(f"{QUEUE_PREFIX}.requeue-{int(head)}")
        try:
            for body in ("first", "second", "third"):
                queue.put(body)
            taken = queue.get(timeout=5)
            assert taken.payload == "first"
            taken.reject(requeue=True)
            after = queue.get(timeout=5)
            after.ack()
            assert (after.payload == "first") is head, after.payload
        finally:
            queue.clear()
            queue.close()
