"""Measure a located chart's patches at full resolution into CIELAB D50; pure, no I/O."""

from __future__ import annotations

from typing import Any

import numpy as np

from pipeline.core.chart.model import ChartLocation, ChartMeasurement, Edition


def measure_chart(
    pixels: np.ndarray[Any, np.dtype[Any]],
    location: ChartLocation,
    *,
    icc: bytes | None,
    edition: Edition,
) -> ChartMeasurement:
    """The trimmed mean of each patch's centre square, decoded through the scan's own profile
    (`icc`; None is sRGB) to CIELAB D50, against the `edition`'s reference.

    `pixels` are the upright image at full resolution and full bit depth (uint8 or uint16,
    H×W×3 or H×W grey); `location` must be complete (every patch in the frame).
    """
    raise NotImplementedError
