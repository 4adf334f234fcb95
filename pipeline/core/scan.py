"""The per-scan work, pure: decode once, then metadata, quality, derivatives and IIIF tiles from
that one image; no storage, no broker (ingest stores the result, `sohoa process` writes files)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline.core.chart import ChartReport, read_chart
from pipeline.core.derivatives import Derivative, make_derivatives
from pipeline.core.iiif import IiifTileSet, make_iiif_tiles
from pipeline.core.imaging import (
    DecodedScan,
    decode_scan,
    displays_from_samples,
    to_display_array,
    to_upright_pixels,
    to_upright_samples,
)
from pipeline.core.metadata import ScanMetadata, extract_metadata
from pipeline.core.profile import ProcessingProfile
from pipeline.core.quality import QualityReport, assess_quality
from pipeline.core.quality.measure import analyse, to_array
from pipeline.core.session.access import frame_access
from pipeline.core.session.framing import MeasuredSize, frame_with_chart
from pipeline.core.shrink import Pyramid
from pipeline.core.tagging import (
    Tag,
    merge_tags,
    tags_from_metadata,
    tags_from_pixels,
    view_tag,
)

# Views that fill the frame with the object on purpose: no backdrop to judge.
CLOSE_UP_VIEWS = frozenset({"detail", "mark"})


@dataclass
class PreparedScan:
    """Everything made from one scan's bytes, ready to be stored or written out."""

    decoded: DecodedScan
    metadata: ScanMetadata
    quality: QualityReport
    upright_width: int
    upright_height: int
    derivatives: list[Derivative]
    tiles: IiifTileSet | None
    tags: list[Tag]
    warnings: list[str] = field(default_factory=list)
    chart: ChartReport | None = None
    measured_size: MeasuredSize | None = None


def prepare_scan(
    data: bytes, *, name: str, view: str, profile: ProcessingProfile, iiif_id: str | None
) -> PreparedScan:
    """Decode `data` fully (or raise a PermanentError) and make everything from that one image.

    `iiif_id` is the public id of the scan's image service; None makes no tiles.
    """
    decoded = decode_scan(data, name=name, max_pixels=profile.limits.max_pixels)
    metadata = extract_metadata(
        data,
        decoded.image,
        icc=decoded.icc,
        size=(decoded.width, decoded.height),
        bit_depth=decoded.bit_depth,
    )
    make_tiles = iiif_id is not None and profile.iiif.enabled
    # The chart is read from the scan's own encoding, before any conversion to sRGB.
    chart = None
    if make_tiles and displays_from_samples(decoded):
        # 16-bit samples go to sRGB straight from their 16 bits, so no 8-bit copy in their own
        # encoding is made (72 MB at 24 MP): the chart is found and read in the 16 bits.
        if profile.colour.detect:
            chart = read_scan_chart(decoded, to_upright_samples(decoded), profile)
        pixels, convert = to_display_array(decoded), None
    else:
        native, convert = to_upright_pixels(decoded)
        chart = read_scan_chart(decoded, native, profile) if profile.colour.detect else None
        if make_tiles:
            # Tiles show every pixel in sRGB: convert the full size once (8-bit pixels reuse
            # the upright copy just made).
            pixels = to_display_array(decoded, upright=(native, convert))
            convert = None
        else:
            pixels = native
    # One copy of the pixels feeds the quality checks, the derivatives and the tiles. Without
    # tiles, a tagged scan (Adobe RGB...) is converted after the first shrink, and the checks
    # see the scan's own encoding: sharpness, noise and clipping do not change, exposure
    # barely, colour names of saturated colours may. The checks' reduced copy (and the object
    # they find in it) is made once, for them and for the framing around a chart.
    analysis = analyse(to_array(pixels), profile.quality)
    measured, crop = frame_with_chart(
        pixels,
        chart.location if chart and chart.measurement else None,
        chart.pixels_per_mm if chart else None,
        profile.quality,
        exclude_chart=profile.session.exclude_chart,
        margin=profile.session.chart_margin,
        analysis=analysis,
    )
    quality = assess_quality(
        pixels,
        profile.quality,
        close_up=view in CLOSE_UP_VIEWS,
        chart=chart,
        analysis=analysis,
    )
    del analysis  # its Lab copy (8 MB at 1000 px) is not kept through the encoding
    # With tiles, their levels and the derivatives' halvings are the same 2:1 shrinks of the
    # same sRGB pixels (at even sizes): one pyramid makes each once for both.
    pyramid = Pyramid() if make_tiles else None
    # Access images may leave the chart out (session.exclude_chart); tiles show the whole frame.
    derivatives = make_derivatives(
        frame_access(pixels, crop),
        profile.derivatives,
        convert=convert,
        pyramid=pyramid if crop is None else None,
    )
    tags = merge_tags(
        [view_tag(view)],
        tags_from_pixels(pixels, bbox=quality.object_bbox),
        tags_from_metadata(metadata),
    )
    tiles = None
    if make_tiles and iiif_id is not None:
        tiles = make_iiif_tiles(
            pixels,
            image_id=iiif_id,
            tile_size=profile.iiif.tile_size,
            quality=profile.iiif.quality,
            max_long_edge=profile.derivatives.access,
            # The access derivative is the `max` size already: no second 3000 px encode.
            max_image=None
            if crop is not None
            else next(
                ((d.width, d.height, d.data) for d in derivatives if d.name == "access"), None
            ),
            pyramid=pyramid,
        )
    upright_height, upright_width = pixels.shape[:2]
    return PreparedScan(
        decoded=decoded,
        metadata=metadata,
        quality=quality,
        upright_width=upright_width,
        upright_height=upright_height,
        derivatives=derivatives,
        tiles=tiles,
        tags=tags,
        warnings=list(decoded.warnings),
        chart=chart,
        measured_size=measured,
    )


def read_scan_chart(decoded: DecodedScan, pixels: Any, profile: ProcessingProfile) -> ChartReport:
    """The colour chart of a decoded scan, read from its upright pixels before any conversion:
    through its embedded profile (none for CMYK, already converted, or an unreadable one), at
    16 bits when the file has them."""
    usable = decoded.icc is not None and decoded.icc.profile is not None
    icc = decoded.icc_profile if usable and decoded.mode != "CMYK" else None
    # 16-bit upright samples as `pixels` are their own precise copy: not turned a second time.
    precise = pixels if pixels.dtype.itemsize == 2 else to_upright_samples(decoded)
    return read_chart(pixels, profile.colour, icc=icc, precise=precise)
