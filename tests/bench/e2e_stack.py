"""The servers and workers of `make bench-e2e`, started, measured and stopped; no scans sent."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

SOHOA = [sys.executable, "-m", "pipeline.cli"]
MACHINE_REDIS = "redis://127.0.0.1:6379"
# A database of the machine's Redis that neither `make run` (0) nor the tests (13) use.
BENCH_REDIS_DB = 14
WORKER_CPU = 0


class BenchError(Exception):
    """The benchmark could not measure: a scan not stored, a server or worker that died."""


# --- servers -------------------------------------------------------------------------------


@dataclass
class Servers:
    env: dict[str, str]
    redis_url: str
    weed_pid: int
    redis_pid: int | None  # ours, else None (the machine's)
    home: Path


@contextmanager
def servers(
    home: Path, *, own_redis: bool = False, weed_profile: Path | None = None
) -> Iterator[Servers]:
    """SeaweedFS (ours, always) and Redis (the machine's, or ours; always ours with
    `own_redis`, so that its CPU is measured); stopped on the way out. With `weed_profile`,
    SeaweedFS writes its CPU profile there when it stops (given time to stop cleanly)."""
    from pipeline.adapters import embedded

    access_key, secret_key = "bench-" + secrets.token_hex(6), secrets.token_urlsafe(24)
    with ExitStack() as stack:
        weed = embedded.start_seaweedfs(
            home / "seaweedfs",
            access_key=access_key,
            secret_key=secret_key,
            ports=embedded.find_free_seaweed_ports(),
            log_path=home / "weed.log",
            extra_args=[f"-cpuprofile={weed_profile.resolve()}"] if weed_profile else (),
        )
        stack.callback(
            embedded.stop_process, weed.pid, name_hint="weed", start_ticks=weed.start_ticks,
            timeout=30 if weed_profile else 5,
        )  # fmt: skip
        redis_pid = None
        if not own_redis and embedded.is_redis_up(MACHINE_REDIS):
            redis_url = f"{MACHINE_REDIS}/{BENCH_REDIS_DB}"
        else:
            port = embedded.find_free_ports(1, grpc_twins=False)[0]
            server = embedded.start_redis(home / "redis", port=port, log_path=home / "redis.log")
            stack.callback(
                embedded.stop_process, server.pid, name_hint="redis-server",
                start_ticks=server.start_ticks,
            )  # fmt: skip
            redis_url, redis_pid = f"redis://127.0.0.1:{port}/0", server.pid
        prefix = "bench-" + secrets.token_hex(4)
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("SOHOA_", "REDIS_URL", "AWS_"))
        }
        env.update(
            SOHOA_REDIS_URL=redis_url,
            SOHOA_S3_ENDPOINT_URL=weed.url,
            SOHOA_S3_ACCESS_KEY=access_key,
            SOHOA_S3_SECRET_KEY=secret_key,
            SOHOA_VAR_DIR=str(home / "var"),
            SOHOA_QUEUE_PREFIX=prefix,
            SOHOA_METRICS_PORT="0",  # two workers on one machine would fight for the port
            SOHOA_BATCH_STALL_SECONDS="600",
        )
        stack.callback(_forget_keys, redis_url, prefix, datetime.now(UTC))
        yield Servers(env, redis_url, weed.pid, redis_pid, home)


def _forget_keys(redis_url: str, prefix: str, since: datetime) -> None:
    """Delete this run's own keys (queues, batch state, task results); never a flush."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        for pattern in (f"*{prefix}*", "*bench-run-*", "*bench-warm-*"):
            for key in client.scan_iter(match=pattern):
                client.delete(key)
        # Results of the tasks our workers chained (publish, index): those finished since we
        # started, in a database that only this benchmark uses.
        for key in client.scan_iter(match="celery-task-meta-*", count=1000):
            raw = client.get(key)
            try:
                done = datetime.fromisoformat(json.loads(raw or b"{}").get("date_done") or "")
            except (ValueError, TypeError):
                continue
            if done >= since:
                client.delete(key)
    finally:
        client.close()


def settings_for(env: dict[str, str]) -> Any:
    from config.settings import SohoaSettings

    values = {k[len("SOHOA_") :].lower(): v for k, v in env.items() if k.startswith("SOHOA_")}
    return SohoaSettings(_env_file=None, **values)


# --- workers -------------------------------------------------------------------------------


@dataclass
class Workers:
    procs: list[subprocess.Popen[bytes]]
    logs: list[Path]
    peak_rss: dict[int, int] = field(default_factory=dict)  # child pid -> bytes
    stop_sampling: threading.Event = field(default_factory=threading.Event)

    def children(self) -> list[psutil.Process]:
        found = []
        for proc in self.procs:
            try:
                found.extend(psutil.Process(proc.pid).children(recursive=True))
            except psutil.NoSuchProcess:
                continue
        return found

    def sample_rss(self) -> None:
        while not self.stop_sampling.wait(0.2):
            for child in self.children():
                try:
                    rss = child.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
                self.peak_rss[child.pid] = max(rss, self.peak_rss.get(child.pid, 0))


@contextmanager
def workers(
    srv: Servers, env: dict[str, str], sizes: list[int], tag: str, *, pinned: bool = False
) -> Iterator[Workers]:
    """`sohoa worker -c N` processes, as production runs them; warm shutdown on the way out.
    `pinned`: on CPU WORKER_CPU only."""
    from workers.app import configure_app

    app = configure_app(settings_for(env))
    built = Workers([], [])
    try:
        for i, size in enumerate(sizes):
            name = f"{tag}-{i}@{socket.gethostname()}"
            log = srv.home / f"worker-{tag}-{i}.log"
            built.logs.append(log)
            built.procs.append(
                subprocess.Popen(
                    # -v: INFO log lines ("received", "succeeded in"), the task timings.
                    [*SOHOA, "-v", "worker", "-c", str(size), "-n", name],
                    env=env,
                    cwd=srv.home,
                    stdout=log.open("wb"),
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    # Its pool children inherit the CPU.
                    preexec_fn=(lambda: os.sched_setaffinity(0, {WORKER_CPU})) if pinned else None,
                )
            )
            deadline = time.monotonic() + 90
            while not app.control.ping(destination=[name], timeout=0.5):
                if built.procs[-1].poll() is not None or time.monotonic() > deadline:
                    raise BenchError(f"worker {name} did not start:\n{log.read_text()[-3000:]}")
        yield built
    finally:
        built.stop_sampling.set()
        for proc in built.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in built.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def cpu_seconds(pids: list[int]) -> float:
    """User+system CPU of these processes and all their descendants, dead (reaped) or alive."""
    total = 0.0
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            times = proc.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
            for child in proc.children(recursive=True):
                try:
                    t = child.cpu_times()
                    total += t.user + t.system
                except psutil.NoSuchProcess:
                    continue
        except psutil.NoSuchProcess:
            continue
    return total


def pin(pid: int, cpus: set[int]) -> None:
    """Run every thread of `pid` and of its descendants on `cpus` (threads made later inherit
    their creator's affinity)."""
    try:
        procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for proc in procs:
        for task in Path(f"/proc/{proc.pid}/task").glob("*"):
            try:
                os.sched_setaffinity(int(task.name), cpus)
            except (OSError, ValueError):
                continue  # the thread ended meanwhile


def own_cpu_seconds(pids: list[int]) -> float:
    """User+system CPU of these processes alone (a worker's main process, not its pool)."""
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return total


def vm_hwm(pid: int) -> int:
    """Peak resident memory in kB since the process started (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0
