"""Parse a scan's embedded ICC profile once, for decoding, colour and metadata alike; never
raises. Matrix/TRC profiles are also read as their curves and matrix, for the fast sRGB path."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from PIL import ImageCms


@dataclass(frozen=True)
class IccProfile:
    """An embedded profile: its bytes, the LittleCMS profile and its description as written,
    or (profile None) why it cannot be read. Parsing costs: a scan's profile is read once."""

    data: bytes
    profile: ImageCms.ImageCmsProfile | None
    description: str | None
    error: str | None = None


def read_icc(data: object) -> IccProfile | None:
    """The parsed profile of `data` (an image's `icc_profile` info), None when there is none."""
    if not isinstance(data, bytes) or not data:
        return None
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(data))
        description = ImageCms.getProfileDescription(profile)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as exc:
        return IccProfile(data=data, profile=None, description=None, error=str(exc))
    return IccProfile(data=data, profile=profile, description=description)


def describe_icc(icc: IccProfile | None, warnings_out: list[str]) -> str | None:
    """The profile's description as records show it; an unreadable profile adds a warning
    (the scan is then treated as sRGB)."""
    if icc is None:
        return None
    if icc.profile is None or icc.description is None:
        warnings_out.append(f"embedded ICC profile is unreadable ({icc.error}); treated as sRGB")
        return None
    return icc.description.strip() or "unnamed profile"


# --- matrix/TRC ("shaper") profiles, read as LittleCMS reads them --------------------------

_Floats = np.ndarray[Any, np.dtype[np.float64]]
D50: Final = (0.9642, 1.0, 0.8249)  # the PCS white, as LittleCMS's cmsD50_XYZ
# Tags that make LittleCMS take a LUT (A2B/D2B) instead of the matrix and curves: such
# profiles, however simple their tags look, are not matrix/TRC to it.
_LUT_TAGS: Final = frozenset({b"A2B0", b"A2B1", b"A2B2", b"D2B0", b"D2B1", b"D2B2", b"D2B3"})
_SHAPER_CLASSES: Final = frozenset({b"mntr", b"scnr", b"spac"})
# Parametric curve types (ICC.1 10.18): how many parameters each takes.
_PARA_COUNTS: Final = {0: 1, 1: 3, 2: 4, 3: 5, 4: 7}


@dataclass(frozen=True)
class ToneCurve:
    """One channel's tone curve: encoded value in [0, 1] to linear light, as the profile says
    (a gamma, a table interpolated linearly, or an ICC parametric function)."""

    kind: str  # "gamma", "table" or "para"
    params: tuple[float, ...] = ()
    table: tuple[float, ...] = ()

    def evaluate(self, values: _Floats) -> _Floats:
        """The curve at `values` (clipped to [0, 1] first), in float64."""
        x = np.clip(np.asarray(values, np.float64), 0.0, 1.0)
        if self.kind == "gamma":
            return np.asarray(np.power(x, self.params[0]), np.float64)
        if self.kind == "table":
            points = np.asarray(self.table, np.float64)
            return np.asarray(np.interp(x, np.linspace(0.0, 1.0, len(points)), points))
        return _evaluate_parametric(self.params, x)


@dataclass(frozen=True)
class ShaperProfile:
    """A matrix/TRC profile: three curves and the 3×3 matrix to D50 XYZ (columns: the red,
    green and blue colorants), or for grey one curve whose output scales the D50 white."""

    curves: tuple[ToneCurve, ...]
    matrix: _Floats  # 3×3, linear RGB (or grey, 3×1 D50) to PCS XYZ

    @property
    def is_grey(self) -> bool:
        return len(self.curves) == 1

    def to_xyz(self, values: _Floats) -> _Floats:
        """PCS XYZ (D50, relative colorimetric) of encoded values in [0, 1], shape (..., 3) or
        (...,) for grey: the profile's own arithmetic in float64, with no quantisation."""
        array = np.asarray(values, np.float64)
        if self.is_grey:
            linear = self.curves[0].evaluate(array)[..., None]
        else:
            linear = np.stack([c.evaluate(array[..., i]) for i, c in enumerate(self.curves)], -1)
        return np.asarray(linear @ self.matrix.T, np.float64)


