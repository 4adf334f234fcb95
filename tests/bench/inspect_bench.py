"""`sohoa inspect` as a photographer runs it: a fresh process per run, wall and CPU time.

Not a test: nothing here asserts a time. Inputs (generated once into var/bench/ by the scan
bench's capture renderer): the 24 MP Adobe RGB 8-bit TIFF with a chart and the same capture as
a JPEG q95 with EXIF orientation 6. Each run is `sohoa inspect FILE` (text, as a photographer
reads it, and `--json`) in a fresh interpreter, timed from outside: wall time, the child's
user+sys CPU time from wait4(), and its main thread's CPU time (the critical path: the wall
time of an idle machine with a core free for the helper thread). With `--against DIR` (a
checkout of another version, e.g. `git archive HEAD~3 | tar -x -C /tmp/before`), the runs
alternate between the two trees, so that a shared machine's load falls on both alike; the
median and minimum of each series are printed, with the load.

    .venv/bin/python -m tests.bench.inspect_bench [--runs 5] [--against /tmp/before]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from tests.bench.captures import write_captures
from tests.bench.scan_bench import OUT, ROOT

CAPTURES = {"24MP-adobe8-capture": "adobe8", "24MP-adobe-jpeg6-capture": "adobe-jpeg6"}
LABELS = {
    "24MP-adobe8-capture": "Adobe RGB 8-bit TIFF, chart",
    "24MP-adobe-jpeg6-capture": "Adobe RGB JPEG q95 EXIF 6, chart",
}


# `python -m pipeline.cli inspect FILE`, and at its exit the main thread's own CPU time: the
# critical path, what the wall time is on an idle machine whose other core is free (the wall
# time of a shared machine's run also holds the waits for other processes).
_RUN = (
    "import atexit, runpy, sys, time\n"
    "atexit.register(lambda: print('main-thread-cpu', time.thread_time(), file=sys.stderr))\n"
    "sys.argv = ['sohoa', *sys.argv[1:]]\n"
    "runpy.run_module('pipeline.cli', run_name='__main__')\n"
)


def run_once(
    tree: Path, path: Path, as_json: bool, compile_each: bool
) -> tuple[float, float, float]:
    """(wall s, user+sys CPU s, main thread CPU s) of one fresh `sohoa inspect` in `tree`."""
    command = [sys.executable, "-c", _RUN, "inspect", str(path)]
    if as_json:
        command.append("--json")
    # `-m` puts the working directory first on sys.path: `tree`'s own code runs. Compiled
    # modules are kept, as an installed `sohoa` keeps them (a shell with PYTHONDONTWRITEBYTECODE
    # set would compile Sohoa's ~200 modules from source in every run: 0.2 CPU-s).
    env = dict(os.environ, PYTHONPATH=str(tree))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if compile_each:  # as this machine's shells run it: Sohoa's own modules compiled every run
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        for package in ("pipeline", "config", "schemas"):
            for cache in (tree / package).rglob("__pycache__"):
                shutil.rmtree(cache, ignore_errors=True)
    started = time.perf_counter()
    child = subprocess.Popen(
        command, cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert child.stderr is not None
    said = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode not in (0, 1):
        raise SystemExit(f"{command} exited {child.returncode}: {said}")
    main = float(said.rsplit("main-thread-cpu", 1)[1].split()[0])
    return wall, usage.ru_utime + usage.ru_stime, main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--against", type=Path, help="another checkout, run alternately")
    parser.add_argument("--json-only", action="store_true", help="only `inspect --json`")
    parser.add_argument(
        "--compile-each", action="store_true",
        help="no compiled modules kept (PYTHONDONTWRITEBYTECODE, as in this machine's shells)",
    )  # fmt: skip
    args = parser.parse_args()
    paths = write_captures(OUT, 6000, 4000, CAPTURES)
    trees = {"this": ROOT}
    if args.against is not None:
        trees = {"before": args.against.resolve(), "this": ROOT}
    modes = [True] if args.json_only else [False, True]
    print(f"load average {' '.join(f'{n:.2f}' for n in os.getloadavg())} at the start")
    for name, path in paths.items():
        for as_json in modes:
            series: dict[str, list[tuple[float, float, float]]] = {tree: [] for tree in trees}
            for where in trees.values():
                # Compiles what changed (unless --compile-each); not counted.
                run_once(where, path, as_json, args.compile_each)
            for _ in range(args.runs):
                for tree, where in trees.items():
                    series[tree].append(run_once(where, path, as_json, args.compile_each))
            for tree, runs in series.items():
                walls, cpus, mains = (list(column) for column in zip(*runs, strict=True))
                print(
                    f"{LABELS[name]:<34} {'--json' if as_json else 'text':<6} {tree:<6} "
                    f"wall median {statistics.median(walls):.2f} s (min {min(walls):.2f}), "
                    f"CPU {statistics.median(cpus):.2f} ({min(cpus):.2f}), "
                    f"main thread {statistics.median(mains):.2f} ({min(mains):.2f})"
                )
    print(f"load average {' '.join(f'{n:.2f}' for n in os.getloadavg())} at the end")


if __name__ == "__main__":
    main()
