"""A decode that blows up memory or runs too long ends that attempt, never the worker pool."""

from __future__ import annotations

import json
import os
import signal
import struct
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from celery.result import AsyncResult
from PIL import Image

from pipeline.services.models import ProcessScanTask
from tests.conftest import S3Server, Stack
from tests.integration.test_worker_lost import active_child
from tests.support.stacks import running_stack
from tests.unit.images import gradient_rgb
from workers import client
from workers.app import app

pytestmark = pytest.mark.integration


@pytest.fixture()
def tight_memory(s3_server: S3Server, clean_redis: str, tmp_path: Path) -> Iterator[Stack]:
    """A worker whose children may hold 1 GiB of data (a 24 MP scan needs ~0.6 GiB)."""
    with running_stack(s3_server, clean_redis, tmp_path, worker_memory_mb=1024) as built:
        yield built


@pytest.fixture()
def tight_deadline(s3_server: S3Server, clean_redis: str, tmp_path: Path) -> Iterator[Stack]:
    """A worker that gives each scan 0.6 s to decode: a 48 MP scan takes 1.4 s on an idle core,
    a small one 0.15 s the first time (lazy initialisation) and 0.01 s after."""
    with running_stack(s3_server, clean_redis, tmp_path, decode_timeout=0.6) as built:
        yield built


@pytest.fixture()
def tight_time_limit(s3_server: S3Server, clean_redis: str, tmp_path: Path) -> Iterator[Stack]:
    """A worker whose tasks are killed after 3 s (soft limit 2 s, decode deadline 1.8 s)."""
    with running_stack(
        s3_server, clean_redis, tmp_path, task_time_limit=3, task_soft_time_limit=2
    ) as built:
        yield built


