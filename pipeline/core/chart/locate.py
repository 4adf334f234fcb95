"""Find ColorChecker Classic charts in an image on a reduced copy; pure, no I/O, no measuring.

How: the patches are flat squares framed by the card's black, so on the reduced copy the
pixels with a small local gradient form square blobs of one size. Blobs that sit on a common
lattice (neighbours one pitch apart along the squares' own axes) form a candidate; the lattice
is fitted by least squares, so patches that were missed (the black patch on the black card, a
patch crossed by a shadow's edge) are still placed. Each of the four ways a 6×4 chart can lie
on that lattice (turned 0/90/180/270°) is read against X-Rite's values after a white balance
on the neutral row; the best reading identifies the chart, and a candidate that reads too far
from any is not a chart (a lacquered box's tiles, a window's panes).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from typing import Any, Final

import cv2
import numpy as np

from pipeline.core.chart.colorimetry import delta_e_2000, linear_srgb_to_lab
from pipeline.core.chart.model import ChartLocation
from pipeline.core.chart.reference import COLUMNS, NEUTRAL, ROWS, reference_lab

Array = np.ndarray[Any, np.dtype[Any]]

_FLAT_LEVEL: Final = 7.0  # largest 3×3 gradient (8-bit levels, after a light blur) inside a patch
_MIN_SIDE: Final = 4.0  # px on the reduced copy: a 5%-wide chart at 1600 px has ~10 px patches
_EDGE_LOSS: Final = 3.5  # px the flat blob loses to the blur and gradient across a patch
_SQUARENESS: Final = 0.78  # blob area / its rotated rectangle's area
_MIN_PATCHES: Final = 8  # blobs on one lattice before it is read as a chart
_MAX_MATCH: Final = 14.0  # mean ΔE2000 of the identification (white-balanced) to accept
_SAMPLE: Final = 0.4  # side of the sampled square, in pitches (patches are ~0.84 pitch wide)
_REFERENCE_LAB: Final = reference_lab("after_2014")
# The card reaches about half a pitch beyond the outer patch centres' grid, plus its label.
_CARD_PITCHES: Final = 1.0


@dataclass(frozen=True)
class _Blob:
    x: float
    y: float
    side: float
    angle: float  # of the square's sides, degrees in [0, 90)


def find_charts(pixels: Array, *, long_edge: int = 1600) -> list[ChartLocation]:
    """Every ColorChecker Classic seen in upright pixels (H×W×3 RGB or H×W grey, any bit
    depth), largest first, located in full-resolution coordinates; [] when there is none.

    Detection runs on a copy reduced to at most `long_edge` pixels.
    """
    height, width = pixels.shape[:2]
    small, scale = _reduce(pixels, long_edge)
    blobs = _find_blobs(small)
    found: list[ChartLocation] = []
    for group in _group_on_lattice(blobs):
        location = _read_group(group, small, scale, (width, height))
        if location is not None:
            found.append(location)
    return sorted(found, key=lambda location: -location.pitch_px)


def _reduce(pixels: Array, long_edge: int) -> tuple[Array, float]:
    """8-bit copy at most `long_edge` long, by a whole factor; and full px per copy px."""
    height, width = pixels.shape[:2]
    factor = max(1, -(-max(height, width) // long_edge))
    # Every factor-th pixel, from the middle of each block: a strided copy costs a tenth of any
    # resampling of a 24 MP scan, and the blur that follows tames the noise it keeps.
    offset = factor // 2
    size = (width // factor, height // factor)
    sampled = np.ascontiguousarray(pixels[offset::factor, offset::factor][: size[1], : size[0]])
    if sampled.dtype == np.uint16:  # OpenCV scales 16-bit samples itself: no float copy
        sampled = cv2.convertScaleAbs(sampled, alpha=255.0 / 65535.0)
    elif sampled.dtype != np.uint8:
        top = float(max(sampled.max(initial=1), 1))
        sampled = cv2.convertScaleAbs(sampled.astype(np.float32), alpha=255.0 / top)
    return sampled, float(factor)


def _find_blobs(small: Array) -> list[_Blob]:
    # Luminance is enough: every patch is lighter than the card's black around it.
    grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY) if small.ndim == 3 else small
    blurred = cv2.GaussianBlur(grey, (3, 3), 0)
    gradient = cv2.morphologyEx(blurred, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    flat = cv2.threshold(gradient, _FLAT_LEVEL, 1, cv2.THRESH_BINARY_INV)[1]
    # Label the flat regions and keep, with array arithmetic, those whose box could hold a
    # patch: a textured scene has tens of thousands of specks, and a loop over them would cost
    # more than everything else.
    _, labels, stats, _ = cv2.connectedComponentsWithStats(flat, connectivity=4)
    height, width = flat.shape
    max_side = 0.5 * min(height, width)
    x, y, w, h, area = (stats[:, k].astype(np.float64) for k in range(5))
    short, long = np.minimum(w, h), np.maximum(w, h)
    keep = (
        (short >= _MIN_SIDE)
        & (long <= 1.5 * max_side)
        & (long <= 2.2 * short)
        & (area >= 0.45 * w * h)
        & (area >= _MIN_SIDE**2)
    )
    keep[0] = False  # label 0: the pixels that are not flat
    blobs: list[_Blob] = []
    for index in np.flatnonzero(keep):
        x0, y0, w0, h0 = int(x[index]), int(y[index]), int(w[index]), int(h[index])
        mask = (labels[y0 : y0 + h0, x0 : x0 + w0] == index).astype(np.uint8)
        contour = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0][0]
        if len(contour) < 4:
            continue
        (cx, cy), (rw, rh), angle = cv2.minAreaRect(contour)
        # A contour runs through the outermost pixels' centres: the blob is a pixel wider, and
        # holds about area + perimeter / 2 + 1 pixels (Pick's theorem, near enough).
        rw, rh = rw + 1, rh + 1
        pixels_in = cv2.contourArea(contour) + cv2.arcLength(contour, True) / 2 + 1
        if pixels_in < _SQUARENESS * rw * rh or max(rw, rh) > 1.3 * min(rw, rh):
            continue
        # The blur and the gradient took about two pixels from every side: give them back.
        side = float(np.sqrt((rw + _EDGE_LOSS) * (rh + _EDGE_LOSS)))
        blobs.append(_Blob(x0 + float(cx), y0 + float(cy), side, float(angle % 90.0)))
    return blobs


def _angle_gap(a: float, b: float) -> float:
    gap = abs(a - b) % 90.0
    return min(gap, 90.0 - gap)


def _group_on_lattice(blobs: list[_Blob]) -> list[list[_Blob]]:
    """Groups of blobs joined by lattice steps: similar size and angle, one pitch apart along
    their sides; only groups of at least _MIN_PATCHES, largest first."""
    if len(blobs) < _MIN_PATCHES:
        return []
    parent = list(range(len(blobs)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    xy = np.array([(b.x, b.y) for b in blobs])
    sides = np.array([b.side for b in blobs])
    order = np.argsort(xy[:, 0])
    xs = xy[order, 0]
    for position, i in enumerate(order):
        a = blobs[i]
        reach = 1.7 * a.side
        stop = int(np.searchsorted(xs, a.x + reach, side="right"))
        for j in order[position + 1 : stop]:
            b = blobs[j]
            if not 0.75 < sides[j] / a.side < 1.33:
                continue
            # Large squares know their angle; a few-pixel blob's rectangle does not.
            if min(a.side, b.side) > 16 and _angle_gap(a.angle, b.angle) > 8:
                continue
            dx, dy = b.x - a.x, b.y - a.y
            distance = float(np.hypot(dx, dy))
            mean_side = (a.side + b.side) / 2
            if not 1.03 * mean_side < distance < 1.6 * mean_side:
                continue
            direction = np.degrees(np.arctan2(dy, dx)) % 90.0
            if min(a.side, b.side) > 16 and _angle_gap(direction, a.angle) > 8:
                continue
            parent[root(int(j))] = root(int(i))
    groups: dict[int, list[_Blob]] = {}
    for i, blob in enumerate(blobs):
        groups.setdefault(root(i), []).append(blob)
    found = [group for group in groups.values() if len(group) >= _MIN_PATCHES]
    return sorted(found, key=len, reverse=True)


def _read_group(
    group: list[_Blob], small: Array, scale: float, frame: tuple[int, int]
) -> ChartLocation | None:
    xy = np.array([(b.x, b.y) for b in group])
    theta = _lattice_angle(xy)
    u_axis = np.array([np.cos(theta), np.sin(theta)])
    v_axis = np.array([-np.sin(theta), np.cos(theta)])
    pitch = _estimate_pitch(xy, u_axis, v_axis)
    if pitch is None:
        return None
    origin = xy[0]
    grid = np.round(
        np.column_stack([(xy - origin) @ u_axis, (xy - origin) @ v_axis]) / pitch
    ).astype(int)
    grid -= grid.min(axis=0)
    span = grid.max(axis=0) + 1
    if len({tuple(cell) for cell in grid}) < _MIN_PATCHES or sorted(span)[1] > COLUMNS:
        return None
    if min(span) > ROWS:
        return None
    # The lattice: image position = affine @ (i, j, 1), fitted to every blob.
    design = np.column_stack([grid, np.ones(len(grid))])
    affine, *_ = np.linalg.lstsq(design, xy, rcond=None)
    residual = np.linalg.norm(design @ affine - xy, axis=1)
    if float(np.median(residual)) > 0.15 * pitch:
        return None
    pitch = float(np.linalg.norm(affine[0]) + np.linalg.norm(affine[1])) / 2
    best: tuple[float, Array] | None = None
    for cells in _placements(span):
        centres = np.column_stack([cells, np.ones(len(cells))]) @ affine
        score = _identify(small, centres, pitch)
        if score is not None and (best is None or score < best[0]):
            best = (score, centres)
    if best is None or best[0] > _MAX_MATCH:
        return None
    return _to_location(best[1], best[0], pitch, scale, frame)


def _lattice_angle(xy: Array) -> float:
    """The lattice's direction (radians, modulo 90°): the mean, on a 90°-periodic circle, of the
    directions from each blob to its nearest neighbour."""
    delta = xy[None, :, :] - xy[:, None, :]
    distance = np.hypot(delta[..., 0], delta[..., 1])
    np.fill_diagonal(distance, np.inf)
    nearest = distance.argmin(axis=1)
    step = delta[np.arange(len(xy)), nearest]
    angle4 = 4 * np.arctan2(step[:, 1], step[:, 0])
    return float(np.arctan2(np.sin(angle4).sum(), np.cos(angle4).sum()) / 4)


def _estimate_pitch(xy: Array, u_axis: Array, v_axis: Array) -> float | None:
    """The median distance to the nearest neighbour along the lattice's axes."""
    steps: list[float] = []
    for point in xy:
        delta = xy - point
        along_u, along_v = np.abs(delta @ u_axis), np.abs(delta @ v_axis)
        distance = np.hypot(along_u, along_v)
        aligned = (np.minimum(along_u, along_v) < 0.2 * distance) & (distance > 0)
        if aligned.any():
            steps.append(float(distance[aligned].min()))
    return float(np.median(steps)) if len(steps) >= _MIN_PATCHES else None


