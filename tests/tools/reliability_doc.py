"""Render docs/RELIABILITY.md from the test suite, so the promises and their proofs cannot drift.

Every test that proves a fault or bad-input case says so in its docstring:

    Fault: what breaks (may continue on the next lines).
    Outcome: the promised end state, checked by the test (may continue too).

A docstring may hold several Fault/Outcome pairs (one per case of a parametrized test). Tests
whose files do not carry the convention yet are cited in CITED below; a cited test that
disappears, or that gains its own Fault line, stops the renderer, so the citation cannot rot.

    python -m tests.tools.reliability_doc            # rewrite docs/RELIABILITY.md
    python -m tests.tools.reliability_doc --check    # exit 1 if it is stale (what CI checks)
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "RELIABILITY.md"
TESTS = ROOT / "tests"

# Files in reading order, under a heading each; any other file with entries follows, by name.
SECTIONS: list[tuple[str, list[str]]] = [
    (
        "Bad files",
        [
            "tests/integration/test_bad_inputs_worker.py",
            "tests/unit/test_bad_inputs.py",
            "tests/integration/test_containment.py",
            "tests/integration/test_worker_lost.py",
        ],
    ),
    (
        "Processes and the broker",
        [
            "tests/integration/test_process_faults.py",
            "tests/integration/test_batch.py",
            "tests/integration/test_worker_startup.py",
        ],
    ),
    (
        "Storage",
        [
            "tests/integration/test_s3_faults.py",
            "tests/integration/test_storage_outage.py",
            "tests/integration/test_cluster_fault.py",
            "tests/integration/test_embedded.py",
            "tests/integration/test_backbone.py",
        ],
    ),
    (
        "Input: the quarantine folder, links, names",
        ["tests/integration/test_input_faults.py", "tests/unit/test_input_entries.py"],
    ),
    ("Fixity", ["tests/integration/test_audit.py"]),
    ("Security", ["tests/integration/test_security.py"]),
]

# Existing tests that prove a case of issue #7 without carrying the docstring convention.
CITED: dict[str, list[tuple[str, str]]] = {
    "tests/integration/test_worker_lost.py::"
    "test_a_file_that_keeps_killing_its_worker_is_quarantined_as_worker_lost": [
        (
            "A file kills its worker child (SIGKILL while decoding) on every delivery.",
            "Tried SOHOA_MAX_DELIVERIES (3) times, then quarantined as WORKER_LOST with a "
            "message saying so; nothing half-stored (no master, scan or record; `sohoa show` "
            "says no record); the worker keeps serving.",
        )
    ],
    "tests/integration/test_worker_startup.py::test_a_redis_that_may_evict_keys_is_refused": [
        (
            "Redis is configured to evict keys (maxmemory-policy allkeys-lru).",
            "The worker refuses to start (exit 2), naming the policy and `noeviction`.",
        )
    ],
    "tests/integration/test_worker_startup.py::"
    "test_wrong_storage_credentials_are_refused_without_showing_them": [
        (
            "Wrong S3 credentials at worker start.",
            "The worker refuses to start (exit 2), names SOHOA_S3_SECRET_KEY, never prints the "
            "secret.",
        )
    ],
    "tests/integration/test_worker_startup.py::"
    "test_a_time_limit_beyond_the_visibility_timeout_is_refused": [
        (
            "A task time limit at or above the broker's visibility timeout (a running task "
            "would be handed to a second worker).",
            "Refused at start (exit 2) with the settings to change.",
        )
    ],
    "tests/integration/test_backbone.py::test_many_views_of_one_artefact_at_once_are_all_listed": [
        (
            "Twenty views of one artefact processed concurrently by two workers (four children).",
            "The record lists all twenty (compare-and-swap on the record's ETag).",
        )
    ],
    "tests/integration/test_backbone.py::test_ingesting_twice_changes_nothing": [
        (
            "The same folder ingested twice.",
            "The second run stores nothing new and changes no byte in the bucket.",
        )
    ],
    "tests/integration/test_backbone.py::test_bad_files_are_quarantined_with_code_and_remedy": [
        (
            "Empty, not-an-image, truncated JPEG and a decompression-bomb PNG in one drop.",
            "Each quarantined with its code (EMPTY_FILE, NOT_AN_IMAGE, TRUNCATED, PIXEL_LIMIT) "
            "and a message naming the file; sources kept; nothing of them in the bucket; the "
            "worker keeps serving.",
        )
    ],
}

_LABEL = re.compile(r"^(Fault|Outcome):\s*(.*)$")


class DocError(Exception):
    """The suite's fault docstrings cannot be rendered (a missing Outcome, a stale citation)."""


