"""Generated test images: gradients and textures written by the tests themselves."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def gradient_rgb(width: int = 320, height: int = 240, seed: int = 0) -> np.ndarray:
    """A smooth colour gradient with a little noise: compresses like a photograph."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    rgb = np.stack([x / width, y / height, 1 - x / width], axis=-1) * 220 + 20
    rgb += rng.normal(0, 3, rgb.shape)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def encode(array: np.ndarray, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, fmt, **options)
    return buffer.getvalue()


def jpeg_bytes(width: int = 320, height: int = 240, **options: object) -> bytes:
    return encode(gradient_rgb(width, height), "JPEG", quality=90, **options)


def png_bytes(width: int = 320, height: int = 240) -> bytes:
    return encode(gradient_rgb(width, height), "PNG")


def tiff_bytes(width: int = 320, height: int = 240, **options: object) -> bytes:
    return encode(gradient_rgb(width, height), "TIFF", **options)
