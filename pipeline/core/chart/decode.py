"""Turn a few mean pixel values into CIELAB D50 through the scan's own ICC profile, in floating
point (never through 8-bit rounding) for matrix/TRC profiles; pure, no I/O."""

from __future__ import annotations

import io
import struct
from typing import Any

import numpy as np
from PIL import Image, ImageCms

from pipeline.core.chart.colorimetry import D50_WHITE, xyz_to_lab

Array = np.ndarray[Any, np.dtype[np.float64]]
_SRGB_COLORANTS = np.array(
    [
        [0.4360747, 0.3850649, 0.1430804],
        [0.2225045, 0.7168786, 0.0606169],
        [0.0139322, 0.0971045, 0.7141733],
    ]
)


def _srgb_curve(v: Array) -> Array:
    result: Array = np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)
    return result


def to_lab(values: Array, icc: bytes | None) -> tuple[Array, str]:
    """CIELAB D50 of `values` (N×3 RGB or N×1 grey, encoded, in [0, 1]) and how they were
    decoded. Matrix/TRC profiles (Adobe RGB, sRGB, ProPhoto, eciRGB, grey gamma) are evaluated
    in floating point; any other profile goes through LittleCMS at 8 bits (an approximation)."""
    values = np.clip(np.asarray(values, np.float64), 0, 1)
    grey = values.shape[1] == 1
    if not icc:
        linear = _srgb_curve(values)
        if grey:
            return _grey_lab(linear[:, 0]), "untagged grey, taken as sRGB-encoded luminance"
        return xyz_to_lab(linear @ _SRGB_COLORANTS.T), "untagged, taken as sRGB"
    try:
        tags = _read_tags(icc)
        if grey and b"kTRC" in tags:
            return _grey_lab(_curve(tags[b"kTRC"], values[:, 0])), "grey TRC profile"
        if not grey and all(t in tags for t in (b"rXYZ", b"gXYZ", b"bXYZ", b"rTRC")):
            matrix = np.column_stack([_xyz(tags[t]) for t in (b"rXYZ", b"gXYZ", b"bXYZ")])
            linear = np.column_stack(
                [_curve(tags[t], values[:, k]) for k, t in enumerate((b"rTRC", b"gTRC", b"bTRC"))]
            )
            return xyz_to_lab(linear @ matrix.T), "matrix/TRC profile, floating point"
    except (ValueError, KeyError, struct.error):
        pass
    return _littlecms_lab(values, icc), "LittleCMS at 8 bits (not a matrix/TRC profile)"


def _grey_lab(luminance: Array) -> Array:
    lab = np.zeros((len(luminance), 3))
    lab[:, 0] = xyz_to_lab(np.outer(luminance, D50_WHITE))[:, 0]
    return lab


def _read_tags(icc: bytes) -> dict[bytes, bytes]:
    count = struct.unpack_from(">I", icc, 128)[0]
    if count > 200:
        raise ValueError("implausible tag count")
    tags: dict[bytes, bytes] = {}
    for index in range(count):
        signature, offset, size = struct.unpack_from(">4sII", icc, 132 + 12 * index)
        if offset + size > len(icc):
            raise ValueError("tag beyond the profile")
        tags[signature] = icc[offset : offset + size]
    return tags


def _xyz(tag: bytes) -> Array:
    if tag[:4] != b"XYZ ":
        raise ValueError("not an XYZ tag")
    return np.array(struct.unpack_from(">3i", tag, 8), np.float64) / 65536


def _curve(tag: bytes, v: Array) -> Array:
    result: Array = np.asarray(_evaluate_curve(tag, v), np.float64)
    return result


def _evaluate_curve(tag: bytes, v: Array) -> Any:
    kind = tag[:4]
    if kind == b"curv":
        count = struct.unpack_from(">I", tag, 8)[0]
        if count == 0:
            return v
        if count == 1:
            return v ** (struct.unpack_from(">H", tag, 12)[0] / 256)
        table = np.array(struct.unpack_from(f">{count}H", tag, 12), np.float64) / 65535
        return np.interp(v, np.linspace(0, 1, count), table)
    if kind == b"para":
        function = struct.unpack_from(">H", tag, 8)[0]
        arity = {0: 1, 1: 3, 2: 4, 3: 5, 4: 7}[function]
        p = [x / 65536 for x in struct.unpack_from(f">{arity}i", tag, 12)]
        g = p[0]
        if function == 0:
            return v**g
        if function == 1:
            a, b = p[1], p[2]
            return np.where(v >= -b / a, np.maximum(a * v + b, 0) ** g, 0.0)
        if function == 2:
            a, b, c = p[1], p[2], p[3]
            return np.where(v >= -b / a, np.maximum(a * v + b, 0) ** g + c, c)
        if function == 3:
            a, b, c, d = p[1], p[2], p[3], p[4]
            return np.where(v >= d, np.maximum(a * v + b, 0) ** g, c * v)
        a, b, c, d, e, f = p[1:7]
        return np.where(v >= d, np.maximum(a * v + b, 0) ** g + e, c * v + f)
    raise ValueError("unknown curve type")


def _littlecms_lab(values: Array, icc: bytes) -> Array:
    """Through LittleCMS (relative colorimetric) to Lab, interpolating the 8-bit input."""
    mode = "L" if values.shape[1] == 1 else "RGB"
    codes = np.clip(np.round(values * 255), 0, 255).astype(np.uint8)
    image = Image.fromarray(codes.reshape(1, -1) if mode == "L" else codes.reshape(1, -1, 3), mode)
    source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    lab_profile = ImageCms.createProfile("LAB", 5000)
    transform = ImageCms.buildTransform(source, lab_profile, mode, "LAB")
    lab = np.asarray(ImageCms.applyTransform(image, transform), np.float64).reshape(-1, 3)
    lab[:, 0] *= 100 / 255
    lab[:, 1:] = np.where(lab[:, 1:] > 127, lab[:, 1:] - 256, lab[:, 1:])
    return lab
