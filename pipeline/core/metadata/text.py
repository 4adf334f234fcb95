"""Capped warnings and the cleaning of every string read from a file; no parsing."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Final

MAX_TEXT: Final = 2000  # characters kept per string value
MAX_ITEMS: Final = 100  # items kept per list value
MAX_WARNINGS: Final = 50
MAX_RAW_TEXT: Final = 64 * 1024  # bytes of one binary string read before decoding
MAX_XMP: Final = 16 * 1024 * 1024  # an XMP packet (after inflating) larger than this is refused

# Cc characters other than tab and newline, plus the bidirectional overrides and isolates and the
# BOM: invisible characters that can disguise a value when it is shown in a catalogue.
_UNWANTED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff]")


class Notes:
    """Collects warnings, capped so that a fuzzed file cannot flood the record."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.dropped = 0

    def add(self, text: str) -> None:
        if len(self.items) < MAX_WARNINGS:
            # A warning may quote the file: it is cleaned like any other text from it.
            self.items.append(_UNWANTED.sub("", text)[:500])
        else:
            self.dropped += 1

    def result(self) -> list[str]:
        if self.dropped:
            return [*self.items, f"{self.dropped} further metadata warnings were left out."]
        return list(self.items)


def clean_text(value: str | None, field: str, notes: Notes, *, length: int = 0) -> str | None:
    """NFC, without control characters, trimmed and capped; None when nothing is left.

    `length` is the value's real length when the caller read only its beginning.
    """
    if value is None:
        return None
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    text = _UNWANTED.sub("", unicodedata.normalize("NFC", text)).strip()
    if not text:
        return None
    if len(text) > MAX_TEXT or length > MAX_TEXT:
        notes.add(
            f"{field} was {max(length, len(text)):,} characters long; only the first "
            f"{MAX_TEXT:,} are kept."
        )
        text = text[:MAX_TEXT]
    return text


def clean_texts(values: Iterable[str], field: str, notes: Notes) -> list[str]:
    """Each item cleaned, empty and repeated items dropped, at most MAX_ITEMS kept."""
    out: list[str] = []
    seen: set[str] = set()
    total = 0
    for value in values:
        text = clean_text(value, field, notes)
        if text is None or text in seen:
            continue
        total += 1
        if len(out) < MAX_ITEMS:
            out.append(text)
            seen.add(text)
    if total > MAX_ITEMS:
        notes.add(f"{field} has {total:,} items; only the first {MAX_ITEMS} are kept.")
    return out


def decode_text(raw: bytes) -> str:
    """UTF-8 when the bytes are valid UTF-8, otherwise Latin-1 (which never fails)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")
