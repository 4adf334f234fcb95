"""IIIF Presentation 3 manifests: the rules a viewer relies on, labels, rights, thumbnails."""

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from pipeline.core.iiif import build_manifest, make_iiif_tiles, to_rights_uri, to_upright_size
from pipeline.core.inventory import InventoryRow
from pipeline.core.records import ArtefactRecord, DerivativeRef, StoredObject, ViewEntry
from tests.unit.iiif_client import decoded, pattern_image

BASE = "http://127.0.0.1:8333/sohoa"
MANIFEST_ID = f"{BASE}/manifests/btcvh.gs.0012.json"
IIIF_BASE = f"{BASE}/iiif"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def ref(name: str, sha: str, width: int, height: int) -> DerivativeRef:
    return DerivativeRef(
        bucket="sohoa",
        key=f"derivatives/btcvh.gs.0012/{sha}/{name}.jpg",
        sha256=sha,
        size=1000,
        media_type="image/jpeg",
        width=width,
        height=height,
    )


def view(
    name: str, seq: int, digit: str, size: tuple[int, int], upright: tuple[int, int] | None = None
) -> ViewEntry:
    """A view whose master is `size` and whose derivatives were made from `upright`."""
    sha = digit * 64
    up_w, up_h = upright or size
    scale = min(1.0, 3000 / max(up_w, up_h))
    access = (round(up_w * scale), round(up_h * scale))
    thumb_scale = 400 / max(up_w, up_h)
    thumb = (round(up_w * thumb_scale), round(up_h * thumb_scale))
    return ViewEntry(
        scan_id=sha,
        view=name,
        seq=seq,
        source_name=f"BTCVH.GS.0012_{name}_{seq}.tif",
        format="TIFF",
        width=size[0],
        height=size[1],
        bit_depth=8,
        pages=1,
        icc_profile=None,
        master=StoredObject(
            bucket="masters", key=f"masters/x/{sha}.tif", sha256=sha, size=1, media_type="x"
        ),
        derivatives={"access": ref("access", sha, *access), "thumb": ref("thumb", sha, *thumb)},
    )


INVENTORY = InventoryRow(
    accession_number="BTCVH.GS.0012",
    name_vi="Bình gốm men lam",
    name_en="Blue-and-white porcelain vase",
    object_type="Bình",
    material="Gốm sứ",
    period="Minh Mạng (1820–1840)",
    dimensions="Cao 32 cm",
    rights="© Bảo tàng Cổ vật Cung đình Huế",
)


def record(views: list[ViewEntry], inventory: InventoryRow | None = INVENTORY) -> ArtefactRecord:
    return ArtefactRecord(
        object="btcvh.gs.0012",
        accession_number="BTCVH.GS.0012",
        inventory=inventory,
        views=views,
        profile="default",
        pipeline_version="0",
        updated_at=T0,
    )


VIEWS = [
    view("front", 1, "a", (6000, 4000)),
    view("back", 1, "b", (4000, 6000), upright=(6000, 4000)),  # orientation 6 or 8
    view("detail", 1, "c", (2000, 1500)),
    view("detail", 2, "d", (1500, 2000)),
    view("inside", 1, "e", (800, 800)),
]


def manifest_of(rec: ArtefactRecord | None = None, **kwargs: Any) -> dict[str, Any]:
    return build_manifest(
        rec or record(VIEWS),
        manifest_id=MANIFEST_ID,
        iiif_base=IIIF_BASE,
        max_long_edge=3000,
        **kwargs,
    )


def is_url(value: object) -> bool:
    return isinstance(value, str) and re.match(r"^https?://[^/\s]+/\S*$", value) is not None


def is_language_map(value: object) -> bool:
    return (
        isinstance(value, dict)
        and bool(value)
        and all(
            isinstance(k, str)
            and isinstance(v, list)
            and v
            and all(isinstance(s, str) and s for s in v)
            for k, v in value.items()
        )
    )


