"""Decode untrusted scan bytes fully and safely and turn them into 8-bit sRGB; no I/O."""

from __future__ import annotations

import contextlib
import importlib
import io
import re
import warnings
from collections.abc import Callable
from typing import Any, Final, TypeGuard

import cv2
import numpy as np
from PIL import Image, ImageFile

from pipeline.core import pages
from pipeline.core.decode_check import (
    DECODE_ERRORS,
    capture_library_logs,
    check_pixels,
    check_png_chunks,
    check_tiff_extents,
    check_warnings,
    classify_decode_error,
    declared_bit_depth,
    plain_reason,
    refuse_animation,
    unique,
)
from pipeline.core.decoded import DecodedScan, from_heif, from_tifffile, rare_codec_warning
from pipeline.core.icc import describe_icc, read_icc
from pipeline.core.sniff import SNIFF_BYTES, SniffedFormat, sniff_format
from pipeline.core.srgb import ICC_FIXED_DATE as ICC_FIXED_DATE
from pipeline.core.srgb import SRGB_ICC as SRGB_ICC
from pipeline.core.srgb import Converter as Converter
from pipeline.core.srgb import MatrixConverter, cmyk_to_srgb, srgb_converter
from pipeline.core.srgb import with_fixed_date as with_fixed_date
from pipeline.core.tiff_codec import (
    PILLOW_CODECS,
    WIDESPREAD,
    first_compression,
    short_page,
    truncated,
)
from pipeline.errors import PermanentError

# A truncated file is an error, never a half-grey picture.
ImageFile.LOAD_TRUNCATED_IMAGES = False


ORIENTATION_TAG = 0x0112
_TIFF_MAX_SAMPLE_VALUE_TAG = 281
# tiff:Orientation in an XMP packet, as an attribute or an element (Pillow never applies it).
_XMP_ORIENTATION = re.compile(rb"tiff:Orientation(?:\s*=\s*[\"']|>)\s*([1-8])\s*[\"'<]")


def decode_scan(data: bytes, *, name: str, max_pixels: int) -> DecodedScan:
    """Decode every page of `data`, or raise a PermanentError that names the file and remedy."""
    fmt = sniff_format(data[:SNIFF_BYTES], name=name)
    # Pillow's own ceiling (~89 MP, process-wide) would reject legitimate scans and word the
    # error its own way: the profile's ceiling replaces it, checked on every page's header.
    Image.MAX_IMAGE_PIXELS = None
    with capture_library_logs() as logged:
        decoded = _decode(data, fmt, name=name, max_pixels=max_pixels)
    decoded.warnings = unique([*decoded.warnings, *logged])
    return decoded


def _decode(data: bytes, fmt: SniffedFormat, *, name: str, max_pixels: int) -> DecodedScan:
    if fmt.pillow_format == "HEIF":
        return from_heif(data, fmt, name=name, max_pixels=max_pixels)
    code = None
    if fmt.pillow_format == "TIFF":
        short = short_page(data)
        if short is not None:
            raise truncated(name, *short, len(data))
        code = first_compression(data)
        if code is not None and code not in PILLOW_CODECS:
            return from_tifffile(data, fmt, code, name=name, max_pixels=max_pixels)
    found_warnings: list[str] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _register_plugin(fmt.pillow_format)
            image = Image.open(io.BytesIO(data), formats=[fmt.pillow_format])
            check_pixels(image.size, name=name, max_pixels=max_pixels)
            refuse_animation(image, fmt, name=name)
            # The header's size and depth: the stored master's, before any decoder rotates it.
            stored_width, stored_height = _stored_size(image)
            bit_depth = declared_bit_depth(image, data, fmt)
            orientation = _read_orientation(image)
            xmp_orientation = _read_xmp_orientation(image) if orientation is None else None
            icc = image.info.get("icc_profile") or None
            if fmt.pillow_format == "PNG":
                check_png_chunks(data, name=name)
            view = _view_uncompressed_tiff(image, data, fmt)
            first, pages = _load_every_page(
                image, data, fmt, name=name, max_pixels=max_pixels, skip_first=view is not None
            )
        found_warnings = check_warnings(caught, name=name, is_tiff=fmt.pillow_format == "TIFF")
    except PermanentError:
        raise
    except DECODE_ERRORS as exc:
        raise classify_decode_error(exc, name=name, fmt=fmt) from exc

    if view is not None:
        samples: np.ndarray[Any, Any] | None = view
    else:
        samples = _precise_samples(first, data, fmt, warnings_out=found_warnings)
    if code is not None and code not in WIDESPREAD:
        found_warnings.append(rare_codec_warning(code))
    parsed_icc = read_icc(icc)
    icc_description = describe_icc(parsed_icc, found_warnings)
    return DecodedScan(
        format=fmt,
        width=stored_width,
        height=stored_height,
        mode=first.mode,
        bit_depth=bit_depth,
        pages=pages,
        icc_profile=icc,
        icc_description=icc_description,
        orientation=orientation or xmp_orientation,
        image=first,
        samples=samples,
        orientation_from_xmp=xmp_orientation is not None,
        warnings=found_warnings,
        icc=parsed_icc,
    )


