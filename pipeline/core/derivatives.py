"""Make the access, preview and thumbnail JPEGs from one upright sRGB image; pure, deterministic."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from PIL import Image

from config.profile import DerivativeSettings
from pipeline.core.imaging import SRGB_ICC

_SUBSAMPLING = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}


@dataclass(frozen=True)
class Derivative:
    """One encoded derivative: its name (access, preview, thumb), bytes and size."""

    name: str
    data: bytes
    width: int
    height: int


def fit_long_edge(width: int, height: int, long_edge: int) -> tuple[int, int]:
    """The size that fits `long_edge`, keeping the aspect; never enlarges."""
    scale = min(1.0, long_edge / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def make_derivatives(
    image: Image.Image | np.ndarray[Any, np.dtype[np.uint8]], settings: DerivativeSettings
) -> list[Derivative]:
    """Shrink in a chain, largest first (each step from the previous one), and encode JPEG.

    OpenCV's INTER_AREA averages the source pixels of each target pixel: a correct, fast
    downscale; chaining keeps each step cheap without visible loss at these ratios. Pass the
    pixels as an array when the caller has them already: copying 24 MP out of Pillow costs.
    """
    current = image if isinstance(image, np.ndarray) else np.asarray(image)
    mode = "RGB" if current.ndim == 3 else "L"
    results: list[Derivative] = []
    for name, long_edge in sorted(settings.sizes().items(), key=lambda item: -item[1]):
        height, width = current.shape[:2]
        target = fit_long_edge(width, height, long_edge)
        if target != (width, height):
            current = cv2.resize(current, target, interpolation=cv2.INTER_AREA)
        results.append(_encode(name, current, mode, settings))
    return sorted(results, key=lambda d: list(settings.sizes()).index(d.name))


def _encode(name: str, array: np.ndarray, mode: str, settings: DerivativeSettings) -> Derivative:
    picture = Image.fromarray(np.ascontiguousarray(array))
    buffer = io.BytesIO()
    options: dict[str, object] = {
        "quality": settings.jpeg_quality,
        "progressive": settings.progressive,
        "optimize": True,
    }
    if mode == "RGB":
        # Derivatives are sRGB and say so; greyscale JPEGs carry no RGB profile.
        options["icc_profile"] = SRGB_ICC
        options["subsampling"] = _SUBSAMPLING[settings.subsampling]
    picture.save(buffer, "JPEG", **options)
    return Derivative(name=name, data=buffer.getvalue(), width=picture.width, height=picture.height)
