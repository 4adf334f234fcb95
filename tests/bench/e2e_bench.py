"""`make bench-e2e`: scans/hour through real workers, with the S3 upload included; prints figures.

Not a test: nothing here asserts a time, but it fails loudly (exit 1) if a scan is not stored.
It starts its own SeaweedFS on free ports in a temporary folder, uses the machine's Redis if
it answers (database 14, queues and batch ids of its own; nothing is flushed) or starts its own
redis-server, starts the workers exactly as production does (`sohoa worker`, with -v for the
task timings in its log), sends the scans with the producer API (workers/client.py) or with
`sohoa batch`, and stops everything it started at the end, even on Ctrl-C, SIGTERM or failure.

Per run: a fresh bucket, fresh workers, a few warm-up scans not counted (lazy imports, OpenCV
and LittleCMS initialisation), then N distinct 24 MP scans. Figures: wall time from the first
task received to the last one succeeded (worker log) and from the first send to the last result
seen by the producer (with --send batch: the whole command), scans/hour, MB/s written to the
bucket, CPU seconds per scan of the workers (children included), of SeaweedFS and of the
producer, and each worker child's peak RSS.
Results go to var/bench/e2e.json as well.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import psutil
import tifffile

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "var" / "bench"
SOHOA = [sys.executable, "-m", "pipeline.cli"]
MACHINE_REDIS = "redis://127.0.0.1:6379"
# A database of the machine's Redis that neither `make run` (0) nor the tests (13) use.
BENCH_REDIS_DB = 14
WIDTH, HEIGHT = 6000, 4000
# One `sohoa worker -c 2`, two `sohoa worker -c 1`, or one `-c 1` worker alone on CPU 0 with
# SeaweedFS, Redis (when ours) and the producer on the other CPUs: the worker's cost per scan
# as on a machine of its own, storage elsewhere (the deployment the target assumes).
MODES = {"c2": [2], "2x1": [1, 1], "pinned": [1]}
WORKER_CPU = 0
LOG_LINE = re.compile(
    r"^\[?(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\b.*?"
    r"Task sohoa\.process_scan\[(?P<id>[0-9a-f-]+)\] (?P<what>received|succeeded in (?P<s>[\d.]+)s)"
)


class BenchError(Exception):
    """The benchmark could not measure: a scan not stored, a server or worker that died."""


# --- scans ---------------------------------------------------------------------------------


def make_scans(folder: Path, count: int, kind: str, prefix: str, seed: int) -> list[Path]:
    """`count` distinct 24 MP scans: one generated picture, a few pixels changed per scan."""
    from tests.bench.scan_bench import texture

    folder.mkdir(parents=True, exist_ok=True)
    base = (texture(WIDTH, HEIGHT, seed=seed) * 255 + 0.5).astype(np.uint8)
    paths = []
    for i in range(count):
        # Distinct bytes (so distinct scan ids): a 4x4 patch that encodes the index.
        base[:4, :4] = [(i >> 8) & 255, i & 255, seed & 255]
        if kind == "tiff":
            path = folder / f"{prefix}.{i:03d}_front_1.tif"
            tifffile.imwrite(path, base, photometric="rgb")
        else:
            path = folder / f"{prefix}.{i:03d}_front_1.jpg"
            ok, data = cv2.imencode(".jpg", base[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 92])
            if not ok:
                raise BenchError(f"could not encode {path.name}")
            path.write_bytes(data.tobytes())
        paths.append(path)
    return paths


# --- servers -------------------------------------------------------------------------------


@dataclass
class Servers:
    env: dict[str, str]
    redis_url: str
    weed_pid: int
    redis_pid: int | None  # ours, else None (the machine's)
    home: Path


@contextmanager
def servers(home: Path) -> Iterator[Servers]:
    """SeaweedFS (ours, always) and Redis (the machine's, or ours); stopped on the way out."""
    from pipeline.adapters import embedded

    access_key, secret_key = "bench-" + secrets.token_hex(6), secrets.token_urlsafe(24)
    with ExitStack() as stack:
        weed = embedded.start_seaweedfs(
            home / "seaweedfs",
            access_key=access_key,
            secret_key=secret_key,
            ports=embedded.find_free_seaweed_ports(),
            log_path=home / "weed.log",
        )
        stack.callback(
            embedded.stop_process, weed.pid, name_hint="weed", start_ticks=weed.start_ticks,
            timeout=5,
        )  # fmt: skip
        redis_pid = None
        if embedded.is_redis_up(MACHINE_REDIS):
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


# --- one run -------------------------------------------------------------------------------


def bucket_bytes(store: Any) -> tuple[int, int]:
    total = count = 0
    for page in store.client.get_paginator("list_objects_v2").paginate(Bucket=store.bucket):
        for item in page.get("Contents", []):
            total += int(item["Size"])
            count += 1
    return total, count


def empty_bucket(store: Any) -> None:
    """Free the server's disk between runs (each run writes gigabytes)."""
    paginator = store.client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=store.bucket):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            store.client.delete_objects(Bucket=store.bucket, Delete={"Objects": keys})


