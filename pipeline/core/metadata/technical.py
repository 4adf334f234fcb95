"""How the file is built, from its headers and the decoded first page; never decodes pixels."""

from __future__ import annotations

import math
from typing import Any

from PIL import Image

from pipeline.core.icc import IccProfile
from pipeline.core.metadata.container import Found
from pipeline.core.metadata.model import TechnicalMetadata
from pipeline.core.metadata.text import Notes, clean_text
from pipeline.core.metadata.tiff import RESOLUTION_UNITS, BadTiff, TiffReader


def build_technical(
    found: Found,
    image: Image.Image,
    icc: IccProfile | None,
    notes: Notes,
    icc_notes: Notes | None = None,
) -> TechnicalMetadata:
    """The technical facts: headers first, the decoded page (and its parsed `icc`) where they
    say nothing. Problems with the profile go to `icc_notes` (default: `notes`)."""
    resolution = found.resolution
    if resolution is None and found.exif is not None:
        resolution = _exif_resolution(found.exif)
    if resolution is None and found.format in ("WEBP", "JPEG2000"):
        # Pillow reads these formats' resolution boxes; for the others it invents (1, 1) or 72.
        dpi = image.info.get("dpi")
        if isinstance(dpi, tuple) and len(dpi) == 2 and all(_positive(v) for v in dpi):
            resolution = (float(dpi[0]), float(dpi[1]), "inch")
    scale: dict[str, Any] = {}
    if resolution is not None:
        x, y, unit = resolution
        per_inch = {"inch": 1.0, "cm": 2.54, "metre": 0.0254}.get(unit)
        scale = {"x_resolution": round(x, 6), "y_resolution": round(y, 6), "resolution_unit": unit}
        if per_inch is not None:
            scale.update(dpi_x=round(x * per_inch, 3), dpi_y=round(y * per_inch, 3))
    return TechnicalMetadata(
        format=found.format or image.format,
        compression=found.compression,
        compression_code=found.compression_code,
        progressive=found.progressive,
        pages=found.pages,
        tiled=found.tiled,
        width=found.width or image.width,
        height=found.height or image.height,
        bit_depth=found.bit_depth,
        samples_per_pixel=found.samples,
        colour_mode=image.mode,
        photometric=found.photometric,
        icc_description=_describe_icc(icc, icc_notes or notes) if icc is not None else None,
        **scale,
    )


def _positive(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


def _exif_resolution(block: bytes) -> tuple[float, float, str] | None:
    try:
        # Problems in this block are reported once, when the EXIF part reads it.
        reader = TiffReader(block, "EXIF", Notes())
    except BadTiff:
        return None
    ifd = reader.read_ifd(reader.first, "IFD0")
    x, y = reader.first_number(ifd.get(282)), reader.first_number(ifd.get(283))
    if not (x and y and x > 0 and y > 0):
        return None
    return x, y, RESOLUTION_UNITS.get(reader.first_int(ifd.get(296)) or 2, "none")


def _describe_icc(icc: IccProfile, notes: Notes) -> str | None:
    if icc.description is None:
        notes.add(f"The embedded ICC profile cannot be read ({icc.error}).")
        return None
    return clean_text(icc.description, "technical.icc_description", notes)
