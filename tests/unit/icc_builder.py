"""ICC v2 profiles from published primaries and curves, and colour arithmetic; no checks."""

from __future__ import annotations

import struct

import cv2
import numpy as np

from pipeline.samples.icc import (
    D50_XYZ,
    D65_XY,
    SRGB_PRIMARIES,
    adapt_to_d50,
    make_rgb_to_xyz_matrix,
)

# Published primaries and whites (CIE xy).
PROPHOTO = ((0.7347, 0.2653), (0.1596, 0.8404), (0.0366, 0.0001))
ECI_RGB_V2 = ((0.67, 0.33), (0.21, 0.71), (0.14, 0.08))
DISPLAY_P3 = ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060))
D50_XY = (0.3457, 0.3585)


def srgb_decode(v: np.ndarray) -> np.ndarray:
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def srgb_encode(y: np.ndarray) -> np.ndarray:
    return np.where(y <= 0.0031308, 12.92 * y, 1.055 * np.power(np.maximum(y, 0), 1 / 2.4) - 0.055)


def lstar_decode(v: np.ndarray) -> np.ndarray:
    lightness = v * 100
    return np.where(lightness > 8, ((lightness + 16) / 116) ** 3, lightness / 903.3)


def lstar_encode(y: np.ndarray) -> np.ndarray:
    return np.where(y > 0.008856, 116 * np.cbrt(y) - 16, 903.3 * y) / 100


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(float(value) * 65536))


def _xyz_tag(xyz) -> bytes:
    return b"XYZ \0\0\0\0" + b"".join(_s15(v) for v in xyz)


def _curve_tag(decode_curve) -> bytes:
    # A 1024-entry table: encoded value -> linear light, as ICC 'curv' tables store it.
    table = np.clip(decode_curve(np.linspace(0, 1, 1024)), 0, 1)
    entries = np.round(table * 65535).astype(">u2").tobytes()
    return b"curv\0\0\0\0" + struct.pack(">I", 1024) + entries


def table_tag(decode_curve) -> bytes:
    """A 'curv' tag of 1024 entries sampling `decode_curve` (encoded value -> linear light)."""
    return _curve_tag(decode_curve)


def para_tag(*params: float) -> bytes:
    """A 'para' tag: ICC parametric function 0-4 from its 1, 3, 4, 5 or 7 parameters."""
    function = {1: 0, 3: 1, 4: 2, 5: 3, 7: 4}[len(params)]
    return b"para\0\0\0\0" + struct.pack(">HH", function, 0) + b"".join(_s15(p) for p in params)


def gamma_tag(gamma: float) -> bytes:
    return b"curv\0\0\0\0" + struct.pack(">IH", 1, round(gamma * 256))


def _desc_tag(text: str) -> bytes:
    raw = text.encode("ascii") + b"\0"
    return b"desc\0\0\0\0" + struct.pack(">I", len(raw)) + raw + b"\0" * 8 + b"\0" * 3 + b"\0" * 67


def build_profile(space: bytes, description: str, tags: list[tuple[bytes, bytes]]) -> bytes:
    """An ICC v2 display profile ('mntr', `space` -> XYZ) from its tags."""
    tags = [(b"desc", _desc_tag(description)), (b"wtpt", _xyz_tag(D50_XYZ)), *tags]
    offset = 128 + 4 + 12 * len(tags)
    table, body = struct.pack(">I", len(tags)), b""
    for signature, data in tags:
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += data + b"\0" * (-len(data) % 4)
    size = 128 + len(table) + len(body)
    header = (
        struct.pack(">I", size)
        + b"\0" * 4
        + struct.pack(">I", 0x02100000)
        + b"mntr"
        + space
        + b"XYZ "
        + struct.pack(">6H", 2025, 1, 1, 0, 0, 0)
        + b"acsp"
        + b"\0" * 24
        + struct.pack(">I", 0)
        + b"".join(_s15(v) for v in D50_XYZ)
        + b"\0" * 48
    )
    assert len(header) == 128
    return header + table + body


def rgb_profile(description, primaries, white, trc_tag) -> bytes:
    colorants = adapt_to_d50(make_rgb_to_xyz_matrix(primaries, white), white)
    tags = [(name, _xyz_tag(colorants[:, i])) for i, name in enumerate((b"rXYZ", b"gXYZ", b"bXYZ"))]
    return build_profile(
        b"RGB ", description, [*tags, (b"rTRC", trc_tag), (b"gTRC", trc_tag), (b"bTRC", trc_tag)]
    )


def encode_in(srgb8, primaries, white, encode_curve) -> np.ndarray:
    """An sRGB colour's 8-bit encoding in another RGB space (through XYZ at D50, Bradford)."""
    linear = srgb_decode(np.asarray(srgb8, np.float64) / 255)
    to_pcs = adapt_to_d50(make_rgb_to_xyz_matrix(SRGB_PRIMARIES, D65_XY), D65_XY)
    from_pcs = np.linalg.inv(adapt_to_d50(make_rgb_to_xyz_matrix(primaries, white), white))
    target = np.clip(from_pcs @ to_pcs @ linear, 0, 1)
    return np.round(encode_curve(target) * 255).astype(np.uint8)


def to_lab(rgb8) -> np.ndarray:
    pixel = np.asarray(rgb8, np.uint8).reshape(1, 1, 3)
    lab = cv2.cvtColor(pixel.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)
    return lab.reshape(3).astype(np.float64)


def delta_e(a, b) -> float:
    return float(np.linalg.norm(to_lab(a) - to_lab(b)))


def gamma(value: float):
    return lambda v: np.power(v, value)


def inverse_gamma(value: float):
    return lambda y: np.power(y, 1 / value)


SPACES = {
    "ProPhoto RGB": (PROPHOTO, D50_XY, gamma_tag(1.8), inverse_gamma(1.8)),
    "eciRGB v2": (ECI_RGB_V2, D50_XY, _curve_tag(lstar_decode), lstar_encode),
    "Display P3": (DISPLAY_P3, D65_XY, _curve_tag(srgb_decode), srgb_encode),
}
COLOURS = [(200, 80, 40), (40, 150, 90), (70, 90, 200), (128, 128, 128)]
