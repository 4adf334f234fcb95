"""Read a scan file and hash it on another thread, while the caller does something else (a
fresh `sohoa inspect` imports its libraries meanwhile); light on purpose: the standard library
only, so that it starts before the heavy imports do.

Reading releases the GIL, and so does hashlib on buffers of more than 2 KiB: on a machine with
two cores the file's bytes and digests are ready when the imports are done.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path

# Both hashes take each piece while it is in the cache: one pass over the bytes.
_HASH_PIECE = 4 << 20


@dataclass(frozen=True)
class FileRead:
    """One file as read: its size, and its bytes and digests unless it was over the limit."""

    size: int
    data: bytes | None
    sha256: str | None
    md5: str | None


def read_and_hash(path: Path, *, limit: int | None = None, md5: bool = True) -> FileRead:
    """`path`'s size, bytes, SHA-256 and (with `md5`) MD5, in one pass over the bytes; a file
    larger than `limit` bytes is not read (its size says why). OSError propagates."""
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        if limit is not None and size > limit:
            return FileRead(size=size, data=None, sha256=None, md5=None)
        data = file.read()
    sha = hashlib.sha256()
    other = hashlib.md5(usedforsecurity=False) if md5 else None
    view = memoryview(data)
    for start in range(0, len(data), _HASH_PIECE):
        piece = view[start : start + _HASH_PIECE]
        sha.update(piece)
        if other is not None:
            other.update(piece)
    view.release()
    return FileRead(
        size=len(data),
        data=data,
        sha256=sha.hexdigest(),
        md5=other.hexdigest() if other is not None else None,
    )


class ReadAhead:
    """`read_and_hash(path, ...)` started on a thread now; `result()` waits for it (and raises
    its OSError)."""

    def __init__(self, path: Path, *, limit: int | None = None, md5: bool = True) -> None:
        self._read: FileRead | None = None
        self._error: OSError | None = None
        self._done = threading.Event()

        def work() -> None:
            try:
                self._read = read_and_hash(path, limit=limit, md5=md5)
            except OSError as exc:
                self._error = exc
            finally:
                self._done.set()

        threading.Thread(target=work, name="sohoa-read-ahead", daemon=True).start()

    def result(self) -> FileRead:
        """The file as read, once it is (its OSError raised here)."""
        self._done.wait()
        if self._error is not None:
            raise self._error
        assert self._read is not None
        return self._read
