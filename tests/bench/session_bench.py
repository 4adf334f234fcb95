"""What scoring a capture session costs as it grows: the worker's `settle_session` step after
each stored scan, against a private SeaweedFS and the machine's Redis (under this run's
queue prefix).

Not a test: nothing here asserts a time. One real chart shot and one real small JPEG are
processed (`process_scan`) into a batch-folder session; then N more scans join it, each a copy
of the JPEG's scan record under a new scan id and object with its session index key (what
ingest leaves), each followed by `settle_scan` as the worker runs it. Printed per added scan,
at a few session sizes: the S3 requests by kind (counted on the boto3 client), the objects
handed to republishing, and the CPU time of the scoring (this process: boto3, JSON, models).

    .venv/bin/python -m tests.bench.session_bench [--scans 1000] [--no-chart]
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import json
import os
import pstats
import secrets
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import redis
from PIL import Image

from pipeline.adapters import embedded
from pipeline.core.layout import scan_record_key, session_index_key
from pipeline.core.profile import IiifSettings, ProcessingProfile
from pipeline.samples.render.chart import encode_tiff, render_chart_shot
from pipeline.services.context import Context
from pipeline.services.ingest import process_scan
from pipeline.services.models import ProcessScanTask
from pipeline.services.session_scoring import open_session_marks, settle_scan
from tests.support.stacks import S3Server, make_settings

# SOHOA_BENCH_PROFILE=1: the last scan's scoring under cProfile, its top functions printed.
PROFILE = os.environ.get("SOHOA_BENCH_PROFILE") == "1"
REDIS = os.environ.get("SOHOA_BENCH_REDIS", "redis://127.0.0.1:6379/0")


def small_jpeg(path: Path) -> Path:
    pixels = np.random.default_rng(1).integers(60, 200, (48, 64, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=85)
    path.write_bytes(buffer.getvalue())
    return path


class Requests:
    """S3 requests by operation, counted on the boto3 client's own events."""

    def __init__(self, client: Any) -> None:
        self.counts: Counter[str] = Counter()
        client.meta.events.register("before-call.s3", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.counts[model.name] += 1


def run(home: Path, scans: int, chart: bool) -> None:
    access, secret = "bench-" + secrets.token_hex(4), secrets.token_urlsafe(24)
    ports = embedded.find_free_seaweed_ports()
    server = embedded.start_seaweedfs(
        home / "data", access_key=access, secret_key=secret, ports=ports,
        log_path=home / "weed.log", volume_size_mb=64,
    )  # fmt: skip
    try:
        s3 = S3Server(server.url, access, secret, f"http://127.0.0.1:{ports.master}")
        prefix = os.environ.get("SOHOA_QUEUE_PREFIX", "sohoa-bench") + "-sessions"
        settings = make_settings(s3, REDIS, home / "var", queue_prefix=prefix)
        ctx = Context.from_settings(settings)
        ctx = Context(
            settings=settings,
            profile=ProcessingProfile(iiif=IiifSettings(enabled=False)),
            store=ctx.store,
        )
        ctx.store.ensure_bucket(settings.bucket)
        measure(ctx, home, scans, chart)
    finally:
        embedded.stop_process(server.pid, name_hint="weed", start_ticks=server.start_ticks)


def measure(ctx: Context, home: Path, scans: int, chart: bool) -> None:
    folder = home / "BENCH"
    folder.mkdir()
    if chart:
        shot = render_chart_shot((640, 480), chart_width=0.6, noise=0.5)
        (folder / "BENCH.0_target_1.tif").write_bytes(encode_tiff(shot))
    small_jpeg(folder / "BENCH.1_front_1.jpg")
    stored = [process_scan(ctx, ProcessScanTask(path=str(p))) for p in sorted(folder.iterdir())]
    template = stored[-1]
    group = str(template.session_group)
    found = ctx.store.read_json(scan_record_key(str(template.object), str(template.scan_id)))
    assert found is not None
    record = found[0]
    marks = open_session_marks(ctx)
    requests = Requests(ctx.store.client)
    republished: list[str] = []
    checkpoints = {n for n in (10, 50, 100, 200, 400, 700, 1000, 2000, 5000) if n <= scans}
    window: list[tuple[Counter[str], int, float]] = []
    print(f"session of {'a chart shot and ' if chart else ''}N scans (batch folder, no chart"
          f"{' besides' if chart else ''}); per added scan, mean of the last 5:")  # fmt: skip
    total_cpu, total = 0.0, Counter[str]()
    for n in range(1, scans + 1):
        scan_id = hashlib.sha256(f"bench scan {n}".encode()).hexdigest()
        slug = f"bench.{n}"
        copy = {**record, "scan_id": scan_id, "object": slug}
        ctx.store.put_small(
            scan_record_key(slug, scan_id),
            json.dumps(copy, sort_keys=True).encode(),
            content_type="application/json",
        )
        ctx.store.put_small(
            session_index_key(group, None, slug, scan_id, reference=False), b"",
            content_type="application/octet-stream",
        )  # fmt: skip
        before, republished_before = Counter(requests.counts), len(republished)
        profile = cProfile.Profile() if PROFILE and n == scans else None
        cpu = time.process_time()
        if profile is not None:
            profile.enable()
        settle_scan(ctx, marks, group, scan_id, owner="bench", republish=republished.extend)
        spent = time.process_time() - cpu
        if profile is not None:
            profile.disable()
            pstats.Stats(profile).sort_stats("cumulative").print_stats(30)
        used = requests.counts - before
        total_cpu += spent
        total += used
        window = [*window[-4:], (used, len(republished) - republished_before, spent)]
        if n in checkpoints:
            mean = Counter[str]()
            for used_one, _, _ in window:
                mean += used_one
            kinds = ", ".join(f"{k} {v / len(window):.0f}" for k, v in sorted(mean.items()))
            print(
                f"  N={n + len(stored):>5}: {sum(mean.values()) / len(window):7.1f} S3 requests "
                f"({kinds}); {sum(r for _, r, _ in window) / len(window):6.1f} objects "
                f"republished; {1000 * sum(c for _, _, c in window) / len(window):7.1f} CPU-ms"
            )
    print(f"  all {scans} settles: {sum(total.values()):,} S3 requests "
          f"({', '.join(f'{k} {v:,}' for k, v in sorted(total.items()))}), "
          f"{len(republished):,} objects republished, {total_cpu:.1f} CPU-s")  # fmt: skip
    marks.close()
    # The group's marks, lock and bases: nothing of this run is left in the shared Redis.
    client = redis.Redis.from_url(ctx.settings.redis_url)
    for part in ("pending", "lock", "bases"):
        client.delete(f"{ctx.settings.queue_prefix}:session:{group}:{part}")
    client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=int, default=200)
    parser.add_argument("--no-chart", action="store_true")
    args = parser.parse_args()
    # Stopped early (SIGTERM): SeaweedFS is still stopped and its folder removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(f"load average {' '.join(f'{n:.2f}' for n in os.getloadavg())} at the start")
    with tempfile.TemporaryDirectory(prefix="sohoa-session-bench-") as home:
        run(Path(home), args.scans, not args.no_chart)
    print(f"load average {' '.join(f'{n:.2f}' for n in os.getloadavg())} at the end")


if __name__ == "__main__":
    main()