def run_batch(env: dict[str, str], cwd: Path, folder: Path, batch_id: str) -> dict[str, Any]:
    """`sohoa batch`, timed; its CPU comes from wait4's rusage. Raises unless every scan stored."""
    report = cwd / "reports" / batch_id
    started = time.monotonic()
    proc = subprocess.Popen(
        [*SOHOA, "batch", str(folder), "--batch-id", batch_id, "--report", str(report)],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert proc.stdout is not None
    output = proc.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    if proc.returncode != 0:
        raise BenchError(f"`sohoa batch {folder}` exited {proc.returncode}:\n{output[-4000:]}")
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "output": output,
        "report": report,
    }


def send_with_client(env: dict[str, str], folder: Path, batch_id: str) -> dict[str, Any]:
    """The producer API (workers/client.py): one task per file, timed to the last result."""
    from pipeline.services.models import ProcessScanTask
    from workers import client
    from workers.app import configure_app

    configure_app(settings_for(env))
    paths = sorted(p for p in folder.iterdir() if p.is_file())
    cpu_before = time.process_time()
    started = time.monotonic()
    ids = {client.send_scan(ProcessScanTask(path=str(p), batch_id=batch_id)): p.name for p in paths}
    done = client.wait_for(ids, poll=0.25, timeout=3600)
    wall = time.monotonic() - started
    results = [dict(done.get(task_id) or {"status": "lost", "name": name}, name=name)
               for task_id, name in ids.items()]  # fmt: skip
    bad = [r for r in results if r.get("status") != "stored"]
    if bad:
        raise BenchError(
            f"{len(bad)} of {len(paths)} scan(s) not stored, e.g. "
            + "; ".join(f"{r['name']}: {r.get('code')} {r.get('message')}" for r in bad[:3])
        )
    return {
        "wall_s": wall,
        "cpu_s": time.process_time() - cpu_before,
        "results": results,
        "report": None,
    }


def send_with_client_in(
    env: dict[str, str], cwd: Path, folder: Path, batch_id: str
) -> dict[str, Any]:
    return send_with_client(env, folder, batch_id)


def check_stored(store: Any, names: list[str], batch: dict[str, Any], batch_id: str) -> int:
    """Every scan stored, from the batch's results and from the bucket itself; else raise.

    Returns the bytes the results say were stored."""
    if batch["report"] is not None:
        data = json.loads((batch["report"] / f"{batch_id}.json").read_text())
        rows = [r for r in data.get("files", []) if r.get("status") == "stored"]
    else:
        rows = [r for r in batch["results"] if r.get("status") == "stored"]
    stored = {str(r.get("name")) for r in rows}
    missing = sorted(set(names) - stored)
    if missing:
        raise BenchError(f"{len(missing)} scan(s) not stored, e.g. {missing[:5]}")
    masters = 0
    for page in store.client.get_paginator("list_objects_v2").paginate(
        Bucket=store.bucket, Prefix="masters/"
    ):
        masters += len(page.get("Contents", []))
    if masters < len(names):
        raise BenchError(f"only {masters} masters in the bucket for {len(names)} scans")
    return sum(int(r.get("bytes_stored") or 0) for r in rows)


def worker_window(logs: list[Path], offsets: list[int]) -> dict[str, Any]:
    """First `received` to last `succeeded`, and the task run times, from the worker logs."""
    received, succeeded, runtimes = [], [], []
    for log, offset in zip(logs, offsets, strict=True):
        with log.open("rb") as handle:
            handle.seek(offset)
            for raw in handle:
                match = LOG_LINE.match(raw.decode(errors="replace"))
                if not match:
                    continue
                ts = datetime.strptime(match["ts"], "%Y-%m-%d %H:%M:%S,%f").timestamp()
                if match["what"] == "received":
                    received.append(ts)
                else:
                    succeeded.append(ts)
                    runtimes.append(float(match["s"]))
    if not received or not succeeded:
        return {}
    return {
        "window_s": max(succeeded) - min(received),
        "tasks": len(runtimes),
        "task_s_mean": sum(runtimes) / len(runtimes),
        "task_s_max": max(runtimes),
    }


