"""TIFF structure and codecs: how many bytes its pages need, and decoding the compressions
Pillow's libtiff lacks with tifffile + imagecodecs; pure, no I/O."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from pipeline.errors import (
    CorruptImageError,
    PermanentError,
    TruncatedImageError,
    UnsupportedFormatError,
)

# Compressions the libtiff inside Pillow's wheels decodes (none, CCITT, LZW, JPEG, deflate,
# PackBits, LZMA, Zstd); any other goes to tifffile, whose imagecodecs decode WebP, LERC,
# JPEG XL, JPEG 2000, PNG, JPEG XR and the old Zstd/WebP codes.
PILLOW_CODECS = frozenset({1, 2, 3, 4, 5, 6, 7, 8, 32773, 32946, 34925, 50000})
_NAMES = {
    34887: "LERC",
    34925: "LZMA",
    34926: "Zstandard (old code)",
    34927: "WebP (old code)",
    34712: "JPEG 2000",
    34933: "PNG",
    34934: "JPEG XR",
    50000: "Zstandard",
    50001: "WebP",
    50002: "JPEG XL",
    52546: "JPEG XL",
}
# Codecs a TIFF reader elsewhere may not have: the master is kept, with a warning saying so.
WIDESPREAD = frozenset({1, 2, 3, 4, 5, 7, 8, 32773, 32946})
_MAX_IFDS = 10_000


def codec_name(code: int) -> str:
    """A person's name for a TIFF compression code."""
    if code in _NAMES:
        return _NAMES[code]
    import tifffile  # in each function: a JPEG's `sohoa inspect` need not import it

    try:
        return str(tifffile.COMPRESSION(code).name).replace("_", " ")
    except ValueError:
        return f"compression {code}"


def short_page(data: bytes) -> tuple[int, int] | None:
    """(page, bytes it needs) for the first page whose IFD, strips or tiles lie past the end of
    the file, or None. A truncated multi-page TIFF is caught here, whatever a decoder makes of
    the garbage it would read; a header this walker cannot read is left to the decoders."""
    order = {b"II": "<", b"MM": ">"}.get(data[:2])
    if order is None or len(data) < 16:
        return None
    big = struct.unpack_from(order + "H", data, 2)[0] == 43
    count_fmt, entry_size, word = ("Q", 20, "Q") if big else ("H", 12, "I")
    offset = int(struct.unpack_from(order + word, data, 8 if big else 4)[0])
    seen: set[int] = set()
    page = 0
    while offset and offset not in seen and len(seen) < _MAX_IFDS:
        seen.add(offset)
        page += 1
        head = struct.calcsize(count_fmt)
        if offset + head > len(data):
            return page, offset + head
        count = int(struct.unpack_from(order + count_fmt, data, offset)[0])
        end = offset + head + count * entry_size + struct.calcsize(word)
        if end > len(data):
            return page, end
        values: dict[int, list[int]] = {}
        for index in range(count):
            at = offset + head + index * entry_size
            tag, kind = struct.unpack_from(order + "HH", data, at)
            letter = {3: "H", 4: "I", 16: "Q"}.get(kind)
            if tag not in (273, 279, 324, 325) or letter is None:
                continue
            n = int(struct.unpack_from(order + word, data, at + 4)[0])
            size = n * struct.calcsize(letter)
            where = at + 4 + struct.calcsize(word)
            if size > struct.calcsize(word):
                where = int(struct.unpack_from(order + word, data, where)[0])
            if n > 1_000_000 or where + size > len(data):
                return page, where + size
            values[tag] = [int(v) for v in struct.unpack_from(f"{order}{n}{letter}", data, where)]
        for offsets_tag, counts_tag in ((273, 279), (324, 325)):
            pairs = zip(values.get(offsets_tag, []), values.get(counts_tag, []), strict=False)
            needed = max((o + c for o, c in pairs if c), default=0)
            if needed > len(data):
                return page, needed
        offset = int(struct.unpack_from(order + word, data, end - struct.calcsize(word))[0])
    return None


