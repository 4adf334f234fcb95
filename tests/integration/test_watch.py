"""The hot folder against a real worker, Redis and SeaweedFS, with inotify and with polling."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pipeline.adapters import embedded
from pipeline.adapters.s3_store import S3Store
from pipeline.services.watch import HotFolder, WatchOptions
from schemas import load_schema
from tests.conftest import S3Server, Stack, make_settings, settings_env
from tests.support.wait import wait_until
from tests.unit.images import encode, gradient_rgb
from workers.app import configure_app
from workers.client import ScanProducer

pytestmark = pytest.mark.integration

STABLE = 1.5
# Pauses while a file is copied: longer than a look at the folder, shorter than STABLE.
PAUSE = 0.6
MODES = [pytest.param(False, id="inotify"), pytest.param(True, id="poll")]


def jpeg(seed: int, size: tuple[int, int] = (1200, 900)) -> bytes:
    return encode(gradient_rgb(*size, seed=seed), "JPEG", quality=92)


def options(folder: Path, poll: bool, **overrides: Any) -> WatchOptions:
    values: dict[str, Any] = {
        "folder": folder,
        "poll": poll,
        "stable_seconds": STABLE,
        "tick_seconds": 0.2,
        "poll_seconds": 0.3,
        # No safety rescan during a test: with inotify, only events may wake the watcher.
        "rescan_seconds": 3600,
        "retry_first_seconds": 1,
        "retry_max_seconds": 2,
    }
    values.update(overrides)
    return WatchOptions(**values)


@contextmanager
def watching(stack: Stack, opts: WatchOptions, lines: list[str]) -> Iterator[HotFolder]:
    """A watcher in a thread of this process, stopped as Ctrl-C would stop it."""
    configure_app(stack.settings)
    hot = HotFolder(opts, ScanProducer(interactive=True), say=lines.append)
    stop = threading.Event()
    crashed: list[BaseException] = []

    def run() -> None:
        try:
            hot.run(stop)
        except BaseException as exc:
            crashed.append(exc)

    thread = threading.Thread(target=run, name="hot-folder", daemon=True)
    thread.start()
    assert hot.ready.wait(10), "the watcher did not start"
    try:
        yield hot
    finally:
        stop.set()
        thread.join(timeout=15)
    assert not thread.is_alive(), "the watcher did not stop"
    assert not crashed, crashed


def masters(stack: Stack) -> dict[str, str]:
    """sha256 -> key of every master in the bucket."""
    keys = stack.store.list_keys("masters/", bucket=stack.store.masters_bucket)
    return {Path(key).stem: key for key in keys}


def copy_slowly(data: bytes, target: Path, chunks: int = 4) -> None:
    """Like a copy over a slow share: the file exists, grows, and pauses between writes."""
    step = len(data) // chunks + 1
    with target.open("wb") as handle:
        for start in range(0, len(data), step):
            handle.write(data[start : start + step])
            handle.flush()
            os.fsync(handle.fileno())
            time.sleep(PAUSE)


@pytest.mark.parametrize("poll", MODES)
def test_complete_files_are_taken_once_and_cleared_out(
    stack: Stack, tmp_path: Path, poll: bool
) -> None:
    drop = tmp_path / "drop"
    lines: list[str] = []
    slow, good = jpeg(1), jpeg(2, (640, 480))
    with watching(stack, options(drop, poll), lines) as hot:
        (drop / "x.tif.part").write_bytes(jpeg(3, (64, 48)))
        (drop / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
        (drop / "~$inventory.xlsx").write_bytes(b"lock")
        (drop / "HM.1_front_1.jpg").write_bytes(good)
        (drop / "BAD.1_front_1.jpg").write_text("Đây không phải là ảnh.\n", "utf-8")
        copy_slowly(slow, drop / "HM.2_front_1.jpg")
        wait_until(
            lambda: hot.counts.stored == 2 and hot.counts.quarantined == 1,
            "three files out of the drop folder",
            timeout=90,
        )

    # Taken once each, and only when complete: the master is the whole file.
    assert sorted(line for line in lines if line.startswith("took ")) == [
        "took BAD.1_front_1.jpg",
        "took HM.1_front_1.jpg",
        "took HM.2_front_1.jpg",
    ]
    stored = masters(stack)
    assert set(stored) == {hashlib.sha256(slow).hexdigest(), hashlib.sha256(good).hexdigest()}
    key = stored[hashlib.sha256(slow).hexdigest()]
    # Hashed again from what the server sends back.
    found = stack.store.hash_object(key, bucket=stack.store.masters_bucket)
    assert found == (hashlib.sha256(slow).hexdigest(), len(slow))

    assert (drop / "done" / "HM.2_front_1.jpg").read_bytes() == slow
    assert (drop / "done" / "HM.1_front_1.jpg").read_bytes() == good
    assert "stored HM.2_front_1.jpg → done/" in lines

    bad = drop / "quarantine" / "BAD.1_front_1.jpg"
    assert bad.read_text("utf-8") == "Đây không phải là ảnh.\n"
    reason = json.loads((drop / "quarantine" / "BAD.1_front_1.jpg.reason.json").read_text())
    jsonschema.Draft202012Validator(load_schema("quarantine")).validate(reason)
    assert reason["code"] == "NOT_AN_IMAGE"
    assert "BAD.1_front_1.jpg" in reason["message"]
    assert any(line.startswith("quarantined BAD.1_front_1.jpg: NOT_AN_IMAGE ") for line in lines)

    # Litter stays where it is, untouched; nothing else is left in the drop folder.
    left = sorted(p.name for p in drop.iterdir())
    assert left == [".DS_Store", "done", "quarantine", "x.tif.part", "~$inventory.xlsx"]


@pytest.mark.parametrize("poll", MODES)
def test_a_restart_finishes_what_was_pending(stack: Stack, tmp_path: Path, poll: bool) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    configure_app(stack.settings)
    now = [0.0]
    lines: list[str] = []
    first = HotFolder(
        options(drop, poll), ScanProducer(interactive=True), say=lines.append, clock=lambda: now[0]
    )
    sent = jpeg(4, (640, 480))
    (drop / "HM.3_front_1.jpg").write_bytes(sent)
    first.scan_once()
    now[0] += STABLE
    first.scan_once()
    assert lines == ["took HM.3_front_1.jpg"] and first.in_flight == 1
    # The watcher stops here, before it hears back; another file arrives while it is down.
    later = jpeg(5, (640, 480))
    (drop / "HM.4_front_1.jpg").write_bytes(later)

    # The real command, started again; SIGTERM stops it cleanly.
    run = [
        "from pipeline.cli import main",
        "from pipeline.cli.watch import watch",
        "main.add_command(watch)",
        "main()",
    ]
    args = [sys.executable, "-c", "; ".join(run), "watch", str(drop)]
    args += ["--stable-seconds", str(STABLE)] + (
        ["--poll", "--poll-seconds", "0.3"] if poll else []
    )
    proc = subprocess.Popen(
        args, env=stack.env, cwd=stack.home, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        done = drop / "done"
        try:
            wait_until(
                lambda: (
                    (done / "HM.3_front_1.jpg").exists() and (done / "HM.4_front_1.jpg").exists()
                ),
                "both files in done/",
                timeout=90,
            )
        except AssertionError as exc:
            # What the watcher and the worker said is what tells a slow run from a lost file.
            proc.kill()
            said, _ = proc.communicate(timeout=20)
            worker = stack.worker_log.read_text()[-6000:] if stack.worker_log else ""
            raise AssertionError(
                f"{exc}\n--- sohoa watch said:\n{said.decode()}\n--- the worker's log:\n{worker}"
            ) from None
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = out.decode()
    assert proc.returncode == 0, text
    assert "stored HM.3_front_1.jpg → done/" in text
    assert "stored HM.4_front_1.jpg → done/" in text
    assert "Stopped: 2 taken, 2 stored, 0 quarantined; 0 left" in text
    assert set(masters(stack)) == {hashlib.sha256(b).hexdigest() for b in (sent, later)}
    assert sorted(p.name for p in drop.iterdir()) == ["done"]


@pytest.mark.slow
def test_a_file_that_failed_stays_and_is_retried(clean_redis: str, tmp_path: Path) -> None:
    """Storage goes away: the file stays in the drop folder, and is stored once it is back."""
    home = tmp_path / "seaweedfs"
    access_key, secret_key = "k-" + secrets.token_hex(4), secrets.token_urlsafe(16)
    ports = embedded.find_free_seaweed_ports()

    def start() -> embedded.ServerProcess:
        return embedded.start_seaweedfs(
            home / "data",
            access_key=access_key,
            secret_key=secret_key,
            ports=ports,
            log_path=home / "weed.log",
        )

    server = start()
    stack: Stack | None = None
    try:
        s3 = S3Server(server.url, access_key, secret_key)
        settings = make_settings(s3, clean_redis, tmp_path / "var")
        store = S3Store.from_settings(settings)
        store.ensure_bucket(settings.bucket)
        stack = Stack(settings=settings, env=settings_env(settings), store=store, home=tmp_path)
        stack.start_worker()
        embedded.stop_process(server.pid, name_hint="weed", start_ticks=server.start_ticks)

        drop = tmp_path / "drop"
        data = jpeg(6, (640, 480))
        lines: list[str] = []
        with watching(stack, options(drop, False, delete=True), lines) as hot:
            (drop / "OUT.1_front_1.jpg").write_bytes(data)
            wait_until(lambda: hot.counts.failed >= 1, "a failed result", timeout=90)
            assert (drop / "OUT.1_front_1.jpg").read_bytes() == data
            assert not (drop / "quarantine").exists(), "an outage is not the file's fault"
            server = start()
            wait_until(
                lambda: hot.counts.stored == 1, "the file stored after the outage", timeout=90
            )
        assert any(
            line.startswith("failed OUT.1_front_1.jpg: STORAGE_UNAVAILABLE ") for line in lines
        )
        assert "stored OUT.1_front_1.jpg → deleted" in lines
        assert not (drop / "OUT.1_front_1.jpg").exists()
        assert set(masters(stack)) == {hashlib.sha256(data).hexdigest()}
    finally:
        if stack is not None:
            stack.stop_workers()
        embedded.stop_process(server.pid, name_hint="weed", start_ticks=server.start_ticks)
