"""Put a rejected file aside with a JSON reason (code, sentence, remedy), whole or not at all;
the source is kept."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from pipeline import __version__
from pipeline.errors import NotRegularFileError, QuarantineUnavailableError, SohoaError
from pipeline.services.source import open_source


def quarantine_file(
    source: Path,
    error: SohoaError,
    *,
    quarantine_dir: Path,
    batch_id: str | None,
    sha256: str | None = None,
    data: bytes | None = None,
) -> Path:
    """Copy `source` into the quarantine folder beside `<name>.reason.json`; return the copy.
    `data`, given, are the file's bytes (a staged file's, read from storage): written as the
    copy instead of reading `source`, which the worker may not see.

    A copy, not a move: the archivist's original stays where it was until they act on it, and
    re-quarantining the same file is idempotent (same bytes, same place). Only a regular file is
    copied, never through a link (a link or a FIFO gets its reason alone). Both files are
    written under temporary names and renamed once whole; when the folder cannot take them
    (full, read-only, not a folder) nothing of this call is left there and
    QuarantineUnavailableError names the file, the folder and the remedy.
    """
    folder = quarantine_dir / to_folder_name(batch_id)
    written: list[Path] = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target = _free_name(folder, _short_name(source.name), sha256)
        reason_path = target.with_name(target.name + ".reason.json")
        if data is None:
            size = _copy_regular(source, target, written)
        else:
            if not os.path.lexists(target):
                written.append(target)
            _write_whole(target, data, written)
            size = len(data)
        reason = build_reason(
            source,
            code=error.code,
            message=error.message,
            sha256=sha256,
            size=size,
            batch_id=batch_id,
        )
        _write_whole(reason_path, reason, written)
    except OSError as exc:
        for path in reversed(written):
            with contextlib.suppress(OSError):
                path.unlink()
        raise quarantine_unavailable(source.name, error, quarantine_dir, exc) from None
    return target


def quarantine_unavailable(
    name: str, error: SohoaError, quarantine_dir: Path, exc: OSError
) -> QuarantineUnavailableError:
    """The failed outcome's error: the file, why it was rejected, why the folder refused it
    (in words, with the errno's name, never a raw OSError text) and what to do."""
    why = _FOLDER_PROBLEMS.get(exc.errno or 0, "refused the copy")
    code = errno.errorcode.get(exc.errno or 0, type(exc).__name__)
    return QuarantineUnavailableError(
        f"File {name!r} was rejected ({error.code}: {error.message}) but the quarantine folder "
        f"{str(quarantine_dir)!r} {why} ({code}), so it could not be set aside there; the "
        "source file is untouched. Fix the folder (SOHOA_QUARANTINE_DIR: space, permissions), "
        "then drop the file again.",
        file=name,
    )


_FOLDER_PROBLEMS = {
    errno.ENOSPC: "is full",
    errno.EDQUOT: "is over its disk quota",
    errno.EROFS: "is on a read-only file system",
    errno.EACCES: "may not be written by the worker",
    errno.EPERM: "may not be written by the worker",
    errno.ENOTDIR: "is not a folder (a file stands in its path)",
    errno.EEXIST: "is not a folder (a file stands in its path)",
    errno.ENAMETOOLONG: "refuses a name that long",
    errno.EIO: "could not be written (an I/O error)",
}

# The longest name derived from a quarantined file's: `NAME.reason.json.part`, and ` (NN)`
# added by free_name. File systems take 255 bytes a name (NAME_MAX).
_NAME_MAX = 255
_SUFFIX_ROOM = len(".reason.json.part") + len(" (9999)")


def _short_name(name: str) -> str:
    """`name`, or one cut to fit the quarantine folder with the suffixes it gets: a 250-byte
    name (legal in the drop folder) would make its `.reason.json` too long. The cut name keeps
    the extension and ends in 8 hex digits of the whole name's hash; the reason keeps it whole."""
    limit = _NAME_MAX - _SUFFIX_ROOM
    encoded = os.fsencode(name)
    if len(encoded) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(os.fsencode(ext)) > 16:
        stem, dot, ext = name, "", ""
    tail = "~" + hashlib.sha256(encoded).hexdigest()[:8] + dot + ext
    room = limit - len(os.fsencode(tail))
    cut = os.fsencode(stem)[:room].decode("utf-8", errors="ignore")
    return cut + tail


def _copy_regular(source: Path, target: Path, written: list[Path]) -> int | None:
    """Copy the source's bytes to `target` through `target.part`; its size, or None when there
    is nothing to copy (gone, unreadable, or not a regular file: a link's target is never
    read). Errors writing `target` propagate: the folder's, not the source's."""
    try:
        handle = open_source(source)
    except (OSError, NotRegularFileError):
        return None
    with handle:
        tmp = target.with_name(target.name + ".part")
        written.append(tmp)
        with _create(tmp) as out:
            shutil.copyfileobj(handle, out, 1 << 20)
            size = out.tell()
        if not os.path.lexists(target):
            written.append(target)
        os.replace(tmp, target)
        written.remove(tmp)
    return size


def _write_whole(path: Path, data: bytes, written: list[Path]) -> None:
    tmp = path.with_name(path.name + ".part")
    written.append(tmp)
    with _create(tmp) as out:
        out.write(data)
    os.replace(tmp, path)
    written.remove(tmp)


def _create(path: Path) -> BinaryIO:
    """A new file at `path` (a leftover of a crash is replaced), never written through a link."""
    path.unlink(missing_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    return os.fdopen(os.open(path, flags, 0o644), "wb")


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
    if sha256 and is_same_file(target, sha256):
        return target
    return free_name(target)


def is_same_file(path: Path, sha256: str) -> bool:
    """Whether `path` is a regular file holding exactly these bytes (a link never is)."""
    try:
        return sha256_of_file(path) == sha256
    except (OSError, NotRegularFileError):
        return False


def free_name(target: Path) -> Path:
    """`target`, or `name (2).ext`, `name (3).ext`… whichever does not exist yet."""
    if not os.path.lexists(target):
        return target
    stem, dot, ext = target.name.rpartition(".")
    for n in range(2, 10_000):
        name = f"{stem} ({n}).{ext}" if dot and stem else f"{target.name} ({n})"
        candidate = target.with_name(name)
        if not os.path.lexists(candidate):
            return candidate
    raise FileExistsError(errno.EEXIST, "too many files of that name", str(target))


def sha256_of_file(path: Path) -> str:
    """The SHA-256 of a regular file, read without following a link (NotRegularFileError)."""
    digest = hashlib.sha256()
    with open_source(path) as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
