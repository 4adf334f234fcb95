"""Print precision at 3 over the relevance set, by kind of query (`make relevance`)."""

from __future__ import annotations

import tempfile
from collections import defaultdict
from pathlib import Path

from tests.relevance.collection import build_sample_index, judge_all


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        index = build_sample_index(Path(tmp) / "catalogue.sqlite3")
        try:
            judgements = judge_all(index)
        finally:
            index.close()
    by_kind: dict[str, list[float]] = defaultdict(list)
    for j in judgements:
        by_kind[j.kind].append(j.precision)
        if j.precision < 1:
            print(f"  miss: {j.query!r}: top {j.top}, expected {j.expected}")
    print(f"{'kind':<10} {'queries':>7} {'P@3':>6}")
    for kind, values in by_kind.items():
        print(f"{kind:<10} {len(values):>7} {sum(values) / len(values):>6.3f}")
    total = [j.precision for j in judgements]
    print(f"{'all':<10} {len(total):>7} {sum(total) / len(total):>6.3f}")


if __name__ == "__main__":
    main()