def _placements(span: Array) -> list[Array]:
    """The (i, j) lattice cells of the 24 patches, in reading order, for every way the chart
    can lie over the blobs' span: turned 0/90/180/270° (never mirrored), every offset."""
    columns, rows = np.meshgrid(np.arange(COLUMNS), np.arange(ROWS))
    c, r = columns.ravel(), rows.ravel()
    layouts = (  # (i, j) of patch (c, r) before the offset, for each turn
        (c, r),
        (-r, c),
        (-c, -r),
        (r, -c),
    )
    placements: list[Array] = []
    for i, j in layouts:
        i0, j0 = i - i.min(), j - j.min()
        width, height = int(i0.max()) + 1, int(j0.max()) + 1
        if width < span[0] or height < span[1]:
            continue
        for di, dj in product(range(width - span[0] + 1), range(height - span[1] + 1)):
            placements.append(np.column_stack([i0 - di, j0 - dj]).astype(np.float64))
    return placements


def _identify(small: Array, centres: Array, pitch: float) -> float | None:
    """Mean ΔE2000 between the patches read at `centres` (white-balanced on the neutral row,
    taken as sRGB) and X-Rite's values; None when too few patches are in the frame."""
    height, width = small.shape[:2]
    half = max(1, int(0.2 * pitch))
    colours = np.full((len(centres), 3), np.nan)
    for index, (x, y) in enumerate(centres):
        xi, yi = round(x), round(y)
        if half <= xi < width - half and half <= yi < height - half:
            window = small[yi - half : yi + half + 1, xi - half : xi + half + 1]
            mean = window.reshape(-1, window.shape[2] if window.ndim == 3 else 1).mean(axis=0)
            colours[index] = mean
    seen = ~np.isnan(colours[:, 0])
    neutral_seen = seen[NEUTRAL]
    if seen.sum() < 12 or neutral_seen.sum() < 3:
        return None
    encoded = colours / 255.0
    linear = np.where(encoded <= 0.04045, encoded / 12.92, ((encoded + 0.055) / 1.055) ** 2.4)
    reference = _REFERENCE_LAB
    expected_y = ((reference[:, 0] + 16) / 116) ** 3  # the neutrals' luminance, D50
    neutrals = linear[NEUTRAL][neutral_seen]
    target = expected_y[NEUTRAL][neutral_seen][:, None]
    gains = (neutrals * target).sum(axis=0) / np.maximum((neutrals * neutrals).sum(axis=0), 1e-9)
    balanced = linear * gains
    if small.ndim == 2:
        lab = np.zeros((len(centres), 3))
        lab[:, 0] = linear_srgb_to_lab(balanced)[:, 0]
        lab[:, 1:] = reference[:, 1:]
    else:
        lab = linear_srgb_to_lab(balanced)
    return float(np.mean(delta_e_2000(reference[seen], lab[seen])))


