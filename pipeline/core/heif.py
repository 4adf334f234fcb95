"""Decode HEIC/HEIF stills with pillow-heif (libheif, libde265): samples, profile, depth; no I/O."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from pipeline.errors import CorruptImageError, TruncatedImageError

ORIENTATION_TAG = 0x0112


@dataclass
class HeifPicture:
    """The primary image of a HEIF file, upright as libheif applies its transforms (irot, imir).

    `image` is an 8-bit Pillow image (metadata, colour mode); `samples` the decoder's 16-bit
    words when the file holds more than 8 bits (10 or 12, scaled to 0..65535), else None.
    `orientation` is the EXIF tag as written: informative only, since the HEIF transforms are
    the normative ones and are already applied (ISO/IEC 23008-12), so it is never applied again.
    """

    image: Image.Image
    samples: np.ndarray[Any, Any] | None
    bit_depth: int
    pages: int
    icc_profile: bytes | None
    orientation: int | None


def decode_heif(data: bytes, *, name: str, check_pixels: Any) -> HeifPicture:
    """Decode the primary image fully, or raise a PermanentError naming the file and remedy.

    `check_pixels(size)` is the caller's pixel ceiling, checked before any pixel is decoded.
    """
    import pillow_heif  # only for HEIF files: a one-shot `sohoa inspect` of a TIFF skips it

    try:
        heif = pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=False)
        pages = len(heif)
        primary = heif[heif.primary_index]
        for index in range(pages):  # every top-level image must decode, as every TIFF page
            check_pixels(heif[index].size)
            heif[index].load()
        depth = primary.info.get("bit_depth")
        bit_depth = depth if isinstance(depth, int) and depth > 0 else 8
        exif = primary.info.get("exif")
        xmp = primary.info.get("xmp")
        icc = primary.info.get("icc_profile") or None
        mode = primary.mode
        width, height = primary.size
        raw = primary.data
        stride = primary.stride
    except (RuntimeError, ValueError, OSError, EOFError, KeyError, TypeError) as exc:
        raise _classify(exc, name=name) from exc
    if mode.endswith(";16"):
        base = mode.split(";")[0]
        channels = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}[base]
        words = np.frombuffer(raw, dtype="<u2").reshape(height, stride // 2)
        samples = np.ascontiguousarray(words[:, : width * channels].reshape(height, width, -1))
        if channels == 1:
            samples = samples[..., 0]
        image = Image.fromarray((samples[..., : min(channels, 3)] >> 8).astype(np.uint8).squeeze())
    else:
        image = Image.frombuffer(mode, (width, height), raw, "raw", mode, stride, 1).copy()
        samples = None
    # What metadata reads from a decoded page (`extract_metadata`), as Pillow's plugins leave it.
    image.format = "HEIF"
    for key, value in (("exif", exif), ("xmp", xmp), ("icc_profile", icc)):
        if isinstance(value, bytes) and value:
            image.info[key] = value
    return HeifPicture(
        image=image,
        samples=samples,
        bit_depth=bit_depth,
        pages=pages,
        icc_profile=icc if isinstance(icc, bytes) else None,
        orientation=_exif_orientation(exif),
    )


def _exif_orientation(exif: object) -> int | None:
    if not isinstance(exif, bytes) or not exif:
        return None
    block = exif[6:] if exif.startswith(b"Exif\0\0") else exif
    try:
        tags = Image.Exif()
        tags.load(b"Exif\0\0" + block)
        value = tags.get(ORIENTATION_TAG)
    except Exception:  # a damaged EXIF block is metadata's business (a warning), not decoding's
        return None
    return int(value) if isinstance(value, int) and 1 <= value <= 8 else None


def _classify(exc: BaseException, *, name: str) -> CorruptImageError | TruncatedImageError:
    text = str(exc).lower()
    if "end of" in text or "truncat" in text or "not enough data" in text:
        return TruncatedImageError(
            f"File {name!r} is truncated: its HEIF data ends early; the copy was interrupted, "
            "copy it again from the phone or camera.",
            file=name,
        )
    return CorruptImageError(
        f"File {name!r} is a damaged or unreadable HEIF file (libheif cannot decode it); "
        "export it again from the phone or camera, as HEIC, JPEG or TIFF.",
        file=name,
    )
