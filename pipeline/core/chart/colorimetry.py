"""CIELAB D50, CIEDE2000 and linear sRGB in numpy; pure arithmetic, no pixels read, no I/O."""

from __future__ import annotations

from typing import Any, Final

import numpy as np

Array = np.ndarray[Any, np.dtype[np.float64]]

D50_WHITE: Final = np.array([0.9642, 1.0, 0.8249])
# Linear sRGB (D65) to XYZ adapted to D50 with Bradford: the colorants of an ICC sRGB profile.
_SRGB_TO_XYZ_D50: Final = np.array(
    [
        [0.4360747, 0.3850649, 0.1430804],
        [0.2225045, 0.7168786, 0.0606169],
        [0.0139322, 0.0971045, 0.7141733],
    ]
)
_XYZ_D50_TO_SRGB: Final = np.linalg.inv(_SRGB_TO_XYZ_D50)
_EPSILON: Final = 216 / 24389
_KAPPA: Final = 24389 / 27


def xyz_to_lab(xyz: Array) -> Array:
    """CIELAB of XYZ (Y of white = 1) relative to the D50 white; (..., 3) in, (..., 3) out."""
    ratio = np.asarray(xyz, np.float64) / D50_WHITE
    f = np.where(ratio > _EPSILON, np.cbrt(ratio), (_KAPPA * ratio + 16) / 116)
    return np.stack(
        [116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])],
        axis=-1,
    )


def lab_to_xyz(lab: Array) -> Array:
    """XYZ (Y of white = 1, D50) of CIELAB D50; the inverse of `xyz_to_lab`."""
    lab = np.asarray(lab, np.float64)
    fy = (lab[..., 0] + 16) / 116
    f = np.stack([fy + lab[..., 1] / 500, fy, fy - lab[..., 2] / 200], axis=-1)
    cube = f**3
    linear = np.where(cube > _EPSILON, cube, (116 * f - 16) / _KAPPA)
    # Y below the knee follows L directly (the f route is only exact above it).
    linear[..., 1] = np.where(lab[..., 0] > _KAPPA * _EPSILON, cube[..., 1], lab[..., 0] / _KAPPA)
    xyz: Array = linear * D50_WHITE
    return xyz


def lab_to_linear_srgb(lab: Array) -> Array:
    """Linear sRGB (D65, unclipped) of CIELAB D50, through Bradford-adapted colorants."""
    return lab_to_xyz(lab) @ _XYZ_D50_TO_SRGB.T


def linear_srgb_to_lab(rgb: Array) -> Array:
    """CIELAB D50 of linear sRGB (D65); the inverse of `lab_to_linear_srgb`."""
    return xyz_to_lab(np.asarray(rgb, np.float64) @ _SRGB_TO_XYZ_D50.T)


def delta_e_2000(lab1: Array, lab2: Array) -> Array:
    """CIEDE2000 between two (..., 3) CIELAB arrays (kL = kC = kH = 1; Sharma et al. 2005)."""
    lab1, lab2 = np.asarray(lab1, np.float64), np.asarray(lab2, np.float64)
    l1, a1, b1 = lab1[..., 0], lab1[..., 1], lab1[..., 2]
    l2, a2, b2 = lab2[..., 0], lab2[..., 1], lab2[..., 2]
    c_mean = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_mean**7 / (c_mean**7 + 25.0**7)))
    a1p, a2p = a1 * (1 + g), a2 * (1 + g)
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    dl = l2 - l1
    dc = c2p - c1p
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(c1p * c2p == 0, 0.0, dh)
    dhh = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2))
    l_mean = (l1 + l2) / 2
    cp_mean = (c1p + c2p) / 2
    h_sum = h1p + h2p
    h_mean = np.where(
        np.abs(h1p - h2p) > 180,
        np.where(h_sum < 360, (h_sum + 360) / 2, (h_sum - 360) / 2),
        h_sum / 2,
    )
    h_mean = np.where(c1p * c2p == 0, h_sum, h_mean)
    t = (
        1
        - 0.17 * np.cos(np.radians(h_mean - 30))
        + 0.24 * np.cos(np.radians(2 * h_mean))
        + 0.32 * np.cos(np.radians(3 * h_mean + 6))
        - 0.20 * np.cos(np.radians(4 * h_mean - 63))
    )
    sl = 1 + 0.015 * (l_mean - 50) ** 2 / np.sqrt(20 + (l_mean - 50) ** 2)
    sc = 1 + 0.045 * cp_mean
    sh = 1 + 0.015 * cp_mean * t
    rt = (
        -2
        * np.sqrt(cp_mean**7 / (cp_mean**7 + 25.0**7))
        * np.sin(np.radians(60 * np.exp(-(((h_mean - 275) / 25) ** 2))))
    )
    result: Array = np.sqrt(
        (dl / sl) ** 2 + (dc / sc) ** 2 + (dhh / sh) ** 2 + rt * (dc / sc) * (dhh / sh)
    )
    return result
