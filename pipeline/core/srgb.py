"""Convert decoded pixels from their embedded profile to sRGB; pure, deterministic, no I/O.

Matrix/TRC profiles (Adobe RGB, eciRGB, ProPhoto, Display P3, gamma greys: nearly every
capture) take a path of tables: each channel's tone curve as a lookup table into 16-bit linear
light, the 3×3 matrix (profile → D50 XYZ → sRGB, relative colorimetric as LittleCMS computes it)
through OpenCV's `transform`, and the sRGB encoding as a 65,536-entry table, in bands of rows
that stay in the cache. That runs at several hundred megapixels a second on one core; LittleCMS
through Pillow, at ~60. Every other profile (LUT-based, CMYK, Lab) goes through LittleCMS, which
is also the tests' oracle for the tables. Grey scans are one 256-entry table that LittleCMS
itself fills.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageCms

from pipeline.core.icc import IccProfile, ShaperProfile, read_icc, read_shaper

_Array = np.ndarray[Any, Any]
Converter = Callable[[_Array], _Array]

SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
# The header's creation date (bytes 24-35, six big-endian uint16) is fixed: LittleCMS stamps
# the time the profile was built, which made every derivative and tile differ in one byte
# between two worker processes. Its profile ID (84-99) is zero, so nothing else depends on it.
ICC_FIXED_DATE = (2025, 1, 1, 0, 0, 0)


def with_fixed_date(profile: bytes) -> bytes:
    """An ICC profile with its creation date set to ICC_FIXED_DATE (deterministic bytes)."""
    return profile[:24] + struct.pack(">6H", *ICC_FIXED_DATE) + profile[36:]


SRGB_ICC: bytes = with_fixed_date(SRGB_PROFILE.tobytes())
_SRGB_SHAPER = read_shaper(read_icc(SRGB_ICC))
assert _SRGB_SHAPER is not None  # LittleCMS's sRGB is a matrix/TRC profile

# Rows per band: ~64 K pixels keep a band's 16-bit intermediates (~400 KB each) in the cache.
_BAND_PIXELS = 1 << 16
# LittleCMS bands: Pillow holds RGB as 4 bytes a pixel, so a whole 24 MP image would cost two
# 96 MB copies on top of the result; a band of 1 MP costs a few MB.
_LCMS_BAND_PIXELS = 1 << 20
# Probes for "is this profile sRGB already": every 17th level of each channel, and a grey ramp.
_PROBE_RGB = np.stack(
    np.meshgrid(*[np.arange(0, 256, 17, dtype=np.uint8)] * 3, indexing="ij"), axis=-1
).reshape(16, 256, 3)
_PROBE_GREY = np.arange(256, dtype=np.uint8).reshape(1, 256)


def srgb_converter(
    icc: IccProfile | None, *, grey: bool, warnings_out: list[str], fast: bool = True
) -> Converter | None:
    """The conversion from `icc` to 8-bit sRGB for L or RGB pixels (8-bit; RGB also 16-bit), or
    None when there is nothing to do (no profile, an unreadable or mismatched one: a warning,
    or one that is sRGB already). The result is RGB, also for grey input. `fast=False` forces
    LittleCMS (the reference the tables are tested against)."""
    source = icc.profile if icc is not None else None
    if icc is None or source is None:
        return None
    in_mode = "L" if grey else "RGB"
    try:
        space = source.profile.xcolor_space.strip()
        if space != ("GRAY" if grey else "RGB"):
            warnings_out.append(
                f"embedded ICC profile is for {space}, not {in_mode} pixels; treated as sRGB"
            )
            return None
        shaper = read_shaper(icc) if fast and not grey else None
        convert: Converter
        if shaper is not None and not shaper.is_grey:
            convert = MatrixConverter(shaper)
        else:
            transform = ImageCms.buildTransform(
                source,
                SRGB_PROFILE,
                in_mode,
                "RGB",
                renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
                flags=ImageCms.Flags.BLACKPOINTCOMPENSATION,
            )
            convert = _littlecms(transform)
            if grey and fast:
                convert = _GreyTable(convert(_PROBE_GREY).reshape(256, 1, 3))
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as exc:
        warnings_out.append(f"colour conversion failed ({exc}); treated as sRGB")
        return None
    probe = _PROBE_GREY if grey else _PROBE_RGB
    out = convert(probe).astype(np.int16)
    expected = np.stack([probe] * 3, axis=-1) if grey else probe
    # An sRGB profile (or grey gamma ~2.2) under another name: skip a full-size transform.
    if int(np.abs(out - expected.astype(np.int16)).max()) <= 1:
        return None
    return convert


def cmyk_to_srgb(
    image: Image.Image, icc: IccProfile | None, warnings_out: list[str]
) -> Image.Image:
    """A CMYK image in sRGB through its profile (LittleCMS), or Pillow's naive conversion."""
    # Pillow undoes Adobe's inverted CMYK (APP14) while decoding; the profile does the rest.
    source = icc.profile if icc is not None else None
    if source is not None:
        try:
            converted = ImageCms.profileToProfile(
                image,
                source,
                SRGB_PROFILE,
                renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
                outputMode="RGB",
                flags=ImageCms.Flags.BLACKPOINTCOMPENSATION,
            )
            if converted is not None:
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError) as exc:
            warnings_out.append(f"colour conversion failed ({exc}); treated as uncalibrated")
    return image.convert("RGB")


