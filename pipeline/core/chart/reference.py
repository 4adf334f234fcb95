"""The ColorChecker Classic's published reference values (CIELAB D50); data only, no pixels.

The values are X-Rite's, as colour-science 0.4.7 ships them (`CCS_COLOURCHECKERS`,
"ColorChecker24 - After November 2014" and "- Before November 2014", xyY under D50) converted
to CIELAB D50. They are copied here so that measuring a chart does not import colour-science
(half a CPU-second per process); `tests/unit/test_chart_reference.py` checks them against it.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from pipeline.core.chart.model import Edition

# Reading order: the chart held upright (its label below the black row), row by row from the
# top left; the fourth row is the neutral scale from white to black.
PATCH_NAMES: Final[tuple[str, ...]] = (
    "dark skin",
    "light skin",
    "blue sky",
    "foliage",
    "blue flower",
    "bluish green",
    "orange",
    "purplish blue",
    "moderate red",
    "purple",
    "yellow green",
    "orange yellow",
    "blue",
    "green",
    "red",
    "yellow",
    "magenta",
    "cyan",
    "white 9.5 (.05 D)",
    "neutral 8 (.23 D)",
    "neutral 6.5 (.44 D)",
    "neutral 5 (.70 D)",
    "neutral 3.5 (1.05 D)",
    "black 2 (1.5 D)",
)
NEUTRAL: Final[slice] = slice(18, 24)
ROWS, COLUMNS = 4, 6

_LAB: Final[dict[Edition, tuple[tuple[float, float, float], ...]]] = {
    "after_2014": (
        (37.5400, 14.3700, 14.9200),
        (64.6600, 19.2700, 17.5000),
        (49.3200, -3.8200, -22.5400),
        (43.4600, -12.7400, 22.7200),
        (54.9400, 9.6100, -24.7900),
        (70.4800, -32.2600, -0.3700),
        (62.7300, 35.8300, 56.5000),
        (39.4300, 10.7500, -45.1700),
        (50.5700, 48.6400, 16.6700),
        (30.1000, 22.5400, -20.8700),
        (71.7700, -24.1300, 58.1900),
        (71.5100, 18.2400, 67.3700),
        (28.3700, 15.4200, -49.8000),
        (54.3800, -39.7200, 32.2700),
        (42.4300, 51.0500, 28.6200),
        (81.8000, 2.6700, 80.4100),
        (50.6300, 51.2800, -14.1200),
        (49.5700, -29.7100, -28.3200),
        (95.1900, -1.0300, 2.9300),
        (81.2900, -0.5700, 0.4400),
        (66.8900, -0.7500, -0.0600),
        (50.7600, -0.1300, 0.1400),
        (35.6300, -0.4600, -0.4800),
        (20.6400, 0.0700, -0.4600),
    ),
    "before_2014": (
        (37.9860, 13.5550, 14.0590),
        (65.7110, 18.1300, 17.8100),
        (49.9270, -4.8800, -21.9050),
        (43.1390, -13.0950, 21.9050),
        (55.1120, 8.8440, -25.3990),
        (70.7190, -33.3970, -0.1990),
        (62.6610, 36.0670, 57.0960),
        (40.0200, 10.4100, -45.9640),
        (51.1240, 48.2390, 16.2480),
        (30.3250, 22.9760, -21.5870),
        (72.5320, -23.7090, 57.2550),
        (71.9410, 19.3630, 67.8570),
        (28.7780, 14.1790, -50.2970),
        (55.2610, -38.3420, 31.3700),
        (42.1010, 53.3780, 28.1900),
        (81.7330, 4.0390, 79.8190),
        (51.9350, 49.9860, -14.5740),
        (51.0380, -28.6310, -28.6380),
        (96.5390, -0.4250, 1.1860),
        (81.2570, -0.6380, -0.3350),
        (66.7660, -0.7340, -0.5040),
        (50.8670, -0.1530, -0.2700),
        (35.6560, -0.4210, -1.2310),
        (20.4610, -0.0790, -0.9730),
    ),
}


def reference_lab(edition: Edition) -> np.ndarray:
    """The 24 reference colours (24×3 float64, CIELAB D50) of the chart made in `edition`."""
    return np.array(_LAB[edition], dtype=np.float64)
