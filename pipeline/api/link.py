"""The public URLs of the catalogue's resources, from the base URL clients reach; no I/O."""

from __future__ import annotations

from typing import Any

from pipeline import __version__


def object_url(base: str, object_slug: str) -> str:
    return f"{base}/api/objects/{object_slug}"


def manifest_url(base: str, object_slug: str) -> str:
    return f"{base}/iiif/{object_slug}/manifest.json"


def service_links(base: str) -> dict[str, Any]:
    return {
        "service": "Sohoa catalogue",
        "version": __version__,
        "links": {
            "web": f"{base}/",
            "docs": f"{base}/docs",
            "objects": f"{base}/api/objects",
            "facets": f"{base}/api/facets",
            "oai": f"{base}/oai?verb=Identify",
            "health": f"{base}/healthz",
        },
    }