class MatrixConverter:
    """Tables and a matrix for one matrix/TRC profile: 8- or 16-bit RGB in, 8-bit sRGB out.

    The tone curves fill a table into 16-bit linear light (256 entries for 8-bit input, 65,536
    for 16-bit, where `top` folds in the scaling of 12-bit data), the matrix is the profile's
    colorants followed by sRGB's inverse (both at the D50 PCS: relative colorimetric, as
    LittleCMS does it; neither profile has a black above zero, so its black-point compensation
    changes nothing), and the sRGB encoding a table from 16-bit linear light. Linear values
    outside [0, 1] clip, as in LittleCMS. Tables are made once per input depth and reused.
    """

    def __init__(self, shaper: ShaperProfile) -> None:
        assert _SRGB_SHAPER is not None
        self._shaper = shaper
        matrix = np.linalg.inv(_SRGB_SHAPER.matrix) @ shaper.matrix
        self.matrix = matrix.astype(np.float32)
        self._tables: dict[tuple[int, int], _Array] = {}

    def input_table(self, levels: int, top: int) -> _Array:
        """The curves as a table from `levels` codes (256 or 65,536) to 16-bit linear light,
        one channel when the three curves agree (OpenCV's LUT is then twice as fast)."""
        key = (levels, top)
        table = self._tables.get(key)
        if table is None:
            codes = np.minimum(np.arange(levels, dtype=np.float64) / top, 1.0)
            curves = self._shaper.curves
            unique = curves[:1] if all(c == curves[0] for c in curves) else curves
            columns = [np.clip(c.evaluate(codes), 0.0, 1.0) * 65535.0 + 0.5 for c in unique]
            table = np.stack(columns, axis=-1).astype(np.uint16).reshape(levels, 1, len(unique))
            self._tables[key] = table
        return table

    def __call__(
        self, pixels: _Array, top: int | None = None, *, depth: int = 8, out: _Array | None = None
    ) -> _Array:
        """`pixels` (H×W×3 or ×4, uint8 or uint16 whose full scale is `top`) in sRGB, 8-bit
        (or 16-bit with `depth=16`: the same colours before their rounding to 8 bits).

        `out`: where to write (H×W×3 of the output's type); it may be `pixels` itself, whose
        bands are each read in full before they are written.
        """
        if pixels.dtype == np.uint8:
            table = self.input_table(256, 255)
        elif pixels.dtype.kind == "u" and pixels.dtype.itemsize == 2:
            table = self.input_table(65536, top or 65535)
        else:
            raise ValueError(f"cannot convert {pixels.dtype} pixels")
        encode = _srgb_encode_table(depth)
        height, width = pixels.shape[:2]
        if out is None:
            out = np.empty((height, width, 3), encode.dtype)
        rows = max(1, _BAND_PIXELS // max(width, 1))
        native = pixels.dtype.newbyteorder("=")
        for start in range(0, height, rows):
            # A big-endian band (TIFF "MM") is swapped here, a band at a time.
            band = np.ascontiguousarray(pixels[start : start + rows, :, :3], native)
            linear = cv2.transform(cv2.LUT(band, table), self.matrix)
            cv2.LUT(linear, encode, dst=out[start : start + rows])
        return out


class _GreyTable:
    """An 8-bit grey conversion as the 256 results LittleCMS gives for every level."""

    def __init__(self, table: _Array) -> None:
        self._table = np.ascontiguousarray(table, np.uint8)

    def __call__(self, pixels: _Array) -> _Array:
        grey = np.ascontiguousarray(pixels)
        return np.asarray(cv2.LUT(cv2.cvtColor(grey, cv2.COLOR_GRAY2RGB), self._table))


def _littlecms(transform: ImageCms.ImageCmsTransform) -> Converter:
    def convert(pixels: _Array) -> _Array:
        height, width = pixels.shape[:2]
        out = np.empty((height, width, 3), np.uint8)
        rows = max(1, _LCMS_BAND_PIXELS // max(width, 1))
        for top in range(0, height, rows):
            band = Image.fromarray(np.ascontiguousarray(pixels[top : top + rows]))
            converted = ImageCms.applyTransform(band, transform)
            assert converted is not None  # None only when transforming in place
            out[top : top + rows] = np.asarray(converted)
        return out

    return convert


_ENCODE: dict[int, _Array] = {}


def _srgb_encode_table(depth: int) -> _Array:
    """16-bit linear light to 8- (or 16-) bit sRGB: the inverse of sRGB's own tone curve."""
    table = _ENCODE.get(depth)
    if table is None:
        assert _SRGB_SHAPER is not None
        curve = _SRGB_SHAPER.curves[0]
        # The curve is monotonic: invert it by interpolation on a grid fine enough near black.
        codes = np.linspace(0.0, 1.0, 1 << 17)
        linear = np.arange(65536, dtype=np.float64) / 65535.0
        encoded = np.interp(linear, curve.evaluate(codes), codes)
        scale, dtype = (255.0, np.uint8) if depth == 8 else (65535.0, np.uint16)
        table = _ENCODE[depth] = (encoded * scale + 0.5).astype(dtype).reshape(65536, 1)
    return table
