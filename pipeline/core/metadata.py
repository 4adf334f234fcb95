"""Read a scan's embedded EXIF, GPS, XMP and IPTC from its bytes; never decodes pixels or raises.

Every container is walked by a bounded parser written for untrusted input: offsets are checked
against the data before they are followed, loops and counts are capped, XMP goes through
defusedxml, and every string is normalised and length-capped. A problem becomes a sentence in
`ScanMetadata.warnings`; the scan itself was already decoded (and judged) by `imaging`.
GPS and serial numbers go to `ScanMetadata.restricted`, which must never reach public output.
"""

from __future__ import annotations

import io
import math
import re
import struct
import unicodedata
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal, TypeVar
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as _parse_xml_untrusted
from PIL import Image, ImageCms
from pydantic import BaseModel, ConfigDict, Field

MAX_TEXT: Final = 2000  # characters kept per string value
MAX_ITEMS: Final = 100  # items kept per list value
MAX_WARNINGS: Final = 50
_MAX_RAW_TEXT: Final = 64 * 1024  # bytes of one binary string read before decoding
_MAX_XMP: Final = 16 * 1024 * 1024  # an XMP packet (after inflating) larger than this is refused
_MAX_IFD_ENTRIES: Final = 1000
_MAX_PAGES: Final = 10_000
_MAX_IIM_DATASETS: Final = 5000
_T = TypeVar("_T")

# --- the result --------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TechnicalMetadata(_Model):
    """How the file is built, as its headers declare it (hashes and size live elsewhere)."""

    format: str | None = None
    compression: str | None = None
    compression_code: int | None = Field(default=None, description="TIFF Compression tag")
    progressive: bool | None = None
    pages: int | None = None
    tiled: bool = False
    width: int | None = None
    height: int | None = None
    bit_depth: int | None = Field(default=None, description="bits per sample")
    samples_per_pixel: int | None = None
    colour_mode: str | None = Field(default=None, description="Pillow mode of the first page")
    photometric: str | None = Field(default=None, description="TIFF PhotometricInterpretation")
    icc_description: str | None = None
    x_resolution: float | None = None
    y_resolution: float | None = None
    resolution_unit: Literal["inch", "cm", "metre", "none"] | None = None
    dpi_x: float | None = Field(default=None, description="x resolution in pixels per inch")
    dpi_y: float | None = None


class ExifMetadata(_Model):
    """Camera and capture facts from EXIF (IFD0 and the Exif IFD); GPS is not here."""

    make: str | None = None
    model: str | None = None
    lens: str | None = None
    exposure_time: float | None = Field(default=None, description="seconds")
    f_number: float | None = None
    iso: int | None = None
    focal_length: float | None = Field(default=None, description="millimetres")
    capture_datetime: str | None = Field(
        default=None, description="ISO 8601; with the UTC offset when OffsetTimeOriginal is set"
    )
    orientation: int | None = Field(default=None, ge=1, le=8)
    software: str | None = None
    artist: str | None = None
    copyright: str | None = None
    description: str | None = None


class XmpMetadata(_Model):
    """Descriptive XMP: Dublin Core, photoshop, IPTC Core and xmp basic properties."""

    title: str | None = None
    description: str | None = None
    creator: list[str] = []
    rights: str | None = None
    subject: list[str] = []
    headline: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    credit: str | None = None
    source: str | None = None
    date_created: str | None = None
    location: str | None = None
    country_code: str | None = None
    creator_tool: str | None = None
    create_date: str | None = None
    languages: dict[str, dict[str, str]] = Field(
        default={}, description="every language of a multilingual field (title, description…)"
    )


class IptcMetadata(_Model):
    """IPTC-IIM (record 2) fields, decoded with the declared coded character set."""

    object_name: str | None = None
    headline: str | None = None
    caption: str | None = None
    keywords: list[str] = []
    by_line: list[str] = []
    credit: str | None = None
    source: str | None = None
    copyright: str | None = None
    city: str | None = None
    sublocation: str | None = None
    province_state: str | None = None
    country: str | None = None
    country_code: str | None = None
    date_created: str | None = None
    character_set: str | None = None


class GpsPosition(_Model):
    """Where the photograph was taken: WGS 84 degrees, metres above sea level."""

    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    altitude: float | None = None


class RestrictedMetadata(_Model):
    """Facts that can locate or identify people or stores: never published, never indexed."""

    gps: GpsPosition | None = None
    body_serial: str | None = None
    lens_serial: str | None = None
    camera_owner: str | None = None


class ScanMetadata(_Model):
    """Everything embedded in one scan; `restricted` must be dropped before publishing."""

    technical: TechnicalMetadata
    exif: ExifMetadata
    xmp: XmpMetadata
    iptc: IptcMetadata
    restricted: RestrictedMetadata
    warnings: list[str] = []

    def public_dump(self) -> dict[str, Any]:
        """The JSON-ready metadata without the restricted part."""
        return self.model_dump(mode="json", exclude={"restricted"})


# --- warnings and sanitising -------------------------------------------------------------------

# Cc characters other than tab and newline, plus the bidirectional overrides and isolates and the
# BOM: invisible characters that can disguise a value when it is shown in a catalogue.
_UNWANTED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff]")


class _Notes:
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


def _clean_text(value: str | None, field: str, notes: _Notes, *, length: int = 0) -> str | None:
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


