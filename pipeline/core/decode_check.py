"""Judge a decode: pixel ceiling, strips inside the file, PNG chunks, the warnings and errors
decoders raise, each turned into a stable message naming the file and remedy; no I/O."""

from __future__ import annotations

import logging
import re
import struct
import warnings
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from PIL import Image, UnidentifiedImageError

from pipeline.core.sniff import SniffedFormat
from pipeline.errors import (
    AnimatedImageError,
    CorruptImageError,
    PermanentError,
    PixelLimitError,
    TruncatedImageError,
)

# Everything Pillow is known to raise on hostile input, not only OSError.
DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    TypeError,
    NotImplementedError,
    IndexError,
    KeyError,
    struct.error,
    EOFError,
    UnidentifiedImageError,
    Image.DecompressionBombError,
    MemoryError,
)


_TIFF_STRIP_TAGS = ((273, 279), (324, 325))  # (offsets, byte counts) for strips and tiles
# An object's repr or a memory address: never part of a message (not stable, not meaningful).
_REPR = re.compile(r"<[^<>]*\bat 0x[0-9a-fA-F]+>|<[^<>]*object[^<>]*>|\b0x[0-9a-fA-F]{6,}\b")
_DECODER_CODE = re.compile(r"(?:decoder|encoder) error -?\d+")
_FILE_PREFIX = re.compile(r"^(?:tempfile\.tif|<[^>]*>|[^:\s]*\.tiff?):\s*")


def plain_text(text: str, *, limit: int = 200) -> str:
    """A library's message, fit for a person: no reprs, no addresses, one line, bounded."""
    text = _FILE_PREFIX.sub("", text.strip())
    text = _REPR.sub("", text)
    text = " ".join(text.split()).strip(" :;,.")
    return text[:limit]


def plain_reason(exc: BaseException) -> str:
    """What went wrong, in the library's words when they are words, without reprs."""
    if isinstance(exc, UnidentifiedImageError):
        return "no decoder recognises its data"
    if _DECODER_CODE.fullmatch(str(exc).strip()):  # Pillow's C decoders' status numbers
        return "its compressed data does not decode"
    return plain_text(str(exc)) or type(exc).__name__


def unique(messages: Iterable[str]) -> list[str]:
    """The messages in their first order, each once (a library repeats itself per strip)."""
    return list(dict.fromkeys(messages))


# Libraries that report through `logging` (tifffile warns of odd tags and offsets this way);
# left alone, Python's last-resort handler prints them raw on stderr.
_LIBRARY_LOGGERS = ("tifffile", "PIL", "pillow_heif", "imagecodecs")


class _Collect(logging.Handler):
    def __init__(self, into: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        text = plain_text(record.getMessage())
        if text:
            self.into.append(f"{record.name.split('.')[0]}: {text}")


@contextmanager
def capture_library_logs() -> Iterator[list[str]]:
    """Collect what the decoding libraries log (warnings and worse) instead of printing it."""
    collected: list[str] = []
    handler = _Collect(collected)
    saved = []
    for name in _LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.propagate))
        logger.addHandler(handler)
        logger.propagate = False
    try:
        yield collected
    finally:
        for logger, propagate in saved:
            logger.removeHandler(handler)
            logger.propagate = propagate


def check_pixels(size: tuple[int, int], *, name: str, max_pixels: int) -> None:
    width, height = size
    if width <= 0 or height <= 0:
        raise CorruptImageError(
            f"File {name!r} declares an empty image ({width}×{height}): the file is damaged; "
            "export it again.",
            file=name,
        )
    if width * height > max_pixels:
        raise PixelLimitError(
            f"File {name!r} declares {width}×{height} pixels ({width * height / 1e6:.0f} MP), "
            f"above the profile's ceiling of {max_pixels / 1e6:.0f} MP: if the scan is genuine, "
            "raise limits.max_pixels in the processing profile; otherwise it is a "
            "decompression bomb and should be deleted.",
            file=name,
        )


def check_tiff_extents(image: Image.Image, size: int, *, name: str, page: int) -> None:
    """Some truncated TIFFs decode silently: every strip or tile must lie inside the file."""
    tags = getattr(image, "tag_v2", None)
    if tags is None:
        return
    for offsets_tag, counts_tag in _TIFF_STRIP_TAGS:
        offsets, counts = tags.get(offsets_tag), tags.get(counts_tag)
        if offsets is None or counts is None:
            continue
        offsets = offsets if isinstance(offsets, tuple) else (offsets,)
        counts = counts if isinstance(counts, tuple) else (counts,)
        end = max((int(o) + int(c) for o, c in zip(offsets, counts, strict=False)), default=0)
        if end > size:
            raise TruncatedImageError(
                f"File {name!r} is truncated: page {page} needs {end:,} bytes but the file has "
                f"{size:,}; the copy was interrupted, copy it again from the original.",
                file=name,
            )


