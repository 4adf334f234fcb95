"""The one way a test waits for something another process or thread does; never sleeps blindly."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    check: Callable[[], T],
    what: str,
    *,
    timeout: float = 60,
    interval: float = 0.1,
    log: Path | None = None,
) -> T:
    """The first truthy value `check` returns, polled every `interval` seconds; after `timeout`
    seconds an AssertionError naming `what` (with the tail of `log`, when given)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            detail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{detail}")
        time.sleep(interval)