# The Pillow plugin of each format Sohoa opens. Opening a format whose plugin is not loaded
# makes Pillow import all of its ~45 plugins first (0.2 CPU-s, most of a one-shot `sohoa
# inspect`'s decode); the sniffed format needs only its own.
_PLUGINS: Final = {
    "JPEG": "PIL.JpegImagePlugin",
    "PNG": "PIL.PngImagePlugin",
    "TIFF": "PIL.TiffImagePlugin",
    "JPEG2000": "PIL.Jpeg2KImagePlugin",
    "WEBP": "PIL.WebPImagePlugin",
    "AVIF": "PIL.AvifImagePlugin",
}


def _register_plugin(pillow_format: str) -> None:
    module = _PLUGINS.get(pillow_format)
    # Without it (an old Pillow), Pillow loads every plugin, as it always did.
    if module is not None:
        with contextlib.suppress(ImportError):
            importlib.import_module(module)


def _stored_size(image: Image.Image) -> tuple[int, int]:
    """Width and height as stored: Pillow reports a TIFF with Orientation 5-8 turned already."""
    tags = getattr(image, "tag_v2", None)
    if tags is not None:
        width, height = tags.get(256), tags.get(257)
        if isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0:
            return width, height
    return image.size


def _read_orientation(image: Image.Image) -> int | None:
    # Read before load(): with libtiff, Pillow applies the TIFF tag during load and drops it.
    try:
        value = image.getexif().get(ORIENTATION_TAG)
    except DECODE_ERRORS:
        return None
    # 0, 9 and other invalid values mean "no orientation" (metadata notes them).
    return int(value) if isinstance(value, int) and 1 <= value <= 8 else None


def _read_xmp_orientation(image: Image.Image) -> int | None:
    """tiff:Orientation from the XMP packet (JPEG APP1, TIFF tag 700, PNG iTXt), if any."""
    packet: object = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp")
    if not packet and hasattr(image, "tag_v2"):
        packet = image.tag_v2.get(700)
    if isinstance(packet, str):
        packet = packet.encode("utf-8", "replace")
    if not isinstance(packet, bytes | bytearray):
        return None
    found = _XMP_ORIENTATION.search(bytes(packet[:1_000_000]))
    return int(found.group(1)) if found else None


