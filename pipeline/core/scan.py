"""The per-scan work, pure: decode once, then metadata, quality, derivatives and IIIF tiles from
that one image; no storage, no broker (ingest stores the result, `sohoa process` writes files)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline.core.chart import ChartReport, read_chart
from pipeline.core.derivatives import Derivative, make_derivatives
from pipeline.core.iiif import IiifTileSet, make_iiif_tiles
from pipeline.core.imaging import (
    Converter,
    DecodedScan,
    decode_scan,
    displays_from_samples,
    release_decoder_pixels,
    to_display_array,
    to_upright_pixels,
    to_upright_samples,
)
from pipeline.core.metadata import ScanMetadata, extract_metadata
from pipeline.core.profile import ProcessingProfile
from pipeline.core.quality import Box, QualityReport, assess_quality_with_chart
from pipeline.core.session.access import frame_access
from pipeline.core.session.framing import MeasuredSize, frame_with_box
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
    """Everything made from one scan's bytes, ready to be stored or written out. `decoded`
    keeps the decode's facts; its image's pixels were let go once copied (decode again to
    display them)."""

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


@dataclass
class ScanAnalysis:
    """What one decoded scan says before anything is made from it: what ingest records and
    `sohoa inspect` shows, from the same steps."""

    metadata: ScanMetadata
    chart: ChartReport | None
    pixels: Any  # upright 8-bit: sRGB when asked for, else the scan's own encoding
    convert: Converter | None  # the sRGB conversion `pixels` still owe (None: they are sRGB)
    quality: QualityReport
    tags: list[Tag]
    measured_size: MeasuredSize | None
    crop: Box | None  # the access crop that leaves the chart out (session.exclude_chart)


def analyse_scan(
    data: bytes,
    decoded: DecodedScan,
    *,
    view: str | None,
    profile: ProcessingProfile,
    srgb: bool,
) -> ScanAnalysis:
    """Metadata, the colour chart, quality, framing and tags of a decoded scan, each step from
    one upright copy of its pixels. With `srgb` the full size is converted to sRGB first (tiles
    need every pixel in sRGB); without, the checks see the scan's own encoding (sharpness,
    noise and clipping do not change, exposure barely, colour names of saturated colours may)
    and the conversion is left to whoever shrinks them."""
    metadata = extract_metadata(
        data,
        decoded.image,
        icc=decoded.icc,
        size=(decoded.width, decoded.height),
        bit_depth=decoded.bit_depth,
    )
    # The chart is read from the scan's own encoding, before any conversion to sRGB.
    chart = None
    if srgb and displays_from_samples(decoded):
        # 16-bit samples go to sRGB straight from their 16 bits, so no 8-bit copy in their own
        # encoding is made (72 MB at 24 MP): the chart is found and read in the 16 bits.
        if profile.colour.detect:
            chart = read_scan_chart(decoded, to_upright_samples(decoded), profile)
        pixels, convert = to_display_array(decoded), None
    else:
        native, convert = to_upright_pixels(decoded)
        chart = read_scan_chart(decoded, native, profile) if profile.colour.detect else None
        if srgb:
            # 8-bit pixels reuse the upright copy just made.
            pixels = to_display_array(decoded, upright=(native, convert))
            convert = None
        else:
            pixels = native
    # Every later step reads `pixels` (or the 16-bit samples): the decoder's copy can go.
    release_decoder_pixels(decoded)
    # One look at the analysis copy gives the checks and the object's box without the chart.
    quality, object_box = assess_quality_with_chart(
        pixels, profile.quality, close_up=view in CLOSE_UP_VIEWS, chart=chart
    )
    height, width = pixels.shape[:2]
    measured, crop = frame_with_box(
        object_box,
        chart.location if chart and chart.measurement else None,
        chart.pixels_per_mm if chart else None,
        (width, height),
        exclude_chart=profile.session.exclude_chart,
        margin=profile.session.chart_margin,
    )
    tags = merge_tags(
        [view_tag(view)] if view else [],
        tags_from_pixels(pixels, bbox=quality.object_bbox),
        tags_from_metadata(metadata),
    )
    return ScanAnalysis(metadata, chart, pixels, convert, quality, tags, measured, crop)


def prepare_scan(
    data: bytes, *, name: str, view: str, profile: ProcessingProfile, iiif_id: str | None
) -> PreparedScan:
    """Decode `data` fully (or raise a PermanentError) and make everything from that one image.

    `iiif_id` is the public id of the scan's image service; None makes no tiles.
    """
    decoded = decode_scan(data, name=name, max_pixels=profile.limits.max_pixels)
    make_tiles = iiif_id is not None and profile.iiif.enabled
    # One copy of the pixels feeds the quality checks, the derivatives and the tiles.
    seen = analyse_scan(data, decoded, view=view, profile=profile, srgb=make_tiles)
    pixels, crop = seen.pixels, seen.crop
    # With tiles, their levels and the derivatives' halvings are the same 2:1 shrinks of the
    # same sRGB pixels (at even sizes): one pyramid makes each once for both.
    pyramid = Pyramid() if make_tiles else None
    # Access images may leave the chart out (session.exclude_chart); tiles show the whole frame.
    derivatives = make_derivatives(
        frame_access(pixels, crop),
        profile.derivatives,
        convert=seen.convert,
        pyramid=pyramid if crop is None else None,
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
        metadata=seen.metadata,
        quality=seen.quality,
        upright_width=upright_width,
        upright_height=upright_height,
        derivatives=derivatives,
        tiles=tiles,
        tags=seen.tags,
        warnings=list(decoded.warnings),
        chart=seen.chart,
        measured_size=seen.measured_size,
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
