"""Static IIIF: Image API 3 level-0 tiles (`tile`) and Presentation 3 manifests (`manifest`).

The manifest's names load on first use: cutting tiles (a worker, `sohoa inspect`'s shared
steps) needs none of the record models a manifest is built from."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from pipeline.core.iiif.tile import (
    IMAGE_CONTEXT,
    INFO_JSON_MEDIA_TYPE,
    JPEG_MEDIA_TYPE,
    IiifTileSet,
    fit_max_size,
    make_iiif_tiles,
    to_media_type,
)

if TYPE_CHECKING:
    from pipeline.core.iiif.manifest import (
        PRESENTATION_CONTEXT,
        VIEW_LABELS,
        build_manifest,
        to_rights_uri,
        to_upright_size,
    )

_MANIFEST = frozenset(
    {"PRESENTATION_CONTEXT", "VIEW_LABELS", "build_manifest", "to_rights_uri", "to_upright_size"}
)


def __getattr__(name: str) -> Any:
    if name in _MANIFEST:
        return getattr(importlib.import_module("pipeline.core.iiif.manifest"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
