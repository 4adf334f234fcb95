"""Where SeaweedFS's CPU goes: a Go CPU profile (`weed -cpuprofile`) read without `go tool pprof`.

`make bench-e2e E2E_ARGS="--weed-profile var/bench/weed.prof"` has the benchmark's SeaweedFS
write one; `python -m tests.bench.e2e_pprof FILE` prints it again. A profile is a gzipped
protocol buffer (github.com/google/pprof, proto/profile.proto); only the fields read here are
decoded: samples (location ids, values), locations (their functions), functions (their names)
and the string table.
"""

from __future__ import annotations

import gzip
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

# What a share of the CPU is spent on: the first frame (leaf first) whose name contains one.
GROUPS = {
    "MD5 (ETag, chunk and needle checksums)": ("crypto/md5.",),
    "SHA-256 (x-amz-checksum-sha256, SigV4)": ("sha256.",),
    "CRC32 (needle checksums)": ("hash/crc32.",),
    "system calls (network, volume file writes)": ("syscall.", "internal/poll."),
    "zeroing and copying memory": ("runtime.memclr", "runtime.memmove"),
    "garbage collection": ("runtime.gcBgMarkWorker", "runtime.gcDrain", "runtime.bgsweep"),
}
# The request handlers (any frame of a sample).
HANDLERS = {
    "volume server writes (chunks, needles)": "VolumeServer).PostHandler",
    "volume server reads": "VolumeServer).GetOrHeadHandler",
    "S3 PutObject": "S3ApiServer).PutObjectHandler",
    "S3 GetObject": "S3ApiServer).GetObjectHandler",
    "S3 HeadObject": "S3ApiServer).HeadObjectHandler",
    "S3 CopyObject": "S3ApiServer).CopyObjectHandler",
    "S3 ListObjects": "S3ApiServer).ListObjects",
    "filer CreateEntry": "Filer).CreateEntry",
    "filer AssignVolume": "FilerServer).AssignVolume",
    "filer metadata subscriptions": "Subscribe",
}


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def _fields(data: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    i = 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == 0:
            value, i = _varint(data, i)
        elif wire == 2:
            size, i = _varint(data, i)
            value, i = data[i : i + size], i + size
        elif wire == 1:
            value, i = data[i : i + 8], i + 8
        elif wire == 5:
            value, i = data[i : i + 4], i + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        yield number, wire, value


def _ints(value: int | bytes) -> list[int]:
    """A repeated integer field, packed or not."""
    if isinstance(value, int):
        return [value]
    out, i = [], 0
    while i < len(value):
        number, i = _varint(value, i)
        out.append(number)
    return out


def read_profile(path: Path) -> tuple[list[tuple[list[str], int]], int]:
    """Each sample's stack (leaf first) and CPU nanoseconds, and the total nanoseconds."""
    data = gzip.decompress(path.read_bytes())
    strings: list[str] = []
    raw_samples: list[tuple[list[int], list[int]]] = []
    locations: dict[int, list[int]] = {}
    functions: dict[int, int] = {}
    for number, _, value in _fields(data):
        if not isinstance(value, bytes):
            continue
        if number == 6:
            strings.append(value.decode(errors="replace"))
        elif number == 2:
            ids: list[int] = []
            values: list[int] = []
            for field, _, item in _fields(value):
                (ids if field == 1 else values if field == 2 else []).extend(_ints(item))
            raw_samples.append((ids, values))
        elif number == 4:
            location = 0
            lines: list[int] = []
            for field, _, item in _fields(value):
                if field == 1 and isinstance(item, int):
                    location = item
                elif field == 4 and isinstance(item, bytes):
                    lines.extend(f for n, _, f in _fields(item) if n == 1 and isinstance(f, int))
            locations[location] = lines
        elif number == 5:
            function = name = 0
            for field, _, item in _fields(value):
                if field == 1 and isinstance(item, int):
                    function = item
                elif field == 2 and isinstance(item, int):
                    name = item
            functions[function] = name
    samples = []
    for ids, values in raw_samples:
        stack = [strings[functions[f]] for loc in ids for f in locations.get(loc, [])]
        # sample_type is [samples/count, cpu/nanoseconds]: the last value is the CPU time.
        samples.append((stack, values[-1] if values else 0))
    return samples, sum(v for _, v in samples)


def summarise(path: Path, top: int = 12) -> str:
    samples, total = read_profile(path)
    if not total:
        return f"{path}: no samples"
    flat: Counter[str] = Counter()
    groups: Counter[str] = Counter()
    handlers: Counter[str] = Counter()
    md5_callers: Counter[str] = Counter()
    for stack, value in samples:
        if stack:
            flat[stack[0]] += value
        if stack and stack[0].startswith("crypto/md5."):
            # The first frame outside md5 and io (tee readers): who hashes (one pass each).
            caller = next(
                (f for f in stack if not f.startswith(("crypto/md5.", "io.", "bytes."))),
                "(unknown)",
            )
            depth = sum(1 for f in stack if f == "io.(*teeReader).Read")
            md5_callers[
                f"{caller.rsplit('/', 1)[-1]}" + (f" (tee depth {depth})" if depth else "")
            ] += value
        group = next(
            (
                name
                for frame in stack
                for name, marks in GROUPS.items()
                if any(mark in frame for mark in marks)
            ),
            "everything else",
        )
        groups[group] += value
        for name, mark in HANDLERS.items():
            if any(mark in frame for frame in stack):
                handlers[name] += value
    lines = [f"SeaweedFS CPU profile {path}: {total / 1e9:.2f} CPU-s sampled"]
    lines.append("  by kind of work:")
    lines += [f"    {v / total:6.1%}  {k}" for k, v in groups.most_common()]
    lines.append("  by request handler (a sample may count under two):")
    lines += [f"    {v / total:6.1%}  {k}" for k, v in handlers.most_common()]
    lines.append("  MD5 by caller (each is a pass over the bytes):")
    lines += [f"    {v / total:6.1%}  {k}" for k, v in md5_callers.most_common(6)]
    lines.append(f"  top {top} functions (flat):")
    lines += [f"    {v / total:6.1%}  {k}" for k, v in flat.most_common(top)]
    return "\n".join(lines)


if __name__ == "__main__":
    for arg in sys.argv[1:] or ["var/bench/weed.prof"]:
        print(summarise(Path(arg)))
