"""Walk a file's container (JPEG, PNG, TIFF, WebP, JPEG 2000) for headers and metadata blocks;
never interprets the blocks."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

from PIL import Image

from pipeline.core.metadata.text import MAX_XMP, Notes
from pipeline.core.metadata.tiff import MAX_PAGES, RESOLUTION_UNITS, Entry, TiffReader


@dataclass
class Found:
    """What a container holds, before interpretation: header facts and raw metadata blocks."""

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
    tiff: TiffReader | None = None  # the file itself, when it is a TIFF
    ifd0: dict[int, Entry] = field(default_factory=dict)  # and its first IFD
    xmp: list[bytes] = field(default_factory=list)
    xmp_extended: dict[bytes, dict[int, bytes]] = field(default_factory=dict)
    iim: bytes | None = None
    photoshop: bytes | None = None


_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_JP2_SIGNATURE: Final = b"\x00\x00\x00\x0cjP  \r\n\x87\n"


def scan_container(data: bytes, found: Found, notes: Notes) -> None:
    """Fill `found` from the container `data` starts with; a format without a reader is noted."""
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


def from_decoder(found: Found, image: Image.Image) -> None:
    """AVIF and HEIF keep their metadata in ISO-BMFF items: take what the decoder read."""
    found.format = image.format
    found.compression = {"AVIF": "AV1", "HEIF": "HEVC"}.get(str(image.format))
    found.pages = found.pages or 1
    exif = image.info.get("exif")
    if isinstance(exif, bytes) and exif:
        found.exif = exif[6:] if exif.startswith(b"Exif\0\0") else exif
    xmp = image.info.get("xmp")
    if isinstance(xmp, bytes) and xmp:
        found.xmp.append(xmp)


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


def _scan_jpeg(data: bytes, found: Found, notes: Notes) -> None:
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


def _collect_extended_xmp(chunk: bytes, found: Found, notes: Notes) -> None:
    if len(chunk) < 40:
        notes.add("JPEG: an extended XMP segment is too short; it is ignored.")
        return
    guid = chunk[:32]
    total, offset = struct.unpack_from(">II", chunk, 32)
    if total > MAX_XMP or offset >= total:
        notes.add(f"JPEG: extended XMP of {total:,} bytes is too large or damaged; ignored.")
        return
    found.xmp_extended.setdefault(guid, {})[offset] = chunk[40:]


def _scan_png(data: bytes, found: Found, notes: Notes) -> None:
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


def _png_text(kind: bytes, rest: bytes, notes: Notes) -> bytes | None:
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


def _inflate(raw: bytes, notes: Notes) -> bytes | None:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(raw, MAX_XMP)
    except zlib.error as exc:
        notes.add(f"PNG: a compressed XMP chunk is damaged ({exc}); it is ignored.")
        return None
    if inflater.unconsumed_tail:
        notes.add(f"PNG: a compressed XMP chunk inflates past {MAX_XMP:,} bytes; it is ignored.")
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


def _scan_tiff(data: bytes, found: Found, notes: Notes) -> None:
    found.format = "TIFF"
    reader = TiffReader(data, "TIFF", notes)
    found.tiff = reader
    pages, clean = reader.count_pages()
    found.pages = pages or None
    if not clean:
        notes.add(
            f"TIFF: the chain of pages is damaged or longer than {MAX_PAGES:,}; "
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
        unit = RESOLUTION_UNITS.get(reader.first_int(ifd.get(296)) or 2, "none")
        found.resolution = (x, y, unit)
    if 700 in ifd:
        found.xmp.append(reader.raw(ifd[700], MAX_XMP))
    if 33723 in ifd:
        found.iim = reader.raw(ifd[33723], MAX_XMP)
    if 34377 in ifd:
        found.photoshop = reader.raw(ifd[34377], MAX_XMP)


def _scan_webp(data: bytes, found: Found, notes: Notes) -> None:
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


def _scan_jp2(data: bytes, found: Found, notes: Notes) -> None:
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


def _jp2_boxes(buf: bytes, start: int, end: int, notes: Notes) -> Iterator[tuple[bytes, bytes]]:
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


def _read_siz(codestream: bytes, found: Found) -> None:
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