def zero_png(width: int, height: int) -> bytes:
    """A legitimate RGB PNG of zeros, under the pixel ceiling: tiny file, huge decode."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    squeeze = zlib.compressobj(9)
    row = b"\0" * (1 + 3 * width)
    body = b"".join(squeeze.compress(row) for _ in range(height)) + squeeze.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


def write_small_jpeg(path: Path, seed: int = 1) -> Path:
    Image.fromarray(gradient_rgb(64, 48, seed=seed)).save(path, "JPEG", quality=90)
    return path


def run(stack: Stack, *paths: Path) -> list[dict]:
    ids = [client.send_scan(ProcessScanTask(path=str(p), batch_id="contain")) for p in paths]
    done = client.wait_for(ids, timeout=180, poll=0.2)
    assert set(done) == set(ids), "a task never finished"
    return [done[i] for i in ids]


def pool_pids(stack: Stack) -> list[int]:
    stats = app.control.inspect(destination=[stack.worker_name], timeout=2.0).stats() or {}
    return [int(pid) for reply in stats.values() for pid in reply["pool"]["processes"]]


def data_limit_of(pid: int) -> str:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max data size"):
            return line.split()[3]
    raise AssertionError(f"no data limit line for {pid}")


def assert_alive_and_working(stack: Stack, tmp_path: Path, pids_before: list[int]) -> None:
    """The worker answers, no child was replaced, and a good scan is stored afterwards."""
    assert stack.worker is not None and stack.worker.poll() is None
    assert client.is_answering(stack.worker_name or "")
    assert sorted(pool_pids(stack)) == sorted(pids_before), "a worker child died and was replaced"
    (good,) = run(stack, write_small_jpeg(tmp_path / "GOOD.1_front_1.jpg"))
    assert good["status"] == "stored", good["message"]
    assert stack.store.head(f"masters/good.1/{good['scan_id']}.jpg") is not None


@pytest.mark.slow
def test_a_decode_beyond_the_memory_ceiling_is_quarantined_and_the_pool_lives(
    tight_memory: Stack, tmp_path: Path
) -> None:
    """Fault: a 0.75 MB PNG (256 MP of zeros, under the pixel ceiling) whose decode needs more
    memory than a worker child may hold (SOHOA_WORKER_MEMORY_MB, an RLIMIT_DATA each child
    sets when it starts).
    Outcome: the decoder's allocation fails inside the child; quarantined as PIXEL_LIMIT with a
    message naming the file and the memory limit; no child died; a good scan is stored next.
    """
    stack = tight_memory
    pids = pool_pids(stack)
    assert len(pids) == 2
    # The ceiling really is in force in each worker child, set by the worker itself.
    assert {data_limit_of(pid) for pid in pids} == {str(1024 * 1024 * 1024)}

    bomb = tmp_path / "BOMB.1_front_1.png"
    bomb.write_bytes(zero_png(16_000, 16_000))  # 256 MP: under the 300 MP ceiling, 768 MB
    assert bomb.stat().st_size < 2_000_000

    (result,) = run(stack, bomb)
    assert result["status"] == "quarantined", result
    assert result["code"] in ("PIXEL_LIMIT", "CORRUPT")
    assert "BOMB.1_front_1.png" in result["message"]
    assert "memory" in result["message"]
    reason = json.loads(Path(result["quarantine_path"] + ".reason.json").read_text("utf-8"))
    assert reason["code"] == result["code"]
    assert list(stack.store.list_keys("masters/bomb.1/")) == []
    assert_alive_and_working(stack, tmp_path, pids)


def test_a_decode_past_its_deadline_is_decode_timeout_and_the_pool_lives(
    tight_deadline: Stack, tmp_path: Path
) -> None:
    """Fault: decoding a scan takes longer than SOHOA_DECODE_TIMEOUT (a 48 MP scan, 0.6 s).
    Outcome: the deadline (SIGALRM in the child) ends that attempt: quarantined as
    DECODE_TIMEOUT naming the file and the setting; no child died; a good scan is stored next.
    """
    stack = tight_deadline
    pids = pool_pids(stack)
    # Both children past their first-scan initialisation, so that only the big scan is slow.
    run(stack, *(write_small_jpeg(tmp_path / f"WARM.{i}_front_1.jpg", seed=i) for i in (1, 2)))
    slow = tmp_path / "SLOW.1_front_1.jpg"
    # A legitimate 48 MP scan: decoding it and making its derivatives takes more than 0.6 s.
    big = np.tile(gradient_rgb(1000, 750, seed=4), (8, 8, 1))
    Image.fromarray(big).save(slow, "JPEG", quality=92)

    (result,) = run(stack, slow)
    assert result["status"] == "quarantined", result
    assert result["code"] == "DECODE_TIMEOUT"
    assert "SLOW.1_front_1.jpg" in result["message"]
    assert "SOHOA_DECODE_TIMEOUT" in result["message"]
    reason = json.loads(Path(result["quarantine_path"] + ".reason.json").read_text("utf-8"))
    assert reason["code"] == "DECODE_TIMEOUT"
    assert list(stack.store.list_keys("masters/slow.1/")) == []
    assert_alive_and_working(stack, tmp_path, pids)


def test_a_child_stuck_past_the_hard_time_limit_is_killed_and_its_file_quarantined(
    tight_time_limit: Stack, tmp_path: Path
) -> None:
    """Fault: a worker child hangs where no signal handler can run (SIGSTOP while it processes
    a scan: what a decoder stuck inside C code looks like).
    Outcome: the worker's main process kills it at the hard time limit and quarantines the file
    as DECODE_TIMEOUT (reason file and task result); the child is replaced and a good scan is
    stored next.
    """
    stack = tight_time_limit
    stuck = tmp_path / "STUCK.1_front_1.jpg"
    Image.fromarray(np.tile(gradient_rgb(1000, 750, seed=5), (8, 8, 1))).save(stuck, "JPEG")
    task_id = client.send_scan(ProcessScanTask(path=str(stuck), batch_id="stuck"))
    stopped = None
    deadline = time.monotonic() + 60
    while stopped is None:
        assert time.monotonic() < deadline, "the task never started"
        stopped = active_child(stack, task_id)
    os.kill(stopped, signal.SIGSTOP)
    # The worker's main process kills the child at the hard limit and quarantines the file.
    reason_path = stack.settings.quarantine_path / "stuck" / (stuck.name + ".reason.json")
    while not reason_path.exists():
        assert time.monotonic() < deadline + 60, "the file was never quarantined"
        time.sleep(0.2)
    reason = json.loads(reason_path.read_text("utf-8"))
    assert reason["code"] == "DECODE_TIMEOUT"
    assert "took longer than 3 s" in reason["message"] and stuck.name in reason["message"]
    # The task's result says so too (it replaces the bare "time limit exceeded" failure).
    while not isinstance(result := AsyncResult(task_id, app=app).result, dict):
        assert time.monotonic() < deadline + 90, result
        time.sleep(0.2)
    assert result["status"] == "quarantined" and result["code"] == "DECODE_TIMEOUT"
    # The stuck child is killed and replaced: the pool is whole again.
    while stopped in (pids := pool_pids(stack)) or len(pids) != 2:
        assert time.monotonic() < deadline + 120, f"the stuck child {stopped} was not replaced"
        time.sleep(0.2)
    assert list(stack.store.list_keys("masters/stuck.1/")) == []
    # A new child took the killed one's place, and the pool works.
    assert_alive_and_working(stack, tmp_path, pids)