@dataclass(frozen=True)
class Entry:
    test: str  # tests/…/test_x.py::test_name
    fault: str
    outcome: str

    @property
    def path(self) -> str:
        return self.test.split("::")[0]


def parse_docstring(doc: str, where: str) -> list[tuple[str, str]]:
    """The Fault/Outcome pairs of one docstring, continuation lines joined."""
    pairs: list[tuple[str, str]] = []
    fields: list[list[str]] = []  # [label, text] in order of appearance
    current: list[str] | None = None
    for raw in doc.splitlines():
        line = raw.strip()
        match = _LABEL.match(line)
        if match:
            current = [match.group(1), match.group(2)]
            fields.append(current)
        elif not line:
            current = None
        elif current is not None:
            current[1] = f"{current[1]} {line}".strip()
    labels = [label for label, _ in fields]
    if labels != ["Fault", "Outcome"] * (len(labels) // 2) or len(labels) % 2:
        raise DocError(f"{where}: every 'Fault:' needs one 'Outcome:' right after it")
    for i in range(0, len(fields), 2):
        pairs.append((fields[i][1], fields[i + 1][1]))
    return pairs


def collect(root: Path = ROOT) -> list[Entry]:
    """Every Fault/Outcome entry in the suite's test functions, plus the citations."""
    entries: list[Entry] = []
    found_tests: set[str] = set()
    for path in sorted((root / "tests").rglob("test_*.py")):
        rel = path.relative_to(root).as_posix()
        tree = ast.parse(path.read_text("utf-8"), filename=rel)
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if not node.name.startswith("test_"):
                continue
            test = f"{rel}::{node.name}"
            found_tests.add(test)
            doc = ast.get_docstring(node) or ""
            if "Fault:" not in doc:
                continue
            if test in CITED:
                raise DocError(f"{test} now states its own Fault: remove it from CITED")
            entries.extend(Entry(test, f, o) for f, o in parse_docstring(doc, test))
    for test, pairs in CITED.items():
        if test not in found_tests:
            raise DocError(f"{test} is cited in tests/tools/reliability_doc.py but is gone")
        entries.extend(Entry(test, f, o) for f, o in pairs)
    return entries


def _cell(text: str) -> str:
    text = text[:1].upper() + text[1:]
    return text.replace("|", "\\|").replace("\n", " ")


def render(entries: list[Entry]) -> str:
    by_path: dict[str, list[Entry]] = {}
    for entry in entries:
        by_path.setdefault(entry.path, []).append(entry)
    placed = {p for _, paths in SECTIONS for p in paths}
    sections = [(title, [p for p in paths if p in by_path]) for title, paths in SECTIONS]
    others = sorted(p for p in by_path if p not in placed)
    if others:
        sections.append(("Other cases", others))
    lines = [
        "# Reliability: every fault, what Sohoa promises, and the test that proves it",
        "",
        "Generated from the test suite by `make reliability-doc` (tests/tools/reliability_doc.py)",
        "from each test's `Fault:` / `Outcome:` docstring lines; a unit test fails when this file",
        "differs from what the suite says. Do not edit it by hand.",
        "",
        "The integration tests behind these rows break real processes: real Redis, a real",
        "SeaweedFS (with a fault-injecting proxy in front of it, tests/support/s3_proxy.py), and",
        "real `sohoa worker` processes killed with real signals. Each checks the bucket, the",
        "broker and the catalogue, not only the task's result.",
        "",
        f"{len(entries)} cases in {len(by_path)} test files.",
    ]
    for title, paths in sections:
        if not paths:
            continue
        lines += ["", f"## {title}", "", "| Fault | Outcome | Test |", "| --- | --- | --- |"]
        for path in paths:
            for entry in by_path[path]:
                name = entry.test.split("::")[1]
                lines.append(
                    f"| {_cell(entry.fault)} | {_cell(entry.outcome)} | "
                    f"`{path.removeprefix('tests/')}::{name}` |"
                )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    parser.add_argument("--output", type=Path, default=DOC, help="default: docs/RELIABILITY.md")
    args = parser.parse_args(argv)
    try:
        text = render(collect())
    except DocError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        current = args.output.read_text("utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is stale: run `make reliability-doc`", file=sys.stderr)
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, "utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