def _clean_texts(values: Iterable[str], field: str, notes: _Notes) -> list[str]:
    """Each item cleaned, empty and repeated items dropped, at most MAX_ITEMS kept."""
    out: list[str] = []
    seen: set[str] = set()
    total = 0
    for value in values:
        text = _clean_text(value, field, notes)
        if text is None or text in seen:
            continue
        total += 1
        if len(out) < MAX_ITEMS:
            out.append(text)
            seen.add(text)
    if total > MAX_ITEMS:
        notes.add(f"{field} has {total:,} items; only the first {MAX_ITEMS} are kept.")
    return out


def _decode_text(raw: bytes) -> str:
    """UTF-8 when the bytes are valid UTF-8, otherwise Latin-1 (which never fails)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


# --- TIFF structures (TIFF files and EXIF blocks) ----------------------------------------------

_TYPE_SIZES: Final = {
    1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8,
    11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8,
}  # fmt: skip
_INT_FORMATS: Final = {1: "B", 3: "H", 4: "I", 6: "b", 8: "h", 9: "i", 13: "I", 16: "Q", 17: "q"}


@dataclass(frozen=True)
class _Entry:
    type: int
    count: int
    pos: int  # where the value's bytes start in the buffer


class _BadTiff(ValueError):
    """The bytes do not start with a TIFF header."""


class _TiffReader:
    """Follows IFDs in a TIFF-structured buffer, checking every offset against its length."""

    def __init__(self, buf: bytes, label: str, notes: _Notes) -> None:
        self.buf, self.label, self.notes = buf, label, notes
        if len(buf) < 8 or buf[:2] not in (b"II", b"MM"):
            raise _BadTiff(f"{label}: no TIFF header")
        self.order = "<" if buf[:2] == b"II" else ">"
        magic = self._unpack("H", 2)
        self.big = magic == 43
        if magic == 42:
            self.first = self._unpack("I", 4)
        elif self.big and len(buf) >= 16:
            self.first = self._unpack("Q", 8)
        else:
            raise _BadTiff(f"{label}: unknown TIFF version {magic}")

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

    def read_ifd(self, offset: int, name: str) -> dict[int, _Entry]:
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
        entries: dict[int, _Entry] = {}
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
            entries.setdefault(tag, _Entry(kind, number, pos))
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
        while offset and len(seen) < _MAX_PAGES:
            if offset in seen or offset >= len(self.buf):
                return len(seen), False
            seen.add(offset)
            offset = self.next_ifd(offset)
        return len(seen), offset == 0

    def ints(self, entry: _Entry | None, limit: int = 16) -> list[int]:
        if entry is None or entry.type not in _INT_FORMATS:
            return []
        n = min(entry.count, limit)
        return list(
            struct.unpack_from(f"{self.order}{n}{_INT_FORMATS[entry.type]}", self.buf, entry.pos)
        )

    def first_int(self, entry: _Entry | None) -> int | None:
        values = self.ints(entry, 1)
        return values[0] if values else None

    def numbers(self, entry: _Entry | None, limit: int = 16) -> list[float | None]:
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

    def first_number(self, entry: _Entry | None) -> float | None:
        values = self.numbers(entry, 1)
        return values[0] if values else None

    def raw(self, entry: _Entry | None, limit: int) -> bytes:
        if entry is None:
            return b""
        size = _TYPE_SIZES[entry.type] * entry.count
        return self.buf[entry.pos : entry.pos + min(size, limit)]

    def text(self, entry: _Entry | None, field: str) -> str | None:
        """An ASCII (or, as written in practice, UTF-8) value up to its first NUL, cleaned."""
        if entry is None or entry.type not in (1, 2, 7):
            return None
        raw = self.raw(entry, _MAX_RAW_TEXT).split(b"\0", 1)[0]
        length = entry.count if entry.count > _MAX_RAW_TEXT else 0
        return _clean_text(_decode_text(raw), field, self.notes, length=length)


# --- what is found in a container, before interpretation ---------------------------------------


@dataclass
class _Found:
    format: str | None = None
    compression: str | None = None
    compression_code: int | None = None
    progressive: bool | None = None
    pages: int | None = None
    tiled: bool = False
    width: int | None = None
    height: int | None = None
    bit_depth: int | None = None
    samples: int | None = None
    photometric: str | None = None
    resolution: tuple[float, float, str] | None = None
    exif: bytes | None = None  # a TIFF-structured block
    tiff: _TiffReader | None = None  # the file itself, when it is a TIFF
    ifd0: dict[int, _Entry] = field(default_factory=dict)  # and its first IFD
    xmp: list[bytes] = field(default_factory=list)
    xmp_extended: dict[bytes, dict[int, bytes]] = field(default_factory=dict)
    iim: bytes | None = None
    photoshop: bytes | None = None


def extract_metadata(data: bytes, image: Image.Image) -> ScanMetadata:
    """Read the metadata of a scan already decoded as `image` (its first page, loaded).

    Never raises on a damaged or hostile file: what cannot be read is left empty and explained
    in `warnings`. Pixels are not decoded again; only headers and metadata blocks are parsed.
    """
    notes = _Notes()
    found = _Found()
    exif = ExifMetadata()
    xmp = XmpMetadata()
    iptc = IptcMetadata()
    restricted = RestrictedMetadata()
    xmp_gps: GpsPosition | None = None

    # Each part is guarded on its own: metadata is optional, and a parser slip on one hostile
    # block must neither hide the other parts nor quarantine a scan that decoded fine.
    _run_guarded(notes, "file structure", lambda: _scan_container(data, found, notes))
    technical = _run_guarded(notes, "technical", lambda: _build_technical(found, image, notes))
    if found.exif is not None or found.tiff is not None:
        parts = _run_guarded(notes, "EXIF", lambda: _read_exif(found, notes))
        if parts:
            exif, restricted = parts
    if found.xmp:
        xmp_parts = _run_guarded(notes, "XMP", lambda: _read_xmp(found, notes))
        if xmp_parts:
            xmp, xmp_gps = xmp_parts
    if found.iim is not None or found.photoshop is not None:
        iptc = _run_guarded(notes, "IPTC", lambda: _read_iptc(found, notes)) or iptc
    if restricted.gps is None and xmp_gps is not None:
        restricted = restricted.model_copy(update={"gps": xmp_gps})
    return ScanMetadata(
        technical=technical or TechnicalMetadata(colour_mode=image.mode),
        exif=exif,
        xmp=xmp,
        iptc=iptc,
        restricted=restricted,
        warnings=notes.result(),
    )


def _run_guarded(notes: _Notes, part: str, run: Callable[[], _T]) -> _T | None:
    try:
        return run()
    except Exception as exc:  # see extract_metadata: never raise on a broken file
        notes.add(f"{part} could not be read ({type(exc).__name__}: {str(exc)[:200]}); skipped.")
        return None


# --- containers --------------------------------------------------------------------------------

_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_JP2_SIGNATURE: Final = b"\x00\x00\x00\x0cjP  \r\n\x87\n"


def _scan_container(data: bytes, found: _Found, notes: _Notes) -> None:
    if data[:3] == b"\xff\xd8\xff":
        _scan_jpeg(data, found, notes)
    elif data[:8] == _PNG_SIGNATURE:
        _scan_png(data, found, notes)
    elif data[:4] in (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"):
        _scan_tiff(data, found, notes)
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        _scan_webp(data, found, notes)
    elif data[:12] == _JP2_SIGNATURE or data[:4] == b"\xff\x4f\xff\x51":
        _scan_jp2(data, found, notes)
    else:
        notes.add("The file's format has no metadata reader here; only basic facts are kept.")


_SOF_KINDS: Final = {
    0xC0: "JPEG baseline",
    0xC1: "JPEG extended sequential",
    0xC2: "JPEG progressive",
    0xC3: "JPEG lossless",
    0xC5: "JPEG differential sequential",
    0xC6: "JPEG differential progressive",
    0xC7: "JPEG differential lossless",
    0xC9: "JPEG extended sequential (arithmetic)",
    0xCA: "JPEG progressive (arithmetic)",
    0xCB: "JPEG lossless (arithmetic)",
    0xCD: "JPEG differential sequential (arithmetic)",
    0xCE: "JPEG differential progressive (arithmetic)",
    0xCF: "JPEG differential lossless (arithmetic)",
}
_XMP_JPEG: Final = b"http://ns.adobe.com/xap/1.0/\0"
_XMP_JPEG_EXTENDED: Final = b"http://ns.adobe.com/xmp/extension/\0"


def _scan_jpeg(data: bytes, found: _Found, notes: _Notes) -> None:
    found.format, found.pages = "JPEG", 1
    photoshop: list[bytes] = []
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            notes.add(f"JPEG: no marker at byte {pos:,}; headers after it are not read.")
            break
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        if marker == 0xD9:
            break
        (length,) = struct.unpack_from(">H", data, pos + 2)
        if length < 2 or pos + 2 + length > len(data):
            notes.add(f"JPEG: the segment at byte {pos:,} runs past the end of the file.")
            break
        segment = data[pos + 4 : pos + 2 + length]
        if marker in _SOF_KINDS and len(segment) >= 6:
            found.compression = _SOF_KINDS[marker]
            found.progressive = marker in (0xC2, 0xC6, 0xCA, 0xCE)
            found.bit_depth = segment[0]
            found.height, found.width = struct.unpack_from(">HH", segment, 1)
            found.samples = segment[5]
        elif marker == 0xE0 and segment[:5] == b"JFIF\0" and len(segment) >= 12:
            unit = {1: "inch", 2: "cm"}.get(segment[7], "none")
            x, y = struct.unpack_from(">HH", segment, 8)
            if unit != "none" and found.resolution is None:
                found.resolution = (float(x), float(y), unit)
        elif marker == 0xE1 and segment[:6] == b"Exif\0\0" and found.exif is None:
            found.exif = segment[6:]
        elif marker == 0xE1 and segment.startswith(_XMP_JPEG):
            found.xmp.append(segment[len(_XMP_JPEG) :])
        elif marker == 0xE1 and segment.startswith(_XMP_JPEG_EXTENDED):
            _collect_extended_xmp(segment[len(_XMP_JPEG_EXTENDED) :], found, notes)
        elif marker == 0xED and segment.startswith(b"Photoshop 3.0\0"):
            photoshop.append(segment[14:])
        if marker == 0xDA:
            break
        pos += 2 + length
    if photoshop:
        # Large resource blocks are split over several APP13 segments, in order.
        found.photoshop = b"".join(photoshop)


def _collect_extended_xmp(chunk: bytes, found: _Found, notes: _Notes) -> None:
    if len(chunk) < 40:
        notes.add("JPEG: an extended XMP segment is too short; it is ignored.")
        return
    guid = chunk[:32]
    total, offset = struct.unpack_from(">II", chunk, 32)
    if total > _MAX_XMP or offset >= total:
        notes.add(f"JPEG: extended XMP of {total:,} bytes is too large or damaged; ignored.")
        return
    found.xmp_extended.setdefault(guid, {})[offset] = chunk[40:]


def _scan_png(data: bytes, found: _Found, notes: _Notes) -> None:
    found.format, found.pages, found.compression = "PNG", 1, "Deflate"
    pos = 8
    while pos + 12 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        body_at = pos + 8
        if body_at + length + 4 > len(data):
            notes.add(f"PNG: chunk {kind!r} at byte {pos:,} runs past the end of the file.")
            break
        body = data[body_at : body_at + length] if kind != b"IDAT" else b""
        if kind == b"IHDR" and length >= 13:
            found.width, found.height, found.bit_depth, colour = struct.unpack_from(">IIBB", body)
            found.samples = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(colour)
            found.progressive = body[12] == 1  # Adam7 interlacing
        elif kind == b"pHYs" and length >= 9:
            x, y, unit = struct.unpack_from(">IIB", body)
            if unit == 1:
                found.resolution = (float(x), float(y), "metre")
        elif kind == b"eXIf" and found.exif is None:
            found.exif = body[6:] if body.startswith(b"Exif\0\0") else body
        elif kind in (b"iTXt", b"tEXt", b"zTXt") and body.startswith(b"XML:com.adobe.xmp\0"):
            packet = _png_text(kind, body[len(b"XML:com.adobe.xmp\0") :], notes)
            if packet is not None:
                found.xmp.append(packet)
        elif kind == b"IEND":
            break
        pos = body_at + length + 4


def _png_text(kind: bytes, rest: bytes, notes: _Notes) -> bytes | None:
    """The text of a tEXt/zTXt/iTXt chunk after its keyword, inflated with a size cap."""
    if kind == b"tEXt":
        return rest
    if kind == b"zTXt":
        return _inflate(rest[1:], notes)
    if len(rest) < 2:
        return None
    compressed = rest[0] == 1
    body = rest[2:]
    for _ in range(2):  # skip the language tag and the translated keyword
        cut = body.find(b"\0")
        if cut < 0:
            return None
        body = body[cut + 1 :]
    return _inflate(body, notes) if compressed else body


def _inflate(raw: bytes, notes: _Notes) -> bytes | None:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(raw, _MAX_XMP)
    except zlib.error as exc:
        notes.add(f"PNG: a compressed XMP chunk is damaged ({exc}); it is ignored.")
        return None
    if inflater.unconsumed_tail:
        notes.add(f"PNG: a compressed XMP chunk inflates past {_MAX_XMP:,} bytes; it is ignored.")
        return None
    return out


_TIFF_COMPRESSION: Final = {
    1: "none",
    2: "CCITT RLE",
    3: "CCITT Group 3",
    4: "CCITT Group 4",
    5: "LZW",
    6: "old-style JPEG",
    7: "JPEG",
    8: "Deflate",
    32773: "PackBits",
    32946: "Deflate",
    34712: "JPEG 2000",
    34887: "LERC",
    34925: "LZMA",
    50000: "Zstandard",
    50001: "WebP",
    50002: "JPEG XL",
}
_PHOTOMETRIC: Final = {
    0: "min-is-white",
    1: "min-is-black",
    2: "RGB",
    3: "palette",
    4: "transparency mask",
    5: "separated (CMYK)",
    6: "YCbCr",
    8: "CIELab",
    9: "ICCLab",
    10: "ITULab",
    32844: "LogL",
    32845: "LogLuv",
    34892: "linear raw",
}
_RESOLUTION_UNITS: Final = {1: "none", 2: "inch", 3: "cm"}


def _scan_tiff(data: bytes, found: _Found, notes: _Notes) -> None:
    found.format = "TIFF"
    reader = _TiffReader(data, "TIFF", notes)
    found.tiff = reader
    pages, clean = reader.count_pages()
    found.pages = pages or None
    if not clean:
        notes.add(
            f"TIFF: the chain of pages is damaged or longer than {_MAX_PAGES:,}; "
            f"{pages:,} page(s) counted."
        )
    ifd = found.ifd0 = reader.read_ifd(reader.first, "first page's IFD")
    found.width, found.height = reader.first_int(ifd.get(256)), reader.first_int(ifd.get(257))
    found.bit_depth = reader.first_int(ifd.get(258)) or (1 if 258 not in ifd else None)
    found.samples = reader.first_int(ifd.get(277)) or 1
    code = reader.first_int(ifd.get(259))
    found.compression_code = code if code is not None else 1
    found.compression = _TIFF_COMPRESSION.get(found.compression_code, f"code {code}")
    photometric = reader.first_int(ifd.get(262))
    if photometric is not None:
        found.photometric = _PHOTOMETRIC.get(photometric, f"code {photometric}")
    found.tiled = 322 in ifd and 323 in ifd
    x, y = reader.first_number(ifd.get(282)), reader.first_number(ifd.get(283))
    if x and y:
        # TIFF's default unit is the inch when the tag is absent.
        unit = _RESOLUTION_UNITS.get(reader.first_int(ifd.get(296)) or 2, "none")
        found.resolution = (x, y, unit)
    if 700 in ifd:
        found.xmp.append(reader.raw(ifd[700], _MAX_XMP))
    if 33723 in ifd:
        found.iim = reader.raw(ifd[33723], _MAX_XMP)
    if 34377 in ifd:
        found.photoshop = reader.raw(ifd[34377], _MAX_XMP)


def _scan_webp(data: bytes, found: _Found, notes: _Notes) -> None:
    found.format, found.pages, found.bit_depth = "WEBP", 1, 8
    frames = 0
    pos = 12
    while pos + 8 <= len(data):
        kind, length = struct.unpack_from("<4sI", data, pos)
        body = data[pos + 8 : pos + 8 + length]
        if len(body) < length:
            notes.add(f"WebP: chunk {kind!r} at byte {pos:,} runs past the end of the file.")
            break
        if kind == b"VP8 ":
            found.compression = "VP8 (lossy)"
        elif kind == b"VP8L":
            found.compression = "VP8L (lossless)"
        elif kind == b"VP8X" and length >= 10:
            found.width = 1 + int.from_bytes(body[4:7], "little")
            found.height = 1 + int.from_bytes(body[7:10], "little")
        elif kind == b"ANMF":
            frames += 1
        elif kind == b"EXIF" and found.exif is None:
            found.exif = body[6:] if body.startswith(b"Exif\0\0") else body
        elif kind == b"XMP ":
            found.xmp.append(body)
        pos += 8 + length + (length & 1)
    if frames:
        found.pages = frames


_UUID_XMP: Final = bytes.fromhex("be7acfcb97a942e89c71999491e3afac")
_UUID_IPTC: Final = bytes.fromhex("33c7a4d2b81d4723a0baf1a3e097ad38")
_UUID_EXIF: Final = b"JpgTiffExif->JP2"


def _scan_jp2(data: bytes, found: _Found, notes: _Notes) -> None:
    found.format, found.pages, found.compression = "JPEG2000", 1, "JPEG 2000"
    if data[:4] == b"\xff\x4f\xff\x51":
        _read_siz(data, found)
        return
    for kind, body in _jp2_boxes(data, 0, len(data), notes):
        if kind == b"jp2h":
            for sub, inner in _jp2_boxes(body, 0, len(body), notes):
                if sub == b"ihdr" and len(inner) >= 11:
                    found.height, found.width, found.samples = struct.unpack_from(">IIH", inner)
                    found.bit_depth = (inner[10] & 0x7F) + 1 if inner[10] != 255 else None
        elif kind == b"uuid" and len(body) > 16:
            uuid, payload = body[:16], body[16:]
            if uuid == _UUID_XMP:
                found.xmp.append(payload)
            elif uuid == _UUID_IPTC:
                found.iim = payload
            elif uuid == _UUID_EXIF and found.exif is None:
                found.exif = payload[6:] if payload.startswith(b"Exif\0\0") else payload
        elif kind == b"xml " and b"xmpmeta" in body[:4096]:
            found.xmp.append(body)
        elif kind == b"jp2c":
            _read_siz(body, found)


def _jp2_boxes(buf: bytes, start: int, end: int, notes: _Notes) -> Iterator[tuple[bytes, bytes]]:
    pos = start
    for _ in range(10_000):
        if pos + 8 > end:
            return
        length, kind = struct.unpack_from(">I4s", buf, pos)
        header = 8
        if length == 1:
            if pos + 16 > end:
                return
            (length,) = struct.unpack_from(">Q", buf, pos + 8)
            header = 16
        elif length == 0:
            length = end - pos
        if length < header or pos + length > end:
            notes.add(f"JPEG 2000: box {kind!r} at byte {pos:,} runs past the end of its data.")
            return
        # The codestream is only needed for its first header bytes: do not copy megabytes.
        stop = pos + length if kind != b"jp2c" else min(pos + length, pos + header + 256)
        yield kind, buf[pos + header : stop]
        pos += length


def _read_siz(codestream: bytes, found: _Found) -> None:
    if codestream[:4] != b"\xff\x4f\xff\x51" or len(codestream) < 42:
        return
    xsiz, ysiz, xo, yo, xt, yt, xto, yto = struct.unpack_from(">8I", codestream, 8)
    (components,) = struct.unpack_from(">H", codestream, 40)
    found.width = found.width or xsiz - xo
    found.height = found.height or ysiz - yo
    found.samples = found.samples or components
    found.tiled = xt < xsiz - xto or yt < ysiz - yto
    if len(codestream) >= 43 and found.bit_depth is None:
        found.bit_depth = (codestream[42] & 0x7F) + 1


# --- technical ---------------------------------------------------------------------------------


def _build_technical(found: _Found, image: Image.Image, notes: _Notes) -> TechnicalMetadata:
    icc = image.info.get("icc_profile")
    resolution = found.resolution
    if resolution is None and found.exif is not None:
        resolution = _exif_resolution(found.exif)
    if resolution is None and found.format in ("WEBP", "JPEG2000"):
        # Pillow reads these formats' resolution boxes; for the others it invents (1, 1) or 72.
        dpi = image.info.get("dpi")
        if isinstance(dpi, tuple) and len(dpi) == 2 and all(_positive(v) for v in dpi):
            resolution = (float(dpi[0]), float(dpi[1]), "inch")
    scale: dict[str, Any] = {}
    if resolution is not None:
        x, y, unit = resolution
        per_inch = {"inch": 1.0, "cm": 2.54, "metre": 0.0254}.get(unit)
        scale = {"x_resolution": round(x, 6), "y_resolution": round(y, 6), "resolution_unit": unit}
        if per_inch is not None:
            scale.update(dpi_x=round(x * per_inch, 3), dpi_y=round(y * per_inch, 3))
    return TechnicalMetadata(
        format=found.format or image.format,
        compression=found.compression,
        compression_code=found.compression_code,
        progressive=found.progressive,
        pages=found.pages,
        tiled=found.tiled,
        width=found.width or image.width,
        height=found.height or image.height,
        bit_depth=found.bit_depth,
        samples_per_pixel=found.samples,
        colour_mode=image.mode,
        photometric=found.photometric,
        icc_description=_describe_icc(icc, notes) if isinstance(icc, bytes) and icc else None,
        **scale,
    )


def _positive(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


def _exif_resolution(block: bytes) -> tuple[float, float, str] | None:
    try:
        # Problems in this block are reported once, when the EXIF part reads it.
        reader = _TiffReader(block, "EXIF", _Notes())
    except _BadTiff:
        return None
    ifd = reader.read_ifd(reader.first, "IFD0")
    x, y = reader.first_number(ifd.get(282)), reader.first_number(ifd.get(283))
    if not (x and y and x > 0 and y > 0):
        return None
    return x, y, _RESOLUTION_UNITS.get(reader.first_int(ifd.get(296)) or 2, "none")


def _describe_icc(icc: bytes, notes: _Notes) -> str | None:
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        description = ImageCms.getProfileDescription(profile)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as exc:
        notes.add(f"The embedded ICC profile cannot be read ({exc}).")
        return None
    return _clean_text(description, "technical.icc_description", notes)


# --- EXIF --------------------------------------------------------------------------------------


def _read_exif(found: _Found, notes: _Notes) -> tuple[ExifMetadata, RestrictedMetadata]:
    if found.tiff is not None:
        reader, ifd0 = found.tiff, found.ifd0
    else:
        assert found.exif is not None
        try:
            reader = _TiffReader(found.exif, "EXIF", notes)
        except _BadTiff:
            notes.add("EXIF: the block does not start with a TIFF header; it is ignored.")
            return ExifMetadata(), RestrictedMetadata()
        ifd0 = reader.read_ifd(reader.first, "IFD0")
    sub: dict[int, _Entry] = {}
    gps: dict[int, _Entry] = {}
    if 34665 in ifd0:
        sub = _sub_ifd(reader, ifd0[34665], "Exif IFD")
    if 34853 in ifd0:
        gps = _sub_ifd(reader, ifd0[34853], "GPS IFD")
    text = reader.text
    orientation = reader.first_int(ifd0.get(274))
    if orientation is not None and not 1 <= orientation <= 8:
        notes.add(f"EXIF: orientation {orientation} is not a valid value (1–8); it is ignored.")
        orientation = None
    iso = reader.first_int(sub.get(0x8827))
    exif = ExifMetadata(
        make=text(ifd0.get(271), "exif.make"),
        model=text(ifd0.get(272), "exif.model"),
        lens=text(sub.get(0xA434), "exif.lens"),
        exposure_time=_to_finite(reader.first_number(sub.get(0x829A))),
        f_number=_to_finite(reader.first_number(sub.get(0x829D))),
        iso=iso if iso else None,
        focal_length=_to_finite(reader.first_number(sub.get(0x920A))),
        capture_datetime=_capture_datetime(reader, sub, notes),
        orientation=orientation,
        software=text(ifd0.get(305), "exif.software"),
        artist=text(ifd0.get(315), "exif.artist"),
        copyright=text(ifd0.get(33432), "exif.copyright"),
        description=text(ifd0.get(270), "exif.description"),
    )
    restricted = RestrictedMetadata(
        gps=_gps_position(reader, gps, notes) if gps else None,
        body_serial=text(sub.get(0xA431), "restricted.body_serial"),
        lens_serial=text(sub.get(0xA435), "restricted.lens_serial"),
        camera_owner=text(sub.get(0xA430), "restricted.camera_owner"),
    )
    return exif, restricted


def _sub_ifd(reader: _TiffReader, entry: _Entry, name: str) -> dict[int, _Entry]:
    offset = reader.first_int(entry)
    if offset is None:
        return {}
    return reader.read_ifd(offset, name)


def _to_finite(value: float | None) -> float | None:
    if value is None or not math.isfinite(value) or value < 0:
        return None
    return round(value, 10)


_EXIF_DATETIME = re.compile(r"(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_EXIF_OFFSET = re.compile(r"[+-]\d{2}:\d{2}")


def _capture_datetime(reader: _TiffReader, sub: dict[int, _Entry], notes: _Notes) -> str | None:
    raw = reader.text(sub.get(0x9003), "exif.capture_datetime")
    if raw is None:
        return None
    match = _EXIF_DATETIME.fullmatch(raw.strip())
    try:
        year, month, day, hour, minute, second = (
            (int(p) for p in match.groups()) if match else [0] * 6
        )
        moment = datetime(year, month, day, hour, minute, second) if match else None
    except ValueError:
        moment = None
    if moment is None:
        notes.add(f"EXIF: DateTimeOriginal {raw[:40]!r} is not a valid date and time; ignored.")
        return None
    text = moment.isoformat()
    subsec = reader.text(sub.get(0x9291), "exif.subsec")
    if subsec and subsec.strip().isdigit():
        text += "." + subsec.strip()
    offset = reader.text(sub.get(0x9011), "exif.offset")
    if offset:
        if _EXIF_OFFSET.fullmatch(offset.strip()):
            text += offset.strip()
        else:
            notes.add(f"EXIF: OffsetTimeOriginal {offset[:20]!r} is not ±HH:MM; ignored.")
    return text


def _gps_position(reader: _TiffReader, gps: dict[int, _Entry], notes: _Notes) -> GpsPosition | None:
    latitude = _from_dms(reader.numbers(gps.get(2), 3))
    longitude = _from_dms(reader.numbers(gps.get(4), 3))
    if latitude is None or longitude is None:
        if 2 in gps or 4 in gps:
            notes.add("EXIF: the GPS position is incomplete or damaged; it is ignored.")
        return None
    if (reader.text(gps.get(1), "gps") or "N").upper().startswith("S"):
        latitude = -latitude
    if (reader.text(gps.get(3), "gps") or "E").upper().startswith("W"):
        longitude = -longitude
    altitude = _to_finite(reader.first_number(gps.get(6)))
    if altitude is not None and reader.raw(gps.get(5), 1) == b"\x01":
        altitude = -altitude
    return _make_position(latitude, longitude, altitude, notes)


def _from_dms(values: list[float | None]) -> float | None:
    if not values or any(v is None or not math.isfinite(v) or v < 0 for v in values):
        return None
    parts = [v for v in values if v is not None]
    return float(sum(part / 60**index for index, part in enumerate(parts[:3])))


def _make_position(
    latitude: float, longitude: float, altitude: float | None, notes: _Notes
) -> GpsPosition | None:
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        notes.add("GPS: the position lies outside the globe's coordinates; it is ignored.")
        return None
    return GpsPosition(
        latitude=round(latitude, 9),
        longitude=round(longitude, 9),
        altitude=None if altitude is None else round(altitude, 3),
    )


# --- XMP ---------------------------------------------------------------------------------------

_RDF: Final = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_XML_LANG: Final = "{http://www.w3.org/XML/1998/namespace}lang"
_DC: Final = "http://purl.org/dc/elements/1.1/"
_PHOTOSHOP: Final = "http://ns.adobe.com/photoshop/1.0/"
_IPTC_CORE: Final = "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/"
_XMP_BASIC: Final = "http://ns.adobe.com/xap/1.0/"
_EXIF_NS: Final = "http://ns.adobe.com/exif/1.0/"

_XmpValue = str | list[str] | dict[str, str]

# field: (namespace, property, whether the field is a list)
_XMP_FIELDS: Final = {
    "title": (_DC, "title", False),
    "description": (_DC, "description", False),
    "creator": (_DC, "creator", True),
    "rights": (_DC, "rights", False),
    "subject": (_DC, "subject", True),
    "headline": (_PHOTOSHOP, "Headline", False),
    "city": (_PHOTOSHOP, "City", False),
    "state": (_PHOTOSHOP, "State", False),
    "country": (_PHOTOSHOP, "Country", False),
    "credit": (_PHOTOSHOP, "Credit", False),
    "source": (_PHOTOSHOP, "Source", False),
    "date_created": (_PHOTOSHOP, "DateCreated", False),
    "location": (_IPTC_CORE, "Location", False),
    "country_code": (_IPTC_CORE, "CountryCode", False),
    "creator_tool": (_XMP_BASIC, "CreatorTool", False),
    "create_date": (_XMP_BASIC, "CreateDate", False),
}


def _read_xmp(found: _Found, notes: _Notes) -> tuple[XmpMetadata, GpsPosition | None]:
    properties: dict[tuple[str, str], _XmpValue] = {}
    packets = list(found.xmp)
    for chunks in found.xmp_extended.values():
        packets.append(b"".join(chunks[offset] for offset in sorted(chunks)))
    for packet in packets:
        for key, parsed in _parse_xmp(packet, notes).items():
            properties.setdefault(key, parsed)  # the standard packet wins over extended ones
    values: dict[str, Any] = {}
    languages: dict[str, dict[str, str]] = {}
    for name, (namespace, local, is_list) in _XMP_FIELDS.items():
        value = properties.get((namespace, local))
        if value is None:
            continue
        where = f"xmp.{name}"
        if is_list:
            items = [value] if isinstance(value, str) else list(_alt_values(value))
            values[name] = _clean_texts(items, where, notes)
            continue
        if isinstance(value, dict):
            cleaned = {
                lang: text
                for lang, raw in list(value.items())[:MAX_ITEMS]
                if (text := _clean_text(raw, where, notes)) is not None
            }
            if len(cleaned) > 1:
                languages[name] = cleaned
            values[name] = cleaned.get("x-default") or next(iter(cleaned.values()), None)
        elif isinstance(value, list):
            values[name] = _clean_text("; ".join(value[:MAX_ITEMS]), where, notes)
        else:
            values[name] = _clean_text(value, where, notes)
    return XmpMetadata(**values, languages=languages), _xmp_gps(properties, notes)


def _alt_values(value: list[str] | dict[str, str]) -> Iterable[str]:
    return value.values() if isinstance(value, dict) else value


def _parse_xmp(packet: bytes, notes: _Notes) -> dict[tuple[str, str], _XmpValue]:
    if len(packet) > _MAX_XMP:
        notes.add(f"XMP: a packet of {len(packet):,} bytes is too large to read; ignored.")
        return {}
    packet = _trim_packet(packet)
    if not packet:
        return {}
    try:
        # A DTD has no place in XMP: refusing it shuts out entity bombs and external entities
        # before expat expands or fetches anything.
        root: Element = _parse_xml_untrusted(
            packet, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException as exc:
        notes.add(
            f"XMP: the packet declares a DTD or entities ({type(exc).__name__}), which XMP "
            "never needs and which can expand without bound or fetch outside files; its "
            "fields are ignored."
        )
        return {}
    except (ParseError, ValueError, UnicodeError) as exc:
        notes.add(f"XMP: the packet is not well-formed XML ({str(exc)[:120]}); ignored.")
        return {}
    properties: dict[tuple[str, str], _XmpValue] = {}
    rdf_roots = [root] if root.tag == f"{{{_RDF}}}RDF" else list(root.iter(f"{{{_RDF}}}RDF"))
    for rdf in rdf_roots[:1]:
        for description in rdf.findall(f"{{{_RDF}}}Description"):
            for name, text in description.attrib.items():
                key = _split_name(name)
                if key is not None and key[0] != _RDF:
                    properties.setdefault(key, text)
            for child in description:
                key = _split_name(child.tag)
                value = _xmp_value(child)
                if key is not None and value is not None:
                    properties.setdefault(key, value)
    return properties


def _trim_packet(packet: bytes) -> bytes:
    """Drop the padding and trailing bytes writers leave after the packet's end."""
    end = packet.rfind(b"<?xpacket end")
    if end >= 0:
        close = packet.find(b"?>", end)
        if close >= 0:
            packet = packet[: close + 2]
    return packet.strip(b"\0 \t\r\n")


