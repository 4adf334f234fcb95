"""Catch what C libraries print on stderr while a file is decoded, for the scan's warnings.

libtiff (inside Pillow) writes its errors and warnings straight to file descriptor 2
("tempfile.tif: WEBP compression support is not configured"), and so may libjpeg or libheif:
no Python handler sees them, and they reached the terminal of `sohoa inspect`/`process` and
the worker's log raw. While a file is decoded, descriptor 2 points at a temporary file (not a
pipe, which a chatty library could fill and block on); afterwards its lines become warnings,
deduplicated and stripped of reprs. One decode at a time per process, as the worker child,
`inspect` and `process` do: another thread's stderr in that window would be caught too, and
a second thread that decodes meanwhile leaves descriptor 2 alone (it is never restored wrong).
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from pipeline.core.decode_check import plain_text, unique

_MAX_BYTES = 64 * 1024
_MAX_LINES = 20
_HELD = threading.Lock()


@contextmanager
def capture_native_stderr() -> Iterator[list[str]]:
    """Yield a list that, once the block ends, holds what was printed on descriptor 2."""
    lines: list[str] = []
    if not _HELD.acquire(blocking=False):  # another thread is capturing: leave fd 2 to it
        yield lines
        return
    try:
        with _redirected(lines):
            yield lines
    finally:
        _HELD.release()


@contextmanager
def _redirected(lines: list[str]) -> Iterator[None]:
    _flush()
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all: nothing to catch
        yield
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            _flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            text = sink.read(_MAX_BYTES).decode("utf-8", "replace")
            said = unique(plain_text(line) for line in text.splitlines())
            lines.extend(f"decoder said: {line}" for line in said[:_MAX_LINES] if line)


def _flush() -> None:
    with suppress(AttributeError, OSError, ValueError):
        sys.stderr.flush()
