"""Many small reads from storage at once: the services' one way to overlap round trips."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Reads in flight at once: each is a small request, mostly waiting on the network.
READERS = 8


def read_each(
    read: Callable[[T], R], items: Iterable[T], *, name: str, readers: int = READERS
) -> Iterator[R]:
    """`read(item)` for every item, in the items' order, `readers` at a time; an exception
    `read` raises is raised here, at its item. Every item is taken at once: pass a list, not
    an endless iterator."""
    with ThreadPoolExecutor(readers, thread_name_prefix=name) as pool:
        yield from pool.map(read, items)
