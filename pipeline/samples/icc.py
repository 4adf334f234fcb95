"""Builds small ICC v2 RGB profiles and encodes pixels for them; it must not read or write files."""

from __future__ import annotations

import struct

import cv2
import numpy as np
from PIL import ImageCms

D50_XYZ = (0.9642, 1.0, 0.8249)
D65_XY = (0.3127, 0.3290)
SRGB_PRIMARIES = ((0.64, 0.33), (0.30, 0.60), (0.15, 0.06))
ADOBE_RGB_PRIMARIES = ((0.64, 0.33), (0.21, 0.71), (0.15, 0.06))
# Adobe RGB (1998) specifies its gamma as 563/256, exactly what one u8Fixed8 'curv' entry holds.
ADOBE_RGB_GAMMA = 563 / 256
ADOBE_RGB_DESCRIPTION = "Adobe RGB (1998)"

# A fixed creation date keeps generated files byte-identical from one run to the next.
_PROFILE_DATE = (2025, 1, 1, 0, 0, 0)
_BRADFORD = np.array(
    [
        [0.8951, 0.2664, -0.1614],
        [-0.7502, 1.7135, 0.0367],
        [0.0389, -0.0685, 1.0296],
    ]
)


def to_xyz(xy: tuple[float, float]) -> np.ndarray:
    """Return the XYZ (Y = 1) of a chromaticity."""
    x, y = xy
    return np.array([x / y, 1.0, (1.0 - x - y) / y])


def make_rgb_to_xyz_matrix(
    primaries_xy: tuple[tuple[float, float], ...], white_xy: tuple[float, float]
) -> np.ndarray:
    """Return the 3x3 matrix from linear RGB to XYZ (white has Y = 1), unadapted."""
    columns = np.column_stack([to_xyz(p) for p in primaries_xy])
    scale = np.linalg.solve(columns, to_xyz(white_xy))
    return columns * scale


def adapt_to_d50(matrix: np.ndarray, white_xy: tuple[float, float]) -> np.ndarray:
    """Return `matrix` chromatically adapted from its white to D50 with the Bradford transform."""
    source = _BRADFORD @ to_xyz(white_xy)
    target = _BRADFORD @ np.array(D50_XYZ)
    adaptation = np.linalg.inv(_BRADFORD) @ np.diag(target / source) @ _BRADFORD
    return adaptation @ matrix


def make_rgb_profile(
    description: str,
    primaries_xy: tuple[tuple[float, float], ...],
    white_xy: tuple[float, float],
    gamma: float,
) -> bytes:
    """Return an ICC v2.1 matrix/TRC display profile ('mntr', RGB -> XYZ).

    The colorants are adapted to the D50 PCS with Bradford and the media white point is D50,
    which is how colour engines treat v2 display profiles; every channel has one pure-gamma
    'curv' entry. The header date is fixed so the bytes do not depend on the clock.
    """
    if len(primaries_xy) != 3:
        raise ValueError(f"an RGB profile needs 3 primaries, got {len(primaries_xy)}")
    if not description.isascii():
        raise ValueError(f"the description must be ASCII for a v2 'desc' tag: {description!r}")
    colorants = adapt_to_d50(make_rgb_to_xyz_matrix(primaries_xy, white_xy), white_xy)
    tags = [
        (b"desc", _pack_text_description(description)),
        (b"cprt", _pack_text("No copyright, use freely")),
        (b"wtpt", _pack_xyz(D50_XYZ)),
        (b"rXYZ", _pack_xyz(colorants[:, 0])),
        (b"gXYZ", _pack_xyz(colorants[:, 1])),
        (b"bXYZ", _pack_xyz(colorants[:, 2])),
        (b"rTRC", _pack_gamma_curve(gamma)),
        (b"gTRC", _pack_gamma_curve(gamma)),
        (b"bTRC", _pack_gamma_curve(gamma)),
    ]
    table_size = 4 + 12 * len(tags)
    offset = 128 + table_size
    table = struct.pack(">I", len(tags))
    body = b""
    for signature, data in tags:
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += data + b"\0" * (-len(data) % 4)
    size = 128 + len(table) + len(body)
    header = (
        struct.pack(">I", size)
        + b"\0\0\0\0"  # preferred CMM: none
        + struct.pack(">I", 0x02100000)
        + b"mntr"
        + b"RGB "
        + b"XYZ "
        + struct.pack(">6H", *_PROFILE_DATE)
        + b"acsp"
        + b"\0" * 4  # primary platform
        + struct.pack(">I", 0)  # flags
        + b"\0" * 8  # device manufacturer and model
        + b"\0" * 8  # device attributes
        + struct.pack(">I", 0)  # rendering intent: perceptual
        + b"".join(struct.pack(">i", _to_s15fixed16(v)) for v in D50_XYZ)
        + b"\0" * 4  # creator
        + b"\0" * 44  # v2 has no profile id; the rest is reserved
    )
    assert len(header) == 128
    return header + table + body


