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
import json
from pipeline.sandbox import release_memory_above, resident_mb
start = resident_mb()
block = b"\\x01" * (300 * 1024 * 1024)
full = resident_mb()
del block
kept = resident_mb()
untouched = release_memory_above(kept + 100)
asked = release_memory_above(start + 50)
print(json.dumps({"start": start, "full": full, "kept": kept, "untouched": untouched,
                  "asked": asked, "after": resident_mb()}))
"""


def test_a_freed_buffer_stays_for_the_next_scan_until_the_heap_is_given_back():
    env = with_worker_malloc(os.environ)
    assert env is not None or ALL in os.environ.get("GLIBC_TUNABLES", "")
    run = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True
    )
    seen = json.loads(run.stdout)
    assert seen["full"] - seen["start"] > 290, seen
    # With the tunables, freeing 300 MB keeps it in the heap (default malloc would unmap it).
    assert seen["kept"] - seen["start"] > 290, seen
    assert seen["untouched"] is False
    assert seen["asked"] is True
    assert seen["after"] < seen["start"] + 50, seen
