"""A bounded reader of TIFF structures (TIFF files and EXIF blocks); checks every offset."""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Final

from pipeline.core.metadata.text import MAX_RAW_TEXT, Notes, clean_text, decode_text

_MAX_IFD_ENTRIES: Final = 1000
MAX_PAGES: Final = 10_000
RESOLUTION_UNITS: Final = {1: "none", 2: "inch", 3: "cm"}

_TYPE_SIZES: Final = {
    1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8,
    11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8,
}  # fmt: skip
_INT_FORMATS: Final = {1: "B", 3: "H", 4: "I", 6: "b", 8: "h", 9: "i", 13: "I", 16: "Q", 17: "q"}


@dataclass(frozen=True)
class Entry:
    """One IFD entry: its field type, value count and where its value sits."""

    type: int
    count: int
    pos: int  # where the value's bytes start in the buffer


class BadTiff(ValueError):
    """The bytes do not start with a TIFF header."""


class TiffReader:
    """Follows IFDs in a TIFF-structured buffer, checking every offset against its length."""

    def __init__(self, buf: bytes, label: str, notes: Notes) -> None:
        self.buf, self.label, self.notes = buf, label, notes
        if len(buf) < 8 or buf[:2] not in (b"II", b"MM"):
            raise BadTiff(f"{label}: no TIFF header")
        self.order = "<" if buf[:2] == b"II" else ">"
        magic = self._unpack("H", 2)
        self.big = magic == 43
        if magic == 42:
            self.first = self._unpack("I", 4)
        elif self.big and len(buf) >= 16:
            self.first = self._unpack("Q", 8)
        else:
            raise BadTiff(f"{label}: unknown TIFF version {magic}")

    def _unpack(self, fmt: str, pos: int) -> int:
        value: int = struct.unpack_from(self.order + fmt, self.buf, pos)[0]
        return value

    def next_ifd(self, offset: int) -> int:
        """The offset of the IFD after the one at `offset` (0 at the end of the chain)."""
        count_size, entry_size, pointer = (8, 20, "Q") if self.big else (2, 12, "I")
        if offset <= 0 or offset + count_size > len(self.buf):
            return 0
        count = self._unpack("Q" if self.big else "H", offset)
        end = offset + count_size + count * entry_size
        if end + (8 if self.big else 4) > len(self.buf):
            return 0
        return self._unpack(pointer, end)

    def read_ifd(self, offset: int, name: str) -> dict[int, Entry]:
        """The entries of one IFD; entries that point outside the data are left out, noted."""
        count_size, entry_size = (8, 20) if self.big else (2, 12)
        inline = 8 if self.big else 4
        if offset <= 0 or offset + count_size > len(self.buf):
            self.notes.add(
                f"{self.label}: the {name} starts at byte {offset:,}, past the end of the "
                f"{len(self.buf):,}-byte block; it is ignored."
            )
            return {}
        count = self._unpack("Q" if self.big else "H", offset)
        room = (len(self.buf) - offset - count_size) // entry_size
        if count > room or count > _MAX_IFD_ENTRIES:
            self.notes.add(
                f"{self.label}: the {name} declares {count:,} entries but only "
                f"{min(room, _MAX_IFD_ENTRIES):,} are read (the block is truncated or damaged)."
            )
            count = min(room, _MAX_IFD_ENTRIES)
        entries: dict[int, Entry] = {}
        outside = 0
        for index in range(count):
            at = offset + count_size + index * entry_size
            tag, kind = self._unpack("H", at), self._unpack("H", at + 2)
            size = _TYPE_SIZES.get(kind)
            if size is None:
                continue
            number = self._unpack("Q" if self.big else "I", at + 4)
            value_at = at + (12 if self.big else 8)
            total = size * number
            pos = value_at if total <= inline else self._unpack("Q" if self.big else "I", value_at)
            if pos + total > len(self.buf):
                outside += 1
                continue
            entries.setdefault(tag, Entry(kind, number, pos))
        if outside:
            self.notes.add(
                f"{self.label}: {outside} tag(s) of the {name} point past the end of the data "
                "(a truncated or damaged block); they are ignored."
            )
        return entries

    def count_pages(self) -> tuple[int, bool]:
        """Walk the IFD chain: (pages, whether the walk ended cleanly)."""
        seen: set[int] = set()
        offset = self.first
        while offset and len(seen) < MAX_PAGES:
            if offset in seen or offset >= len(self.buf):
                return len(seen), False
            seen.add(offset)
            offset = self.next_ifd(offset)
        return len(seen), offset == 0

    def ints(self, entry: Entry | None, limit: int = 16) -> list[int]:
        if entry is None or entry.type not in _INT_FORMATS:
            return []
        n = min(entry.count, limit)
        return list(
            struct.unpack_from(f"{self.order}{n}{_INT_FORMATS[entry.type]}", self.buf, entry.pos)
        )

    def first_int(self, entry: Entry | None) -> int | None:
        values = self.ints(entry, 1)
        return values[0] if values else None

    def numbers(self, entry: Entry | None, limit: int = 16) -> list[float | None]:
        """Rationals as floats (None for a zero denominator), integers and floats as they are."""
        if entry is None:
            return []
        n = min(entry.count, limit)
        if entry.type in (5, 10):
            code = "I" if entry.type == 5 else "i"
            pairs = struct.unpack_from(f"{self.order}{2 * n}{code}", self.buf, entry.pos)
            return [p / q if q else None for p, q in zip(pairs[::2], pairs[1::2], strict=True)]
        if entry.type in (11, 12):
            floats = struct.unpack_from(
                f"{self.order}{n}{'f' if entry.type == 11 else 'd'}", self.buf, entry.pos
            )
            return [float(v) if math.isfinite(v) else None for v in floats]
        return [float(v) for v in self.ints(entry, limit)]

    def first_number(self, entry: Entry | None) -> float | None:
        values = self.numbers(entry, 1)
        return values[0] if values else None

    def raw(self, entry: Entry | None, limit: int) -> bytes:
        if entry is None:
            return b""
        size = _TYPE_SIZES[entry.type] * entry.count
        return self.buf[entry.pos : entry.pos + min(size, limit)]

    def text(self, entry: Entry | None, field: str) -> str | None:
        """An ASCII (or, as written in practice, UTF-8) value up to its first NUL, cleaned."""
        if entry is None or entry.type not in (1, 2, 7):
            return None
        raw = self.raw(entry, MAX_RAW_TEXT).split(b"\0", 1)[0]
        length = entry.count if entry.count > MAX_RAW_TEXT else 0
        return clean_text(decode_text(raw), field, self.notes, length=length)