def first_compression(data: bytes) -> int | None:
    """The first page's Compression tag, or None when tifffile cannot read the header."""
    import tifffile

    try:
        with io.BytesIO(data) as stream, tifffile.TiffFile(stream) as tif:
            return int(tif.pages.first.compression)
    except Exception:  # Pillow's reading of the same header names the damage
        return None


@dataclass
class TiffPicture:
    """The first page of a TIFF decoded by tifffile: samples as stored, before orientation."""

    image: Image.Image
    samples: np.ndarray[Any, Any]
    bit_depth: int
    pages: int
    icc_profile: bytes | None
    orientation: int | None


def decode_with_tifffile(data: bytes, *, name: str, code: int, check_pixels: Any) -> TiffPicture:
    """Decode every page with tifffile + imagecodecs, or refuse the codec by name."""
    import tifffile

    codec = codec_name(code)
    unsupported = UnsupportedFormatError(
        f"File {name!r} is a TIFF compressed with {codec}, which Sohoa cannot decode: export "
        "it as uncompressed or LZW TIFF.",
        file=name,
    )
    try:
        tifffile.TIFF.DECOMPRESSORS[code]
    except (KeyError, ValueError, ImportError) as exc:
        raise unsupported from exc
    try:
        # tifffile reports oddities through `logging` and `warnings`: the caller captures both.
        with io.BytesIO(data) as stream, tifffile.TiffFile(stream) as tif:
            pages = list(tif.pages)
            first = pages[0]
            assert isinstance(first, tifffile.TiffPage)
            photometric = int(first.photometric)
            if photometric not in (0, 1, 2):  # min-is-white, min-is-black, RGB
                colour = tifffile.PHOTOMETRIC(photometric).name
                raise UnsupportedFormatError(
                    f"File {name!r} is a {codec}-compressed TIFF in {colour} colour, which "
                    "Sohoa cannot decode with this codec: export it as uncompressed or LZW TIFF.",
                    file=name,
                )
            samples: np.ndarray[Any, Any] | None = None
            for page in pages:
                assert isinstance(page, tifffile.TiffPage)
                check_pixels((int(page.imagewidth), int(page.imagelength)))
                array = page.asarray()
                if samples is None:
                    samples = array
            icc = first.tags.get(34675)
            orientation_tag = first.tags.get(274)
            orientation = int(orientation_tag.value) if orientation_tag is not None else 1
            bits = int(first.bitspersample)
    except PermanentError:
        raise
    except Exception as exc:  # imagecodecs' errors share no base class
        raise CorruptImageError(
            f"File {name!r} is a damaged TIFF: its {codec}-compressed data cannot be decoded; "
            "export or scan it again.",
            file=name,
        ) from exc
    assert samples is not None
    if photometric == 0 and samples.dtype.kind == "u":
        samples = np.iinfo(samples.dtype).max - samples
    if samples.ndim == 3 and samples.shape[2] == 1:
        samples = samples[..., 0]
    return TiffPicture(
        image=_preview_image(samples),
        samples=samples,
        bit_depth=bits,
        pages=len(pages),
        icc_profile=bytes(icc.value) if icc is not None else None,
        orientation=orientation if 1 <= orientation <= 8 else None,
    )


def truncated(name: str, page: int, needed: int, size: int) -> TruncatedImageError:
    """The error for a TIFF whose page needs more bytes than the file has."""
    return TruncatedImageError(
        f"File {name!r} is truncated: page {page} needs {needed:,} bytes but the file has "
        f"{size:,}; the copy was interrupted, copy it again from the original.",
        file=name,
    )


def _preview_image(samples: np.ndarray[Any, Any]) -> Image.Image:
    """An 8-bit Pillow image of the samples' size and colour, for metadata's sake only."""
    view = samples[..., :3] if samples.ndim == 3 else samples
    if view.dtype != np.uint8:
        view = np.zeros(view.shape, np.uint8)
    return Image.fromarray(np.ascontiguousarray(view))