def _to_location(
    centres: Array, match: float, pitch: float, scale: float, frame: tuple[int, int]
) -> ChartLocation:
    full = centres * scale + scale // 2  # the copy's pixel i is the scan's pixel i·f + f // 2
    pitch_full = pitch * scale
    sample = max(1, int(_SAMPLE * pitch_full))
    width, height = frame
    half = sample / 2
    in_frame = int(
        np.sum(
            (full[:, 0] - half >= 0)
            & (full[:, 1] - half >= 0)
            & (full[:, 0] + half <= width)
            & (full[:, 1] + half <= height)
        )
    )
    first_row = full[COLUMNS - 1] - full[0]
    angle = float(np.degrees(np.arctan2(-first_row[1], first_row[0])))
    # The outer corners of the patch grid: half a patch beyond the corner patches' centres.
    step_c = first_row / (COLUMNS - 1)
    step_r = (full[(ROWS - 1) * COLUMNS] - full[0]) / (ROWS - 1)
    reach = 0.42
    corners = [
        full[0] - reach * (step_c + step_r),
        full[COLUMNS - 1] + reach * (step_c - step_r),
        full[ROWS * COLUMNS - 1] + reach * (step_c + step_r),
        full[(ROWS - 1) * COLUMNS] - reach * (step_c - step_r),
    ]
    return ChartLocation(
        centres=[(round(float(x), 2), round(float(y), 2)) for x, y in full],
        corners=[(round(float(x), 2), round(float(y), 2)) for x, y in corners],
        pitch_px=round(pitch_full, 3),
        angle=round(angle, 2),
        sample_px=sample,
        in_frame=in_frame,
        match=round(match, 2),
    )


def chart_polygon(location: ChartLocation) -> np.ndarray[Any, np.dtype[np.float32]]:
    """The card's outline (4 corners, full-resolution px): the patch grid's outer corners
    pushed out from its centre by one pitch, so the black frame and label go with it."""
    corners = np.asarray(location.corners, np.float32)
    centre = corners.mean(axis=0)
    out = corners - centre
    length = np.linalg.norm(out, axis=1, keepdims=True)
    grown = corners + out / np.maximum(length, 1e-6) * location.pitch_px * _CARD_PITCHES * 1.42
    return np.asarray(grown, np.float32)
