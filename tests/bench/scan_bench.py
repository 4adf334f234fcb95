"""`make bench`: per-scan cost on fixed generated scans, beside a libvips reference; prints figures.

Two kinds of input, printed apart: the smooth sRGB scans (the best case: no colour conversion,
little detail for the JPEG encoder) and realistic captures (tests/bench/captures.py: noise,
texture, a chart and a scale bar, in Adobe RGB, eciRGB v2 or sRGB, 8 and 16 bits, and a JPEG
with EXIF orientation 6), which are what a museum's camera delivers.

Not a test: nothing here asserts a time. Each measurement runs in a fresh process so that its
peak RSS is its own, and times a second run (a worker is warm). The process runs as a worker
child does: one OpenCV thread, and glibc's malloc tuned as `sohoa worker` tunes it
(`pipeline/sandbox.py`; SOHOA_BENCH_MALLOC=plain measures without, as before 2026-12-03). CPU
seconds are the figure to trust on a shared machine; each is the minimum of
SOHOA_BENCH_REPEAT runs (default 3), taken in rounds over every measurement so that figures
compared with each other see the same drift of the load; the load average is printed at the
start, after each round and at the end.
Results go to var/bench/scan.json as well. `--help` lists the options (`--targets`: only issue
#14's captures; `--scans`, `--repeat`, `--no-vips`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import tifffile
from PIL import Image

from pipeline.sandbox import with_worker_malloc

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "var" / "bench"
SCANS = {
    "24MP-8bit-tiff": (6000, 4000, "tiff8"),
    "24MP-16bit-adobe-tiff": (6000, 4000, "tiff16"),
    "24MP-jpeg-exif6": (6000, 4000, "jpeg"),
    "100MP-8bit-tiff": (12248, 8165, "tiff8"),
    # Realistic captures (tests/bench/captures.py), 24 MP each.
    "24MP-srgb8-capture": (6000, 4000, "srgb8"),
    "24MP-adobe8-capture": (6000, 4000, "adobe8"),
    "24MP-eci8-capture": (6000, 4000, "eci8"),
    "24MP-adobe16-capture": (6000, 4000, "adobe16"),
    "24MP-adobe-jpeg6-capture": (6000, 4000, "adobe-jpeg6"),
}
INPUTS = {
    "tiff8": "smooth sRGB-untagged 8-bit TIFF (best case)",
    "tiff16": "smooth 16-bit Adobe RGB TIFF",
    "jpeg": "smooth untagged JPEG q92, EXIF 6",
    "srgb8": "capture, sRGB 8-bit TIFF (no conversion)",
    "adobe8": "capture, Adobe RGB 8-bit TIFF",
    "eci8": "capture, eciRGB v2 8-bit TIFF",
    "adobe16": "capture, Adobe RGB 16-bit TIFF",
    "adobe-jpeg6": "capture, Adobe RGB JPEG q95, EXIF 6",
}
# Issue #14's targets, printed beside the figures (not asserted: this is no test).
TARGETS = {
    "24MP-adobe8-capture": 0.50,
    "24MP-adobe16-capture": 0.75,
    "24MP-adobe-jpeg6-capture": 0.55,
}
REPEAT = int(os.environ.get("SOHOA_BENCH_REPEAT", "3"))
MALLOC = os.environ.get("SOHOA_BENCH_MALLOC", "worker")
# SOHOA_BENCH_SCANS=name,name… measures only those scans (e.g. the four targets' captures and
# 24MP-srgb8-capture); every scan by default.
ONLY = [name for name in os.environ.get("SOHOA_BENCH_SCANS", "").split(",") if name]
RSS_TARGET_MB = 350  # issue #14: peak RSS per worker child at 24 MP (0.35 GB)


def texture(width: int, height: int, seed: int = 7) -> np.ndarray:
    """A photograph-like field: smooth shading, an object, fine detail and sensor noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = 0.45 + 0.1 * (x / width) - 0.05 * (y / height)
    cx, cy, r = width / 2, height / 2, min(width, height) / 3
    inside = ((x - cx) / r) ** 2 + ((y - cy) / (1.3 * r)) ** 2 < 1
    rgb = np.stack([base, base, base], axis=-1)
    rgb[inside] = [0.75, 0.55, 0.35]
    rgb += (0.03 * np.sin(x / 3.0) * np.cos(y / 5.0))[..., None]
    rgb += rng.normal(0, 0.01, rgb.shape).astype(np.float32)
    return np.clip(rgb, 0, 1)


