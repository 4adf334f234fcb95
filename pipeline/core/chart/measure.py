"""Measure a located chart's patches at full resolution into CIELAB D50; pure, no I/O."""

from __future__ import annotations

from typing import Any, Final

import numpy as np

from pipeline.core.chart.colorimetry import delta_e_2000
from pipeline.core.chart.decode import to_lab
from pipeline.core.chart.model import ChartLocation, ChartMeasurement, Edition, PatchMeasurement
from pipeline.core.chart.reference import NEUTRAL, PATCH_NAMES, reference_lab

_TRIM: Final = 0.1  # fraction dropped at each end of every channel (dust, a glint, noise)
_MAX_SAMPLES: Final = 96  # px per side sampled at most: a stride keeps large patches cheap


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
    if not location.complete:
        raise ValueError(f"the chart is cut by the frame ({location.in_frame} of 24 patches)")
    top = 65535.0 if pixels.dtype == np.uint16 else 255.0
    grey = pixels.ndim == 2
    means = np.array(
        [_trimmed_mean(pixels, centre, location.sample_px) for centre in location.centres]
    )
    measured, source = to_lab(means.reshape(24, -1) / top, icc)
    reference = reference_lab(edition)
    if grey:
        # A one-channel scan has no chroma to judge: its ΔE2000 is the lightness difference,
        # computed with the reference's own a*, b*.
        delta = delta_e_2000(reference, np.column_stack([measured[:, 0], reference[:, 1:]]))
    else:
        delta = delta_e_2000(reference, measured)
    patches = [
        PatchMeasurement(
            index=index,
            name=PATCH_NAMES[index],
            reference=_triple(reference[index]),
            measured=_triple(measured[index]),
            delta_e=round(float(delta[index]), 3),
        )
        for index in range(24)
    ]
    neutral = measured[NEUTRAL]
    return ChartMeasurement(
        edition=edition,
        source=f"{source}, {8 if top == 255 else 16}-bit samples",
        patches=patches,
        mean_delta_e=round(float(delta.mean()), 3),
        max_delta_e=round(float(delta.max()), 3),
        p90_delta_e=round(float(np.percentile(delta, 90)), 3),
        worst_patch=PATCH_NAMES[int(delta.argmax())],
        neutral_l_error=round(float((neutral[:, 0] - reference[NEUTRAL, 0]).mean()), 3),
        neutral_a=round(float(neutral[:, 1].mean()), 3),
        neutral_b=round(float(neutral[:, 2].mean()), 3),
        greyscale=grey,
    )


def _trimmed_mean(
    pixels: np.ndarray[Any, np.dtype[Any]], centre: tuple[float, float], side: int
) -> np.ndarray[Any, np.dtype[np.float64]]:
    height, width = pixels.shape[:2]
    x0 = min(max(round(centre[0] - side / 2), 0), width - 1)
    y0 = min(max(round(centre[1] - side / 2), 0), height - 1)
    stride = max(1, side // _MAX_SAMPLES)
    window = pixels[y0 : y0 + side : stride, x0 : x0 + side : stride]
    values = np.sort(window.reshape(-1, 1 if pixels.ndim == 2 else pixels.shape[2])[:, :3], axis=0)
    cut = int(len(values) * _TRIM)
    kept = values[cut : len(values) - cut] if len(values) > 2 * cut else values
    mean: np.ndarray[Any, np.dtype[np.float64]] = kept.astype(np.float64).mean(axis=0)
    return mean


def _triple(values: np.ndarray[Any, np.dtype[np.float64]]) -> tuple[float, float, float]:
    return round(float(values[0]), 3), round(float(values[1]), 3), round(float(values[2]), 3)
