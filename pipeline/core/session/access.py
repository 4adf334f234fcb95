"""A scan's access images remade from its master with its session's colour correction (and,
if asked, framed without the chart); pure: bytes in, images out, the master untouched."""

from __future__ import annotations

from typing import Any

import numpy as np

from pipeline.core.chart import ChartReport, apply_correction
from pipeline.core.derivatives import Derivative, make_derivatives
from pipeline.core.iiif import IiifTileSet, make_iiif_tiles
from pipeline.core.imaging import decode_scan, to_upright_pixels
from pipeline.core.profile import ProcessingProfile
from pipeline.core.quality.model import Box
from pipeline.core.session.framing import frame_with_chart


def frame_access(pixels: np.ndarray[Any, Any], crop: Box | None) -> np.ndarray[Any, Any]:
    """The access images' framing: the crop (upright px), or the whole frame."""
    if crop is None:
        return pixels
    return pixels[crop.y : crop.y + crop.height, crop.x : crop.x + crop.width]


def make_access(
    data: bytes,
    *,
    name: str,
    profile: ProcessingProfile,
    iiif_id: str | None,
    matrix: list[list[float]] | None,
    crop: Box | None = None,
    chart: ChartReport | None = None,
) -> tuple[list[Derivative], IiifTileSet | None]:
    """Derivatives (framed by `crop`, or without the chart as `prepare_scan` frames them) and
    tiles (whole frame: the chart stays the evidence) of a master's bytes, in sRGB with `matrix`
    applied in linear light when given."""
    decoded = decode_scan(data, name=name, max_pixels=profile.limits.max_pixels)
    pixels, convert = to_upright_pixels(decoded)
    if crop is None and chart is not None and chart.measurement is not None:
        _, crop = frame_with_chart(
            pixels,
            chart.location,
            chart.pixels_per_mm,
            profile.quality,
            exclude_chart=profile.session.exclude_chart,
            margin=profile.session.chart_margin,
        )
    if convert is not None:
        pixels = convert(pixels)
    if matrix is not None:
        pixels = apply_correction(np.ascontiguousarray(pixels), matrix)
    tiles = None
    if iiif_id is not None and profile.iiif.enabled:
        tiles = make_iiif_tiles(
            pixels,
            image_id=iiif_id,
            tile_size=profile.iiif.tile_size,
            quality=profile.iiif.quality,
            max_long_edge=profile.derivatives.access,
        )
    derivatives = make_derivatives(frame_access(pixels, crop), profile.derivatives)
    return derivatives, tiles