def presentation3_problems(manifest: dict[str, Any]) -> list[str]:
    """The Presentation 3 rules a viewer relies on, checked without a JSON Schema."""
    problems: list[str] = []

    def need(condition: bool, what: str) -> None:
        if not condition:
            problems.append(what)

    need(manifest.get("@context") == "http://iiif.io/api/presentation/3/context.json", "context")
    need(manifest.get("type") == "Manifest", "manifest type")
    need(is_url(manifest.get("id")), "manifest id")
    need(is_language_map(manifest.get("label")), "manifest label")
    for entry in manifest.get("metadata", []):
        need(is_language_map(entry.get("label")), f"metadata label {entry}")
        need(is_language_map(entry.get("value")), f"metadata value {entry}")
    if "requiredStatement" in manifest:
        statement = manifest["requiredStatement"]
        need(is_language_map(statement.get("label")), "requiredStatement label")
        need(is_language_map(statement.get("value")), "requiredStatement value")
    if "rights" in manifest:
        need(to_rights_uri(manifest["rights"]) == manifest["rights"], "rights is a known URI")
    canvases = manifest.get("items") or []
    need(bool(canvases), "manifest items non-empty")
    for canvas in canvases:
        cid = canvas.get("id")
        need(canvas.get("type") == "Canvas", f"canvas type {cid}")
        need(is_url(cid), f"canvas id {cid}")
        need(is_language_map(canvas.get("label")), f"canvas label {cid}")
        for side in ("width", "height"):
            need(isinstance(canvas.get(side), int) and canvas[side] > 0, f"canvas {side} {cid}")
        for thumb in canvas.get("thumbnail", []):
            need(is_url(thumb.get("id")) and thumb.get("type") == "Image", f"thumbnail {cid}")
        pages = canvas.get("items") or []
        need(bool(pages), f"canvas items {cid}")
        for page in pages:
            need(page.get("type") == "AnnotationPage" and is_url(page.get("id")), f"page {cid}")
            annotations = page.get("items") or []
            need(bool(annotations), f"page items {cid}")
            for annotation in annotations:
                need(annotation.get("type") == "Annotation", f"annotation type {cid}")
                need(is_url(annotation.get("id")), f"annotation id {cid}")
                need(annotation.get("motivation") == "painting", f"motivation {cid}")
                need(annotation.get("target") == cid, f"target {cid}")
                body = annotation.get("body") or {}
                need(body.get("type") == "Image" and is_url(body.get("id")), f"body {cid}")
                need(body.get("format") == "image/jpeg", f"body format {cid}")
                # The painted image has the canvas's aspect ratio (it fills the canvas).
                need(
                    abs(body["width"] / body["height"] - canvas["width"] / canvas["height"])
                    < 2 / min(body["width"], body["height"]),
                    f"body aspect {cid}",
                )
                for service in body.get("service") or [None]:
                    need(
                        isinstance(service, dict)
                        and is_url(service.get("id"))
                        and service.get("type") == "ImageService3"
                        and service.get("profile") == "level0"
                        and body["id"] == f"{service['id']}/full/max/0/default.jpg",
                        f"service {cid}",
                    )
    ids = list(all_ids(manifest))
    duplicates = {i for i in ids if ids.count(i) > 1}
    need(not duplicates, f"duplicate ids {duplicates}")
    return problems


def all_ids(node: object):
    """Ids of every resource but thumbnails, which may rightly be the same image twice."""
    if isinstance(node, dict):
        if "id" in node:
            yield node["id"]
        for key, value in node.items():
            if key != "thumbnail":
                yield from all_ids(value)
    elif isinstance(node, list):
        for item in node:
            yield from all_ids(item)


def test_the_manifest_follows_the_presentation_3_rules_that_matter():
    manifest = manifest_of(public_base=BASE)
    assert presentation3_problems(manifest) == []
    json.dumps(manifest)  # plain JSON, nothing exotic


