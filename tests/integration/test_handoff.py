"""The stage hand-off (SOHOA_HANDOFF=stage) with real SeaweedFS, Redis and worker processes:
workers that cannot see the drop folder store every scan bit-exact and leave incoming/ empty;
a staged file whose task was lost is reported by the finishing round and removed after its
retention; two worker "machines" (own var folders and names, the drop folder hidden by a mount
namespace) share a batch, and killing one of them mid-batch loses nothing."""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import redis

from pipeline.core.layout import INCOMING_PREFIX
from pipeline.services.context import Context
from pipeline.services.handoff import StagingSender, stage_file, sweep_staged
from pipeline.services.models import ProcessScanTask
from tests.conftest import QUEUE_PREFIX, S3Server, Stack, wait_for_worker
from tests.support.stacks import running_stack
from tests.support.wait import wait_until
from tests.unit.images import encode, gradient_rgb
from workers.app import bulk_queue, configure_app, interactive_queue
from workers.client import connect_producer

pytestmark = pytest.mark.integration

VIEWS = ("front", "back", "left", "right")
STAGE = {"handoff": "stage", "batch_stall_seconds": 2.0}


@pytest.fixture()
def staged_stack(s3_server: S3Server, clean_redis: str, tmp_path: Path) -> Iterator[Stack]:
    """A stack whose producers stage, with no worker yet (each test starts its machines)."""
    with running_stack(s3_server, clean_redis, tmp_path, workers=0, **STAGE) as stack:
        yield stack


def make_scans(
    folder: Path, count: int, prefix: str = "HAND", size: tuple[int, int] = (64, 48)
) -> dict[str, bytes]:
    """`count` distinct JPEGs, four views per object; name -> bytes.

    The noise is what costs at 2400x1800 (0.4 s of CPU an image, 10 s for 24): it is drawn
    once, and each scan is its own shift of the picture (other bytes, the same work to store).
    """
    folder.mkdir(parents=True, exist_ok=True)
    base = gradient_rgb(*size, seed=900)
    made = {}
    for i in range(count):
        name = f"{prefix}.{i // 4:03d}_{VIEWS[i % 4]}_1.jpg"
        made[name] = encode(np.roll(base, i, axis=1), "JPEG", quality=90)
        (folder / name).write_bytes(made[name])
    assert len({hashlib.sha256(data).digest() for data in made.values()}) == count
    return made