def run_once(
    srv: Servers, mode: str, rep: int, scans: list[Path], warm: list[Path], sender: str
) -> dict[str, Any]:
    from pipeline.adapters import embedded
    from pipeline.adapters.s3_store import S3Store

    tag = f"{mode}-{rep}-{secrets.token_hex(2)}"
    env = dict(srv.env, SOHOA_BUCKET="bench-" + tag.lower().replace("x", "w"))
    settings = settings_for(env)
    store = S3Store.from_settings(settings)
    store.ensure_bucket(settings.bucket)
    embedded.allow_public_read(store.client, settings.bucket)
    pinned = mode == "pinned"
    everything = os.sched_getaffinity(0)
    others = everything - {WORKER_CPU}
    if pinned:
        if not others or WORKER_CPU not in everything:
            raise BenchError(f"--mode pinned needs CPU {WORKER_CPU} and at least one more")
        # Storage, Redis (when ours) and this process (the producer) stay off the worker's CPU.
        for pid in (srv.weed_pid, srv.redis_pid):
            if pid:
                pin(pid, others)
        os.sched_setaffinity(0, others)
    try:
        with workers(srv, env, MODES[mode], tag, pinned=pinned) as running:
            send = run_batch if sender == "batch" else send_with_client_in
            send(env, srv.home, warm.pop().parent, f"bench-warm-{tag}")
            bytes_before, objects_before = bucket_bytes(store)
            offsets = [log.stat().st_size for log in running.logs]
            pids = [p.pid for p in running.procs]
            running.peak_rss.clear()
            sampler = threading.Thread(target=running.sample_rss, daemon=True)
            sampler.start()
            cpu_before = cpu_seconds(pids)
            main_before = own_cpu_seconds(pids)
            weed_before = cpu_seconds([srv.weed_pid])
            redis_before = cpu_seconds([srv.redis_pid]) if srv.redis_pid else 0.0
            batch_id = f"bench-run-{tag}"
            batch = send(env, srv.home, scans[0].parent, batch_id)
            cpu = cpu_seconds(pids) - cpu_before
            main_cpu = own_cpu_seconds(pids) - main_before
            weed = cpu_seconds([srv.weed_pid]) - weed_before
            redis_cpu = (cpu_seconds([srv.redis_pid]) - redis_before) if srv.redis_pid else None
            running.stop_sampling.set()
            sampler.join()
            hwm = [vm_hwm(c.pid) for c in running.children()]
            window = worker_window(running.logs, offsets)
            report_bytes = check_stored(store, [p.name for p in scans], batch, batch_id)
            bytes_after, objects_after = bucket_bytes(store)
    finally:
        empty_bucket(store)
        if pinned:
            for pid in (srv.weed_pid, srv.redis_pid):
                if pid:
                    pin(pid, everything)
            os.sched_setaffinity(0, everything)
    n = len(scans)
    window_s = window.get("window_s") or batch["wall_s"]
    written = bytes_after - bytes_before
    return {
        "mode": mode,
        "sender": sender,
        "workers": MODES[mode],
        "repeat": rep,
        "scans": n,
        "window_s": round(window_s, 2),
        "send_wall_s": round(batch["wall_s"], 2),
        "scans_per_hour": round(n * 3600 / window_s),
        "scans_per_hour_send": round(n * 3600 / batch["wall_s"]),
        "bytes_written": written,
        "objects_written": objects_after - objects_before,
        "report_bytes_stored": report_bytes,
        "mb_per_s": round(written / 1e6 / window_s, 1),
        "worker_cpu_s_per_scan": round(cpu / n, 3),
        # The Celery main processes' share (receiving, acknowledging, results); the rest is
        # the pool children doing the tasks.
        "worker_main_cpu_s_per_scan": round(main_cpu / n, 3),
        # What the workers could do with the machine's cores to themselves (storage elsewhere,
        # as in production): derived from the CPU they used, not a measured rate.
        "scans_per_hour_worker_cpu_bound": round((os.cpu_count() or 1) * 3600 * n / cpu),
        "seaweedfs_cpu_s_per_scan": round(weed / n, 3),
        "producer_cpu_s_per_scan": round(batch["cpu_s"] / n, 3),
        "redis_cpu_s_per_scan": None if redis_cpu is None else round(redis_cpu / n, 4),
        "task_s_mean": round(window.get("task_s_mean", float("nan")), 3),
        "task_s_max": round(window.get("task_s_max", float("nan")), 3),
        # Share of the window the pool slots spent inside a task; the rest is queue overhead.
        "slots_busy": round(
            window.get("task_s_mean", 0.0) * window.get("tasks", 0) / (sum(MODES[mode]) * window_s),
            3,
        ),
        "peak_rss_mb_per_child": sorted(round(v / 2**20) for v in running.peak_rss.values()),
        "vm_hwm_mb_per_child": sorted(round(v / 1024) for v in hwm if v),
    }


