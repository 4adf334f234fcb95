"""Make the access, preview and thumbnail JPEGs from one upright sRGB image; pure, deterministic."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from PIL import Image

from pipeline.core.imaging import SRGB_ICC, Converter
from pipeline.core.profile import DerivativeSettings
from pipeline.core.shrink import Pyramid, fit_long_edge

_SUBSAMPLING = {
    "4:4:4": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444,
    "4:2:2": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_422,
    "4:2:0": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420,
}
_ICC_METADATA = [np.frombuffer(SRGB_ICC, dtype=np.uint8)]


@dataclass(frozen=True)
class Derivative:
    """One encoded derivative: its name (access, preview, thumb), bytes and size."""

    name: str
    data: bytes
    width: int
    height: int


def make_derivatives(
    image: Image.Image | np.ndarray[Any, np.dtype[np.uint8]],
    settings: DerivativeSettings,
    *,
    convert: Converter | None = None,
    pyramid: Pyramid | None = None,
) -> list[Derivative]:
    """Shrink in a chain, largest first (each step from the previous one), and encode JPEG.

    OpenCV's INTER_AREA averages the source pixels of each target pixel: a correct, fast
    downscale; chaining keeps each step cheap without visible loss at these ratios. Pass the
    pixels as an array when the caller has them already: copying 24 MP out of Pillow costs.
    `convert` (the sRGB conversion still owed, see `to_upright_pixels`) is applied once, to
    the largest size after its shrink: a sixth or less of the pixels of a full-size scan.
    Each step halves while the ratio is 2 or more (`Pyramid.shrink_in_halves`); `pyramid`, the
    scan's own, shares those halvings with the IIIF tiles.
    """
    current = image if isinstance(image, np.ndarray) else np.asarray(image)
    pyramid = pyramid or Pyramid()
    results: list[Derivative] = []
    for name, long_edge in sorted(settings.sizes().items(), key=lambda item: -item[1]):
        height, width = current.shape[:2]
        target = fit_long_edge(width, height, long_edge)
        current = pyramid.shrink_in_halves(current, target)
        if convert is not None:
            current, convert = convert(current), None
        results.append(_encode(name, current, settings))
    return sorted(results, key=lambda d: list(settings.sizes()).index(d.name))


def _encode(name: str, array: np.ndarray[Any, Any], settings: DerivativeSettings) -> Derivative:
    """libjpeg-turbo through OpenCV: the same library as Pillow's, without copying the pixels
    into a Pillow image first. Progressive JPEG implies optimised Huffman tables; the output
    carries no EXIF, only (in colour) the sRGB profile, and the same pixels give the same bytes.
    """
    height, width = array.shape[:2]
    params = [
        cv2.IMWRITE_JPEG_QUALITY,
        settings.jpeg_quality,
        cv2.IMWRITE_JPEG_PROGRESSIVE,
        int(settings.progressive),
        cv2.IMWRITE_JPEG_OPTIMIZE,
        1,
    ]
    if array.ndim == 3:
        params += [cv2.IMWRITE_JPEG_SAMPLING_FACTOR, _SUBSAMPLING[settings.subsampling]]
        with _as_bgr(array) as bgr:
            # Derivatives are sRGB and say so; greyscale JPEGs carry no RGB profile.
            ok, buffer = cv2.imencodeWithMetadata(
                ".jpg", bgr, [cv2.IMAGE_METADATA_ICCP], _ICC_METADATA, params
            )
    else:
        ok, buffer = cv2.imencode(".jpg", np.ascontiguousarray(array), params)
    if not ok:
        raise ValueError(f"OpenCV could not encode a {array.shape} derivative as JPEG")
    return Derivative(name=name, data=bytes(buffer), width=width, height=height)


@contextmanager
def _as_bgr(array: np.ndarray[Any, Any]) -> Iterator[np.ndarray[Any, Any]]:
    """`array` (RGB) as OpenCV's encoder takes it, BGR. A writeable contiguous array is swapped
    in place and swapped back afterwards (the access size is 18 MB at 24 MP, a level the tiles
    read next: a copy of it would be one more large block at the scan's peak); any other is
    copied."""
    if not (array.flags.writeable and array.flags.c_contiguous):
        yield cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
        return
    _swap_red_blue(array)
    try:
        yield array
    finally:
        _swap_red_blue(array)


# Rows swapped at a time: OpenCV's in-place swap of a whole 18 MB image is ten times slower
# than of the same pixels in bands that stay in the cache (9 against 1 ms, measured).
_SWAP_BAND_BYTES = 1 << 18


def _swap_red_blue(array: np.ndarray[Any, Any]) -> None:
    rows = max(1, _SWAP_BAND_BYTES // max(array.strides[0], 1))
    for top in range(0, array.shape[0], rows):
        band = array[top : top + rows]
        cv2.cvtColor(band, cv2.COLOR_RGB2BGR, dst=band)
