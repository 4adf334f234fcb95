"""Find the files of an ingest and sum up what became of them; plain paths and result dicts,
no broker and no storage."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.core.naming import is_ignored_name


@dataclass
class FileSelection:
    """The files to ingest (absolute, sorted) and the ones skipped on purpose, with why."""

    files: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    missing: list[Path] = field(default_factory=list)


def collect_files(paths: list[Path]) -> FileSelection:
    """Expand files and folders (recursively); skip temporary, system and hidden files."""
    selection = FileSelection()
    seen: set[Path] = set()
    for given in paths:
        if not given.exists():
            selection.missing.append(given)
            continue
        candidates = [given] if given.is_file() else _walk(given)
        for path in candidates:
            resolved = path.resolve()
            if resolved in seen:
                continue
            seen.add(resolved)
            if is_ignored_name(path.name):
                selection.skipped.append((resolved, "temporary, system, hidden or a spreadsheet"))
            elif not path.is_file():
                selection.skipped.append((resolved, "not a regular file"))
            else:
                selection.files.append(resolved)
    selection.files.sort()
    return selection


def _walk(folder: Path) -> list[Path]:
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        # Never descend into hidden folders or a quarantine/done folder inside a drop folder.
        dirs[:] = sorted(
            d for d in dirs if not d.startswith(".") and d not in ("quarantine", "done")
        )
        found.extend(Path(root) / name for name in sorted(files))
    return found


@dataclass
class IngestSummary:
    """Counts for the closing lines of an ingest."""

    files: int = 0
    stored: int = 0
    already_stored: int = 0
    quarantined: int = 0
    failed: int = 0
    bytes_stored: int = 0
    objects: set[str] = field(default_factory=set)
    codes: Counter[str] = field(default_factory=Counter)
    qc: Counter[str] = field(default_factory=Counter)
    problems: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.quarantined == 0 and self.failed == 0


def summarise(results: list[dict[str, Any]]) -> IngestSummary:
    summary = IngestSummary(files=len(results))
    for result in results:
        status = result.get("status")
        if status == "stored":
            summary.stored += 1
            summary.already_stored += int(bool(result.get("already_stored")))
            summary.bytes_stored += int(result.get("bytes_stored") or 0)
            if result.get("object"):
                summary.objects.add(result["object"])
            if result.get("qc_verdict"):
                summary.qc[result["qc_verdict"]] += 1
            continue
        if status == "quarantined":
            summary.quarantined += 1
        else:
            summary.failed += 1
        summary.codes[str(result.get("code"))] += 1
        summary.problems.append(result)
    return summary
