"""IPTC-IIM (record 2) fields, directly or inside Photoshop resources; bounded."""

from __future__ import annotations

import re
import struct
from datetime import datetime
from typing import Any, Final

from pipeline.core.metadata.container import Found
from pipeline.core.metadata.model import IptcMetadata
from pipeline.core.metadata.text import MAX_RAW_TEXT, Notes, clean_text, clean_texts, decode_text

_MAX_IIM_DATASETS: Final = 5000

_IIM_FIELDS: Final = {
    5: "object_name",
    105: "headline",
    120: "caption",
    25: "keywords",
    80: "by_line",
    110: "credit",
    115: "source",
    116: "copyright",
    90: "city",
    92: "sublocation",
    95: "province_state",
    101: "country",
    100: "country_code",
}
_IIM_LISTS: Final = frozenset({"keywords", "by_line"})
# ISO 2022 escape sequences of dataset 1:90 and the character sets they name.
_IIM_CHARSETS: Final = {
    b"\x1b%G": "utf-8",
    b"\x1b%/I": "utf-8",
    b"\x1b-A": "iso-8859-1",
    b"\x1b.A": "iso-8859-1",
    b"\x1b-B": "iso-8859-2",
    b"\x1b-F": "iso-8859-7",
    b"\x1b-L": "iso-8859-5",
}


def read_iptc(found: Found, notes: Notes) -> IptcMetadata:
    """IIM record 2, decoded with the declared character set (else UTF-8 or Latin-1)."""
    block = found.iim
    if block is None and found.photoshop is not None:
        block = _photoshop_iptc(found.photoshop, notes)
    if not block:
        return IptcMetadata()
    datasets = _iim_datasets(block, notes)
    charset: str | None = None
    for record, number, value in datasets:
        if record == 1 and number == 90:
            charset = _IIM_CHARSETS.get(value)
            if charset is None:
                notes.add("IPTC: the coded character set is not one Sohoa knows; text is guessed.")
    collected: dict[str, list[str]] = {}
    date = time = None
    for record, number, value in datasets:
        if record != 2:
            continue
        raw = value[:MAX_RAW_TEXT]
        text = raw.decode(charset, errors="replace") if charset else decode_text(raw)
        if number == 55:
            date = text
        elif number == 60:
            time = text
        elif number in _IIM_FIELDS:
            collected.setdefault(_IIM_FIELDS[number], []).append(text)
    values: dict[str, Any] = {}
    for name, texts in collected.items():
        where = f"iptc.{name}"
        if name in _IIM_LISTS:
            values[name] = clean_texts(texts, where, notes)
        else:
            values[name] = clean_text(texts[0], where, notes)
    return IptcMetadata(
        **values,
        date_created=_iim_date(date, time),
        character_set=charset.upper() if charset else None,
    )


def _photoshop_iptc(block: bytes, notes: Notes) -> bytes | None:
    """The IPTC-NAA resource (0x0404) among Photoshop's image resource blocks."""
    pos = 0
    while pos + 12 <= len(block):
        if block[pos : pos + 4] not in (b"8BIM", b"MeSa", b"PHUT", b"AgHg", b"DCSR"):
            notes.add(
                f"IPTC: the Photoshop resources are damaged at byte {pos:,}; read no further."
            )
            return None
        (resource,) = struct.unpack_from(">H", block, pos + 4)
        name_length = block[pos + 6]
        at = pos + 6 + name_length + 1 + ((name_length + 1) & 1)
        if at + 4 > len(block):
            break
        (size,) = struct.unpack_from(">I", block, at)
        at += 4
        if at + size > len(block):
            notes.add("IPTC: a Photoshop resource runs past the end of its block; ignored.")
            return None
        if resource == 0x0404:
            return block[at : at + size]
        pos = at + size + (size & 1)
    return None


def _iim_datasets(block: bytes, notes: Notes) -> list[tuple[int, int, bytes]]:
    out: list[tuple[int, int, bytes]] = []
    pos = 0
    while pos + 5 <= len(block) and len(out) < _MAX_IIM_DATASETS:
        if block[pos] != 0x1C:
            if block[pos:].strip(b"\0"):
                notes.add(f"IPTC: unexpected bytes at {pos:,} in the IIM block; read no further.")
            break
        record, number = block[pos + 1], block[pos + 2]
        (length,) = struct.unpack_from(">H", block, pos + 3)
        pos += 5
        if length & 0x8000:
            width = length & 0x7FFF
            if width > 4 or pos + width > len(block):
                notes.add("IPTC: an extended dataset length is damaged; read no further.")
                break
            length = int.from_bytes(block[pos : pos + width], "big")
            pos += width
        if pos + length > len(block):
            notes.add(f"IPTC: dataset {record}:{number} runs past the end of the block; ignored.")
            break
        out.append((record, number, block[pos : pos + length]))
        pos += length
    return out


def _iim_date(date: str | None, time: str | None) -> str | None:
    """IIM CCYYMMDD (+ HHMMSS±HHMM) as ISO 8601, or None when it is not a real date."""
    if not date or not re.fullmatch(r"\d{8}", date.strip()):
        return None
    date = date.strip()
    try:
        day = datetime(int(date[:4]), int(date[4:6]), int(date[6:8]))
    except ValueError:
        return None
    text = day.date().isoformat()
    match = re.fullmatch(r"(\d{2})(\d{2})(\d{2})([+-]\d{4})?", (time or "").strip())
    if match and int(match[1]) < 24 and int(match[2]) < 60 and int(match[3]) < 61:
        text += f"T{match[1]}:{match[2]}:{match[3]}"
        if match[4]:
            text += f"{match[4][:3]}:{match[4][3:]}"
    return text
