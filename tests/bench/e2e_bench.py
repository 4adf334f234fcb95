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
import shutil
import signal
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import tifffile

from tests.bench.e2e_run import MODES, run_once
from tests.bench.e2e_stack import BenchError, servers

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "var" / "bench"
WIDTH, HEIGHT = 6000, 4000


# --- scans ---------------------------------------------------------------------------------


def make_scans(folder: Path, count: int, kind: str, prefix: str, seed: int) -> list[Path]:
    """`count` distinct 24 MP scans: one generated picture, a few pixels changed per scan.

    tiff and jpeg: the smooth sRGB picture (the best case); adobe: the realistic capture of
    tests/bench/captures.py (noise, texture, chart, scale bar) as an 8-bit Adobe RGB TIFF.
    """
    from tests.bench.captures import profiles, quantise, render_scene, write_tiff
    from tests.bench.scan_bench import texture

    folder.mkdir(parents=True, exist_ok=True)
    if kind == "adobe":
        base = quantise(render_scene(WIDTH, HEIGHT, seed=20240601 + seed), 8)
    else:
        base = (texture(WIDTH, HEIGHT, seed=seed) * 255 + 0.5).astype(np.uint8)
    paths = []
    for i in range(count):
        # Distinct bytes (so distinct scan ids): a 4x4 patch that encodes the index.
        base[:4, :4] = [(i >> 8) & 255, i & 255, seed & 255]
        if kind == "adobe":
            path = folder / f"{prefix}.{i:03d}_front_1.tif"
            write_tiff(path, base, profiles()["adobe"])
        elif kind == "tiff":
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


# --- main ----------------------------------------------------------------------------------


def print_handoff(results: list[dict[str, Any]]) -> None:
    """The stage hand-off's extra cost per scan: each stage run against the path run beside it
    (same mode and repeat), for the producer, the workers and SeaweedFS."""
    runs = {(r["mode"], r["repeat"], r["handoff"]): r for r in results}
    print("\nstage hand-off: extra CPU-s per scan against path (stage − path)")
    print(f"{'mode':5} {'rep':>3} {'producer':>9} {'workers':>9} {'SeaweedFS':>10}")
    for (mode, rep, handoff), stage in sorted(runs.items()):
        path = runs.get((mode, rep, "path"))
        if handoff != "stage" or path is None:
            continue
        extra = {
            key: stage[key] - path[key]
            for key in (
                "producer_cpu_s_per_scan", "worker_cpu_s_per_scan", "seaweedfs_cpu_s_per_scan"
            )
        }  # fmt: skip
        print(
            f"{mode:5} {rep:>3} {extra['producer_cpu_s_per_scan']:>+9.3f} "
            f"{extra['worker_cpu_s_per_scan']:>+9.3f} {extra['seaweedfs_cpu_s_per_scan']:>+10.3f}"
        )
    print(
        "producer: staging (read, SHA-256, upload with its checksum; with --send batch the hash\n"
        "is the batch's own, done either way); workers: the read from storage instead of the\n"
        "drop folder, the master copied server-side instead of uploaded, the staged object\n"
        "deleted. Under load these differences are within a run's noise: repeat to compare."
    )


