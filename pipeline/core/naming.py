"""File names and accession numbers: parse the museum's naming pattern, make key-safe slugs."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from pipeline.errors import BadNameError

# English canonical view names, with the Vietnamese words archivists use (compared folded).
VIEWS: dict[str, str] = {
    "front": "front", "truoc": "front", "mat-truoc": "front",
    "back": "back", "sau": "back", "mat-sau": "back",
    "left": "left", "trai": "left",
    "right": "right", "phai": "right",
    "top": "top", "tren": "top",
    "bottom": "bottom", "duoi": "bottom", "day": "bottom",
    "detail": "detail", "chi-tiet": "detail", "chitiet": "detail",
    "mark": "mark", "dau": "mark", "hieu": "mark",
    # A chart-only shot: the session's colour reference (pipeline/core/session).
    "target": "target", "bang-mau": "target", "bangmau": "target",
}  # fmt: skip
VIEW_ORDER = ["front", "back", "left", "right", "top", "bottom", "detail", "mark", "target"]

_PLACEHOLDER = re.compile(r"\{(accession|view|seq)\}")
_GROUPS = {"accession": r"(?P<accession>.+)", "view": r"(?P<view>.+?)", "seq": r"(?P<seq>\d+)"}
_SLUG_UNSAFE = re.compile(r"[^a-z0-9.]+")


@dataclass(frozen=True)
class ParsedName:
    """What a scan's file name says about it."""

    accession: str  # as written in the file name, NFC
    object_slug: str
    view: str  # canonical English view, or the folded word when not in the vocabulary
    view_known: bool
    seq: int


def to_nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def to_printable(text: str) -> str:
    """`text` (a file name or path) safe on one line of a terminal or a log: control, format and
    separator characters (a newline, ESC, U+202E…), undecodable bytes and backslashes escaped
    as Python would write them; printable text, Vietnamese included, is kept as it is."""
    if text.isprintable() and "\\" not in text:
        return text
    out = []
    for ch in text:
        code = ord(ch)
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code - 0xDC00:02x}")  # a byte os.fsdecode could not decode
        elif code < 0x100:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return "".join(out)


def fold_diacritics(text: str) -> str:
    """'Đồ gốm Huế' -> 'Do gom Hue'. Đ/đ has no decomposition, so it is folded explicitly."""
    text = text.replace("Đ", "D").replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def to_object_slug(accession: str) -> str:
    """A key-safe, case-folded slug of an accession number: 'HM.1998.45/ĐS' -> 'hm.1998.45-ds'.

    Slashes, spaces and dashes fold to one '-', so the inventory's 'A/1' and a file's 'A-1' meet.
    """
    folded = fold_diacritics(to_nfc(accession)).lower()
    slug = _SLUG_UNSAFE.sub("-", folded).strip("-.")
    slug = re.sub(r"\.{2,}", ".", slug)
    if not slug:
        raise ValueError(f"accession number {accession!r} has no letters or digits")
    # Cut at a whole character and never leave a separator at the end of a key segment.
    return slug[:200].rstrip("-.")


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Turn '{accession}_{view}_{seq}' into an anchored regular expression."""
    parts: list[str] = []
    pos = 0
    for match in _PLACEHOLDER.finditer(pattern):
        parts.append(re.escape(pattern[pos : match.start()]))
        parts.append(_GROUPS[match.group(1)])
        pos = match.end()
    parts.append(re.escape(pattern[pos:]))
    return re.compile("^" + "".join(parts) + "$")


_EXTENSION = re.compile(r"[A-Za-z0-9]{1,10}")


def split_extension(name: str) -> tuple[str, str]:
    """('HM.1_front_1', 'tif') from 'HM.1_front_1.tif'; a name without an extension keeps its
    dots: 'HM.1_front_1' is not stem 'HM' with extension '1_front_1'."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or not _EXTENSION.fullmatch(ext):
        return name, ""
    return stem, ext


def parse_scan_name(name: str, pattern: str) -> ParsedName:
    """Read accession, view and sequence from a file name; BadNameError names the remedy."""
    # Spaces at either end and trailing dots (which Windows drops anyway) are not part of the
    # name's fields; the exact name is kept by the caller.
    nfc = to_nfc(name).strip().rstrip(".").rstrip()
    stem, _ = split_extension(nfc)
    match = compile_pattern(pattern).match(stem)
    if match is None:
        raise BadNameError(
            f"File {name!r} does not follow the naming pattern {pattern!r}: rename it like "
            f"'{pattern.format(accession='BTCVH.GS.0012', view='front', seq=1)}.tif' and drop it "
            "again.",
            file=name,
        )
    groups = match.groupdict()
    accession = groups["accession"].strip()
    try:
        slug = to_object_slug(accession)
    except ValueError:
        raise BadNameError(
            f"File {name!r} has no usable accession number before the view: rename it to "
            f"start with the object's accession number.",
            file=name,
        ) from None
    raw_view = groups.get("view") or "front"
    folded_view = _SLUG_UNSAFE.sub("-", fold_diacritics(raw_view).lower()).strip("-")
    view = VIEWS.get(folded_view, folded_view)
    seq = int(groups["seq"]) if groups.get("seq") else 1
    return ParsedName(
        accession=accession,
        object_slug=slug,
        view=view or "front",
        view_known=view in VIEW_ORDER,
        seq=seq,
    )


def view_sort_key(view: str, seq: int) -> tuple[int, str, int]:
    rank = VIEW_ORDER.index(view) if view in VIEW_ORDER else len(VIEW_ORDER)
    return (rank, view, seq)


# Names that are never scans: partial copies, OS litter, office lock files, hidden files, and
# the inventory sheets that travel with the scans. Anything else is tried, and quarantined if bad.
_IGNORED_SUFFIXES = (".part", ".partial", ".crdownload", ".tmp", ".download", ".reason.json")
_IGNORED_NAMES = {"thumbs.db", "desktop.ini", ".ds_store"}


def is_ignored_name(name: str) -> bool:
    lower = name.lower()
    return (
        lower.startswith((".", "~$"))
        or lower in _IGNORED_NAMES
        or lower.endswith(_IGNORED_SUFFIXES)
        or lower.endswith((".csv", ".xlsx"))
    )
