"""The shared shrink: same pixels as a direct INTER_AREA resize, each halving made once."""

from __future__ import annotations

import cv2
import numpy as np

from pipeline.core.shrink import Pyramid, fit_long_edge, shrink_to, shrink_to_long_edge
from tests.unit.images import gradient_rgb


def test_fit_long_edge_enlarges_only_when_asked():
    assert fit_long_edge(800, 600, 1200) == (800, 600)
    assert fit_long_edge(800, 600, 1200, enlarge=True) == (1200, 900)
    assert fit_long_edge(4000, 1, 400) == (400, 1)


def test_pyramid_halving_is_a_plain_resize_made_once():
    pixels = gradient_rgb(640, 480)
    pyramid = Pyramid()
    half = pyramid.halve(pixels)
    assert np.array_equal(half, cv2.resize(pixels, (320, 240), interpolation=cv2.INTER_AREA))
    assert pyramid.halve(pixels) is half
    assert pyramid.shrink_to(pixels, (320, 240)) is half
    # Not an exact halving: an ordinary resize, not remembered.
    odd = pyramid.shrink_to(pixels, (321, 240))
    assert odd.shape[:2] == (240, 321)


def test_shrink_in_halves_goes_through_the_shared_halvings():
    pixels = gradient_rgb(1200, 800)
    pyramid = Pyramid()
    small = pyramid.shrink_in_halves(pixels, (250, 167))
    half = pyramid.halve(pixels)
    quarter = pyramid.halve(half)
    expected = cv2.resize(quarter, (250, 167), interpolation=cv2.INTER_AREA)
    assert np.array_equal(small, expected)
    assert shrink_to(pixels, (1200, 800)) is pixels


def test_shrink_to_long_edge_never_enlarges_and_is_contiguous():
    pixels = gradient_rgb(300, 200)[:, ::2]
    same = shrink_to_long_edge(pixels, 256)
    assert same.shape == pixels.shape and same.flags.c_contiguous
    assert max(shrink_to_long_edge(gradient_rgb(1000, 500), 256).shape[:2]) == 256