def make_scans() -> dict[str, Path]:
    from pipeline.samples.icc import encode_adobe_rgb16, make_adobe_rgb_profile
    from tests.bench.captures import write_captures

    OUT.mkdir(parents=True, exist_ok=True)
    captures = {name: kind for name, (_, _, kind) in SCANS.items() if name.endswith("-capture")}
    paths = write_captures(OUT, 6000, 4000, captures)
    for name, (width, height, kind) in SCANS.items():
        if name in captures:
            continue
        suffix = "jpg" if kind == "jpeg" else "tif"
        path = OUT / f"BENCH.{name}_front_1.{suffix}"
        paths[name] = path
        if path.exists():
            continue
        rgb = texture(width, height)
        if kind == "tiff8":
            tifffile.imwrite(path, (rgb * 255 + 0.5).astype(np.uint8), photometric="rgb")
        elif kind == "tiff16":
            tifffile.imwrite(
                path,
                encode_adobe_rgb16(rgb),
                photometric="rgb",
                extratags=[(34675, 7, None, make_adobe_rgb_profile(), False)],
            )
        else:
            exif = Image.Exif()
            exif[0x0112] = 6
            picture = Image.fromarray((rgb * 255 + 0.5).astype(np.uint8)).rotate(90, expand=True)
            picture.save(path, "JPEG", quality=92, exif=exif.tobytes())
    return paths


def measure_pipeline(path: str, tiles: bool) -> dict[str, float]:
    """One scan through prepare_scan (what a worker computes), in this process.

    A worker is a long-lived process: one untimed run first (imports, lazy initialisation of
    OpenCV and LittleCMS), then the timed one, which reads and hashes the bytes as ingest does.
    """
    import cv2

    from config.profile import load_profile
    from config.settings import DEFAULT_PROFILE
    from pipeline.core.fixity import digest_bytes
    from pipeline.core.scan import prepare_scan

    cv2.setNumThreads(1)  # as in a worker child: one per core
    profile = load_profile(DEFAULT_PROFILE)

    def run() -> None:
        data = Path(path).read_bytes()
        digest = digest_bytes(data)
        iiif_id = f"http://127.0.0.1:8333/sohoa/iiif/{digest.sha256}" if tiles else None
        prepare_scan(data, name=Path(path).name, view="front", profile=profile, iiif_id=iiif_id)

    run()
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}


def measure_hash(path: str) -> dict[str, float]:
    """Hashing the bytes alone (SHA-256 for identity, MD5 for the record), as ingest does
    before prepare_scan: in "all work", but not image work, and libvips does not do it."""
    from pipeline.core.fixity import digest_bytes

    data = Path(path).read_bytes()
    digest_bytes(data)
    wall, cpu = time.perf_counter(), time.process_time()
    digest_bytes(data)
    return {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}


def measure_vips(path: str) -> dict[str, float]:
    """libvips' reference: thumbnail (shrink-on-load, orient, sRGB) to the same three sizes."""
    import pyvips

    def run() -> None:
        for size in (3000, 1200, 400):
            image = pyvips.Image.thumbnail(path, size, size=pyvips.enums.Size.DOWN,
                                           export_profile="srgb")  # fmt: skip
            image.jpegsave_buffer(Q=90, interlace=True, subsample_mode="on")

    run()
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}


def measure_conversion(path: str) -> dict[str, float]:
    """The full-size conversion to sRGB alone (decoded pixels in, 8-bit sRGB out): the tables
    for a matrix/TRC profile, and LittleCMS through Pillow on the same pixels for comparison."""
    import cv2

    from pipeline.core.imaging import _top_sample_value, decode_scan
    from pipeline.core.srgb import srgb_converter

    cv2.setNumThreads(1)
    data = Path(path).read_bytes()
    scan = decode_scan(data, name=Path(path).name, max_pixels=10**9)
    samples = scan.samples if scan.samples is not None else np.asarray(scan.image)
    top = int(_top_sample_value(samples, scan)) if samples.dtype == np.uint16 else None
    eight = samples if samples.dtype == np.uint8 else (samples >> 8).astype(np.uint8)
    result: dict[str, float] = {}
    for label, fast in (("tables", True), ("littlecms", False)):
        convert = srgb_converter(scan.icc, grey=False, warnings_out=[], fast=fast)
        assert convert is not None
        pixels = samples if fast else eight  # Pillow's LittleCMS takes 8 bits only
        args = (pixels, top) if fast and top else (pixels,)
        convert(*args)
        times = []
        for _ in range(5 if fast else 2):  # the fastest of a few: the others were interrupted
            cpu = time.process_time()
            convert(*args)
            times.append(time.process_time() - cpu)
        result[f"{label}_cpu"] = min(times)
    result["cpu"] = result["tables_cpu"]
    result["wall"] = float("nan")
    return result


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


MEASURES = {"derivatives": "measure_pipeline", "tiles": "measure_pipeline", "hash": "measure_hash",
            "vips": "measure_vips", "convert": "measure_conversion"}  # fmt: skip
