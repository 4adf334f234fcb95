"""Find ColorChecker Classic charts in an image on a reduced copy; pure, no I/O, no measuring."""

from __future__ import annotations

from typing import Any

import numpy as np

from pipeline.core.chart.model import ChartLocation


def find_charts(
    pixels: np.ndarray[Any, np.dtype[Any]], *, long_edge: int = 1600
) -> list[ChartLocation]:
    """Every ColorChecker Classic seen in upright pixels (H×W×3 RGB or H×W grey, any bit
    depth), largest first, located in full-resolution coordinates; [] when there is none.

    Detection runs on a copy reduced to at most `long_edge` pixels.
    """
    raise NotImplementedError
