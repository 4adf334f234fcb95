"""Find the files of an ingest and sum up what became of them; plain paths and result dicts,
no broker and no storage."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.core.naming import is_ignored_name
from pipeline.services.source import why_not_regular


@dataclass
class FileSelection:
    """The files to ingest (absolute, sorted) and the ones skipped on purpose, with why."""

    files: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    missing: list[Path] = field(default_factory=list)


def collect_files(paths: list[Path]) -> FileSelection:
    """Expand files and folders (recursively); skip temporary, system and hidden files, and
    anything that is not a regular file: a symbolic link (to a file, a folder, or nowhere), a
    FIFO, a socket, a device is never opened, whether found in a folder or named (a shell's
    `drop/*` names every entry). A caller that means to follow one named folder resolves it."""
    selection = FileSelection()
    seen: set[Path] = set()
    for given in paths:
        if not os.path.lexists(given):
            selection.missing.append(given)
            continue
        if given.is_symlink() and given.is_dir():
            key = given.parent.resolve() / given.name
            selection.skipped.append((key, f"a link to a folder: {_NOT_FOLLOWED}"))
            continue
        candidates = walk_folder(given, selection.skipped) if given.is_dir() else [given]
        for path in candidates:
            # The folder's own links are resolved, never the entry's: a link keeps its name.
            key = path.parent.resolve() / path.name
            if key in seen:
                continue
            seen.add(key)
            why = why_skipped(path)
            if why is None:
                selection.files.append(key)
            else:
                selection.skipped.append((key, why))
    selection.files.sort()
    return selection


def why_skipped(path: Path) -> str | None:
    """Why a file found for an ingest is not sent (from its name and its own entry, never
    opened); None for a scan to send."""
    if is_ignored_name(path.name):
        return "temporary, system, hidden or a spreadsheet"
    try:
        return why_not_regular(path)
    except OSError:
        return "gone before it could be looked at"


def walk_folder(
    folder: Path, skipped: list[tuple[Path, str]], *, leave: frozenset[Path] = frozenset()
) -> list[Path]:
    """Every entry under `folder` but folders (links and FIFOs included, for the caller to
    judge), sorted; hidden folders, quarantine/ and done/ (and `leave`, resolved) not entered,
    and a link to a folder not followed but added to `skipped` with why."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        base = Path(root)
        kept = []
        for name in sorted(dirs):
            path = base / name
            if name.startswith(".") or name in ("quarantine", "done"):
                continue  # never a quarantine/done folder inside a drop folder
            if path.is_symlink():
                skipped.append((base.resolve() / name, f"a link to a folder: {_NOT_FOLLOWED}"))
            elif not leave or path.resolve() not in leave:
                kept.append(name)
        dirs[:] = kept
        found.extend(base / name for name in sorted(files))
    return found


_NOT_FOLLOWED = "links are never followed; copy the files themselves into the folder"


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