def check_png_chunks(data: bytes, *, name: str) -> None:
    """Pillow does not check IDAT CRCs, and a damaged deflate stream can still inflate: walk
    every chunk, check its CRC, and require IEND."""
    pos = 8
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            break
        (crc,) = struct.unpack(">I", data[end - 4 : end])
        if zlib.crc32(data[pos + 4 : end - 4]) != crc:
            raise CorruptImageError(
                f"File {name!r} is a damaged PNG: chunk {kind.decode('latin-1')!r} at byte "
                f"{pos:,} fails its checksum; export or copy it again from the original.",
                file=name,
            )
        if kind == b"IEND":
            return
        pos = end
    raise TruncatedImageError(
        f"File {name!r} is truncated: the PNG ends before its IEND chunk; the copy was "
        "interrupted, copy it again from the original.",
        file=name,
    )


def check_warnings(caught: list[warnings.WarningMessage], *, name: str, is_tiff: bool) -> list[str]:
    kept: list[str] = []
    for item in caught:
        text = plain_text(str(item.message))
        if issubclass(item.category, Image.DecompressionBombWarning):
            raise PixelLimitError(
                f"File {name!r} is larger than the profile's pixel ceiling ({text}); raise "
                "limits.max_pixels in the profile if the scan is genuine.",
                file=name,
            )
        # In a TIFF the tags are the image's own structure; elsewhere they come from an EXIF
        # block, whose damage is a warning on an image that decoded fine.
        if is_tiff and ("Tag data larger than file" in text or "Truncated File Read" in text):
            raise TruncatedImageError(
                f"File {name!r} is truncated ({text}); copy it again from the original.",
                file=name,
            )
        kept.append(f"decoder warning: {text}")
    return kept


def classify_decode_error(exc: BaseException, *, name: str, fmt: SniffedFormat) -> PermanentError:
    text = plain_reason(exc)
    if isinstance(exc, Image.DecompressionBombError):
        return PixelLimitError(
            f"File {name!r} is a possible decompression bomb ({text}); raise limits.max_pixels "
            "in the profile only if the scan is genuine.",
            file=name,
        )
    lowered = text.lower()
    if isinstance(exc, EOFError) or "truncated" in lowered or "premature end" in lowered:
        return TruncatedImageError(
            f"File {name!r} is truncated: its {fmt.pillow_format} data ends early ({text}); "
            "the copy was interrupted, copy it again from the original.",
            file=name,
        )
    if isinstance(exc, MemoryError):
        return PixelLimitError(
            f"File {name!r} needs more memory to decode than this worker has; lower "
            "limits.max_pixels or process it on a larger machine.",
            file=name,
        )
    return CorruptImageError(
        f"File {name!r} is a damaged {fmt.pillow_format} file and cannot be decoded ({text}); "
        "export or scan it again.",
        file=name,
    )


def refuse_animation(image: Image.Image, fmt: SniffedFormat, *, name: str) -> None:
    """An animated AVIF, WebP or PNG is not a scan; a multi-page TIFF is (every page is kept)."""
    if fmt.pillow_format == "TIFF" or not getattr(image, "is_animated", False):
        return
    frames = getattr(image, "n_frames", 2)
    raise AnimatedImageError(
        f"File {name!r} is an animated {fmt.pillow_format} of {frames} frames, not a still "
        "image: export the frame you mean as a still image (TIFF, PNG, JPEG or AVIF).",
        file=name,
    )


def declared_bit_depth(image: Image.Image, data: bytes, fmt: SniffedFormat) -> int:
    """Bits per sample of the stored master, as its header says: the one figure that records,
    technical metadata and `inspect` report (decoders may widen or narrow the samples)."""
    kind = fmt.pillow_format
    if kind == "PNG" and len(data) > 24:
        return int(data[24])
    if kind == "JPEG":
        return int(getattr(image, "bits", 8) or 8)
    if kind == "TIFF":
        tags = getattr(image, "tag_v2", None)
        bits = tags.get(258) if tags is not None else None
        first = bits[0] if isinstance(bits, tuple) and bits else bits
        return int(first) if isinstance(first, int) and first > 0 else 1
    if kind == "JPEG2000":
        depth = _jp2_depth(data)
        if depth:
            return depth
    if kind == "AVIF":
        return _pixi_depth(data) or 8
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        return 16
    if image.mode == "F":
        return 32
    return 1 if image.mode == "1" else 8


def _jp2_depth(data: bytes) -> int | None:
    if data[:4] == b"\xff\x4f\xff\x51":
        return (data[42] & 0x7F) + 1 if len(data) > 42 else None
    at = data.find(b"ihdr", 0, 4096)
    if at < 0 or len(data) <= at + 14 or data[at + 14] == 255:
        return None
    return (data[at + 14] & 0x7F) + 1


def _pixi_depth(data: bytes) -> int | None:
    """The first channel's bits from an ISO-BMFF `pixi` property (AVIF and HEIF carry one)."""
    at = data.find(b"pixi", 0, 65536)
    if at < 0 or len(data) <= at + 10 or data[at + 8] == 0:
        return None
    return int(data[at + 9]) or None
