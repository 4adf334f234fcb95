"""Decorative motifs (dragons, clouds, glyphs, bands) painted into ink layers; no colour."""

from __future__ import annotations

import math

import cv2
import numpy as np

from pipeline.samples.render.drawing import (
    Ink,
    draw_circle,
    draw_ellipse,
    draw_polyline,
    fill_polygon,
    square_corners,
    to_fixed_points,
    xy,
)


def paint_dragon(
    ink: Ink,
    box: tuple[float, float, float, float],
    rng: np.random.Generator,
    *,
    scales: bool = True,
    facing: int = 1,
) -> None:
    """A sinuous dragon chasing a flaming pearl in the box (x, y, width, height).

    `facing` is +1 when the head looks right, -1 when it looks left; points run head to tail.
    """
    x, y, w, h = box
    img = ink.img
    t = np.linspace(0, 1, 160)
    phase = rng.uniform(0, 2 * math.pi)
    waves = rng.uniform(1.1, 1.5)
    sx = x + w * (1 - t if facing > 0 else t)
    sy = y + h * (0.5 + 0.3 * np.sin(2 * math.pi * waves * t + phase) + 0.05 * np.sin(9 * t))
    thick = h * 0.12 * (0.3 + 0.7 * np.sin(math.pi * np.clip(0.1 + t * 0.92, 0, 1)) ** 0.6)
    dx, dy = np.gradient(sx), np.gradient(sy)
    norm = np.hypot(dx, dy) + 1e-9
    nx, ny = -dy / norm, dx / norm
    upper = np.stack([sx + nx * thick, sy + ny * thick], 1)
    lower = np.stack([sx - nx * thick, sy - ny * thick], 1)
    fill_polygon(img, np.concatenate([upper, lower[::-1]]), 250)
    line = max(1.0, h * 0.012)
    # A short crest of spines along one edge of the back.
    for i in range(14, 140, 10):
        tip = upper[i] + xy(nx[i], ny[i]) * thick[i] * 0.55 - xy(dx[i], dy[i]) * 2
        fill_polygon(img, np.array([upper[i - 2], tip, upper[i + 3]]), 230)
    if scales:
        angle_of = np.degrees(np.arctan2(dy, dx))
        for i in range(10, 152, 4):
            for k in (-0.5, 0.0, 0.5):
                centre = xy(sx[i], sy[i]) + xy(nx[i], ny[i]) * thick[i] * k
                radius = max(1.0, thick[i] * 0.3)
                draw_ellipse(
                    img,
                    centre,
                    (radius, radius),
                    90,
                    angle=float(angle_of[i]),
                    arc=(200, 340),
                    width=line * 0.6,
                )
    # Four legs, each ending in claws, with a flame wisp at the elbow.
    for ti, sign in ((0.17, 1), (0.3, -1), (0.6, 1), (0.74, -1)):
        i = int(ti * 159)
        root = xy(sx[i], sy[i])
        elbow = root + xy(nx[i], ny[i]) * thick[i] * 2.0 * sign - xy(facing * w * 0.03, 0)
        foot = elbow + xy(facing * w * 0.045, h * 0.07 * sign)
        draw_polyline(img, np.array([root, elbow, foot]), 230, thick[i] * 0.55)
        for claw in (-0.8, 0.0, 0.8):
            tip = foot + h * 0.045 * xy(math.cos(claw) * facing, math.sin(claw) * sign)
            draw_polyline(img, np.array([foot, tip]), 230, line * 1.2)
        ft = np.linspace(0, 1, 8)
        wisp = elbow + h * 0.06 * np.stack([-facing * ft, 0.5 * np.sin(ft * 3) * sign], 1)
        draw_polyline(img, wisp, 200, line)
    # The head: a snout, a jaw, horns swept back, whiskers, an eye left blank.
    head = xy(sx[0], sy[0])
    hs = h * 0.12
    draw_ellipse(img, head, (hs * 1.2, hs * 0.85), 230)
    snout = head + xy(facing * hs * 1.4, -hs * 0.1)
    draw_polyline(img, np.array([head, snout]), 230, hs * 0.75)
    jaw = np.array([head + xy(facing * hs * 0.3, hs * 0.5), snout + xy(0, hs * 0.6)])
    draw_polyline(img, jaw, 230, line * 2)
    for side in (-1, 1):
        horn = head + xy(-facing * hs * 1.0, -hs * (1.0 + 0.3 * side))
        tip = horn + xy(-facing * hs * 0.6, -hs * 0.2)
        draw_polyline(img, np.array([head, horn, tip]), 230, line * 1.8)
        wt = np.linspace(0, 1, 20)
        whisker = np.stack(
            [snout[0] + facing * hs * 2.5 * wt, snout[1] + side * hs * 0.6 * np.sin(wt * 5)], 1
        )
        draw_polyline(img, whisker, 210, line)
    eye = head + xy(facing * hs * 0.25, -hs * 0.3)
    draw_circle(img, eye, hs * 0.3, 40)
    draw_circle(img, eye, hs * 0.13, 230)
    _paint_pearl(ink, head + xy(facing * w * 0.2, -h * 0.15), h * 0.07)


