"""Shrink upright pixels with INTER_AREA for every stage of a scan; pure, never enlarges unasked.

INTER_AREA averages every source pixel of a target pixel: the right filter to shrink, and
OpenCV's exact 2:1 path is several times faster than a fractional one. The derivatives and
the IIIF tiles both descend from the full-size pixels by such halvings; one `Pyramid` per scan
remembers each halving it made, so a level both need is computed once, and the same call on
the same pixels keeps every output byte as it was.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

_Array = np.ndarray[Any, Any]
_U8 = np.ndarray[Any, np.dtype[np.uint8]]


def fit_long_edge(
    width: int, height: int, long_edge: int, *, enlarge: bool = False
) -> tuple[int, int]:
    """The size whose long edge is `long_edge`, keeping the aspect; larger only if `enlarge`."""
    scale = long_edge / max(width, height)
    if not enlarge:
        scale = min(1.0, scale)
    return max(1, round(width * scale)), max(1, round(height * scale))


def shrink_to(array: _Array, size: tuple[int, int]) -> _Array:
    """`array` at `size` (width, height): itself when it is that size already."""
    if (array.shape[1], array.shape[0]) == size:
        return array
    return cv2.resize(array, size, interpolation=cv2.INTER_AREA)


def shrink_to_long_edge(pixels: _U8, long_edge: int) -> _U8:
    """A contiguous copy at most `long_edge` long (the array itself when already contiguous
    and no longer)."""
    height, width = pixels.shape[:2]
    contiguous = np.ascontiguousarray(pixels)
    if long_edge / max(height, width) >= 1:
        return contiguous
    size = fit_long_edge(width, height, long_edge)
    return np.asarray(cv2.resize(contiguous, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def shrink_by_whole_factor(pixels: _U8, long_edge: int) -> tuple[_U8, float, float]:
    """A copy at most `long_edge` long, and its scale (source pixels per copy pixel, x and y).

    The bulk of the reduction is one whole-number step on the image cropped to a multiple of
    it (dropping fewer pixels than the factor at the right and bottom edges), several times
    faster than a fractional one; then a small exact step.
    """
    height, width = pixels.shape[:2]
    factor = max(width, height) // long_edge
    if factor < 1 or max(width, height) <= long_edge:
        return pixels, 1.0, 1.0
    used_w, used_h = width - width % factor, height - height % factor
    small = np.asarray(
        cv2.resize(
            pixels[:used_h, :used_w],
            (used_w // factor, used_h // factor),
            interpolation=cv2.INTER_AREA,
        ),
        dtype=np.uint8,
    )
    if max(small.shape[:2]) > long_edge:
        size = fit_long_edge(small.shape[1], small.shape[0], long_edge, enlarge=True)
        small = np.asarray(cv2.resize(small, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    return small, used_w / small.shape[1], used_h / small.shape[0]


class Pyramid:
    """The 2:1 halvings made from one scan's pixels, each made once and handed to every stage
    that asks for it (arrays are matched by identity: they are never written to)."""

    def __init__(self) -> None:
        self._halves: list[tuple[_Array, _Array]] = []

    def halve(self, array: _Array) -> _Array:
        """`array` shrunk 2:1 (odd edges rounded down)."""
        for source, half in self._halves:
            if source is array:
                return half
        height, width = array.shape[:2]
        half = cv2.resize(array, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
        self._halves.append((array, half))
        return half

    def shrink_to(self, array: _Array, size: tuple[int, int]) -> _Array:
        """`array` at `size`: through the halving when `size` is exactly half of it."""
        height, width = array.shape[:2]
        if width % 2 == 0 and height % 2 == 0 and size == (width // 2, height // 2):
            return self.halve(array)
        return shrink_to(array, size)

    def shrink_in_halves(self, array: _Array, target: tuple[int, int]) -> _Array:
        """`array` at `target`, halving first while the ratio is 2 or more: 3000 → 1500 → 1200
        costs half of 3000 → 1200, and averaging 2×2 blocks first changes nothing visible."""
        while True:
            height, width = array.shape[:2]
            if (width, height) == target:
                return array
            if width % 2 or height % 2 or width < 2 * target[0] or height < 2 * target[1]:
                return cv2.resize(array, target, interpolation=cv2.INTER_AREA)
            array = self.halve(array)