def start_machine(
    stack: Stack, machine: str, *, hide: Path | None = None, concurrency: int = 1
) -> subprocess.Popen[bytes]:
    """A worker as another machine would run it: its own var folder (quarantine, index) and
    name; with `hide`, in a mount namespace where an empty tmpfs covers that folder."""
    var = stack.home / f"machine-{machine}"
    var.mkdir(parents=True, exist_ok=True)
    env = {**stack.env, "SOHOA_VAR_DIR": str(var)}
    node = f"{QUEUE_PREFIX}-{machine}-{secrets.token_hex(3)}@{machine}"
    command = [sys.executable, "-m", "pipeline.cli", "worker", "-c", str(concurrency), "-n", node]
    if hide is not None:
        mount = 'mount -t tmpfs -o size=1m sohoa-hidden "$0" && exec "$@"'
        command = ["unshare", "--mount", "--propagation", "private", "sh", "-c", mount,
                   str(hide), *command]  # fmt: skip
    log = stack.home / f"worker-{machine}.log"
    proc = subprocess.Popen(
        command, env=env, cwd=var, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    stack.extra.append(proc)
    wait_for_worker(stack.settings, proc, log, node)
    return proc


def can_hide_folders() -> bool:
    """Root with unshare: a worker can be given its own mount namespace."""
    return os.geteuid() == 0 and shutil.which("unshare") is not None


def finish_round(stack: Stack) -> dict[str, Any]:
    """One `sohoa.finish_batches` round, sent as beat sends it and run by a worker."""
    app = configure_app(stack.settings)
    sent = app.send_task("sohoa.finish_batches", queue=interactive_queue(stack.settings))
    result: dict[str, Any] = sent.get(timeout=120)
    return result


def finish_until_done(stack: Stack, batch_id: str, timeout: float = 240) -> dict[str, Any]:
    """Finishing rounds until one finishes `batch_id`; that round's entry for it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = finish_round(stack)
        for item in done["finished"]:
            if item["batch_id"] == batch_id:
                return dict(item)
        time.sleep(0.5)
    raise AssertionError(f"batch {batch_id} not finished in {timeout} s")


def assert_masters_bit_exact(stack: Stack, made: dict[str, bytes]) -> None:
    """Every file's master is stored once, and its bytes are the file's."""
    masters = sorted(stack.store.list_keys("masters/"))
    assert len(masters) == len(made), masters
    stored = {}
    for key in masters:
        found = stack.store.get_bytes(key)
        assert found is not None
        stored[Path(key).stem] = found[0]
    for name, data in made.items():
        sha = hashlib.sha256(data).hexdigest()
        assert stored.get(sha) == data, f"master of {name} is not its bytes"


def staged(stack: Stack) -> list[str]:
    return sorted(stack.store.list_keys(INCOMING_PREFIX))


def test_a_worker_that_cannot_see_the_drop_folder_stores_every_scan(
    staged_stack: Stack, tmp_path: Path
) -> None:
    """Fault: with SOHOA_HANDOFF=stage, `sohoa batch --detach` queues a folder, which is then
    moved away before any worker starts: no path a task names exists; the worker has a var
    folder of its own.
    Outcome: every scan is stored from its staged copy, masters bit-exact; a file that is no
    image is quarantined in the worker's own quarantine folder from its staged bytes; the
    finishing round ends the batch and incoming/ is empty."""
    stack = staged_stack
    drop = tmp_path / "drop"
    made = make_scans(drop, 6)
    junk = b"this is no image at all, only text " * 40
    (drop / "HAND.099_front_1.jpg").write_bytes(junk)

    sent = stack.sohoa("batch", str(drop), "--detach", "--batch-id", "staged-1")
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert len(staged(stack)) == 7  # every file staged before a worker exists
    moved = tmp_path / "moved-away"
    drop.rename(moved)

    start_machine(stack, "far")
    finished = finish_until_done(stack, "staged-1")

    assert (finished["stored"], finished["quarantined"], finished["failed"]) == (6, 1, 0)
    assert_masters_bit_exact(stack, made)
    assert staged(stack) == []
    copies = list((stack.home / "machine-far" / "quarantine").rglob("HAND.099_front_1.jpg"))
    assert len(copies) == 1 and copies[0].read_bytes() == junk
    assert (moved / "HAND.099_front_1.jpg").read_bytes() == junk  # the source is kept
    report = stack.store.read_json("reports/staged-1.json")
    assert report is not None


@pytest.mark.skipif(not can_hide_folders(), reason="needs root and unshare (mount namespace)")
def test_the_hot_folder_stages_and_moves_a_file_to_done_once_its_master_is_proven(
    staged_stack: Stack, tmp_path: Path
) -> None:
    """The watcher stages; the worker sees an empty tmpfs where the drop folder is. A stored
    file moves to done/ with its master proven in the bucket; incoming/ ends empty."""
    from pipeline.services.watch import HotFolder, WatchOptions

    stack = staged_stack
    drop = tmp_path / "hot"
    drop.mkdir()
    start_machine(stack, "blind", hide=drop)
    made = make_scans(drop, 4, prefix="WATCH")
    sender = StagingSender(Context.from_settings(stack.settings), connect_producer(stack.settings))
    hot = HotFolder(WatchOptions(folder=drop, stable_seconds=0.2, tick_seconds=0.1), sender)

    def all_done() -> bool:
        hot.scan_once()
        return hot.counts.stored == len(made)

    wait_until(all_done, "the watcher to move every file to done/", timeout=120, interval=0.2)
    assert sorted(p.name for p in (drop / "done").iterdir()) == sorted(made)
    assert_masters_bit_exact(stack, made)
    assert staged(stack) == []


def test_a_staged_file_whose_task_was_lost_is_reported_then_removed_after_retention(
    staged_stack: Stack, tmp_path: Path
) -> None:
    """Fault: a file is staged and its message lost with the broker (the queue emptied before
    any worker took it).
    Outcome: the finishing round reports the staged object and keeps it while its retention
    lasts; past SOHOA_STAGE_RETENTION_DAYS it is removed; a staged object a queued task still
    carries is never removed, however old."""
    stack = staged_stack
    ctx = Context.from_settings(stack.settings)
    drop = tmp_path / "drop"
    made = make_scans(drop, 2, prefix="LOST")
    sender = StagingSender(ctx, connect_producer(stack.settings))
    first, second = sorted(made)
    sender.send(ProcessScanTask(path=str(drop / first), batch_id="lost-1"))
    [lost_key] = staged(stack)
    broker = redis.Redis.from_url(stack.settings.redis_url)
    assert broker.delete(bulk_queue(stack.settings)) == 1  # the message is gone, as after a crash

    start_machine(stack, "finisher")
    wait_until(
        lambda: (datetime.now(UTC) - _modified(stack, lost_key)).total_seconds() > 2.5,
        "the staged object to outlive the finishing round's grace",
    )
    round_ = finish_round(stack)
    assert [item["key"] for item in round_["staged"]["unfinished"]] == [lost_key]
    assert round_["staged"]["removed"] == []
    assert staged(stack) == [lost_key]

    held_key = stage_file(ctx, drop / second)
    assert held_key is not None
    later = datetime.now(UTC) + timedelta(days=stack.settings.stage_retention_days, seconds=1)
    swept = sweep_staged(ctx, {held_key}, grace_seconds=2.0, now=later)
    assert swept.removed == [lost_key] and swept.unfinished == []
    assert staged(stack) == [held_key]


def _modified(stack: Stack, key: str) -> datetime:
    head = stack.store.head(key)
    assert head is not None
    modified: datetime = head["LastModified"]
    return modified


@pytest.mark.slow
@pytest.mark.skipif(not can_hide_folders(), reason="needs root and unshare (mount namespace)")
def test_two_machines_share_a_batch_and_one_killed_mid_batch_loses_nothing(
    staged_stack: Stack, tmp_path: Path
) -> None:
    """Fault: two workers run as two machines (own var folders and names, the drop folder
    hidden by a mount namespace) and `sohoa batch` as a third, with SOHOA_HANDOFF=stage; one
    machine's worker (main process and children) is SIGKILLed mid-batch.
    Outcome: the batch ends with every scan stored once (one master each, bit-exact), nothing
    failed, and incoming/ empty."""
    stack = staged_stack
    drop = tmp_path / "drop"
    # Big enough that each takes a worker a moment: the kill lands while alpha holds one.
    made = make_scans(drop, 24, prefix="TWO", size=(2400, 1800))
    doomed = start_machine(stack, "alpha", hide=drop, concurrency=1)
    start_machine(stack, "beta", hide=drop, concurrency=1)
    batch = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "batch", str(drop), "--batch-id", "two-1"],
        env=stack.env, cwd=stack.home, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )  # fmt: skip
    alpha_log = stack.home / "worker-alpha.log"
    wait_until(
        lambda: alpha_log.read_text(errors="replace").count("succeeded") >= 2,
        "machine alpha to store a few scans",
        timeout=120,
    )
    assert batch.poll() is None and len(list(stack.store.list_keys("masters/"))) < len(made)
    os.killpg(doomed.pid, signal.SIGKILL)  # the machine is gone: power cut
    doomed.wait(timeout=10)
    out, _ = batch.communicate(timeout=300)
    assert batch.returncode == 0, out
    assert_masters_bit_exact(stack, made)
    assert staged(stack) == []
    beta_log = (stack.home / "worker-beta.log").read_text(errors="replace")
    assert "succeeded" in beta_log  # both machines took work