LABELS = {"derivatives": "sohoa, 3 sizes", "tiles": "sohoa, all+tiles", "hash": "hashing only",
          "vips": "libvips, 3 sizes", "convert": "sRGB tables only"}  # fmt: skip


def run_child(kind: str, path: Path) -> dict[str, float]:
    """Run one measurement in a fresh interpreter and read its peak RSS."""
    function = MEASURES[kind]
    extra = f", {kind == 'tiles'}" if function == "measure_pipeline" else ""
    code = (
        f"import json; from tests.bench.scan_bench import {function}, peak_rss_mb; "
        f"r = {function}({str(path)!r}{extra}); "
        "r['rss_mb'] = peak_rss_mb(); "
        "print(json.dumps(r))"
    )
    env = dict(os.environ, OMP_NUM_THREADS="1", VIPS_CONCURRENCY="1")
    if MALLOC != "plain":
        env = with_worker_malloc(env) or env
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, env=env, check=True)  # fmt: skip
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def best(runs: list[dict[str, float]]) -> dict[str, float]:
    """Times: the minimum of the runs (the least disturbed); peak memory: the maximum, since a
    worker's limit must hold for its worst scan, not its luckiest."""
    return {
        key: round((max if key == "rss_mb" else min)(run[key] for run in runs), 3)
        for key in runs[0]
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench.scan_bench",
        description="Per-scan CPU seconds and peak RSS on generated 24/100 MP scans and "
        "realistic captures, beside libvips (figures, not a test).",
    )
    parser.add_argument(
        "--scans",
        default=",".join(ONLY),
        metavar="NAME,...",
        help=f"only these scans (default: all; env SOHOA_BENCH_SCANS): {', '.join(SCANS)}",
    )
    parser.add_argument(
        "--targets",
        action="store_true",
        help="only issue #14's captures: " + ", ".join(TARGET_SCANS),
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=REPEAT,
        help="rounds; each figure is the minimum (env SOHOA_BENCH_REPEAT)",
    )
    parser.add_argument("--no-vips", action="store_true", help="skip the libvips reference")
    return parser.parse_args(argv)


# The captures issue #14's targets are printed for (`--targets`).
TARGET_SCANS = [*TARGETS, "24MP-srgb8-capture"]