def print_table(results: list[dict[str, Any]]) -> None:
    head = (
        f"{'mode':5} {'hand':5} {'rep':>3} {'scans':>5} {'window s':>8} {'scans/h':>8} "
        f"{'send scans/h':>12} "
        f"{'MB/s':>6} {'wkr CPU-s':>9} {'(main)':>6} {'weed CPU-s':>10} {'redis':>6} "
        f"{'prod CPU-s':>10} {'all CPU-s':>9} "
        f"{'task s':>6} {'peak RSS MB':>12} {'wkr-bound/h':>11} {'all-bound/h':>11}"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        rss = max(r["peak_rss_mb_per_child"] or [0])
        redis = "n/a" if r["redis_cpu_s_per_scan"] is None else f"{r['redis_cpu_s_per_scan']:.3f}"
        print(
            f"{r['mode']:5} {r['handoff']:5} {r['repeat']:>3} {r['scans']:>5} "
            f"{r['window_s']:>8.1f} "
            f"{r['scans_per_hour']:>8,} {r['scans_per_hour_send']:>12,} {r['mb_per_s']:>6.1f} "
            f"{r['worker_cpu_s_per_scan']:>9.3f} {r['worker_main_cpu_s_per_scan']:>6.3f} "
            f"{r['seaweedfs_cpu_s_per_scan']:>10.3f} {redis:>6} "
            f"{r['producer_cpu_s_per_scan']:>10.3f} {r['all_cpu_s_per_scan']:>9.3f} "
            f"{r['task_s_mean']:>6.2f} {rss:>12,} {r['scans_per_hour_worker_cpu_bound']:>11,} "
            f"{r['scans_per_hour_all_cpu_bound']:>11,}"
        )
    print(
        "scans/h: first task received to last succeeded (worker logs); send scans/h: first "
        "send to last\nresult seen by the producer (with --send batch: the whole command, start-up "
        "and hashing\nincluded). CPU-s are per scan; worker CPU includes its pool children, "
        "(main) is the Celery\nmain processes' share of it. wkr-bound/h: the rate if the "
        "workers had every core to themselves\n(storage on other machines, as in production): "
        "cores × 3600 / worker CPU-s; derived, not measured. all CPU-s: workers + SeaweedFS +\n"
        "Redis (n/a: the machine's, not measured; --own-redis measures it) + producer; "
        "all-bound/h: cores × 3600 / all CPU-s,\nthe rate of this machine doing everything with "
        "its cores to itself (derived: read it when the machine is shared)."
    )


def print_targets(results: list[dict[str, Any]], kind: str) -> None:
    """Issue #14's end-to-end targets, which are about the Adobe RGB capture, beside the runs
    that measure them (best run of each mode)."""
    note = "" if kind == "adobe" else "; the targets are for the Adobe RGB capture, --kind adobe"
    print(f"\nissue #14 targets (measured on 24 MP {KINDS[kind]}{note}):")
    pair = [r["scans_per_hour"] for r in results if r["mode"] == "2x1"]
    if pair:
        print(f"  --mode 2x1 (SeaweedFS on the same 2 cores): {max(pair):,} scans/h  "
              f"(≥ 4,000: {'met' if max(pair) >= 4000 else 'NOT met'})")  # fmt: skip
        best = min(
            (r for r in results if r["mode"] == "2x1"), key=lambda r: r["all_cpu_s_per_scan"]
        )
        derived = best["scans_per_hour_all_cpu_bound"]
        redis = "" if best["redis_cpu_s_per_scan"] is not None else ", Redis not counted"
        print(f"    derived from CPU: {best['all_cpu_s_per_scan']:.3f} CPU-s a scan in all{redis} "
              f"→ {derived:,} scans/h on {os.cpu_count()} cores to itself "
              f"(≥ 4,000: {'met' if derived >= 4000 else 'NOT met'})")  # fmt: skip
    pinned = [r["worker_cpu_s_per_scan"] for r in results if r["mode"] == "pinned"]
    if pinned:
        print(f"  --mode pinned, worker CPU-s per scan with the upload: {min(pinned):.3f}  "
              f"(≤ 0.60: {'met' if min(pinned) <= 0.60 else 'NOT met'})")  # fmt: skip
    if not pair and not pinned:
        print("  measured by --mode 2x1 (scans/h) and --mode pinned (worker CPU-s per scan)")
    one, five, fifteen = os.getloadavg()
    print(
        f"  load average at the end: {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"
    )


KINDS = {
    "tiff": "smooth sRGB 8-bit TIFF, the best case",
    "jpeg": "smooth sRGB JPEG",
    "adobe": "realistic capture, Adobe RGB 8-bit TIFF",
}


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
    kinds = list(KINDS)
    add(
        "--kind",
        choices=kinds,
        default="tiff",
        help="smooth 24 MP 8-bit sRGB TIFF (default, the best case) or JPEG, or adobe: the "
        "realistic capture (noise, chart, scale bar) as a 24 MP 8-bit Adobe RGB TIFF",
    )
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
    add(
        "--handoff",
        action="store_true",
        help="run each mode with SOHOA_HANDOFF=path and =stage, and print the stage hand-off's "
        "extra CPU-s per scan (producer, workers, SeaweedFS)",
    )
    add(
        "--own-redis",
        action="store_true",
        help="start a redis-server of our own even when the machine's answers, so that Redis's "
        "CPU per scan is measured too (it is part of the 2-core budget)",
    )
    add(
        "--weed-profile",
        type=Path,
        metavar="FILE",
        help="have SeaweedFS write its CPU profile (weed -cpuprofile) to FILE and print where "
        "its CPU went (tests/bench/e2e_pprof.py)",
    )
    add("--repeat", type=int, default=1, help="runs per mode (1)")
    add("--warmup", type=int, default=4, help="uncounted scans per run (4)")
    add("--out", type=Path, default=OUT / "e2e.json", help="JSON results file")
    args = parser.parse_args(argv)
    if args.scans < 1 or args.repeat < 1 or args.warmup < 1:
        parser.error("--scans, --repeat and --warmup must be at least 1")
    modes = ["c2", "2x1"] if args.mode == "both" else [args.mode]
    handoffs = ["path", "stage"] if args.handoff else ["path"]
    runs = [
        (mode, rep, handoff)
        for rep in range(1, args.repeat + 1)
        for mode in modes
        for handoff in handoffs
    ]

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
        if args.weed_profile:
            args.weed_profile.parent.mkdir(parents=True, exist_ok=True)
        with servers(home, own_redis=args.own_redis, weed_profile=args.weed_profile) as srv:
            redis_note = "own redis-server" if srv.redis_pid else srv.redis_url
            print(f"SeaweedFS pid {srv.weed_pid}; Redis: {redis_note}")
            for mode, rep, handoff in runs:
                print(f"run {mode} #{rep} ({handoff}): {args.scans} scans …", flush=True)
                results.append(run_once(srv, mode, rep, scans, warm, args.send, handoff))
    except BenchError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; servers and workers stopped", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print_table(results)
    if args.handoff:
        print_handoff(results)
    print_targets(results, args.kind)
    if args.weed_profile and args.weed_profile.exists():
        from tests.bench.e2e_pprof import summarise

        print()
        print(summarise(args.weed_profile))
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