def _view_uncompressed_tiff(
    image: Image.Image, data: bytes, fmt: SniffedFormat
) -> np.ndarray[Any, Any] | None:
    """A single-page uncompressed grey or RGB TIFF, viewed in `data` without a copy.

    Decoding such a page is a copy of bytes that `_check_tiff_extents` proves are in the file,
    so Pillow's load() (a copy into 4 bytes per pixel, and 8 bits only) is skipped for it.
    """
    if fmt.pillow_format != "TIFF" or (getattr(image, "n_frames", 1) or 1) != 1:
        return None
    import tifffile  # here: a JPEG's `sohoa inspect` need not import it (0.05 CPU-s)

    try:
        # tifffile's objects form reference cycles; closing the stream ourselves lets go of
        # the scan's bytes now, not at the next cyclic garbage collection.
        with io.BytesIO(data) as stream, tifffile.TiffFile(stream) as tif:
            if len(tif.pages) != 1:
                return None
            page = tif.pages.first
            shape = tuple(int(n) for n in page.shape)
            if (
                int(page.compression) != 1
                or int(page.photometric) not in (1, 2)  # min-is-black, RGB
                or int(page.samplesperpixel) != (3 if int(page.photometric) == 2 else 1)
                or page.dtype is None
                or page.dtype.kind not in "uf"
                or page.dtype.itemsize not in (1, 2, 4)
                or int(page.fillorder) != 1
                or int(page.bitspersample) != page.dtype.itemsize * 8
                or len(shape) != (3 if int(page.photometric) == 2 else 2)
                or (len(shape) == 3 and (int(page.planarconfig) != 1 or shape[2] != 3))
                or not page.is_contiguous
            ):
                return None
            offset = int(page.dataoffsets[0])
            dtype = page.dtype.newbyteorder(tif.byteorder)
    except Exception:  # an odd header: Pillow decodes it the ordinary way
        return None
    count = int(np.prod(shape))
    if offset < 0 or offset + count * dtype.itemsize > len(data):
        return None  # _check_tiff_extents names the truncation
    return np.frombuffer(data, dtype=dtype, count=count, offset=offset).reshape(shape)


def _load_every_page(
    image: Image.Image,
    data: bytes,
    fmt: SniffedFormat,
    *,
    name: str,
    max_pixels: int,
    skip_first: bool = False,
) -> tuple[Image.Image, int]:
    """Fully decode each frame (verify() proves nothing); return the first page and the count.

    `skip_first`: the single page is an uncompressed view already (`_view_uncompressed_tiff`).
    """
    pages = getattr(image, "n_frames", 1) or 1
    first: Image.Image | None = None
    for index in range(pages):
        if index:
            image.seek(index)
            check_pixels(image.size, name=name, max_pixels=max_pixels)
        if fmt.pillow_format == "TIFF":
            check_tiff_extents(image, len(data), name=name, page=index + 1)
        if not (skip_first and pages == 1):
            image.load()
        if first is None:
            first = image.copy() if pages > 1 else image
    assert first is not None
    if pages > 1:
        image.seek(0)
    return first, pages


def _precise_samples(
    first: Image.Image, data: bytes, fmt: SniffedFormat, *, warnings_out: list[str]
) -> np.ndarray[Any, Any] | None:
    """Pillow reads 16-bit RGB TIFF as 8-bit; take the real samples from tifffile instead."""
    if fmt.pillow_format != "TIFF" or first.mode not in ("RGB", "RGBA", "RGBX"):
        return None
    bits = first.tag_v2.get(258) if hasattr(first, "tag_v2") else None
    bits_tuple = bits if isinstance(bits, tuple) else (bits,)
    if not bits_tuple or int(bits_tuple[0] or 8) != 16:
        return None
    import tifffile

    try:
        with io.BytesIO(data) as stream, tifffile.TiffFile(stream) as tif:
            samples = tif.pages.first.asarray()
    except Exception as exc:
        warnings_out.append(
            f"The 16-bit samples could not be read ({plain_reason(exc)}); the derivatives "
            "were made from 8 bits."
        )
        return None
    if samples.dtype != np.uint16 or samples.ndim != 3 or samples.shape[2] not in (3, 4):
        return None
    return samples


def to_display_image(scan: DecodedScan) -> Image.Image:
    """The first page as an upright 8-bit sRGB (or greyscale) image; the master is untouched."""
    return Image.fromarray(to_display_array(scan))


def to_display_array(
    scan: DecodedScan,
    *,
    upright: tuple[np.ndarray[Any, Any], Converter | None] | None = None,
) -> np.ndarray[Any, Any]:
    """`to_display_image` as an array: H×W×3 RGB or H×W grey, 8-bit, upright, sRGB.

    16-bit RGB samples tagged with a matrix/TRC profile are converted from their 16 bits (the
    tables take them directly, 12-bit data included), not from an 8-bit copy. `upright`, what
    `to_upright_pixels(scan)` gave the caller, is reused (and may be converted in place).
    """
    samples = scan.samples
    if not _is_rgb16(samples):
        pixels, convert = upright if upright is not None else to_upright_pixels(scan)
        if isinstance(convert, MatrixConverter) and _is_own_rgb8(pixels):
            return convert(pixels, out=pixels)  # a rotated copy: 72 MB less at 24 MP
        return convert(pixels) if convert is not None else pixels
    convert = _srgb_converter(scan, grey=False)
    orientation = _remaining_orientation(scan)
    if isinstance(convert, MatrixConverter):
        return _orient(convert(samples, int(_top_sample_value(samples, scan))), orientation)
    pixels = _orient(_to_8bit(scan)[0], orientation)
    return convert(pixels) if convert is not None else pixels


