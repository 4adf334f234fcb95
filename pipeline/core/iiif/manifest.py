"""IIIF Presentation 3 manifests of artefact records; pure, no I/O, no pixels.

Presentation 3.0 (`build_manifest`): one Canvas per view, sized like the upright image (see
`to_upright_size`), painted with `full/max` of that view's image service.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import quote, urlsplit

from pipeline.core.iiif.tile import JPEG_MEDIA_TYPE, fit_max_size
from pipeline.core.inventory import InventoryRow
from pipeline.core.records import ArtefactRecord, DerivativeRef, ViewEntry

PRESENTATION_CONTEXT: Final = "http://iiif.io/api/presentation/3/context.json"

LanguageMap = dict[str, list[str]]

VIEW_LABELS: Final[dict[str, tuple[str, str]]] = {
    "front": ("Mặt trước", "Front"),
    "back": ("Mặt sau", "Back"),
    "left": ("Mặt bên trái", "Left side"),
    "right": ("Mặt bên phải", "Right side"),
    "top": ("Mặt trên", "Top"),
    "bottom": ("Mặt đáy", "Bottom"),
    "detail": ("Chi tiết", "Detail"),
    "mark": ("Dấu, hiệu", "Mark"),
    "target": ("Bảng màu chuẩn", "Colour target"),
}

# Inventory columns shown as metadata: (field, Vietnamese label, English label, value language).
# Free text written by the archivists is Vietnamese; numbers and codes have no language.
# Never the storage location: where a gold seal sits on which shelf is not for the public.
_METADATA_FIELDS: Final = (
    ("accession_number", "Số hiệu hiện vật", "Accession number", "none"),
    ("object_type", "Loại hiện vật", "Object type", "vi"),
    ("material", "Chất liệu", "Material", "vi"),
    ("period", "Niên đại", "Period", "vi"),
    ("date_range", "Khung niên đại", "Date range", "none"),
    ("dimensions", "Kích thước", "Dimensions", "none"),
    ("provenance", "Nguồn gốc", "Provenance", "vi"),
    ("notes", "Ghi chú", "Notes", "vi"),
)

# The `rights` property takes only these (Presentation 3.0 §3.3.1), as the registries define
# them (http://, trailing slash); a deed or a web page of theirs is mapped to the same URI.
# Anything else is shown to people as a requiredStatement instead.
_CC_URI = re.compile(
    r"^https?://creativecommons\.org/(?P<path>licenses/[a-z-]+/[0-9.]+(?:/[a-z]{2})?"
    r"|publicdomain/(?:zero|mark)/1\.0)(?:/(?:deed\.[A-Za-z-]+|legalcode(?:\.[A-Za-z-]+)?)?)?/?$"
)
_RS_URI = re.compile(
    r"^https?://rightsstatements\.org/(?:vocab|page)/(?P<path>[A-Za-z-]+/[0-9.]+)/?(?:\?.*)?$"
)


def build_manifest(
    record: ArtefactRecord,
    *,
    manifest_id: str,
    iiif_base: str,
    rights: str | None = None,
    max_long_edge: int | None = None,
    upright_sizes: Mapping[str, tuple[int, int]] | None = None,
    public_base: str | None = None,
) -> dict[str, Any]:
    """The IIIF Presentation 3 manifest of one artefact: one Canvas per view, in record order.

    `iiif_base` is the URL under which each scan's image service is `{iiif_base}/{scan_id}`;
    `max_long_edge` must be the one given to `make_iiif_tiles`, so each painted image is
    sized like its `full/max` file. `rights` (else the inventory's rights column) becomes
    `rights` when it is a Creative Commons or RightsStatements.org URI, and a
    `requiredStatement` otherwise. With `public_base` (the public bucket's URL), the thumb
    derivatives become thumbnails.
    """
    if not record.views:
        raise ValueError(f"artefact {record.accession_number!r} has no views: nothing to show")
    for name, url in (("manifest_id", manifest_id), ("iiif_base", iiif_base)):
        _check_url(name, url)
    iiif_base = iiif_base.rstrip("/")
    base = public_base.rstrip("/") if public_base else None
    stem = manifest_id.removesuffix(".json")
    inventory = record.inventory

    manifest: dict[str, Any] = {
        "@context": PRESENTATION_CONTEXT,
        "id": manifest_id,
        "type": "Manifest",
        "label": _label(record, inventory),
        "metadata": _metadata(record, inventory),
    }
    text = rights if rights is not None else (inventory.rights if inventory else "")
    text = (text or "").strip()
    if text:
        uri = to_rights_uri(text)
        if uri is not None:
            manifest["rights"] = uri
        else:
            manifest["requiredStatement"] = {
                "label": {"vi": ["Bản quyền"], "en": ["Rights"]},
                "value": {"none": [text]},
            }

    counts: dict[str, int] = {}
    for view in record.views:
        counts[view.view] = counts.get(view.view, 0) + 1
    canvases: list[dict[str, Any]] = []
    used: set[str] = set()
    for view in record.views:
        key = view.scan_id if view.scan_id not in used else f"{view.scan_id}-{len(used)}"
        used.add(key)
        canvases.append(
            _canvas(
                view,
                canvas_id=f"{stem}/canvas/{key}",
                page_id=f"{stem}/page/{key}",
                annotation_id=f"{stem}/annotation/{key}",
                label=_view_label(view, numbered=counts[view.view] > 1),
                size=to_upright_size(view, upright_sizes),
                iiif_base=iiif_base,
                max_long_edge=max_long_edge,
                public_base=base,
            )
        )
    if base is not None:
        thumbs = [c["thumbnail"][0] for c in canvases if "thumbnail" in c]
        if thumbs:
            manifest["thumbnail"] = [thumbs[0]]
    manifest["items"] = canvases
    return manifest


def to_upright_size(
    view: ViewEntry, upright_sizes: Mapping[str, tuple[int, int]] | None = None
) -> tuple[int, int]:
    """The width and height of a view's image as displayed (the tiles' info.json size).

    `ViewEntry.width/height` are the stored master's, before its orientation tag is applied.
    A size given in `upright_sizes` wins; otherwise the derivatives decide, since they were
    made from the upright image: if their aspect matches the master's swapped axes better than
    its own, the orientation turned it by 90°. A square or derivative-less view stays as is.
    """
    if upright_sizes is not None and view.scan_id in upright_sizes:
        return upright_sizes[view.scan_id]
    width, height = view.width, view.height
    largest = _largest_derivative(view)
    if largest is None or width == height:
        return width, height
    aspect = largest.width / largest.height
    if abs(aspect - height / width) < abs(aspect - width / height):
        return height, width
    return width, height


def to_rights_uri(text: str) -> str | None:
    """A Creative Commons or RightsStatements.org URI in its registered form, or None."""
    text = text.strip()
    if match := _CC_URI.match(text):
        return f"http://creativecommons.org/{match.group('path')}/"
    if match := _RS_URI.match(text):
        return f"http://rightsstatements.org/vocab/{match.group('path')}/"
    return None


def _check_url(name: str, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{name} must be an absolute http(s) URL: {url!r}")


def _largest_derivative(view: ViewEntry) -> DerivativeRef | None:
    if not view.derivatives:
        return None
    return max(view.derivatives.values(), key=lambda d: (d.width * d.height, d.key))


def _label(record: ArtefactRecord, inventory: InventoryRow | None) -> LanguageMap:
    label: LanguageMap = {}
    if inventory is not None and inventory.name_vi.strip():
        label["vi"] = [inventory.name_vi.strip()]
    if inventory is not None and inventory.name_en.strip():
        label["en"] = [inventory.name_en.strip()]
    # Viewers fall back across languages on their own; an untranslated name is not English.
    return label or {"none": [record.accession_number]}


def _metadata(record: ArtefactRecord, inventory: InventoryRow | None) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    names: LanguageMap = {}
    if inventory is not None:
        if inventory.name_vi.strip():
            names["vi"] = [inventory.name_vi.strip()]
        if inventory.name_en.strip():
            names["en"] = [inventory.name_en.strip()]
    for field, label_vi, label_en, language in _METADATA_FIELDS:
        if field == "accession_number":
            value = record.accession_number
        else:
            value = getattr(inventory, field, "") if inventory is not None else ""
        value = value.strip()
        if value:
            entries.append(_entry(label_vi, label_en, {language: [value]}))
        if field == "accession_number" and names:
            entries.append(_entry("Tên hiện vật", "Name", names))
    return entries


def _entry(label_vi: str, label_en: str, value: LanguageMap) -> dict[str, Any]:
    return {"label": {"vi": [label_vi], "en": [label_en]}, "value": value}


def _view_label(view: ViewEntry, *, numbered: bool) -> LanguageMap:
    suffix = f" {view.seq}" if numbered or view.seq > 1 else ""
    known = VIEW_LABELS.get(view.view)
    if known is None:
        return {"none": [f"{view.view}{suffix}"]}
    return {"vi": [known[0] + suffix], "en": [known[1] + suffix]}


def _canvas(
    view: ViewEntry,
    *,
    canvas_id: str,
    page_id: str,
    annotation_id: str,
    label: LanguageMap,
    size: tuple[int, int],
    iiif_base: str,
    max_long_edge: int | None,
    public_base: str | None,
) -> dict[str, Any]:
    width, height = size
    max_w, max_h = fit_max_size(width, height, max_long_edge)
    service_id = f"{iiif_base}/{view.scan_id}"
    body = {
        "id": f"{service_id}/full/max/0/default.jpg",
        "type": "Image",
        "format": JPEG_MEDIA_TYPE,
        "width": max_w,
        "height": max_h,
        "service": [{"id": service_id, "type": "ImageService3", "profile": "level0"}],
    }
    canvas: dict[str, Any] = {
        "id": canvas_id,
        "type": "Canvas",
        "label": label,
        "width": width,
        "height": height,
    }
    thumb = view.derivatives.get("thumb")
    if public_base is not None and thumb is not None:
        canvas["thumbnail"] = [
            {
                "id": f"{public_base}/{quote(thumb.key, safe='/')}",
                "type": "Image",
                "format": thumb.media_type or JPEG_MEDIA_TYPE,
                "width": thumb.width,
                "height": thumb.height,
            }
        ]
    canvas["items"] = [
        {
            "id": page_id,
            "type": "AnnotationPage",
            "items": [
                {
                    "id": annotation_id,
                    "type": "Annotation",
                    "motivation": "painting",
                    "body": body,
                    "target": canvas_id,
                }
            ],
        }
    ]
    return canvas