def _paint_pearl(ink: Ink, centre: np.ndarray, radius: float) -> None:
    """The flaming pearl: a ring with a spiral inside and flames around."""
    img = ink.img
    draw_circle(img, centre, radius, 230, width=radius * 0.18)
    t = np.linspace(0, 4 * math.pi, 60)
    spiral = centre + np.stack([np.cos(t), np.sin(t)], 1) * (radius * t / (4 * math.pi))[:, None]
    draw_polyline(img, spiral, 200, max(1.0, radius * 0.1))
    ft = np.linspace(0, 1, 10)
    for k in range(7):
        a = k / 7 * 2 * math.pi
        base = centre + radius * 1.1 * xy(math.cos(a), math.sin(a))
        flame = base + radius * 0.9 * np.stack(
            [np.cos(a) * ft - 0.4 * np.sin(a) * np.sin(ft * 3), np.sin(a) * ft], 1
        )
        draw_polyline(img, flame, 200, max(1.0, radius * 0.12))


def paint_cloud(ink: Ink, centre: np.ndarray, size: float, value: int, filled: bool) -> None:
    """A ruyi cloud scroll: three lobes and a trailing wisp."""
    img = ink.img
    width = -1 if filled else size * 0.09
    for dx, dy, r in ((-0.55, 0.1, 0.38), (0.0, -0.15, 0.5), (0.55, 0.1, 0.38)):
        lobe = centre + size * xy(dx, dy)
        draw_circle(img, lobe, size * r, value, width)
        if not filled:
            t = np.linspace(0, 3 * math.pi, 30)
            curl = lobe + size * r * 0.6 * np.stack([np.cos(t), np.sin(t)], 1) * (t / 10)[:, None]
            draw_polyline(img, curl, value, size * 0.07)
    t = np.linspace(0, 1, 30)
    wisp = centre + size * np.stack([0.5 + 1.6 * t, 0.35 + 0.25 * np.sin(t * 6)], 1)
    draw_polyline(img, wisp, value, size * (0.2 if filled else 0.09))


def paint_glyph(
    img: np.ndarray,
    x: float,
    y: float,
    size: float,
    rng: np.random.Generator,
    value: float,
    width: float,
) -> None:
    """A square-script look-alike (not a real character): one or two components side by side
    or stacked, each built from horizontal, vertical and falling strokes, dots and boxes."""
    layout = rng.integers(0, 3)
    if layout == 0:
        boxes = [(0.0, 0.0, 1.0, 1.0)]
    elif layout == 1:
        split = rng.uniform(0.35, 0.5)
        boxes = [(0.0, 0.0, split, 1.0), (split + 0.06, 0.0, 1.0 - split - 0.06, 1.0)]
    else:
        split = rng.uniform(0.3, 0.5)
        boxes = [(0.0, 0.0, 1.0, split), (0.0, split + 0.06, 1.0, 1.0 - split - 0.06)]
    for bx, by, bw, bh in boxes:
        for k in range(int(rng.integers(3, 6))):
            kind = k if k < 2 else int(rng.integers(0, 6))
            a, b = rng.uniform(0.0, 1.0, 2)
            if kind == 0:
                stroke = np.array([[0.05, a], [0.95, a]])
            elif kind == 1:
                stroke = np.array([[a, 0.05], [a, 0.95]])
            elif kind == 2:
                stroke = np.array([[0.5 + 0.3 * a, 0.1], [0.45, 0.5], [0.05, 0.9]])
            elif kind == 3:
                stroke = np.array([[0.4, 0.35], [0.7, 0.7], [0.95, 0.9]])
            elif kind == 4:
                stroke = np.array([[a, b], [a + 0.1, b + 0.12]])
            else:
                lo, hi = 0.2 + 0.2 * a, 0.6 + 0.3 * b
                stroke = np.array([[lo, lo], [hi, lo], [hi, hi], [lo, hi], [lo, lo]])
            placed = np.stack([bx + bw * stroke[:, 0], by + bh * stroke[:, 1]], 1)
            draw_polyline(img, np.clip(placed, 0, 1) * size + [x, y], value, width)