def _is_own_rgb8(pixels: np.ndarray[Any, Any]) -> bool:
    """Pixels made here (an oriented copy), not a view of the scan's bytes or Pillow's."""
    return (
        pixels.dtype == np.uint8
        and pixels.ndim == 3
        and pixels.shape[2] == 3
        and pages.owns_pages(pixels)
        and pixels.flags.writeable
        and pixels.flags.c_contiguous
    )


def to_upright_pixels(scan: DecodedScan) -> tuple[np.ndarray[Any, Any], Converter | None]:
    """Upright 8-bit pixels (H×W×3 RGB or H×W grey) and the conversion to sRGB still owed.

    The conversion is None when the pixels are sRGB already (untagged, an sRGB-equivalent
    profile, or a broken one: a warning). LittleCMS runs at ~50 MP/s, so a caller that makes
    no full-size output applies it after shrinking; the result may be RGB for a grey input
    (a grey-gamma profile). The array may be a read-only view of the scan's bytes.
    """
    orientation = _remaining_orientation(scan)
    if scan.samples is None and scan.image.mode in ("L", "RGB"):
        upright = _copy_upright(scan.image, orientation)
        if upright is not None:
            return upright, _srgb_converter(scan, grey=upright.ndim == 2)
    pixels, converted = _to_8bit(scan)
    convert = None if converted else _srgb_converter(scan, grey=pixels.ndim == 2)
    return _orient(pixels, orientation), convert


def release_decoder_pixels(scan: DecodedScan) -> None:
    """Let go of the decoder's own copy of the first page's pixels once the caller has its
    upright array (from `to_upright_pixels` or `to_display_array`): Pillow holds RGB at four
    bytes a pixel, 96 MB at 24 MP, which would otherwise stay alive beside every later copy.
    The image keeps its size, mode, info and tags (EXIF, orientation, MaxSampleValue are read
    from those); a later use of its pixels raises "Operation on closed image" rather than
    decoding again. `samples`, when set, are left alone (a view of the scan's bytes)."""
    # The base class's close drops only the pixel core; ImageFile's would also close the
    # stream that TIFF tags are read from.
    Image.Image.close(scan.image)


# Bytes of Pillow's pixels copied out per band in `_copy_upright`: a band stays in the cache.
_COPY_BAND_BYTES: Final = 1 << 20