def test_the_structural_check_can_fail():
    manifest = manifest_of()
    manifest["items"][1]["id"] = manifest["items"][0]["id"]
    manifest["items"][2]["items"][0]["items"][0]["motivation"] = "commenting"
    problems = presentation3_problems(manifest)
    assert any("duplicate ids" in p for p in problems)
    assert any("motivation" in p for p in problems)


def test_every_view_is_a_canvas_in_record_order_painted_by_its_image_service():
    manifest = manifest_of()
    canvases = manifest["items"]
    assert len(canvases) == len(VIEWS)
    for canvas, entry in zip(canvases, VIEWS, strict=True):
        body = canvas["items"][0]["items"][0]["body"]
        assert body["service"] == [
            {"id": f"{IIIF_BASE}/{entry.scan_id}", "type": "ImageService3", "profile": "level0"}
        ]
        assert body["id"] == f"{IIIF_BASE}/{entry.scan_id}/full/max/0/default.jpg"


def test_canvases_are_sized_like_the_upright_image_and_bodies_like_full_max():
    sizes = [(c["width"], c["height"]) for c in manifest_of()["items"]]
    assert sizes == [(6000, 4000), (6000, 4000), (2000, 1500), (1500, 2000), (800, 800)]
    bodies = [
        (b["width"], b["height"])
        for b in (c["items"][0]["items"][0]["body"] for c in manifest_of()["items"])
    ]
    assert bodies == [(3000, 2000), (3000, 2000), (2000, 1500), (1500, 2000), (800, 800)]


def test_upright_sizes_given_by_the_caller_win_over_the_derivatives():
    given = {VIEWS[0].scan_id: (4000, 6000)}
    canvas = manifest_of(upright_sizes=given)["items"][0]
    assert (canvas["width"], canvas["height"]) == (4000, 6000)
    assert to_upright_size(VIEWS[0], given) == (4000, 6000)


def test_a_turned_view_is_detected_from_its_derivatives():
    assert to_upright_size(VIEWS[1]) == (6000, 4000)
    assert to_upright_size(VIEWS[3]) == (1500, 2000)
    bare = VIEWS[1].model_copy(update={"derivatives": {}})
    assert to_upright_size(bare) == (4000, 6000)


def test_canvas_labels_are_vietnamese_and_english_and_numbered_when_a_view_repeats():
    labels = [c["label"] for c in manifest_of()["items"]]
    assert labels == [
        {"vi": ["Mặt trước"], "en": ["Front"]},
        {"vi": ["Mặt sau"], "en": ["Back"]},
        {"vi": ["Chi tiết 1"], "en": ["Detail 1"]},
        {"vi": ["Chi tiết 2"], "en": ["Detail 2"]},
        {"none": ["inside"]},
    ]
    alone = record([view("front", 3, "a", (100, 100))])
    assert manifest_of(alone)["items"][0]["label"] == {"vi": ["Mặt trước 3"], "en": ["Front 3"]}


def test_label_and_metadata_come_from_the_inventory_in_both_languages():
    manifest = manifest_of()
    assert manifest["label"] == {
        "vi": ["Bình gốm men lam"],
        "en": ["Blue-and-white porcelain vase"],
    }
    metadata = {m["label"]["en"][0]: m for m in manifest["metadata"]}
    assert metadata["Accession number"]["value"] == {"none": ["BTCVH.GS.0012"]}
    assert metadata["Accession number"]["label"]["vi"] == ["Số hiệu hiện vật"]
    assert metadata["Name"]["value"] == manifest["label"]
    assert metadata["Material"]["value"] == {"vi": ["Gốm sứ"]}
    assert metadata["Period"]["value"] == {"vi": ["Minh Mạng (1820–1840)"]}
    assert metadata["Dimensions"]["value"] == {"none": ["Cao 32 cm"]}
    assert "Provenance" not in metadata  # empty columns are left out


