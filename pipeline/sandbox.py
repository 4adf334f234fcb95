"""Contain untrusted decoding inside the worker child: a memory ceiling and a deadline; no I/O.

Measured on the 2-core machine (24 MP RGB TIFF, warm): decoding in the worker child costs
0.16 CPU-s; decoding in a forked child per scan and sending the pixels back over a pipe costs
0.59 CPU-s, i.e. most of the 0.6 CPU-s per-scan budget. So the sandbox is the Celery prefork
child itself: `limit_memory` caps its data segment when it starts (a bomb then raises
MemoryError instead of waking the OOM killer), `deadline` turns a decode that runs too long
into DECODE_TIMEOUT, Celery's hard time limit kills a child stuck inside C code, and the
delivery counter quarantines a file that kills its child again and again (WORKER_LOST).
"""

from __future__ import annotations

import resource
import signal
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import FrameType

from billiard.exceptions import SoftTimeLimitExceeded

from pipeline.errors import DecodeTimeoutError

MIB = 1024 * 1024


HUGE_PAGES_TUNABLE = "glibc.malloc.hugetlb"


def with_huge_pages(environ: Mapping[str, str]) -> dict[str, str] | None:
    """The environment to start a worker in so that glibc's malloc asks the kernel for
    transparent huge pages (THP), or None when `environ` already says (either way).

    A scan's buffers are large and fresh each time (72 MB read, full-size masks and copies);
    with 4 KB pages, faulting them in costs ~20 ms per 72 MB, more once the page cache is full.
    Measured in paired `make bench-e2e --mode pinned` runs: 0.05-0.06 CPU-s less per 24 MP
    scan (0.797 → 0.747, 0.782 → 0.722). Where THP is off, or glibc older than 2.35 or not
    glibc at all, the setting is ignored. Opt out with GLIBC_TUNABLES=glibc.malloc.hugetlb=0.
    """
    current = environ.get("GLIBC_TUNABLES", "")
    if HUGE_PAGES_TUNABLE in current:
        return None
    tunables = ":".join(part for part in (current, f"{HUGE_PAGES_TUNABLE}=1") if part)
    return {**environ, "GLIBC_TUNABLES": tunables}


def limit_memory(megabytes: int) -> int | None:
    """Cap this process's data segment (RLIMIT_DATA) at `megabytes`; 0 leaves it alone.

    RLIMIT_DATA rather than RLIMIT_AS: since Linux 4.7 it counts the private writable mappings
    where pixels live, and not the address space glibc reserves per thread (a worker child
    reserved 1.4 GB of address space for 0.6 GB of data after one 24 MP scan). Only the soft
    limit is lowered. Returns the limit now in force, in bytes (None: unlimited).
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if megabytes > 0:
        wanted = megabytes * MIB
        if hard != resource.RLIM_INFINITY:
            wanted = min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_DATA, (wanted, hard))
        soft = wanted
    return None if soft == resource.RLIM_INFINITY else soft


def decode_timeout_error(name: str, seconds: float) -> DecodeTimeoutError:
    """The DECODE_TIMEOUT a file gets when decoding it outlives `seconds`."""
    return DecodeTimeoutError(
        f"File {name!r} took longer than {seconds:g} s to decode, so it was set aside (a damaged "
        "file can make a decoder loop): export it again from the original; if the scan is "
        "genuine and simply huge, raise SOHOA_DECODE_TIMEOUT.",
        file=name,
    )


@contextmanager
def deadline(seconds: float | None, *, name: str) -> Iterator[None]:
    """Raise DecodeTimeoutError in the block once `seconds` of wall time have passed.

    A SIGALRM timer: it interrupts Python code between bytecodes and Pillow between the chunks
    it feeds its decoders, but not a single C call that never returns (Celery's hard time
    limit is the backstop for that). Outside the main thread (where signals cannot be
    handled) it does nothing. If code in the block swallows the error, it is raised again on
    the way out: an expired deadline always ends the attempt.
    """
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return
    expired = False

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        nonlocal expired
        expired = True
        raise decode_timeout_error(name, seconds)

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except SoftTimeLimitExceeded:
        # Celery's soft limit, arriving while decoding: the same verdict as our own deadline.
        expired = True
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    if expired:
        raise decode_timeout_error(name, seconds)