def _copy_upright(image: Image.Image, orientation: int) -> np.ndarray[Any, Any] | None:
    """A loaded L or RGB Pillow image as a new upright array, copied out a band of rows at a
    time, each band turned as it is placed: one pass over the pixels, where `np.asarray` makes
    two full-size copies (Pillow's `tobytes` in pieces, then their join) and turning a third.
    The result is the same pixels; None when Pillow will not hand them over this way."""
    width, height = image.size
    channels = 3 if image.mode == "RGB" else 1
    line = width * channels
    turned = orientation in (5, 6, 7, 8)
    shape = (width, height) if turned else (height, width)
    out = pages.empty(shape + ((3,) if channels == 3 else ()), np.uint8)
    # Where band rows [top, bottom) land: rows of the result, or (turned) its columns, counted
    # from the far end when the operation reverses them.
    reverse = orientation in (3, 4, 6, 7)
    step = _ORIENT.get(orientation)
    rows = max(1, _COPY_BAND_BYTES // line)
    try:
        encoder = Image._getencoder(image.mode, "raw", image.mode)
        encoder.setimage(image.im, (0, 0, width, height))
        top = 0
        while top < height:
            _, code, data = encoder.encode(rows * line)
            count = len(data) // line
            if count:
                band = np.frombuffer(data, np.uint8, count * line).reshape(
                    (count, width, 3) if channels == 3 else (count, width)
                )
                placed = step(band) if step is not None else band
                start, stop = (
                    (height - top - count, height - top) if reverse else (top, top + count)
                )
                if turned:
                    out[:, start:stop] = placed
                else:
                    out[start:stop] = placed
                top += count
            if code:
                break
    except (AttributeError, OSError, ValueError, TypeError):
        return None
    return out if code > 0 and top == height else None


def to_upright_samples(scan: DecodedScan) -> np.ndarray[Any, Any] | None:
    """The first page upright (a copy only if turned) when its samples are 16-bit, else None."""
    samples = scan.samples
    if samples is None or samples.dtype.kind != "u" or samples.dtype.itemsize != 2:
        return None
    if samples.ndim == 3:
        samples = samples[..., :3]
    if not samples.dtype.isnative:
        samples = samples.astype(np.uint16)
    return _orient(samples, _remaining_orientation(scan))


def _to_8bit(scan: DecodedScan) -> tuple[np.ndarray[Any, Any], bool]:
    """8-bit L or RGB samples, and whether they were converted to sRGB on the way (CMYK)."""
    if scan.samples is not None:
        samples = scan.samples
        if samples.ndim == 3 and samples.shape[2] == 2:  # grey + alpha
            samples = samples[..., 0]
        elif samples.ndim == 3 and samples.shape[2] != 3:
            samples = samples[..., :3]
        return _scale_to_8bit(samples, scan), False
    image = scan.image
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        return _scale_to_8bit(np.asarray(image), scan), False
    # Grey pixels under a grey profile stay one channel, so the profile applies (issue #16).
    grey = _has_grey_profile(scan) and image.mode in ("LA", "La", "P", "PA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info
    ):
        rgba = image.convert("RGBA")
        backdrop = Image.new("RGBA", rgba.size, (128, 128, 128, 255))
        flat = Image.alpha_composite(backdrop, rgba).convert("L" if grey else "RGB")
        return np.asarray(flat), False
    if grey:
        return np.asarray(image.convert("L")), False
    if image.mode == "1":
        return np.asarray(image.convert("L")), False
    if image.mode == "CMYK":
        return np.asarray(cmyk_to_srgb(image, scan.icc, scan.warnings)), True
    if image.mode in ("L", "RGB"):
        return np.asarray(image), False
    return np.asarray(image.convert("RGB")), False


def _has_grey_profile(scan: DecodedScan) -> bool:
    profile = scan.icc.profile if scan.icc is not None else None
    try:
        return profile is not None and profile.profile.xcolor_space.strip() == "GRAY"
    except (AttributeError, ValueError):
        return False


def _scale_to_8bit(samples: np.ndarray[Any, Any], scan: DecodedScan) -> np.ndarray[Any, Any]:
    """Scale to 0..255 with rounding: never the high byte alone, never clipped.

    16-bit TIFF samples peaking in 2049..4095 (or whose MaxSampleValue says so) are 12-bit data
    in 16-bit words, as many scanners write them: they are scaled from 4095, or the picture
    would come out nearly black.
    """
    if samples.dtype == np.uint8:
        return samples
    if samples.dtype.kind == "f":
        array = np.nan_to_num(samples.astype(np.float32, copy=False), nan=0.0, posinf=0.0)
        scale = 255.0 if float(array.max(initial=0.0)) <= 1.0 else 1.0
        floats: np.ndarray[Any, Any] = np.clip(array * scale + 0.5, 0, 255)
        return floats.astype(np.uint8)
    if samples.dtype.kind == "u" and samples.dtype.itemsize == 2 and not samples.dtype.isnative:
        samples = samples.astype(np.uint16)  # big-endian TIFF: OpenCV wants native order
    if samples.dtype != np.uint16:
        # 32-bit integer grey (Pillow's "I", e.g. a 16-bit PNG): 16-bit range unless it exceeds it.
        array = samples.astype(np.float64)
        top = max(float(array.max(initial=0.0)), 65535.0)
        return np.clip(array * 255.0 / top + 0.5, 0, 255).astype(np.uint8)
    top = _top_sample_value(samples, scan)
    # saturate_cast rounds to nearest; one pass in C, unlike numpy's temporaries.
    scaled: np.ndarray[Any, Any] = cv2.convertScaleAbs(
        np.ascontiguousarray(samples), alpha=255.0 / top
    )
    return scaled


def displays_from_samples(scan: DecodedScan) -> bool:
    """Whether `to_display_array` converts straight from 16-bit RGB samples at full scale
    (65535) through the tables: then no 8-bit copy in the scan's own encoding is needed, and
    `to_upright_samples` serves the colour chart (its detection copy is the same 8 bits)."""
    samples = scan.samples
    if not _is_rgb16(samples):
        return False
    # Its warnings, if any, are the conversion's own to give (to_upright_pixels' or this one's).
    convert = srgb_converter(scan.icc, grey=False, warnings_out=[])
    return isinstance(convert, MatrixConverter) and _top_sample_value(samples, scan) == 65535.0


def _is_rgb16(samples: np.ndarray[Any, Any] | None) -> TypeGuard[np.ndarray[Any, Any]]:
    """16-bit unsigned RGB (or RGBA) samples: what the tables convert from their 16 bits."""
    return (
        samples is not None
        and samples.dtype.kind == "u"
        and samples.dtype.itemsize == 2
        and samples.ndim == 3
        and samples.shape[2] in (3, 4)
    )


def _top_sample_value(samples: np.ndarray[Any, Any], scan: DecodedScan) -> float:
    if samples is scan.samples:
        if scan.top_sample is None:
            scan.top_sample = _find_top_sample_value(samples, scan)
        return scan.top_sample
    return _find_top_sample_value(samples, scan)


def _find_top_sample_value(samples: np.ndarray[Any, Any], scan: DecodedScan) -> float:
    tags = getattr(scan.image, "tag_v2", None)
    declared = tags.get(_TIFF_MAX_SAMPLE_VALUE_TAG) if tags is not None else None
    if isinstance(declared, tuple):
        declared = max(declared, default=None)
    if isinstance(declared, int) and 255 < declared < 65535:
        return float(declared)
    # Real 12-bit data of a real subject reaches the upper half of its range; a 16-bit scan
    # peaking at 3-6% of full scale is a black frame either way, and darker ones stay 16-bit.
    if scan.format.pillow_format == "TIFF" and 2048 < int(samples.max(initial=0)) <= 4095:
        return 4095.0
    return 65535.0


def _srgb_converter(scan: DecodedScan, *, grey: bool) -> Converter | None:
    """The conversion from the embedded profile to sRGB, or None if there is nothing to do."""
    return srgb_converter(scan.icc, grey=grey, warnings_out=scan.warnings)


def _remaining_orientation(scan: DecodedScan) -> int:
    """The orientation still to apply: libtiff applies (and drops) the TIFF tag during
    Pillow's load(), so rotate only if the tag survived, or if the pixels did not come from
    Pillow, or if it came from XMP (which no decoder applies). Exactly once."""
    if scan.decoder_oriented:
        return 1
    if scan.samples is not None or scan.orientation_from_xmp:
        return scan.orientation or 1
    try:
        remaining = scan.image.getexif().get(ORIENTATION_TAG)
    except DECODE_ERRORS:
        return 1
    return int(remaining) if isinstance(remaining, int) and 1 <= remaining <= 8 else 1


# EXIF orientations 2-8 as OpenCV operations (each makes one contiguous copy).
_ORIENT: dict[int, Callable[[np.ndarray[Any, Any]], np.ndarray[Any, Any]]] = {
    2: lambda a: cv2.flip(a, 1),
    3: lambda a: cv2.rotate(a, cv2.ROTATE_180),
    4: lambda a: cv2.flip(a, 0),
    5: lambda a: cv2.transpose(a),
    6: lambda a: cv2.rotate(a, cv2.ROTATE_90_CLOCKWISE),
    7: lambda a: cv2.rotate(cv2.transpose(a), cv2.ROTATE_180),
    8: lambda a: cv2.rotate(a, cv2.ROTATE_90_COUNTERCLOCKWISE),
}


def _orient(pixels: np.ndarray[Any, Any], orientation: int) -> np.ndarray[Any, Any]:
    step = _ORIENT.get(orientation)
    return step(np.ascontiguousarray(pixels)) if step is not None else pixels
