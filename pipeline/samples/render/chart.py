"""Draws a ColorChecker Classic with known CIELAB into a photograph encoded for a known ICC
profile (Adobe RGB 1998); for tests and the sample collection. It must not write files."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, Final, Literal

import cv2
import numpy as np
import tifffile

from pipeline.core.chart.colorimetry import lab_to_xyz
from pipeline.core.chart.model import Edition
from pipeline.core.chart.reference import COLUMNS, ROWS, reference_lab
from pipeline.samples.icc import (
    ADOBE_RGB_GAMMA,
    ADOBE_RGB_PRIMARIES,
    D65_XY,
    SRGB_PRIMARIES,
    adapt_to_d50,
    make_adobe_rgb_profile,
    make_rgb_to_xyz_matrix,
)

# Linear Adobe RGB to XYZ D50, exactly as the profile's colorants say (Bradford-adapted).
ADOBE_TO_XYZ_D50: Final = adapt_to_d50(make_rgb_to_xyz_matrix(ADOBE_RGB_PRIMARIES, D65_XY), D65_XY)
_XYZ_D50_TO_ADOBE: Final = np.linalg.inv(ADOBE_TO_XYZ_D50)
_SRGB_TO_ADOBE: Final = np.linalg.inv(make_rgb_to_xyz_matrix(ADOBE_RGB_PRIMARIES, D65_XY)) @ (
    make_rgb_to_xyz_matrix(SRGB_PRIMARIES, D65_XY)
)
# The card in pitches: 6 × 4 patches of 0.84 pitch with a black frame (X-Rite's proportions,
# near enough for a detector: the card is about 1.45 times wider than high).
_PATCH: Final = 0.84
_MARGIN: Final = 0.32
_CARD_BLACK: Final = 0.012  # linear reflectance of the card's black frame
_TEMPLATE_PITCH: Final = 64  # pixels per pitch in the template warped into the frame


@dataclass(frozen=True)
class ChartShot:
    """A rendered photograph of a chart and what is known about it.

    `pixels` are encoded for `icc` (Adobe RGB 1998; None for a greyscale shot, which is
    sRGB-encoded luminance); `centres` the 24 patch centres in reading order, in pixels;
    `linear` each patch's linear Adobe RGB as lit (cast and exposure applied, no shadow).
    """

    pixels: np.ndarray[Any, np.dtype[Any]]
    icc: bytes | None
    centres: np.ndarray[Any, np.dtype[np.float64]]
    pitch_px: float
    linear: np.ndarray[Any, np.dtype[np.float64]]


def patch_linear_adobe(edition: Edition = "after_2014") -> np.ndarray[Any, np.dtype[np.float64]]:
    """The 24 reference colours as linear Adobe RGB (1998), D50-adapted as the profile is."""
    linear: np.ndarray[Any, np.dtype[np.float64]] = lab_to_xyz(reference_lab(edition)) @ (
        _XYZ_D50_TO_ADOBE.T
    )
    return linear


def render_chart_shot(
    size: tuple[int, int] = (1600, 1200),
    *,
    chart_width: float = 0.35,
    centre: tuple[float, float] = (0.5, 0.5),
    angle: float = 0.0,
    edition: Edition = "after_2014",
    cast: tuple[float, float, float] = (1.0, 1.0, 1.0),
    exposure: float = 1.0,
    shadow: float = 0.0,
    noise: float = 0.0,
    bit_depth: Literal[8, 16] = 8,
    grey: bool = False,
    backdrop: np.ndarray[Any, np.dtype[Any]] | None = None,
    seed: int = 0,
) -> ChartShot:
    """A photograph (`size` = width, height) of a ColorChecker Classic on a grey sweep or on
    `backdrop` (float H×W×3 sRGB-encoded in [0, 1], e.g. `render_artefact`'s output).

    The card is `chart_width` of the frame's width, centred at `centre` (fractions of the
    frame; it may overhang the edge), turned `angle` degrees counter-clockwise. The scene is
    lit with `exposure` and `cast` (gains on linear Adobe RGB: (1.1, 1, 0.85) is warm);
    `shadow` darkens the chart's right-hand part by that fraction; `noise` is the σ of sensor
    noise in 8-bit levels. The reference colours pass exactly through the embedded profile.
    """
    width, height = size
    rng = np.random.default_rng(seed)
    scene = _backdrop(width, height, backdrop)
    card_w = COLUMNS + 2 * _MARGIN - (1 - _PATCH)
    pitch_px = chart_width * width / card_w
    template, mask = _template(patch_linear_adobe(edition))
    # Template pixel (u, v) → frame: scale, rotate about the card's centre, move to `centre`.
    scale = pitch_px / _TEMPLATE_PITCH
    theta = np.radians(angle)
    rotation = np.array([[np.cos(theta), np.sin(theta)], [-np.sin(theta), np.cos(theta)]])
    half = np.array([template.shape[1], template.shape[0]]) / 2
    target = np.array([centre[0] * width, centre[1] * height])
    linear_part = rotation * scale
    offset = target - linear_part @ half
    affine = np.hstack([linear_part, offset[:, None]])
    warped = cv2.warpAffine(template, affine, (width, height), flags=cv2.INTER_AREA)
    cover = cv2.warpAffine(mask, affine, (width, height), flags=cv2.INTER_AREA)[..., None]
    scene = scene * (1 - cover) + warped * cover
    if shadow > 0:
        # A soft shadow edge across the chart, a third of the way from its right-hand end.
        edge = target + linear_part @ np.array([_TEMPLATE_PITCH * 1.0, 0.0])
        across = np.array([np.cos(theta), -np.sin(theta)])
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        distance = (xs - edge[0]) * across[0] + (ys - edge[1]) * across[1]
        soft = np.clip(distance / max(2.0, 0.15 * pitch_px) + 0.5, 0, 1)
        scene = scene * (1 - shadow * soft)[..., None]
    lit = scene * (exposure * np.asarray(cast, np.float32))
    centres = _centres(affine)
    encoded = _encode(lit, grey=grey, bit_depth=bit_depth, noise=noise, rng=rng)
    linear = patch_linear_adobe(edition) * exposure * np.asarray(cast)
    return ChartShot(
        pixels=encoded,
        icc=None if grey else make_adobe_rgb_profile(),
        centres=centres,
        pitch_px=float(pitch_px),
        linear=linear,
    )


def encode_tiff(shot: ChartShot) -> bytes:
    """The shot as an uncompressed TIFF, its profile embedded (as a camera or scanner writes)."""
    buffer = io.BytesIO()
    extratags = [] if shot.icc is None else [(34675, 7, len(shot.icc), shot.icc, True)]
    photometric = "minisblack" if shot.pixels.ndim == 2 else "rgb"
    tifffile.imwrite(buffer, shot.pixels, photometric=photometric, extratags=extratags)
    return buffer.getvalue()


def _backdrop(
    width: int, height: int, backdrop: np.ndarray[Any, np.dtype[Any]] | None
) -> np.ndarray[Any, np.dtype[np.float32]]:
    if backdrop is not None:
        srgb = np.clip(np.asarray(backdrop, np.float32), 0, 1)
        if srgb.shape[:2] != (height, width):
            raise ValueError(f"backdrop is {srgb.shape[1]}×{srgb.shape[0]}, not {width}×{height}")
        linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
        return np.asarray(linear @ _SRGB_TO_ADOBE.T.astype(np.float32), np.float32)
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    sweep = 0.26 - 0.08 * y
    return np.broadcast_to(sweep, (height, width, 3)).astype(np.float32)


def _template(
    colours: np.ndarray[Any, np.dtype[np.float64]],
) -> tuple[np.ndarray[Any, np.dtype[np.float32]], np.ndarray[Any, np.dtype[np.float32]]]:
    """The card upright at _TEMPLATE_PITCH pixels per pitch, and its coverage mask."""
    p = _TEMPLATE_PITCH
    card_w = round((COLUMNS + 2 * _MARGIN - (1 - _PATCH)) * p)
    card_h = round((ROWS + 2 * _MARGIN - (1 - _PATCH)) * p)
    template = np.full((card_h, card_w, 3), _CARD_BLACK, np.float32)
    side = round(_PATCH * p)
    for index, colour in enumerate(colours):
        row, column = divmod(index, COLUMNS)
        x0, y0 = round(_MARGIN * p + column * p), round(_MARGIN * p + row * p)
        template[y0 : y0 + side, x0 : x0 + side] = colour
    return template, np.ones((card_h, card_w), np.float32)


def _centres(
    affine: np.ndarray[Any, np.dtype[np.float64]],
) -> np.ndarray[Any, np.dtype[np.float64]]:
    p = _TEMPLATE_PITCH
    points = []
    for index in range(ROWS * COLUMNS):
        row, column = divmod(index, COLUMNS)
        # Pixel indices are coordinates of pixel centres (as warpAffine takes them): a span of
        # `side` pixels from x0 has its middle at x0 + (side - 1) / 2.
        u = round(_MARGIN * p + column * p) + (round(_PATCH * p) - 1) / 2
        v = round(_MARGIN * p + row * p) + (round(_PATCH * p) - 1) / 2
        points.append(affine @ np.array([u, v, 1.0]))
    return np.array(points)


def _encode(
    linear: np.ndarray[Any, np.dtype[np.float32]],
    *,
    grey: bool,
    bit_depth: int,
    noise: float,
    rng: np.random.Generator,
) -> np.ndarray[Any, np.dtype[Any]]:
    top = 255 if bit_depth == 8 else 65535
    clipped = np.clip(linear, 0, 1)
    if grey:
        luminance = clipped @ ADOBE_TO_XYZ_D50[1].astype(np.float32)
        encoded = np.where(
            luminance <= 0.0031308,
            luminance * 12.92,
            1.055 * np.power(np.maximum(luminance, 0.0031308), 1 / 2.4) - 0.055,
        )
    else:
        encoded = cv2.pow(clipped, 1 / ADOBE_RGB_GAMMA)
    values = encoded * top
    if noise > 0:
        values = values + rng.normal(0, noise * top / 255, values.shape).astype(np.float32)
    dtype = np.uint8 if bit_depth == 8 else np.uint16
    return np.clip(np.round(values), 0, top).astype(dtype)