def test_without_inventory_the_accession_number_is_the_label():
    manifest = manifest_of(record(VIEWS[:1], inventory=None))
    assert manifest["label"] == {"none": ["BTCVH.GS.0012"]}
    assert [m["label"]["en"] for m in manifest["metadata"]] == [["Accession number"]]
    assert "rights" not in manifest and "requiredStatement" not in manifest
    assert presentation3_problems(manifest) == []


def test_free_text_rights_become_a_required_statement():
    manifest = manifest_of()
    assert "rights" not in manifest
    assert manifest["requiredStatement"] == {
        "label": {"vi": ["Bản quyền"], "en": ["Rights"]},
        "value": {"none": ["© Bảo tàng Cổ vật Cung đình Huế"]},
    }


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://creativecommons.org/licenses/by-nc/4.0/", "http://creativecommons.org/licenses/by-nc/4.0/"),
        ("http://rightsstatements.org/vocab/InC-EDU/1.0/", "http://rightsstatements.org/vocab/InC-EDU/1.0/"),
        ("https://rightsstatements.org/page/InC/1.0/?language=vi", "http://rightsstatements.org/vocab/InC/1.0/"),
        ("https://creativecommons.org/publicdomain/zero/1.0/deed.vi", "http://creativecommons.org/publicdomain/zero/1.0/"),
    ],
)  # fmt: skip
def test_a_licence_uri_becomes_rights_and_overrides_the_inventory(given, expected):
    manifest = manifest_of(rights=given)
    assert manifest["rights"] == expected
    assert "requiredStatement" not in manifest


@pytest.mark.parametrize(
    "text", ["https://example.org/licence", "CC BY 4.0", "creativecommons.org/licenses/by/4.0/"]
)
def test_anything_else_is_not_a_rights_uri(text):
    assert to_rights_uri(text) is None
    assert manifest_of(rights=text)["requiredStatement"]["value"] == {"none": [text]}


def test_thumbnails_need_a_public_base():
    assert "thumbnail" not in manifest_of()
    assert all("thumbnail" not in c for c in manifest_of()["items"])
    manifest = manifest_of(public_base=BASE + "/")
    first = VIEWS[0].derivatives["thumb"]
    assert manifest["thumbnail"] == [
        {
            "id": f"{BASE}/{first.key}",
            "type": "Image",
            "format": "image/jpeg",
            "width": first.width,
            "height": first.height,
        }
    ]
    assert manifest["items"][1]["thumbnail"][0]["id"].endswith(VIEWS[1].scan_id + "/thumb.jpg")


def test_a_record_without_views_has_no_manifest():
    with pytest.raises(ValueError, match="no views"):
        manifest_of(record([]))


def test_manifest_ids_must_be_urls():
    with pytest.raises(ValueError, match="manifest_id"):
        build_manifest(record(VIEWS), manifest_id="manifests/x.json", iiif_base=IIIF_BASE)


def test_canvas_and_body_match_the_tile_sets_made_for_the_same_images():
    """The manifest and make_iiif_tiles agree on sizes, given the same upright image and limit."""
    views = [view("front", 1, "a", (1300, 900)), view("back", 1, "b", (900, 1300), (1300, 900))]
    manifest = build_manifest(
        record(views), manifest_id=MANIFEST_ID, iiif_base=IIIF_BASE, max_long_edge=1000
    )
    for canvas, entry in zip(manifest["items"], views, strict=True):
        tiles = make_iiif_tiles(
            pattern_image(1300, 900), image_id=f"{IIIF_BASE}/{entry.scan_id}", max_long_edge=1000
        )
        body = canvas["items"][0]["items"][0]["body"]
        assert (canvas["width"], canvas["height"]) == (tiles.info["width"], tiles.info["height"])
        assert body["service"][0]["id"] == tiles.info["id"]
        full_max = decoded(dict(tiles.files)["full/max/0/default.jpg"])
        assert (body["width"], body["height"]) == full_max.size
