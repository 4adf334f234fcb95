"""Decode untrusted scan bytes fully and safely and turn them into 8-bit sRGB; no I/O."""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import tifffile
from PIL import Image, ImageCms, ImageFile, UnidentifiedImageError

from pipeline.core.sniff import SniffedFormat, sniff_format
from pipeline.errors import (
    CorruptImageError,
    PermanentError,
    PixelLimitError,
    TruncatedImageError,
)

# A truncated file is an error, never a half-grey picture.
ImageFile.LOAD_TRUNCATED_IMAGES = False

# Everything Pillow is known to raise on hostile input, not only OSError.
_DECODE_ERRORS = (
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

_SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
SRGB_ICC: bytes = _SRGB_PROFILE.tobytes()

ORIENTATION_TAG = 0x0112
_TIFF_ICC_TAG = 34675
_TIFF_STRIP_TAGS = ((273, 279), (324, 325))  # (offsets, byte counts) for strips and tiles


@dataclass
class DecodedScan:
    """A fully decoded scan: facts about the file and the first page, ready for derivatives."""

    format: SniffedFormat
    width: int
    height: int
    mode: str
    bit_depth: int
    pages: int
    icc_profile: bytes | None
    icc_description: str | None
    orientation: int | None
    image: Image.Image
    # Set when Pillow would lose precision (16-bit RGB TIFF): the first page's real samples.
    samples16: np.ndarray[Any, np.dtype[np.uint16]] | None = None
    warnings: list[str] = field(default_factory=list)


def decode_scan(data: bytes, *, name: str, max_pixels: int) -> DecodedScan:
    """Decode every page of `data`, or raise a PermanentError that names the file and remedy."""
    fmt = sniff_format(data[:32], name=name)
    # Pillow's own ceiling (~89 MP, process-wide) would reject legitimate scans and word the
    # error its own way: the profile's ceiling replaces it, checked on every page's header.
    Image.MAX_IMAGE_PIXELS = None
    found_warnings: list[str] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            image = Image.open(io.BytesIO(data), formats=[fmt.pillow_format])
            _check_pixels(image.size, name=name, max_pixels=max_pixels)
            orientation = _read_orientation(image)
            icc = image.info.get("icc_profile") or None
            if fmt.pillow_format == "PNG":
                _check_png_chunks(data, name=name)
            first, pages = _load_every_page(image, data, fmt, name=name, max_pixels=max_pixels)
        found_warnings = _check_warnings(caught, name=name)
    except PermanentError:
        raise
    except _DECODE_ERRORS as exc:
        raise _classify_decode_error(exc, name=name, fmt=fmt) from exc

    samples16, bit_depth = _precise_samples(
        first, data, fmt, name=name, warnings_out=found_warnings
    )
    icc_description = _describe_icc(icc, found_warnings)
    return DecodedScan(
        format=fmt,
        width=first.width,
        height=first.height,
        mode=first.mode,
        bit_depth=bit_depth,
        pages=pages,
        icc_profile=icc,
        icc_description=icc_description,
        orientation=orientation,
        image=first,
        samples16=samples16,
        warnings=found_warnings,
    )


def _check_pixels(size: tuple[int, int], *, name: str, max_pixels: int) -> None:
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


def _read_orientation(image: Image.Image) -> int | None:
    # Read before load(): with libtiff, Pillow applies the TIFF tag during load and drops it.
    try:
        value = image.getexif().get(ORIENTATION_TAG)
    except _DECODE_ERRORS:
        return None
    return int(value) if isinstance(value, int) else None


def _load_every_page(
    image: Image.Image, data: bytes, fmt: SniffedFormat, *, name: str, max_pixels: int
) -> tuple[Image.Image, int]:
    """Fully decode each frame (verify() proves nothing); return the first page and the count."""
    pages = getattr(image, "n_frames", 1) or 1
    first: Image.Image | None = None
    for index in range(pages):
        if index:
            image.seek(index)
            _check_pixels(image.size, name=name, max_pixels=max_pixels)
        if fmt.pillow_format == "TIFF":
            _check_tiff_extents(image, len(data), name=name, page=index + 1)
        image.load()
        if first is None:
            first = image.copy() if pages > 1 else image
    assert first is not None
    if pages > 1:
        image.seek(0)
    return first, pages


def _check_tiff_extents(image: Image.Image, size: int, *, name: str, page: int) -> None:
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


def _check_png_chunks(data: bytes, *, name: str) -> None:
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


def _check_warnings(caught: list[warnings.WarningMessage], *, name: str) -> list[str]:
    kept: list[str] = []
    for item in caught:
        text = str(item.message)
        if issubclass(item.category, Image.DecompressionBombWarning):
            raise PixelLimitError(
                f"File {name!r} is larger than the profile's pixel ceiling ({text}); raise "
                "limits.max_pixels in the profile if the scan is genuine.",
                file=name,
            )
        if "Tag data larger than file" in text or "Truncated File Read" in text:
            raise TruncatedImageError(
                f"File {name!r} is truncated ({text}); copy it again from the original.",
                file=name,
            )
        kept.append(f"{item.category.__name__}: {text}"[:500])
    return kept


def _classify_decode_error(exc: BaseException, *, name: str, fmt: SniffedFormat) -> PermanentError:
    text = str(exc) or type(exc).__name__
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


def _precise_samples(
    first: Image.Image,
    data: bytes,
    fmt: SniffedFormat,
    *,
    name: str,
    warnings_out: list[str],
) -> tuple[np.ndarray[Any, np.dtype[np.uint16]] | None, int]:
    """Pillow reads 16-bit RGB TIFF as 8-bit; take the real samples from tifffile instead."""
    if first.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        return None, 16
    if first.mode == "F":
        return None, 32
    if fmt.pillow_format != "TIFF":
        return None, 1 if first.mode == "1" else 8
    bits = first.tag_v2.get(258) if hasattr(first, "tag_v2") else None
    bits_tuple = bits if isinstance(bits, tuple) else (bits,)
    if not bits_tuple or int(bits_tuple[0] or 8) != 16:
        return None, 1 if first.mode == "1" else 8
    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            samples = tif.pages.first.asarray()
    except Exception as exc:
        warnings_out.append(f"16-bit samples unreadable ({exc}); derivatives use 8 bits")
        return None, 16
    if samples.dtype != np.uint16 or samples.ndim != 3 or samples.shape[2] not in (3, 4):
        return None, 16
    return samples, 16


def _describe_icc(icc: bytes | None, warnings_out: list[str]) -> str | None:
    if not icc:
        return None
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.getProfileDescription(profile).strip() or "unnamed profile"
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as exc:
        warnings_out.append(f"embedded ICC profile is unreadable ({exc}); treated as sRGB")
        return None


def to_display_image(scan: DecodedScan) -> Image.Image:
    """The first page as an upright 8-bit sRGB (or greyscale) image; the master is untouched."""
    image = _to_8bit(scan)
    image = _to_srgb(image, scan)
    return _apply_orientation(image, scan)


def _to_8bit(scan: DecodedScan) -> Image.Image:
    image = scan.image
    if scan.samples16 is not None:
        samples = scan.samples16[..., :3].astype(np.uint32)
        # Round to nearest: x * 255 / 65535, never the high byte alone.
        return Image.fromarray(((samples * 255 + 32767) // 65535).astype(np.uint8))
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        array = np.asarray(image).astype(np.float64)
        top = 65535.0
        return Image.fromarray(np.clip(array * 255.0 / top + 0.5, 0, 255).astype(np.uint8))
    if image.mode == "F":
        array = np.asarray(image).astype(np.float64)
        scale = 255.0 if float(np.nanmax(array)) <= 1.0 else 1.0
        return Image.fromarray(np.clip(np.nan_to_num(array) * scale + 0.5, 0, 255).astype(np.uint8))
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info
    ):
        rgba = image.convert("RGBA")
        backdrop = Image.new("RGBA", rgba.size, (128, 128, 128, 255))
        return Image.alpha_composite(backdrop, rgba).convert("RGB")
    if image.mode in ("1", "P"):
        return image.convert("L" if image.mode == "1" else "RGB")
    if image.mode in ("L", "RGB", "CMYK"):
        return image
    return image.convert("RGB")


def _to_srgb(image: Image.Image, scan: DecodedScan) -> Image.Image:
    if image.mode == "L":
        return image
    if scan.icc_profile and scan.icc_description is not None:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(scan.icc_profile))
            converted = ImageCms.profileToProfile(
                image,
                source,
                _SRGB_PROFILE,
                renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
                outputMode="RGB",
                flags=ImageCms.Flags.BLACKPOINTCOMPENSATION,
            )
            if converted is not None:
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError) as exc:
            scan.warnings.append(f"colour conversion failed ({exc}); treated as sRGB")
    return image.convert("RGB") if image.mode != "RGB" else image


_TRANSPOSE = {
    2: [Image.Transpose.FLIP_LEFT_RIGHT],
    3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM],
    5: [Image.Transpose.TRANSPOSE],
    6: [Image.Transpose.ROTATE_270],
    7: [Image.Transpose.TRANSVERSE],
    8: [Image.Transpose.ROTATE_90],
}


def _apply_orientation(image: Image.Image, scan: DecodedScan) -> Image.Image:
    """Rotate exactly once: only if the tag survived decoding (libtiff may have applied it)."""
    if scan.samples16 is not None:
        remaining = scan.orientation
    else:
        try:
            remaining = scan.image.getexif().get(ORIENTATION_TAG)
        except _DECODE_ERRORS:
            remaining = None
    for step in _TRANSPOSE.get(remaining or 1, []):
        image = image.transpose(step)
    return image
