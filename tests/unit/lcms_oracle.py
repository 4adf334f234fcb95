"""LittleCMS called directly (the copy Pillow ships), for 16-bit pixels Pillow cannot pass it,
and CIEDE2000 between 8-bit sRGB colours; the oracle of the sRGB tables, no checks."""

from __future__ import annotations

import ctypes
import ctypes.util
from pathlib import Path

import numpy as np
import PIL

# lcms2.h: COLORSPACE_SH(PT_RGB) | CHANNELS_SH(3) | BYTES_SH(n)
TYPE_RGB_8 = (4 << 16) | (3 << 3) | 1
TYPE_RGB_16 = (4 << 16) | (3 << 3) | 2
INTENT_RELATIVE_COLORIMETRIC = 1
FLAGS_NOOPTIMIZE = 0x0100  # evaluate the full pipeline in floating point, no 8-bit shortcuts
FLAGS_BLACKPOINTCOMPENSATION = 0x2000


def _library() -> ctypes.CDLL:
    bundled = sorted((Path(PIL.__file__).parent.parent / "pillow.libs").glob("liblcms2*"))
    name = str(bundled[0]) if bundled else ctypes.util.find_library("lcms2")
    if name is None:
        raise RuntimeError("no LittleCMS library found (Pillow's or the system's)")
    lib = ctypes.CDLL(name)
    lib.cmsOpenProfileFromMem.restype = ctypes.c_void_p
    lib.cmsOpenProfileFromMem.argtypes = [ctypes.c_char_p, ctypes.c_uint32]
    lib.cmsCreate_sRGBProfile.restype = ctypes.c_void_p
    lib.cmsCreateTransform.restype = ctypes.c_void_p
    lib.cmsCreateTransform.argtypes = [ctypes.c_void_p, ctypes.c_uint32] * 2 + [ctypes.c_uint32] * 2
    lib.cmsDoTransform.argtypes = [
        ctypes.c_void_p,
        ctypes.c_void_p,
        ctypes.c_void_p,
        ctypes.c_uint32,
    ]
    lib.cmsDeleteTransform.argtypes = [ctypes.c_void_p]
    lib.cmsCloseProfile.argtypes = [ctypes.c_void_p]
    return lib


def lcms_to_srgb(pixels: np.ndarray, profile: bytes, *, optimise: bool = False) -> np.ndarray:
    """`pixels` (…×3 uint8 or uint16) in `profile` to sRGB by LittleCMS, relative colorimetric
    with black-point compensation as the pipeline asks; uint16 in gives uint16 out."""
    lib = _library()
    depth = TYPE_RGB_16 if pixels.dtype == np.uint16 else TYPE_RGB_8
    source = lib.cmsOpenProfileFromMem(profile, len(profile))
    target = lib.cmsCreate_sRGBProfile()
    flags = FLAGS_BLACKPOINTCOMPENSATION | (0 if optimise else FLAGS_NOOPTIMIZE)
    transform = lib.cmsCreateTransform(
        source, depth, target, depth, INTENT_RELATIVE_COLORIMETRIC, flags
    )
    assert source and target and transform
    try:
        flat = np.ascontiguousarray(pixels.reshape(-1, 3))
        out = np.empty_like(flat)
        lib.cmsDoTransform(transform, flat.ctypes.data, out.ctypes.data, len(flat))
    finally:
        lib.cmsDeleteTransform(transform)
        lib.cmsCloseProfile(source)
        lib.cmsCloseProfile(target)
    return out.reshape(pixels.shape)


def srgb8_to_lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB (D65 white) of sRGB colours on the 8-bit scale (floats allowed), in float64."""
    v = np.asarray(rgb, np.float64) / 255
    linear = np.where(v <= 0.04045, v / 12.92, ((np.maximum(v, 0.04) + 0.055) / 1.055) ** 2.4)
    matrix = np.array(
        [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]
    )
    xyz = linear @ (matrix / np.array([0.95047, 1.0, 1.08883])[:, None]).T
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack(
        [116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1
    )


def delta_e_2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 (Sharma, Wu and Dalal's formulation, kL = kC = kH = 1), element-wise."""
    l1, a1, b1 = np.moveaxis(np.asarray(lab1, np.float64), -1, 0)
    l2, a2, b2 = np.moveaxis(np.asarray(lab2, np.float64), -1, 0)
    c_mean = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_mean**7 / (c_mean**7 + 25.0**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    dl, dc = l2 - l1, c2p - c1p
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(c1p * c2p == 0, 0.0, dh)
    dhh = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh) / 2)
    l_mean, cp_mean = (l1 + l2) / 2, (c1p + c2p) / 2
    h_sum = h1p + h2p
    h_mean = np.where(
        c1p * c2p == 0,
        h_sum,
        np.where(
            np.abs(h1p - h2p) <= 180,
            h_sum / 2,
            np.where(h_sum < 360, h_sum / 2 + 180, h_sum / 2 - 180),
        ),
    )
    t = (
        1
        - 0.17 * np.cos(np.radians(h_mean - 30))
        + 0.24 * np.cos(np.radians(2 * h_mean))
        + 0.32 * np.cos(np.radians(3 * h_mean + 6))
        - 0.20 * np.cos(np.radians(4 * h_mean - 63))
    )
    d_theta = 30 * np.exp(-(((h_mean - 275) / 25) ** 2))
    rc = 2 * np.sqrt(cp_mean**7 / (cp_mean**7 + 25.0**7))
    sl = 1 + 0.015 * (l_mean - 50) ** 2 / np.sqrt(20 + (l_mean - 50) ** 2)
    sc = 1 + 0.045 * cp_mean
    sh = 1 + 0.015 * cp_mean * t
    rt = -np.sin(np.radians(2 * d_theta)) * rc
    return np.sqrt((dl / sl) ** 2 + (dc / sc) ** 2 + (dhh / sh) ** 2 + rt * (dc / sc) * (dhh / sh))
