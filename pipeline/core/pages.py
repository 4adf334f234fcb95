"""Full-size pixel arrays in pages of their own, outside malloc's heap; pure, no I/O.

A worker's malloc never maps and never trims (`pipeline/sandbox.py`: glibc.malloc.mmap_max=0,
a 4 GB trim threshold, for speed), so every array comes from one heap that only grows. A
full-size copy (72 MB for 24 MP of RGB) needs one free stretch that long; the blocks a scan
leaves behind (the decoder's pieces, caches, small survivors) split the heap's free space, and
a copy that finds no such stretch extends the heap, and every later scan's peak RSS with it
(a JPEG capture: 312 MB on its first scan, 362 MB from its second). The upright copy of a
Pillow-decoded scan is therefore mapped on its own: its pages go back to the system the moment
it is freed. Faulting them in costs about what reusing the heap does once the kernel has huge
pages free (30 against 26 ms for the copy, measured in a warm worker); when it must compact
memory first, the first scans after a start pay more (~0.1 s, seen once or twice).
Used only where it pays: the sRGB conversion's output, mapped the same way, gained no RSS.
"""

from __future__ import annotations

import contextlib
import math
import mmap
from typing import Any, Final

import numpy as np

# Below this, an array comes from malloc as usual: small arrays fit the heap's free space.
MIN_BYTES: Final = 16 << 20


def empty(shape: tuple[int, ...], dtype: Any) -> np.ndarray[Any, Any]:
    """`np.empty(shape, dtype)`: in an anonymous mapping of its own when it is large."""
    kind = np.dtype(dtype)
    count = math.prod(shape)
    size = count * kind.itemsize
    if size < MIN_BYTES:
        return np.empty(shape, kind)
    # Private: a shared anonymous mapping is shmem, which takes no huge pages and faults in at
    # seven times the cost (32 against 4.5 ms for 72 MB, measured).
    pages = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    with contextlib.suppress(AttributeError, OSError, ValueError):
        pages.madvise(mmap.MADV_HUGEPAGE)
    return np.frombuffer(pages, kind, count).reshape(shape)


def owns_pages(array: np.ndarray[Any, Any]) -> bool:
    """Whether `array` is a whole array of `empty`'s mapping or owns its memory (not a view of
    some other array's or object's bytes): it may then be overwritten in place."""
    if array.flags.owndata:
        return True
    base = array.base
    while isinstance(base, np.ndarray):
        if base.nbytes != array.nbytes:
            return False
        base = base.base
    if isinstance(base, memoryview):  # np.frombuffer keeps the buffer's memoryview
        base = base.obj
    return isinstance(base, mmap.mmap) and len(base) == array.nbytes
