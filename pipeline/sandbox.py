"""Contain untrusted decoding inside the worker child: a memory ceiling and a deadline; no I/O.

Measured on the 2-core machine (24 MP RGB TIFF, warm): decoding in the worker child costs
0.16 CPU-s; decoding in a forked child per scan and sending the pixels back over a pipe costs
0.59 CPU-s, i.e. most of the 0.6 CPU-s per-scan budget. So the sandbox is the Celery prefork
child itself: `limit_memory` caps its data segment when it starts (a bomb then raises
MemoryError instead of waking the OOM killer), `deadline` turns a decode that runs too long
into DECODE_TIMEOUT, the worker turns Celery's soft time limit into `Interrupted`, Celery's hard
time limit kills a child stuck inside C code, and the delivery counter quarantines a file that
kills its child again and again (WORKER_LOST). No Celery type here: the worker translates.
"""

from __future__ import annotations

import ctypes
import functools
import resource
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import FrameType
from typing import Final, cast

from pipeline.errors import DecodeTimeoutError

MIB = 1024 * 1024


class Interrupted(BaseException):
    """The caller stopped the work in progress (a worker past its soft time limit).

    A BaseException, as KeyboardInterrupt is: no `except Exception` on its way (a service's
    catch-all for bugs, a parser's careless handler) can take it for a fault of the file.
    """


# What `sohoa worker` asks of glibc's malloc (read at start-up only, hence a re-exec):
# - hugetlb=1: transparent huge pages for the heap, 512× fewer page faults on big buffers;
# - mmap_max=0: buffers above 32 MB (a 24 MP scan's bytes and pixels are 72 MB each) come
#   from the heap, not from a fresh mmap that is unmapped on free and faulted in again,
#   zeroed page by page, for the next scan;
# - trim_threshold: the heap is not shrunk after each scan, so the next one reuses it warm.
# Measured in bench-e2e --mode pinned (24 MP TIFF, 60 scans, caches dropped, alternating):
# with these three 0.489 and 0.492 worker CPU-s per scan, with huge pages alone 0.568 and
# 0.571; peak RSS 273 and 263 MB. A heap kept whole could grow after a larger scan:
# `release_memory_above` bounds it after each task (mixed 24/100 MP scans stayed at 542 MB).
WORKER_MALLOC_TUNABLES: Final = {
    "glibc.malloc.hugetlb": "1",
    "glibc.malloc.mmap_max": "0",
    "glibc.malloc.trim_threshold": str(4 * 1024 * MIB),
}
# A worker child gives its free heap back after a task once its data segment (what
# RLIMIT_DATA counts) is above this, or above half its memory ceiling if that is lower: a
# 24 MP scan peaks near 275 MB resident, a 100 MP one near 540 MB. After a decode that met
# the ceiling, the heap would otherwise stay at the ceiling, and the next allocations that
# cannot come from it (a thread's stack, say) would fail.
KEEP_HEAP_MB: Final = 1024


def with_worker_malloc(environ: Mapping[str, str]) -> dict[str, str] | None:
    """The environment to start a worker in with `WORKER_MALLOC_TUNABLES`, or None when
    `environ` already names every one of them.

    A tunable already in GLIBC_TUNABLES is left as it is (=0 turns huge pages off, for one).
    A glibc that does not know a tunable (hugetlb came in 2.35) or no glibc ignores it.
    """
    current = environ.get("GLIBC_TUNABLES", "")
    named = {part.split("=", 1)[0] for part in current.split(":") if part}
    missing = [f"{k}={v}" for k, v in WORKER_MALLOC_TUNABLES.items() if k not in named]
    if not missing:
        return None
    tunables = ":".join([current, *missing] if current else missing)
    return {**environ, "GLIBC_TUNABLES": tunables}


def data_segment_mb() -> float:
    """This process's data segment (VmData: what RLIMIT_DATA limits) in MB; 0 if unknown."""
    try:
        with open("/proc/self/status", "rb") as handle:
            for line in handle:
                if line.startswith(b"VmData:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def heap_ceiling_mb() -> float:
    """Where `release_memory_above` is called with in a worker child (see KEEP_HEAP_MB)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_DATA)
    if soft == resource.RLIM_INFINITY:
        return float(KEEP_HEAP_MB)
    return min(float(KEEP_HEAP_MB), soft / MIB / 2)


def release_memory_above(megabytes: float) -> bool:
    """Give the free part of malloc's heap back to the system when the data segment is above
    `megabytes`. Returns whether it was asked to (glibc's malloc_trim; elsewhere a no-op)."""
    if data_segment_mb() <= megabytes:
        return False
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(None)
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return cast(Callable[[int], int], trim)


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
    except Interrupted:
        # The worker's soft limit, arriving while decoding: the same verdict as our own deadline.
        expired = True
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    if expired:
        raise decode_timeout_error(name, seconds)