def _split_name(name: str) -> tuple[str, str] | None:
    if not name.startswith("{"):
        return None
    namespace, _, local = name[1:].partition("}")
    return namespace, local


def _xmp_value(element: Element) -> _XmpValue | None:
    resource = element.get(f"{{{_RDF}}}resource")
    if resource is not None:
        return resource
    containers = list(element)
    if not containers:
        return element.text or ""
    container = containers[0]
    if container.tag == f"{{{_RDF}}}Alt":
        alternatives: dict[str, str] = {}
        for item in container.findall(f"{{{_RDF}}}li"):
            if len(item) == 0:
                alternatives.setdefault(item.get(_XML_LANG, "x-default"), item.text or "")
        return alternatives
    if container.tag in (f"{{{_RDF}}}Seq", f"{{{_RDF}}}Bag"):
        return [item.text or "" for item in container.findall(f"{{{_RDF}}}li") if len(item) == 0]
    return None  # a structure: none of the fields read here is one


_XMP_COORDINATE = re.compile(r"(\d{1,3}),(\d{1,2}(?:\.\d+)?)(?:,(\d{1,2}(?:\.\d+)?))?([NSEW])")


def _xmp_gps(properties: dict[tuple[str, str], _XmpValue], notes: _Notes) -> GpsPosition | None:
    latitude = _xmp_coordinate(properties.get((_EXIF_NS, "GPSLatitude")))
    longitude = _xmp_coordinate(properties.get((_EXIF_NS, "GPSLongitude")))
    if latitude is None or longitude is None:
        return None
    altitude = None
    raw = properties.get((_EXIF_NS, "GPSAltitude"))
    if isinstance(raw, str):
        top, _, bottom = raw.partition("/")
        try:
            altitude = float(top) / float(bottom or 1)
        except (ValueError, ZeroDivisionError):
            altitude = None
        if altitude is not None and properties.get((_EXIF_NS, "GPSAltitudeRef")) == "1":
            altitude = -altitude
    if altitude is not None and not math.isfinite(altitude):
        altitude = None
    return _make_position(latitude, longitude, altitude, notes)


def _xmp_coordinate(value: _XmpValue | None) -> float | None:
    if not isinstance(value, str):
        return None
    match = _XMP_COORDINATE.fullmatch(value.strip())
    if match is None:
        return None
    degrees, minutes, seconds, hemisphere = match.groups()
    number = int(degrees) + float(minutes) / 60 + float(seconds or 0) / 3600
    return -number if hemisphere in "SW" else number


# --- IPTC-IIM ----------------------------------------------------------------------------------

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


def _read_iptc(found: _Found, notes: _Notes) -> IptcMetadata:
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
        raw = value[:_MAX_RAW_TEXT]
        text = raw.decode(charset, errors="replace") if charset else _decode_text(raw)
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
            values[name] = _clean_texts(texts, where, notes)
        else:
            values[name] = _clean_text(texts[0], where, notes)
    return IptcMetadata(
        **values,
        date_created=_iim_date(date, time),
        character_set=charset.upper() if charset else None,
    )


def _photoshop_iptc(block: bytes, notes: _Notes) -> bytes | None:
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


def _iim_datasets(block: bytes, notes: _Notes) -> list[tuple[int, int, bytes]]:
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
