"""Static IIIF: Image API 3 level-0 tiles (`tile`) and Presentation 3 manifests (`manifest`)."""

from pipeline.core.iiif.manifest import (
    PRESENTATION_CONTEXT,
    VIEW_LABELS,
    build_manifest,
    to_rights_uri,
    to_upright_size,
)
from pipeline.core.iiif.tile import (
    IMAGE_CONTEXT,
    INFO_JSON_MEDIA_TYPE,
    JPEG_MEDIA_TYPE,
    IiifTileSet,
    fit_max_size,
    make_iiif_tiles,
    to_media_type,
)

__all__ = [
    "IMAGE_CONTEXT",
    "INFO_JSON_MEDIA_TYPE",
    "JPEG_MEDIA_TYPE",
    "PRESENTATION_CONTEXT",
    "VIEW_LABELS",
    "IiifTileSet",
    "build_manifest",
    "fit_max_size",
    "make_iiif_tiles",
    "to_media_type",
    "to_rights_uri",
    "to_upright_size",
]
