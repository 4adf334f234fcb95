"""Rewrite the table of tests/support/durations.py from a run's `--durations` report, so the
order `--dist loadgroup` hands tests out in follows the suite as it is, not as it was.

    make test PYTEST_ARGS="-p no:cacheprovider --durations=250" | tee run.txt
    python -m tests.tools.durations_table run.txt            # rewrite the table
    python -m tests.tools.durations_table run.txt --print    # only show it

Each test's setup, call and teardown are summed; tests of at least --min seconds are listed,
longest first, in whole seconds. Only the order depends on these figures (a test missing from
the table still runs, just not first).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "tests" / "support" / "durations.py"
LINE = re.compile(r"^\s*(\d+(?:\.\d+)?)s (setup|call|teardown)\s+(\S+)\s*$")
BLOCK = re.compile(r"(SECONDS: dict\[str, float\] = \{\n)(.*?)(\n\})", re.S)


def summed(report: str) -> dict[str, float]:
    """Seconds per node id, its phases summed, from pytest's `slowest durations` lines."""
    seconds: dict[str, float] = defaultdict(float)
    for line in report.splitlines():
        if found := LINE.match(line):
            seconds[found[3]] += float(found[1])
    return dict(seconds)


def table_lines(seconds: dict[str, float], least: float) -> list[str]:
    chosen = sorted(
        ((s, node) for node, s in seconds.items() if s >= least), key=lambda x: (-x[0], x[1])
    )
    return [f'    "{node}": {round(s)},' for s, node in chosen]


def rewrite(text: str, lines: list[str]) -> str:
    if not BLOCK.search(text):
        raise SystemExit(f"{TABLE}: no `SECONDS: dict[str, float] = {{` block to rewrite")
    return BLOCK.sub(lambda m: m[1] + "\n".join(lines) + m[3], text, count=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="pytest's output, with --durations=N")
    parser.add_argument("--min", type=float, default=6.0, help="least seconds listed [6]")
    parser.add_argument("--print", action="store_true", help="print the table, change nothing")
    args = parser.parse_args(argv)
    seconds = summed(args.report.read_text("utf-8", "replace"))
    if not seconds:
        print(f"{args.report}: no `--durations` lines found", file=sys.stderr)
        return 1
    lines = table_lines(seconds, args.min)
    if args.print:
        print("\n".join(lines))
        return 0
    TABLE.write_text(rewrite(TABLE.read_text("utf-8"), lines), "utf-8")
    print(f"{TABLE.relative_to(ROOT)}: {len(lines)} tests of {args.min:g} s or more")
    return 0


if __name__ == "__main__":
    sys.exit(main())
