"""Anti-aliased strokes (float coordinates, OpenCV gets 1/16 pixel) and value noise; no shading."""

from __future__ import annotations

import math

import cv2
import numpy as np


def square_corners(cx: float, cy: float, half_w: float, half_h: float | None = None) -> np.ndarray:
    """Image corners of an upright rectangle centred at (cx, cy), in texture-corner order."""
    hh = half_w if half_h is None else half_h
    return np.array(
        [
            [cx - half_w, cy - hh],
            [cx + half_w, cy - hh],
            [cx + half_w, cy + hh],
            [cx - half_w, cy + hh],
        ]
    )


def to_fixed_points(points: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(points) * 16).astype(np.int32)


def _pt(point: np.ndarray | tuple[float, float]) -> tuple[int, int]:
    return round(float(point[0]) * 16), round(float(point[1]) * 16)


def xy(x: float, y: float) -> np.ndarray:
    return np.array([x, y], dtype=float)


def draw_polyline(img: np.ndarray, points: np.ndarray, value: float, width: float) -> None:
    cv2.polylines(
        img, [to_fixed_points(points)], False, value, max(1, round(width)), cv2.LINE_AA, 4
    )


def draw_circle(img: np.ndarray, centre, radius: float, value: float, width: float = -1) -> None:
    """A disc (width < 0) or a ring."""
    thickness = -1 if width < 0 else max(1, round(width))
    cv2.circle(img, _pt(centre), round(radius * 16), value, thickness, cv2.LINE_AA, 4)


def draw_ellipse(
    img: np.ndarray,
    centre,
    axes: tuple[float, float],
    value: float,
    *,
    angle: float = 0.0,
    arc: tuple[float, float] = (0, 360),
    width: float = -1,
) -> None:
    thickness = -1 if width < 0 else max(1, round(width))
    size = (round(axes[0] * 16), round(axes[1] * 16))
    cv2.ellipse(img, _pt(centre), size, angle, arc[0], arc[1], value, thickness, cv2.LINE_AA, 4)


def draw_rectangle(img: np.ndarray, a, b, value: float, width: float = -1) -> None:
    thickness = -1 if width < 0 else max(1, round(width))
    cv2.rectangle(img, _pt(a), _pt(b), value, thickness, cv2.LINE_AA, 4)


def fill_polygon(img: np.ndarray, points: np.ndarray, value: float) -> None:
    cv2.fillPoly(img, [to_fixed_points(points)], value, cv2.LINE_AA, 4)


class Ink:
    """A single-channel uint8 layer that motifs are painted into, anti-aliased."""

    def __init__(self, shape: tuple[int, int]) -> None:
        self.img = np.zeros(shape, np.uint8)

    def amount(self, blur: float = 0.0) -> np.ndarray:
        out = self.img.astype(np.float32) / 255
        return cv2.GaussianBlur(out, (0, 0), blur) if blur > 0 else out


def make_noise(
    shape: tuple[int, int],
    rng: np.random.Generator,
    cells: tuple[float, ...],
    weights: tuple[float, ...],
) -> np.ndarray:
    """Zero-mean value noise: per octave, a random grid of cells `cell` long edges wide,
    smoothly upsampled."""
    h, w = shape
    long_edge = max(h, w)
    out = np.zeros((h, w), np.float32)
    for cell, weight in zip(cells, weights, strict=True):
        px = max(1.0, cell * long_edge)
        grid = rng.random((int(h / px) + 3, int(w / px) + 3), dtype=np.float32) - 0.5
        out += weight * 2 * cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
    return out


def make_seamless(field: np.ndarray) -> np.ndarray:
    """Blend a field with itself shifted half a turn so that it wraps around horizontally."""
    w = field.shape[1]
    ramp = np.abs(np.sin(np.linspace(0, math.pi, w, endpoint=False, dtype=np.float32)))
    return field * ramp + np.roll(field, w // 2, axis=1) * (1 - ramp)
