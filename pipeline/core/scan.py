"""The per-scan work, pure: decode once, then metadata, quality, derivatives and IIIF tiles from
that one image; no storage, no broker (ingest stores the result, `sohoa process` writes files)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.core.derivatives import Derivative, make_derivatives
from pipeline.core.iiif import IiifTileSet, make_iiif_tiles
from pipeline.core.imaging import DecodedScan, decode_scan, to_upright_pixels
from pipeline.core.metadata import ScanMetadata, extract_metadata
from pipeline.core.profile import ProcessingProfile
from pipeline.core.quality import QualityReport, assess_quality
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
    pixels, convert = to_upright_pixels(decoded)
    make_tiles = iiif_id is not None and profile.iiif.enabled
    if convert is not None and make_tiles:
        # Tiles show every pixel in sRGB: convert the full size once.
        pixels, convert = convert(pixels), None
    # One copy of the pixels feeds the quality checks, the derivatives and the tiles. Without
    # tiles, a tagged scan (Adobe RGB...) is converted after the first shrink (LittleCMS runs at
    # ~50 MP/s), and the checks see the scan's own encoding: sharpness, noise and clipping do
    # not change, exposure barely, colour names of saturated colours may.
    quality = assess_quality(pixels, profile.quality, close_up=view in CLOSE_UP_VIEWS)
    # With tiles, their levels and the derivatives' halvings are the same 2:1 shrinks of the
    # same sRGB pixels (at even sizes): one pyramid makes each once for both.
    pyramid = Pyramid() if make_tiles else None
    derivatives = make_derivatives(pixels, profile.derivatives, convert=convert, pyramid=pyramid)
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
            max_image=next(
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
    )