def make_adobe_rgb_profile() -> bytes:
    """Return an ICC v2 display profile equivalent to Adobe RGB (1998)."""
    return make_rgb_profile(ADOBE_RGB_DESCRIPTION, ADOBE_RGB_PRIMARIES, D65_XY, ADOBE_RGB_GAMMA)


def make_srgb_profile() -> bytes:
    """Return LittleCMS's built-in sRGB profile with its creation date pinned.

    LittleCMS stamps the current time into the header (bytes 24-35) and leaves the profile id
    at zero (meaning "not computed"), so pinning the date is all determinism needs.
    """
    data = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    data[24:36] = struct.pack(">6H", *_PROFILE_DATE)
    return bytes(data)


def encode_adobe_rgb16(srgb: np.ndarray) -> np.ndarray:
    """Re-encode sRGB-encoded colours (floats in [0, 1], (..., 3)) as 16-bit Adobe RGB (1998).

    Both spaces share the D65 white, so one 3x3 matrix through linear light does it; colours
    outside the Adobe gamut (there are none in sRGB) would be clipped.
    """
    image = np.clip(np.asarray(srgb, np.float32), 0.0, 1.0)
    # cv2.pow rather than numpy's `**`: the same result, some fifty times faster.
    curve = cv2.pow((image + 0.055) / 1.055, 2.4)
    linear = np.where(image <= 0.04045, image / 12.92, curve).astype(np.float32)
    to_xyz = make_rgb_to_xyz_matrix(SRGB_PRIMARIES, D65_XY)
    from_xyz = np.linalg.inv(make_rgb_to_xyz_matrix(ADOBE_RGB_PRIMARIES, D65_XY))
    matrix = (from_xyz @ to_xyz).astype(np.float32)
    adobe = linear.reshape(-1, 3) @ matrix.T
    adobe = cv2.pow(np.clip(adobe, 0.0, 1.0), 1 / ADOBE_RGB_GAMMA).reshape(image.shape)
    return np.round(adobe * 65535).astype(np.uint16)


def _to_s15fixed16(value: float) -> int:
    return round(float(value) * 65536)


def _pack_xyz(xyz: tuple[float, float, float] | np.ndarray) -> bytes:
    return b"XYZ \0\0\0\0" + b"".join(struct.pack(">i", _to_s15fixed16(v)) for v in xyz)


def _pack_gamma_curve(gamma: float) -> bytes:
    return b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256))


def _pack_text(text: str) -> bytes:
    return b"text\0\0\0\0" + text.encode("ascii") + b"\0"


def _pack_text_description(text: str) -> bytes:
    ascii_text = text.encode("ascii") + b"\0"
    # ASCII part, then empty Unicode and ScriptCode parts (the ScriptCode field is 67 bytes).
    return (
        b"desc\0\0\0\0"
        + struct.pack(">I", len(ascii_text))
        + ascii_text
        + struct.pack(">II", 0, 0)
        + struct.pack(">HB", 0, 0)
        + b"\0" * 67
    )
