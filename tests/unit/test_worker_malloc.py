"""How `sohoa worker` sets glibc's malloc up, and how a child gives a grown heap back."""

import json
import os
import subprocess
import sys

from pipeline.sandbox import WORKER_MALLOC_TUNABLES, with_worker_malloc

ALL = ":".join(f"{k}={v}" for k, v in WORKER_MALLOC_TUNABLES.items())


def test_a_worker_starts_with_every_tunable_unless_told_otherwise():
    assert with_worker_malloc({"PATH": "/bin"}) == {"PATH": "/bin", "GLIBC_TUNABLES": ALL}
    kept = with_worker_malloc({"GLIBC_TUNABLES": "glibc.malloc.arena_max=2"})
    assert kept == {"GLIBC_TUNABLES": f"glibc.malloc.arena_max=2:{ALL}"}
    # One said already (=0 is huge pages' opt-out): kept as said, the others added.
    own = with_worker_malloc({"GLIBC_TUNABLES": "glibc.malloc.hugetlb=0"})
    assert own is not None
    parts = own["GLIBC_TUNABLES"].split(":")
    assert parts[0] == "glibc.malloc.hugetlb=0" and "glibc.malloc.hugetlb=1" not in parts
    assert {p.split("=")[0] for p in parts} == set(WORKER_MALLOC_TUNABLES)
    # All said: started as is, so the re-exec happens once.
    assert with_worker_malloc({"GLIBC_TUNABLES": ALL}) is None


CHILD = """
import json, resource
from pipeline.sandbox import data_segment_mb, heap_ceiling_mb, limit_memory, release_memory_above

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20

seen = {"start": rss(), "data_start": data_segment_mb()}
block = b"\\x01" * (300 * 1024 * 1024)
seen["full"] = rss()
del block
seen["kept"], seen["data_kept"] = rss(), data_segment_mb()
seen["untouched"] = release_memory_above(seen["data_kept"] + 100)
seen["asked"] = release_memory_above(seen["data_start"] + 50)
seen["after"] = rss()
seen["ceiling_free"] = heap_ceiling_mb()
limit_memory(1024)
seen["ceiling_limited"] = heap_ceiling_mb()
print(json.dumps(seen))
"""


def test_a_freed_buffer_stays_for_the_next_scan_until_the_heap_is_given_back():
    env = with_worker_malloc(os.environ)
    assert env is not None or ALL in os.environ.get("GLIBC_TUNABLES", "")
    run = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True
    )
    seen = json.loads(run.stdout)
    assert seen["full"] - seen["start"] > 290, seen
    # With the tunables, freeing 300 MB keeps it in the heap (default malloc would unmap it),
    # and it still counts against the memory ceiling (RLIMIT_DATA) until given back.
    assert seen["kept"] - seen["start"] > 290, seen
    assert seen["data_kept"] - seen["data_start"] > 290, seen
    assert seen["untouched"] is False
    assert seen["asked"] is True
    # Its pages are handed back; the heap's end may stay where it is when a small allocation
    # made after the buffer sits above it.
    assert seen["after"] < seen["start"] + 50, seen
    # Under a 1 GB ceiling the heap is given back above half of it, not at the ceiling.
    assert seen["ceiling_free"] == 1024
    assert seen["ceiling_limited"] == 512