def main() -> None:
    global REPEAT
    args = parse_args()
    REPEAT = max(1, args.repeat)
    only = TARGET_SCANS if args.targets else [n for n in args.scans.split(",") if n]
    unknown = [name for name in only if name not in SCANS]
    if unknown:
        raise SystemExit(f"unknown scan(s): {', '.join(unknown)}; known: {', '.join(SCANS)}")
    try:
        import pyvips  # noqa: F401

        has_vips = not args.no_vips
    except (ImportError, OSError):
        has_vips = False
    paths = make_scans()
    if only:
        paths = {name: path for name, path in paths.items() if name in only}
    results: dict[str, Any] = {"_meta": {"malloc": MALLOC, "load_start": os.getloadavg()}}
    print(
        f"{load_line()}; children run as a worker child "
        f"({'plain malloc' if MALLOC == 'plain' else 'with the worker malloc tunables'})"
    )
    jobs = [
        (name, mode)
        for name in paths
        for mode in ["derivatives", "tiles", "hash"]
        + (["vips"] if has_vips else [])
        + (["convert"] if SCANS[name][2] not in ("tiff8", "jpeg", "srgb8") else [])
    ]
    # Round after round over every measurement, not one measurement's runs in a row: the load
    # of a shared machine drifts, and figures compared with each other (Adobe RGB against
    # sRGB) then see the same spread of it.
    runs: dict[tuple[str, str], list[dict[str, float]]] = {job: [] for job in jobs}
    for round_ in range(1, REPEAT + 1):
        for name, mode in jobs:
            runs[name, mode].append(run_child(mode, paths[name]))
        print(f"round {round_} of {REPEAT} done ({len(jobs)} measurements); {load_line()}",
              flush=True)  # fmt: skip
    print(f"{'scan':<26}{'mode':<18}{'wall s':>8}{'cpu s':>8}{'MP/s/core':>11}{'peak MB':>9}")
    for name in paths:
        width, height, kind = SCANS[name]
        megapixels = width * height / 1e6
        results[name] = {"input": INPUTS[kind]}
        print(f"-- {name}: {INPUTS[kind]}")
        for mode in [mode for job, mode in jobs if job == name]:
            figures = best(runs[name, mode])
            figures["mp_per_cpu_s"] = round(megapixels / max(figures["cpu"], 1e-3), 1)
            results[name][mode] = figures
            print(f"{name:<26}{LABELS[mode]:<18}{figures['wall']:>8.2f}{figures['cpu']:>8.2f}"
                  f"{figures['mp_per_cpu_s']:>11.1f}{figures['rss_mb']:>9.0f}")  # fmt: skip
            if mode == "convert":
                lcms = megapixels / max(figures["littlecms_cpu"], 1e-3)
                print(f"{'':<26}{'LittleCMS (Pillow)':<18}{'':>8}{figures['littlecms_cpu']:>8.2f}"
                      f"{lcms:>11.1f}   (8-bit, same pixels)")  # fmt: skip
        if has_vips:
            vips_cpu = results[name]["vips"]["cpu"]
            ratio = results[name]["derivatives"]["cpu"] / vips_cpu
            results[name]["ratio_to_vips_cpu"] = round(ratio, 2)
            wall_ratio = results[name]["derivatives"]["wall"] / results[name]["vips"]["wall"]
            results[name]["ratio_to_vips_wall"] = round(wall_ratio, 2)
            # The derivatives' own work (decode, orient, sRGB, three sizes, encode, plus the
            # checks and tags) against libvips': the same job without the hashing.
            image_cpu = results[name]["derivatives"]["cpu"] - results[name]["hash"]["cpu"]
            results[name]["image_work_ratio_to_vips_cpu"] = round(image_cpu / vips_cpu, 2)
            print(f"{'':<26}{'sohoa / libvips':<18}{wall_ratio:>7.2f}×{ratio:>7.2f}×"
                  f"   without hashing: {image_cpu / vips_cpu:.2f}×")  # fmt: skip
    if "24MP-8bit-tiff" in results:
        per_scan = results["24MP-8bit-tiff"]["tiles"]["cpu"]
        hash_cpu = results["24MP-8bit-tiff"]["hash"]["cpu"]
        rate = 2 * 3600 / per_scan
        print(f"\n24 MP 8-bit TIFF (smooth sRGB, the best case), all work incl. tiles: "
              f"{per_scan:.2f} CPU-s per scan ({hash_cpu:.2f} of it hashing), so {rate:,.0f} "
              "scans/h of compute on 2 cores (upload not included)")  # fmt: skip
    if all(name in results for name in [*TARGETS, "24MP-srgb8-capture"]):
        print_targets(results)
    results["_meta"]["load_end"] = os.getloadavg()
    print(load_line())
    (OUT / "scan.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"figures written to {OUT / 'scan.json'}")


def load_line() -> str:
    one, five, fifteen = os.getloadavg()
    return (f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores "
            f"at {time.strftime('%Y-%m-%d %H:%M:%S')}")  # fmt: skip


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def print_targets(results: dict[str, Any]) -> None:
    """Issue #14's targets on the realistic captures, beside the figures measured now."""
    print("\nissue #14 targets, 24 MP realistic captures, all work incl. tiles and hashing, "
          "one core; CPU the minimum of the runs, peak RSS the maximum "
          "(figure, target: verdict):")  # fmt: skip
    for name, target in TARGETS.items():
        cpu = results[name]["tiles"]["cpu"]
        input_ = results[name]["input"]
        print(f"  {input_ + ':':<44}{cpu:5.2f} CPU-s  (≤ {target:.2f}: {verdict(cpu <= target)})")
    srgb = results["24MP-srgb8-capture"]["tiles"]["cpu"]
    extra = results["24MP-adobe8-capture"]["tiles"]["cpu"] - srgb
    print(f"  {'Adobe RGB 8-bit over the same in sRGB:':<44}{extra:+5.2f} CPU-s  (≤ +0.15: "
          f"{verdict(extra <= 0.15)}; the sRGB capture {srgb:.2f})")  # fmt: skip
    rate = 24.0 / max(results["24MP-adobe8-capture"]["convert"]["cpu"], 1e-3)
    print(f"  {'conversion to sRGB, 8-bit Adobe RGB:':<44}{rate:5.0f} MP/s per core  (≥ 300: "
          f"{verdict(rate >= 300)})")  # fmt: skip
    for name in [*TARGETS, "24MP-srgb8-capture"]:
        rss = results[name]["tiles"]["rss_mb"]
        label = f"peak RSS, {results[name]['input'].removeprefix('capture, ')}:"
        print(f"  {label:<44}{rss:5.0f} MB  (≤ {RSS_TARGET_MB}: {verdict(rss <= RSS_TARGET_MB)})")
    print("  end to end on the Adobe RGB 8-bit capture, upload included (≥ 4,000 scans/h with "
          "SeaweedFS on the same 2 cores; a pinned worker ≤ 0.60 CPU-s per scan): measured by "
          "`make bench-e2e-adobe`, not here")  # fmt: skip


if __name__ == "__main__":
    main()
