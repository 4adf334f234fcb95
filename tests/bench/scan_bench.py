"""`make bench`: per-scan cost on fixed generated scans, beside a libvips reference; prints figures.

Not a test: nothing here asserts a time. Each measurement runs in a fresh process so that its
peak RSS is its own, and times a second run (a worker is warm). CPU seconds are the figure to
trust on a shared machine; each is the minimum of SOHOA_BENCH_REPEAT runs (default 3).
Results go to var/bench/scan.json as well.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "var" / "bench"
SCANS = {
    "24MP-8bit-tiff": (6000, 4000, "tiff8"),
    "24MP-16bit-adobe-tiff": (6000, 4000, "tiff16"),
    "24MP-jpeg-exif6": (6000, 4000, "jpeg"),
    "100MP-8bit-tiff": (12248, 8165, "tiff8"),
}
REPEAT = int(os.environ.get("SOHOA_BENCH_REPEAT", "3"))


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

    OUT.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, (width, height, kind) in SCANS.items():
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


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


MEASURES = {"derivatives": "measure_pipeline", "tiles": "measure_pipeline", "hash": "measure_hash",
            "vips": "measure_vips"}  # fmt: skip
LABELS = {"derivatives": "sohoa, 3 sizes", "tiles": "sohoa, all+tiles", "hash": "hashing only",
          "vips": "libvips, 3 sizes"}  # fmt: skip


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
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, env=env, check=True)  # fmt: skip
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def best(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: round(min(run[key] for run in runs), 3) for key in runs[0]}


def main() -> None:
    try:
        import pyvips  # noqa: F401

        has_vips = True
    except (ImportError, OSError):
        has_vips = False
    paths = make_scans()
    results = {}
    print(f"{'scan':<24}{'mode':<18}{'wall s':>8}{'cpu s':>8}{'MP/s/core':>11}{'peak MB':>9}")
    for name, path in paths.items():
        width, height, _ = SCANS[name]
        megapixels = width * height / 1e6
        results[name] = {}
        for kind in ("derivatives", "tiles", "hash") + (("vips",) if has_vips else ()):
            figures = best([run_child(kind, path) for _ in range(REPEAT)])
            figures["mp_per_cpu_s"] = round(megapixels / max(figures["cpu"], 1e-3), 1)
            results[name][kind] = figures
            print(f"{name:<24}{LABELS[kind]:<18}{figures['wall']:>8.2f}{figures['cpu']:>8.2f}"
                  f"{figures['mp_per_cpu_s']:>11.1f}{figures['rss_mb']:>9.0f}")  # fmt: skip
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
            print(f"{'':<24}{'sohoa / libvips':<18}{wall_ratio:>7.2f}×{ratio:>7.2f}×"
                  f"   without hashing: {image_cpu / vips_cpu:.2f}×")  # fmt: skip
    per_scan = results["24MP-8bit-tiff"]["tiles"]["cpu"]
    hash_cpu = results["24MP-8bit-tiff"]["hash"]["cpu"]
    rate = 2 * 3600 / per_scan
    print(f"\n24 MP 8-bit TIFF, all work incl. tiles: {per_scan:.2f} CPU-s per scan "
          f"({hash_cpu:.2f} of it hashing), so {rate:,.0f} scans/h of compute on "
          "2 cores (upload not included)")  # fmt: skip
    (OUT / "scan.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"figures written to {OUT / 'scan.json'}")


if __name__ == "__main__":
    main()
