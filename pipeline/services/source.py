"""Open a dropped file only as what it is, a regular file, never through a link; no decoding."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

from pipeline.errors import NotRegularFileError

# O_NOFOLLOW: a link as the last component fails with ELOOP instead of being followed.
# O_NONBLOCK: a FIFO swapped in after the check cannot make the open wait for a writer.
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


def describe_kind(mode: int) -> str | None:
    """What a non-regular file is, in words ('a symbolic link', 'a FIFO'…); None if regular."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def why_not_regular(path: Path) -> str | None:
    """Why `path` is not a scan to read, from its own entry (lstat: a link is not followed);
    None for a regular file. FileNotFoundError when it is gone."""
    mode = path.lstat().st_mode
    kind = describe_kind(mode)
    if kind is None:
        return None
    if stat.S_ISLNK(mode):
        return f"{kind}: links are never followed; copy the file itself into the folder"
    return f"{kind}, not a regular file"


def open_source(path: Path) -> BinaryIO:
    """`path` opened for reading, proven a regular file and the very entry that was looked at.

    The entry is checked before any open (a device is never opened), then opened without
    following a link, and the open file is compared with the entry (device and inode): a link or
    a FIFO swapped in between is refused, not read. NotRegularFileError names the file and the
    remedy; FileNotFoundError when it is gone.
    """
    before = path.lstat()
    if describe_kind(before.st_mode) is not None:
        raise _not_regular(path, before.st_mode)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # it became a link after the check
            raise _not_regular(path, stat.S_IFLNK) from None
        raise
    opened = os.fstat(fd)
    if describe_kind(opened.st_mode) is not None or (opened.st_dev, opened.st_ino) != (
        before.st_dev,
        before.st_ino,
    ):
        os.close(fd)
        raise _not_regular(path, opened.st_mode)
    return os.fdopen(fd, "rb")


def _not_regular(path: Path, mode: int) -> NotRegularFileError:
    kind = describe_kind(mode) or "a file replaced while it was being opened"
    if stat.S_ISLNK(mode):
        with contextlib.suppress(OSError):
            kind = f"{kind} to {os.readlink(path)!r}"
        remedy = (
            "Sohoa never follows links, so nothing was read from where it points: copy the "
            "scan itself into the folder and drop it again."
        )
    else:
        remedy = "only regular files are read: drop the scan itself as a file."
    return NotRegularFileError(f"File {path.name!r} is {kind}; {remedy}", file=path.name)
