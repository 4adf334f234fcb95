"""`make bench` (part two): the colour chart's cost per 24 MP scan, with a chart and without.

Not a test: nothing here asserts a time. Inputs, generated once into var/bench/: a 6000×4000
Adobe RGB TIFF with a ColorChecker 30% of the frame wide, turned 8°, with sensor noise (8-bit
and 16-bit), and the scan bench's 24 MP texture without a chart. The figure is the CPU time
(all threads) of `read_chart` on the decoded upright pixels (detection on the reduced copy and
measurement at full resolution and depth), the minimum of SOHOA_BENCH_REPEAT runs (default 5).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np

from pipeline.core.chart import ChartReport
from pipeline.core.imaging import (
    decode_scan,
    displays_from_samples,
    to_upright_pixels,
    to_upright_samples,
)
from pipeline.core.profile import ProcessingProfile
from pipeline.core.scan import read_scan_chart
from pipeline.samples.render.chart import encode_tiff, render_chart_shot
from tests.bench.scan_bench import OUT, texture

REPEAT = int(os.environ.get("SOHOA_BENCH_REPEAT", "5"))


def make_inputs() -> dict[str, Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    inputs: tuple[tuple[str, Literal[8, 16]], ...] = (
        ("24MP-8bit-adobe-chart", 8),
        ("24MP-16bit-adobe-chart", 16),
    )
    for name, depth in inputs:
        path = paths[name] = OUT / f"BENCH.{name}_target_1.tif"
        if not path.exists():
            shot = render_chart_shot(
                (6000, 4000), chart_width=0.3, angle=8.0, noise=2.0, bit_depth=depth, seed=1
            )
            path.write_bytes(encode_tiff(shot))
    path = paths["24MP-8bit-no-chart"] = OUT / "BENCH.24MP-8bit-no-chart_front_1.tif"
    if not path.exists():
        import tifffile

        tifffile.imwrite(path, (texture(6000, 4000) * 255 + 0.5).astype(np.uint8))
    return paths


def measure(path: Path) -> tuple[float, ChartReport]:
    profile = ProcessingProfile()
    decoded = decode_scan(path.read_bytes(), name=path.name, max_pixels=300_000_000)
    # What prepare_scan hands it with tiles: 16-bit samples as they are, else 8 bits.
    if displays_from_samples(decoded):
        pixels: Any = to_upright_samples(decoded)
    else:
        pixels = to_upright_pixels(decoded)[0]
    times = []
    report = None
    for _ in range(REPEAT):
        started = time.process_time()
        report = read_scan_chart(decoded, pixels, profile)
        times.append(time.process_time() - started)
    assert report is not None
    return min(times), report


# Issue #13's targets: detection and measurement per 24 MP scan with a chart; what looking
# costs a scan without one.
TARGETS = {
    "24MP-8bit-adobe-chart": 0.15,
    "24MP-16bit-adobe-chart": 0.15,
    "24MP-8bit-no-chart": 0.05,
}
INPUTS = {
    "24MP-8bit-adobe-chart": "8-bit Adobe RGB TIFF, chart 30% wide, turned 8°, noise",
    "24MP-16bit-adobe-chart": "16-bit Adobe RGB TIFF, chart 30% wide, turned 8°, noise",
    "24MP-8bit-no-chart": "8-bit TIFF without a chart (the smooth texture)",
}


def main() -> None:
    print(
        "\nissue #13 targets, colour chart (read_chart: detection on a reduced copy, "
        f"measurement at full size), CPU-s per 24 MP scan, minimum of {REPEAT} runs:"
    )
    for name, path in make_inputs().items():
        cpu, report = measure(path)
        target = TARGETS[name]
        met = "met" if cpu <= target else "NOT met"
        result = report.message if report.found else "no chart found"
        print(f"  {name:<24}{cpu:6.3f}  (≤ {target:.2f}: {met})  {INPUTS[name]}\n"
              f"  {'':<24}result: {result}")  # fmt: skip


if __name__ == "__main__":
    main()
