"""Recognise a file's real format from its first bytes, never from its extension."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.errors import (
    AnimatedImageError,
    EmptyFileError,
    NotAnImageError,
    UnsupportedFormatError,
)

# How many first bytes `sniff_format` wants: an ISO-BMFF `ftyp` box lists its brands there.
SNIFF_BYTES = 256


@dataclass(frozen=True)
class SniffedFormat:
    """A format Sohoa decodes: Pillow's format name and the media type."""

    pillow_format: str
    media_type: str
    extension: str


SUPPORTED: dict[str, SniffedFormat] = {
    "JPEG": SniffedFormat("JPEG", "image/jpeg", "jpg"),
    "PNG": SniffedFormat("PNG", "image/png", "png"),
    "TIFF": SniffedFormat("TIFF", "image/tiff", "tif"),
    "JPEG2000": SniffedFormat("JPEG2000", "image/jp2", "jp2"),
    "WEBP": SniffedFormat("WEBP", "image/webp", "webp"),
    "AVIF": SniffedFormat("AVIF", "image/avif", "avif"),
    # Decoded by pillow-heif (libheif with libde265), not by Pillow's registry.
    "HEIF": SniffedFormat("HEIF", "image/heic", "heic"),
}

# Recognised but refused: each with why and what the archivist should do instead.
_REFUSED: dict[str, str] = {
    "PDF": "PDF documents are not scans; export the page as a TIFF",
    "EPS": "PostScript would run an interpreter; export the image as a TIFF",
    "PSD": "Photoshop documents are working files; flatten and save as a TIFF",
    "GIF": "GIF keeps only 256 colours; rescan or export the original as TIFF",
    "BMP": "BMP carries no colour profile; save the original as TIFF",
    "CR2/NEF raw": "camera raw files must be developed first; export a TIFF",
    "CR3 raw": "camera raw files must be developed first; export a TIFF",
}

# ISO-BMFF brands (ISO/IEC 23008-12, AV1 image file format): still images, and sequences.
_AVIF_STILL = frozenset({b"avif"})
_AVIF_SEQUENCE = frozenset({b"avis"})
_HEIF_STILL = frozenset({b"heic", b"heix", b"heim", b"heis", b"mif1", b"mif2"})
_HEIF_SEQUENCE = frozenset({b"msf1", b"hevc", b"hevx", b"hevm", b"hevs"})


def sniff_format(head: bytes, *, name: str) -> SniffedFormat:
    """Return the format of a file from its first bytes (`SNIFF_BYTES` of them; 32 do for all
    but AVIF/HEIF brands listed late), or raise a permanent error."""
    if not head:
        raise EmptyFileError(
            f"File {name!r} is empty (0 bytes): the copy or scan did not finish; "
            "copy it again from the scanner or camera.",
            file=name,
        )
    refused = _refused_format(head)
    if refused is not None:
        raise UnsupportedFormatError(
            f"File {name!r} is {refused}, which Sohoa does not accept: {_REFUSED[refused]}.",
            file=name,
        )
    if _iso_bmff_kind(head) == "sequence":
        raise AnimatedImageError(
            f"File {name!r} is an image sequence or animation (AVIF or HEIF), not a still "
            "image: export the frame you mean as a still image (TIFF, JPEG, AVIF or HEIC).",
            file=name,
        )
    fmt = _supported_format(head)
    if fmt is None:
        raise NotAnImageError(
            f"File {name!r} is not an image (its first bytes match no image format, whatever "
            "its extension says): check that the right file was copied, or remove it.",
            file=name,
        )
    return SUPPORTED[fmt]


def _supported_format(head: bytes) -> str | None:
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if head.startswith(b"\x00\x00\x00\x0cjP  \r\n\x87\n") or head.startswith(b"\xff\x4f\xff\x51"):
        return "JPEG2000"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    kind = _iso_bmff_kind(head)
    return kind if kind in ("AVIF", "HEIF") else None


def _iso_bmff_kind(head: bytes) -> str | None:
    """AVIF, HEIF or "sequence" from an `ftyp` box's major and compatible brands."""
    if head[4:8] != b"ftyp" or len(head) < 16:
        return None
    size = int.from_bytes(head[:4], "big")
    brands = [head[8:12]] + [head[i : i + 4] for i in range(16, min(size, len(head)) - 3, 4)]
    major, listed = brands[0], set(brands)
    if major in _AVIF_SEQUENCE or major in _HEIF_SEQUENCE:
        return "sequence"
    if major in _AVIF_STILL or (major in (b"mif1", b"mif2") and listed & _AVIF_STILL):
        return "AVIF"
    if major in _HEIF_STILL:
        return "HEIF"
    if listed & _AVIF_STILL:
        return "AVIF"
    if listed & _HEIF_STILL:
        return "HEIF"
    return None


def _refused_format(head: bytes) -> str | None:
    if head.startswith(b"%PDF"):
        return "PDF"
    if head.startswith((b"%!PS", b"\xc5\xd0\xd3\xc6")):
        return "EPS"
    if head.startswith(b"8BPS"):
        return "PSD"
    if head[4:8] == b"ftyp" and head[8:12] == b"crx ":
        return "CR3 raw"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if head.startswith(b"BM") and len(head) >= 14:
        return "BMP"
    # Canon CR2 is a TIFF with 'CR' at byte 8; treat camera raw as undeveloped.
    if head[:4] == b"II*\x00" and head[8:10] == b"CR":
        return "CR2/NEF raw"
    return None