def paint_inscription(
    img: np.ndarray,
    box: tuple[float, float, float, float],
    columns: int,
    rows: int,
    rng: np.random.Generator,
    value: float,
    *,
    fill: float = 1.0,
) -> None:
    """Columns of characters read top to bottom, right to left; some columns end early."""
    x, y, w, h = box
    cell = min(w / columns, h / rows)
    glyph = cell * 0.72
    width = max(1.0, cell * 0.075)
    for col in range(columns):
        length = rows if rng.random() < fill else int(rng.integers(rows // 3, rows))
        cx = x + w - (col + 0.5) * (w / columns) - glyph / 2
        for row in range(length):
            paint_glyph(img, cx, y + row * cell + (cell - glyph) / 2, glyph, rng, value, width)


def paint_seal_mark(
    img: np.ndarray,
    centre: tuple[float, float],
    size: float,
    rng: np.random.Generator,
    value: float,
    chars: int = 4,
) -> None:
    """A reign mark: characters in a double square frame, as on the base of palace porcelain."""
    cx, cy = centre
    half = size / 2
    width = max(1.0, size * 0.025)
    for inset in (0.0, 0.08):
        d = half * (1 - inset)
        cv2.polylines(
            img,
            [to_fixed_points(square_corners(cx, cy, d))],
            True,
            value,
            round(width),
            cv2.LINE_AA,
            4,
        )
    rows = 2 if chars == 4 else 3
    inner = size * 0.76
    cell_w, cell_h = inner / 2, inner / rows
    glyph = min(cell_w, cell_h) * 0.82
    # Read top to bottom, right column first.
    for col in range(2):
        for row in range(rows):
            gx = cx + inner / 2 - (col + 0.5) * cell_w - glyph / 2
            gy = cy - inner / 2 + (row + 0.5) * cell_h - glyph / 2
            paint_glyph(img, gx, gy, glyph, rng, value, width)


def paint_bands(img: np.ndarray, ys: list[float], value: float, width: float) -> None:
    w = img.shape[1]
    for y in ys:
        draw_polyline(img, np.array([[0, y], [w, y]]), value, width)


def paint_lappets(
    img: np.ndarray, y: float, height: float, count: int, value: float, width: float, up: bool
) -> None:
    """A band of pointed petals (lotus lappets) round the body, pointing up or down."""
    pitch = img.shape[1] / count
    t = np.linspace(0, 1, 24)
    sign = -1 if up else 1
    arch = np.sin(math.pi * t) ** 0.6
    for i in range(count):
        x = i * pitch
        draw_polyline(img, np.stack([x + pitch * t, y + sign * height * arch], 1), value, width)
        inner = np.stack([x + pitch * (0.2 + 0.6 * t), y + sign * height * 0.6 * arch], 1)
        draw_polyline(img, inner, value, width)


def paint_waves(img: np.ndarray, y: float, height: float, value: float, width: float) -> None:
    w = img.shape[1]
    x = np.linspace(0, w, max(8, w // 4))
    for k in range(3):
        wave = np.stack([x, y + k * height / 3 + height * 0.12 * np.sin(x / height * 5 + k)], 1)
        draw_polyline(img, wave, value, width)


def paint_lotus_scroll(layers: dict[str, Ink], y: float, height: float, rng) -> None:
    """A continuous lotus scroll: a green stem, leaves and pink flowers (for painted enamel)."""
    w = layers["stem"].img.shape[1]

    def stem_y(x: float) -> float:
        return y + height * 0.5 + height * 0.25 * math.sin(x / w * 2 * math.pi * 4)

    x = np.linspace(0, w, max(16, w // 3))
    stem = np.stack([x, y + height * 0.5 + height * 0.25 * np.sin(x / w * 2 * math.pi * 4)], 1)
    draw_polyline(layers["stem"].img, stem, 255, max(1.0, height * 0.03))
    for k in range(8):
        fx = (k + 0.5) * w / 8
        fy = stem_y(fx) + height * (0.18 if k % 2 else -0.18)
        for p in range(8):
            a = p / 8 * 360 + rng.uniform(-8, 8)
            petal = xy(fx, fy) + height * 0.13 * xy(
                math.cos(math.radians(a)), math.sin(math.radians(a))
            )
            draw_ellipse(layers["flower"].img, petal, (height * 0.14, height * 0.06), 255, angle=a)
        draw_circle(layers["heart"].img, (fx, fy), height * 0.06, 255)
        for side in (-1, 1):
            lx = fx + side * w / 24
            leaf = (lx, stem_y(lx))
            draw_ellipse(
                layers["leaf"].img, leaf, (height * 0.16, height * 0.07), 255, angle=30 * side
            )
