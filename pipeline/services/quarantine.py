"""Put a rejected file aside with a JSON reason (code, sentence, remedy); the source is kept."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

from pipeline import __version__
from pipeline.errors import SohoaError


def quarantine_file(
    source: Path,
    error: SohoaError,
    *,
    quarantine_dir: Path,
    batch_id: str | None,
    sha256: str | None = None,
) -> Path:
    """Copy `source` into the quarantine folder beside `<name>.reason.json`; return the copy.

    A copy, not a move: the archivist's original stays where it was until they act on it, and
    re-quarantining the same file is idempotent (same bytes, same place).
    """
    folder = quarantine_dir / to_folder_name(batch_id)
    folder.mkdir(parents=True, exist_ok=True)
    target = _free_name(folder, source.name, sha256)
    if source.exists():
        tmp = target.with_name(target.name + ".part")
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    reason = build_reason(
        source,
        code=error.code,
        message=error.message,
        sha256=sha256,
        size=source.stat().st_size if source.exists() else None,
        batch_id=batch_id,
    )
    target.with_name(target.name + ".reason.json").write_bytes(reason)
    return target


def to_folder_name(batch_id: str | None) -> str:
    """The batch's folder: only letters, digits, '.', '_' and '-', never '..' or a path, so a
    message's batch id cannot place files outside the quarantine folder."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", batch_id or "").lstrip(".-")[:128]
    return safe or "unbatched"


def build_reason(
    source: Path,
    *,
    code: str | None,
    message: str | None,
    sha256: str | None,
    size: int | None,
    batch_id: str | None,
) -> bytes:
    """The `.reason.json` beside a quarantined file (schemas/quarantine.schema.json)."""
    reason = {
        "code": code,
        "message": message,
        "file": str(source),
        "name": source.name,
        "sha256": sha256,
        "size": size,
        "batch_id": batch_id,
        "quarantined_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "pipeline_version": __version__,
    }
    return (json.dumps(reason, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _free_name(folder: Path, name: str, sha256: str | None) -> Path:
    target = folder / name
    # The same file quarantined again lands on itself; a different file of that name does not.
    if target.exists() and sha256 and sha256_of_file(target) == sha256:
        return target
    return free_name(target)


def free_name(target: Path) -> Path:
    """`target`, or `name (2).ext`, `name (3).ext`… whichever does not exist yet."""
    if not target.exists():
        return target
    stem, dot, ext = target.name.rpartition(".")
    for n in range(2, 10_000):
        name = f"{stem} ({n}).{ext}" if dot and stem else f"{target.name} ({n})"
        candidate = target.with_name(name)
        if not candidate.exists():
            return candidate
    raise RuntimeError(f"too many files named {target.name!r} in {target.parent}")


def sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
