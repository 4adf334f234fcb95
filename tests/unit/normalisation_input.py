"""Scans decoded as the pipeline does, and a picture showing its left edge; no checks."""

from __future__ import annotations

import io

import numpy as np
import tifffile

from pipeline.core.imaging import DecodedScan, decode_scan, to_display_array

LIMIT = 10**9


def decode(data: bytes, name: str = "a_front_1.tif") -> DecodedScan:
    return decode_scan(data, name=name, max_pixels=LIMIT)


def display(data: bytes, name: str = "a_front_1.tif") -> np.ndarray:
    return to_display_array(decode(data, name))


def tiff(array: np.ndarray, **options: object) -> bytes:
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, array, **options)
    return buffer.getvalue()


def banded(height: int = 60, width: int = 90) -> np.ndarray:
    """Grey picture with a white band down its left edge: shows where 'left' went."""
    array = np.full((height, width, 3), 60, np.uint8)
    array[:, :10] = 255
    return array
