"""Fit and apply a 3×3 colour-correction matrix from a measured chart; pure numpy, no I/O."""

from __future__ import annotations

from typing import Any, Final

import cv2
import numpy as np

from pipeline.core.chart.colorimetry import delta_e_2000, lab_to_linear_srgb, linear_srgb_to_lab
from pipeline.core.chart.model import ChartLocation, ChartMeasurement, ColourCorrection
from pipeline.core.chart.reference import NEUTRAL

# The neutrals that anchor white: white to neutral 5 (the darker two carry more noise, and a
# clipped white would pull the fit; the mean of four is steadier than the white patch alone).
_ANCHOR: Final = slice(NEUTRAL.start, NEUTRAL.start + 4)
_LUT_SIZE: Final = 16384


def fit_correction(measurement: ChartMeasurement) -> ColourCorrection:
    """The 3×3 matrix on linear sRGB that best maps the measured patches onto the reference
    (least squares over the 24 patches) while mapping the measured neutral anchor exactly
    onto the reference's (white preserved), with the chart's ΔE2000 before and after."""
    measured_lab = np.array([p.measured for p in measurement.patches], np.float64)
    reference_lab = np.array([p.reference for p in measurement.patches], np.float64)
    measured = lab_to_linear_srgb(measured_lab)
    reference = lab_to_linear_srgb(reference_lab)
    white_in = measured[_ANCHOR].mean(axis=0)
    white_out = reference[_ANCHOR].mean(axis=0)
    # Each row x of the matrix: minimise |measured·x − reference[:, k]|² with white_in·x fixed.
    kkt = np.zeros((4, 4))
    kkt[:3, :3] = 2 * measured.T @ measured
    kkt[:3, 3] = kkt[3, :3] = white_in
    matrix = np.empty((3, 3))
    for k in range(3):
        rhs = np.append(2 * measured.T @ reference[:, k], white_out[k])
        matrix[k] = np.linalg.lstsq(kkt, rhs, rcond=None)[0][:3]
    before = np.array([p.delta_e for p in measurement.patches])
    after = delta_e_2000(reference_lab, linear_srgb_to_lab(measured @ matrix.T))
    return ColourCorrection(
        matrix=[[round(float(v), 6) for v in row] for row in matrix],
        mean_delta_e_before=round(float(before.mean()), 3),
        mean_delta_e_after=round(float(after.mean()), 3),
        max_delta_e_before=round(float(before.max()), 3),
        max_delta_e_after=round(float(after.max()), 3),
    )


def apply_correction(
    pixels: np.ndarray[Any, np.dtype[np.uint8]], matrix: list[list[float]]
) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """8-bit sRGB pixels (H×W×3) with `matrix` applied in linear light; greyscale unchanged."""
    if pixels.ndim != 3:
        return pixels
    codes = np.arange(256, dtype=np.float64) / 255
    decode = np.where(codes <= 0.04045, codes / 12.92, ((codes + 0.055) / 1.055) ** 2.4)
    levels = np.arange(_LUT_SIZE, dtype=np.float64) / (_LUT_SIZE - 1)
    encoded = np.where(levels <= 0.0031308, levels * 12.92, 1.055 * levels ** (1 / 2.4) - 0.055)
    encode = np.clip(np.round(encoded * 255), 0, 255).astype(np.uint8)
    linear = decode.astype(np.float32)[pixels]
    mixed = cv2.transform(linear, np.asarray(matrix, np.float32))
    index = np.clip(mixed * (_LUT_SIZE - 1) + 0.5, 0, _LUT_SIZE - 1).astype(np.uint16)
    result: np.ndarray[Any, np.dtype[np.uint8]] = encode[index]
    return result


def pixels_per_mm(location: ChartLocation, patch_pitch_mm: float) -> float:
    """The scan's scale at the chart: its patch pitch in pixels over the pitch in millimetres."""
    return location.pitch_px / patch_pitch_mm
