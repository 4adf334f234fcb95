"""Grade a chart measurement into a star level and a finding; read a scan's chart in one call."""

from __future__ import annotations

from typing import Any

import numpy as np

from pipeline.core.chart.model import ChartMeasurement, ChartReport, ChartStatus
from pipeline.core.profile import ColourSettings


def grade_measurement(
    measurement: ChartMeasurement, settings: ColourSettings
) -> tuple[int, ChartStatus, str]:
    """The star level (0–4) of a measurement, its status and a sentence a photographer can
    act on (mean ΔE2000, the cast or exposure error of the neutral patches, the remedy)."""
    raise NotImplementedError


def read_chart(
    pixels: np.ndarray[Any, np.dtype[Any]],
    settings: ColourSettings,
    *,
    icc: bytes | None = None,
    precise: np.ndarray[Any, np.dtype[Any]] | None = None,
) -> ChartReport:
    """Find, measure and grade the colour chart of one scan; never raises for a bad chart.

    `pixels` are the upright 8-bit pixels in the scan's own encoding (`icc`, None for sRGB);
    `precise`, when the master has more than 8 bits, the same upright pixels at full depth,
    which the patches are then sampled from. No chart, a chart cut by the frame's edge, two
    charts or an unreadable one is a report with a finding, not an error.
    """
    raise NotImplementedError