def read_shaper(icc: IccProfile | None) -> ShaperProfile | None:
    """The profile as curves and a matrix when LittleCMS would use them for a relative
    colorimetric conversion; None for anything else (LUT-based, Lab PCS, a device link, a
    curve whose black is not zero, unreadable tags): such profiles stay with LittleCMS."""
    if icc is None or icc.profile is None:
        return None
    try:
        return _parse_shaper(icc.data)
    except (struct.error, ValueError, IndexError, ZeroDivisionError):
        return None


def _parse_shaper(data: bytes) -> ShaperProfile | None:
    if len(data) < 132 or data[36:40] != b"acsp":
        return None
    device_class, space, pcs = data[12:16], data[16:20], data[20:24]
    if device_class not in _SHAPER_CLASSES or pcs != b"XYZ ":
        return None
    (count,) = struct.unpack(">I", data[128:132])
    if count > 1000 or 132 + 12 * count > len(data):
        return None
    tags: dict[bytes, bytes] = {}
    for index in range(count):
        signature, offset, size = struct.unpack(">4sII", data[132 + 12 * index : 144 + 12 * index])
        if offset + size > len(data):
            return None
        tags[signature] = data[offset : offset + size]
    if _LUT_TAGS & tags.keys():
        return None
    if space == b"GRAY" and b"kTRC" in tags:
        curves: tuple[ToneCurve, ...] = (_parse_curve(tags[b"kTRC"]),)
        matrix = np.array(D50, np.float64).reshape(3, 1)
    elif space == b"RGB " and all(t in tags for t in (b"rXYZ", b"gXYZ", b"bXYZ")):
        curves = tuple(_parse_curve(tags.get(sig, b"")) for sig in (b"rTRC", b"gTRC", b"bTRC"))
        matrix = np.column_stack([_parse_xyz(tags[sig]) for sig in (b"rXYZ", b"gXYZ", b"bXYZ")])
        if abs(float(np.linalg.det(matrix))) < 1e-6:
            return None
    else:
        return None
    # A black above zero brings LittleCMS's black-point compensation into play.
    if any(float(curve.evaluate(np.zeros(1))[0]) > 1e-9 for curve in curves):
        return None
    return ShaperProfile(curves=curves, matrix=matrix)


def _parse_xyz(tag: bytes) -> _Floats:
    if tag[:4] != b"XYZ " or len(tag) < 20:
        raise ValueError("not an XYZ tag")
    return np.array(struct.unpack(">3i", tag[8:20]), np.float64) / 65536.0


def _parse_curve(tag: bytes) -> ToneCurve:
    kind = tag[:4]
    if kind == b"curv":
        (entries,) = struct.unpack(">I", tag[8:12])
        if entries == 0:
            return ToneCurve("gamma", (1.0,))
        if entries == 1:
            (value,) = struct.unpack(">H", tag[12:14])
            return ToneCurve("gamma", (value / 256.0,))
        if len(tag) < 12 + 2 * entries:
            raise ValueError("curve table is truncated")
        table = np.frombuffer(tag, ">u2", count=entries, offset=12).astype(np.float64) / 65535
        return ToneCurve("table", table=tuple(table.tolist()))
    if kind == b"para":
        (function,) = struct.unpack(">H", tag[8:10])
        if function not in _PARA_COUNTS:
            raise ValueError(f"unknown parametric curve {function}")
        wanted = _PARA_COUNTS[function]
        params = struct.unpack(f">{wanted}i", tag[12 : 12 + 4 * wanted])
        return ToneCurve("para", tuple(p / 65536.0 for p in params))
    raise ValueError("not a curve")


def _evaluate_parametric(params: tuple[float, ...], x: _Floats) -> _Floats:
    """ICC.1 parametric curves 0-4, as LittleCMS evaluates them (negative bases give 0)."""
    g = params[0]

    def power(base: _Floats) -> _Floats:
        return np.asarray(np.power(np.maximum(base, 0.0), g), np.float64)

    if len(params) == 1:
        return power(x)
    a, b = params[1], params[2]
    if a == 0:
        raise ValueError("parametric curve with a = 0")
    if len(params) == 3:
        return np.where(x >= -b / a, power(a * x + b), 0.0)
    if len(params) == 4:
        c = params[3]
        return np.where(x >= -b / a, power(a * x + b) + c, c)
    c, d = params[3], params[4]
    e, f = (params[5], params[6]) if len(params) == 7 else (0.0, 0.0)
    return np.where(x >= d, power(a * x + b) + e, c * x + f)
