"""Recognise a file's real format from its first bytes, never from its extension."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.errors import EmptyFileError, NotAnImageError, UnsupportedFormatError


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
}

# Recognised but refused: each with why and what the archivist should do instead.
_REFUSED: dict[str, str] = {
    "PDF": "PDF documents are not scans; export the page as a TIFF",
    "EPS": "PostScript would run an interpreter; export the image as a TIFF",
    "PSD": "Photoshop documents are working files; flatten and save as a TIFF",
    "HEIC": "HEIC/HEIF needs a decoder Sohoa does not ship; export as TIFF or JPEG",
    "GIF": "GIF keeps only 256 colours; rescan or export the original as TIFF",
    "BMP": "BMP carries no colour profile; save the original as TIFF",
    "CR2/NEF raw": "camera raw files must be developed first; export a TIFF",
}


def sniff_format(head: bytes, *, name: str) -> SniffedFormat:
    """Return the format of a file from its first 32 bytes, or raise a permanent error."""
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
    return None


def _refused_format(head: bytes) -> str | None:
    if head.startswith(b"%PDF"):
        return "PDF"
    if head.startswith((b"%!PS", b"\xc5\xd0\xd3\xc6")):
        return "EPS"
    if head.startswith(b"8BPS"):
        return "PSD"
    if head[4:8] == b"ftyp" and head[8:12] in (
        b"heic",
        b"heix",
        b"mif1",
        b"msf1",
        b"avif",
        b"hevc",
    ):
        return "HEIC"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if head.startswith(b"BM") and len(head) >= 14:
        return "BMP"
    # Canon CR2 is a TIFF with 'CR' at byte 8; treat camera raw as undeveloped.
    if head[:4] == b"II*\x00" and head[8:10] == b"CR":
        return "CR2/NEF raw"
    return None