def vm_hwm(pid: int) -> int:
    """Peak resident memory in kB since the process started (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


# --- main ----------------------------------------------------------------------------------


def print_table(results: list[dict[str, Any]]) -> None:
    head = (
        f"{'mode':5} {'rep':>3} {'scans':>5} {'window s':>8} {'scans/h':>8} {'send scans/h':>12} "
        f"{'MB/s':>6} {'wkr CPU-s':>9} {'(main)':>6} {'weed CPU-s':>10} {'prod CPU-s':>10} "
        f"{'task s':>6} {'peak RSS MB':>12} {'wkr-bound/h':>11}"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        rss = max(r["peak_rss_mb_per_child"] or [0])
        print(
            f"{r['mode']:5} {r['repeat']:>3} {r['scans']:>5} {r['window_s']:>8.1f} "
            f"{r['scans_per_hour']:>8,} {r['scans_per_hour_send']:>12,} {r['mb_per_s']:>6.1f} "
            f"{r['worker_cpu_s_per_scan']:>9.3f} {r['worker_main_cpu_s_per_scan']:>6.3f} "
            f"{r['seaweedfs_cpu_s_per_scan']:>10.3f} {r['producer_cpu_s_per_scan']:>10.3f} "
            f"{r['task_s_mean']:>6.2f} {rss:>12,} {r['scans_per_hour_worker_cpu_bound']:>11,}"
        )
    print(
        "scans/h: first task received to last succeeded (worker logs); send scans/h: first "
        "send to last\nresult seen by the producer (with --send batch: the whole command, start-up "
        "and hashing\nincluded). CPU-s are per scan; worker CPU includes its pool children, "
        "(main) is the Celery\nmain processes' share of it. wkr-bound/h: the rate if the "
        "workers had every core to themselves\n(storage on other machines, as in production): "
        "cores × 3600 / worker CPU-s; derived, not measured."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.e2e_bench",
        description=(
            "End-to-end throughput: real `sohoa worker` processes, a private SeaweedFS, "
            "the producer API or `sohoa batch`, S3 upload included. Prints a table and writes "
            "var/bench/e2e.json. "
            "A benchmark, not a test: exits 1 only if a scan is not stored or a part fails."
        ),
    )
    add = parser.add_argument
    add("--scans", type=int, default=60, help="measured scans per run (60)")
    kinds = ["tiff", "jpeg"]
    add("--kind", choices=kinds, default="tiff", help="24 MP 8-bit RGB TIFF (default) or JPEG")
    add(
        "--mode",
        choices=[*MODES, "both"],
        default="c2",
        help="c2: one `sohoa worker -c 2` (default); 2x1: two `-c 1` workers; pinned: one "
        "`-c 1` worker alone on CPU 0, SeaweedFS and the producer on the others (the worker's "
        "cost as if storage ran elsewhere); both: c2 and 2x1",
    )
    add(
        "--send",
        choices=["client", "batch"],
        default="client",
        help="client (default): the producer API (workers/client.py), timed from the first send "
        "to the last result; batch: the `sohoa batch` command (its hashing and start-up included)",
    )
    add("--repeat", type=int, default=1, help="runs per mode (1)")
    add("--warmup", type=int, default=4, help="uncounted scans per run (4)")
    add("--out", type=Path, default=OUT / "e2e.json", help="JSON results file")
    args = parser.parse_args(argv)
    if args.scans < 1 or args.repeat < 1 or args.warmup < 1:
        parser.error("--scans, --repeat and --warmup must be at least 1")
    modes = ["c2", "2x1"] if args.mode == "both" else [args.mode]
    runs = [(mode, rep) for rep in range(1, args.repeat + 1) for mode in modes]

    # `kill` (SIGTERM) cleans up like Ctrl-C: the context managers stop what was started.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    home = Path(tempfile.mkdtemp(prefix="sohoa-e2e-"))
    results: list[dict[str, Any]] = []
    try:
        print(f"generating {args.scans} + {args.warmup}×{len(runs)} {args.kind} scans in {home}")
        scans = make_scans(home / "scans", args.scans, args.kind, "BENCH", seed=7)
        # Warm-up scans differ per run: a run must not find them stored by the previous one.
        warm = [
            make_scans(home / f"warm{i}", args.warmup, args.kind, "WARM", seed=100 + i)[0]
            for i in range(len(runs))
        ]
        with servers(home) as srv:
            redis_note = "own redis-server" if srv.redis_pid else srv.redis_url
            print(f"SeaweedFS pid {srv.weed_pid}; Redis: {redis_note}")
            for mode, rep in runs:
                print(f"run {mode} #{rep}: {args.scans} scans …", flush=True)
                results.append(run_once(srv, mode, rep, scans, warm, args.send))
    except BenchError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; servers and workers stopped", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print_table(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "kind": args.kind,
        "width": WIDTH,
        "height": HEIGHT,
        "cores": os.cpu_count(),
        "loadavg_at_end": os.getloadavg(),
        "when": datetime.now().isoformat(timespec="seconds"),
    }
    args.out.write_text(json.dumps({"meta": meta, "runs": results}, indent=2) + "\n")
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
