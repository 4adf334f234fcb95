"""One `make bench-e2e` run: scans sent, every one checked stored, and its figures; no servers."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.bench.e2e_stack import (
    SOHOA,
    WORKER_CPU,
    BenchError,
    Servers,
    cpu_seconds,
    own_cpu_seconds,
    pin,
    settings_for,
    vm_hwm,
    workers,
)

# One `sohoa worker -c 2`, two `sohoa worker -c 1`, or one `-c 1` worker alone on CPU 0 with
# SeaweedFS, Redis (when ours) and the producer on the other CPUs: the worker's cost per scan
# as on a machine of its own, storage elsewhere (the deployment the target assumes).
MODES = {"c2": [2], "2x1": [1, 1], "pinned": [1]}
LOG_LINE = re.compile(
    r"^\[?(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\b.*?"
    r"Task sohoa\.process_scan\[(?P<id>[0-9a-f-]+)\] (?P<what>received|succeeded in (?P<s>[\d.]+)s)"
)


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
    """The producer API (workers/client.py): one task per file, timed to the last result; with
    SOHOA_HANDOFF=stage each file is staged first (its read, hash and upload in this process's
    CPU)."""
    from pipeline.services.context import Context
    from pipeline.services.handoff import with_handoff
    from pipeline.services.models import ProcessScanTask
    from workers import client
    from workers.app import configure_app

    settings = settings_for(env)
    configure_app(settings)
    sender = with_handoff(Context.from_settings(settings), client.ScanProducer())
    paths = sorted(p for p in folder.iterdir() if p.is_file())
    cpu_before = time.process_time()
    started = time.monotonic()
    ids = {sender.send(ProcessScanTask(path=str(p), batch_id=batch_id)): p.name for p in paths}
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
    srv: Servers,
    mode: str,
    rep: int,
    scans: list[Path],
    warm: list[Path],
    sender: str,
    handoff: str = "path",
) -> dict[str, Any]:
    from pipeline.adapters import embedded
    from pipeline.adapters.s3_store import S3Store

    tag = f"{mode}-{rep}-{secrets.token_hex(2)}"
    env = dict(srv.env, SOHOA_BUCKET="bench-" + tag.lower().replace("x", "w"))
    env["SOHOA_HANDOFF"] = handoff
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
    # Everything a scan costs on one machine: workers, storage, Redis (when ours) and producer.
    every_cpu = cpu + weed + (redis_cpu or 0.0) + batch["cpu_s"]
    return {
        "mode": mode,
        "handoff": handoff,
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
        "all_cpu_s_per_scan": round(every_cpu / n, 3),
        # The rate of one machine doing everything (storage, Redis and producer included) with
        # its cores to itself: derived from CPU, the figure to read on a shared machine.
        "scans_per_hour_all_cpu_bound": round((os.cpu_count() or 1) * 3600 * n / every_cpu),
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
