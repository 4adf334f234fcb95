"""Dublin Core from catalogue records: every mapped field, and nothing restricted or unsafe."""

from __future__ import annotations

import unicodedata
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from pipeline.core.dublin_core import (
    DC_ELEMENTS,
    PHYSICAL_OBJECT,
    DcValue,
    has_manifest,
    to_dc_text,
    to_dublin_core,
)
from pipeline.core.inventory import InventoryRow
from pipeline.core.records import (
    ArtefactRecord,
    DerivativeRef,
    IiifRef,
    StoredObject,
    ViewEntry,
)

SHA = "ab" * 32
OBJECT_URL = "https://api.example.org/api/objects/hm.1998.45-pl"
MANIFEST_URL = "https://api.example.org/iiif/hm.1998.45-pl/manifest.json"


def view(*, iiif: bool = True) -> ViewEntry:
    return ViewEntry(
        scan_id=SHA,
        view="front",
        seq=1,
        source_name="HM.1998.45-PL_front_1.tif",
        format="TIFF",
        width=100,
        height=80,
        bit_depth=8,
        pages=1,
        icc_profile=None,
        master=StoredObject(
            bucket="b", key=f"masters/hm.1998.45-pl/{SHA}.tif", sha256=SHA, size=9, media_type="x"
        ),
        derivatives={
            "thumb": DerivativeRef(
                bucket="b",
                key=f"derivatives/hm.1998.45-pl/{SHA}/thumb.jpg",
                sha256=SHA,
                size=1,
                media_type="image/jpeg",
                width=40,
                height=32,
            )
        },
        iiif=IiifRef(bucket="b", base_key=f"iiif/{SHA}", files=3, size=10) if iiif else None,
        capture_datetime="2024:05:01 10:00:00+07:00",
        camera="Phase One IQ4",
    )


def record(inventory: InventoryRow | None = None, views: list[ViewEntry] | None = None):
    return ArtefactRecord(
        object="hm.1998.45-pl",
        accession_number="HM.1998.45/PL",
        inventory=inventory,
        views=[view()] if views is None else views,
        profile="default",
        pipeline_version="0.1.0",
        updated_at=datetime(2025, 3, 1, 8, 30, tzinfo=UTC),
    )


FULL_ROW = InventoryRow(
    accession_number="HM.1998.45/PL",
    name_vi="Đĩa pháp lam vẽ rồng",
    name_en="Painted enamel dish with dragon",
    object_type="đĩa",
    material="pháp lam",
    period="Minh Mạng",
    date_range="1820–1840",
    dimensions="D. 24 cm",
    provenance="Hiến tặng của gia đình Nguyễn Phúc, 1998",
    current_location="Kho 2, kệ 14, ngăn 3",
    rights="http://rightsstatements.org/vocab/InC/1.0/",
    notes="Men xanh lam;\nvẽ rồng năm móng.",
)


def as_pairs(values: tuple[DcValue, ...]) -> list[tuple[str, str, str | None]]:
    return [(v.element, v.value, v.lang) for v in values]


def test_every_inventory_field_meant_for_the_public_is_mapped():
    values = to_dublin_core(record(FULL_ROW), object_url=OBJECT_URL, manifest_url=MANIFEST_URL)
    assert as_pairs(values) == [
        ("title", "Đĩa pháp lam vẽ rồng", "vi"),
        ("title", "Painted enamel dish with dragon", "en"),
        ("subject", "đĩa", None),
        ("subject", "pháp lam", None),
        ("description", "Men xanh lam;\nvẽ rồng năm móng.", None),
        ("date", "1820–1840", None),
        ("type", PHYSICAL_OBJECT, None),
        ("type", "đĩa", None),
        ("format", "pháp lam", None),
        ("format", "D. 24 cm", None),
        ("identifier", "HM.1998.45/PL", None),
        ("identifier", OBJECT_URL, None),
        ("source", "Hiến tặng của gia đình Nguyễn Phúc, 1998", None),
        ("relation", MANIFEST_URL, None),
        ("coverage", "Minh Mạng", None),
        ("rights", "http://rightsstatements.org/vocab/InC/1.0/", None),
    ]


def test_elements_come_in_dublin_core_order_and_are_all_simple_dc():
    values = to_dublin_core(record(FULL_ROW), object_url=OBJECT_URL, manifest_url=MANIFEST_URL)
    positions = [DC_ELEMENTS.index(v.element) for v in values]
    assert positions == sorted(positions)


def test_restricted_and_internal_fields_never_appear():
    values = to_dublin_core(record(FULL_ROW), object_url=OBJECT_URL, manifest_url=MANIFEST_URL)
    text = " ".join(v.value for v in values)
    for hidden in ("Kho 2", "masters/", SHA, "Phase One", "2024:05:01", "front_1.tif"):
        assert hidden not in text


def test_a_record_without_inventory_is_titled_by_its_accession_number():
    values = to_dublin_core(record(None))
    assert as_pairs(values) == [
        ("title", "HM.1998.45/PL", None),
        ("type", PHYSICAL_OBJECT, None),
        ("identifier", "HM.1998.45/PL", None),
    ]


def test_an_english_name_alone_is_the_only_title_and_empty_columns_are_left_out():
    row = InventoryRow(accession_number="A.1", name_en="Gold seal", material="  ")
    values = to_dublin_core(record(row))
    assert [v for v in values if v.element == "title"] == [DcValue("title", "Gold seal", "en")]
    assert not [v for v in values if v.element in ("subject", "format")]


def test_the_manifest_is_a_relation_only_when_publishing_made_one():
    no_tiles = record(FULL_ROW, views=[view(iiif=False)])
    no_views = record(FULL_ROW, views=[])
    for built in (no_tiles, no_views):
        assert not has_manifest(built)
        values = to_dublin_core(built, manifest_url=MANIFEST_URL)
        assert "relation" not in {v.element for v in values}
    assert has_manifest(record(FULL_ROW))


def test_text_is_nfc_and_carries_no_character_xml_cannot_hold():
    nfd = unicodedata.normalize("NFD", "Bình gốm Huế")
    row = InventoryRow(
        accession_number="A.1",
        name_vi=nfd + "\x00",
        notes="Dòng một\x0bDòng hai\r\nDòng   ba\x1f\ufffe",
    )
    values = {(v.element, v.lang): v.value for v in to_dublin_core(record(row))}
    assert values[("title", "vi")] == "Bình gốm Huế"
    assert values[("description", None)] == "Dòng một\nDòng hai\nDòng ba"
    root = ET.Element("dc")
    for value in values.values():
        ET.SubElement(root, "x").text = value
    ET.fromstring(ET.tostring(root))  # well-formed: the parser would refuse a control character


def test_to_dc_text_collapses_spaces_but_keeps_lines():
    assert to_dc_text("  a \t b \n\n c  ") == "a b\nc"
    assert to_dc_text("\x07") == ""


def test_the_same_value_twice_is_stated_once():
    row = InventoryRow(accession_number="A.1", name_vi="Ấn", name_en="Ấn", object_type="ấn")
    values = to_dublin_core(record(row))
    assert [v for v in values if v.element == "title"] == [
        DcValue("title", "Ấn", "vi"),
        DcValue("title", "Ấn", "en"),
    ]
    assert [v.value for v in values if v.element == "subject"] == ["ấn"]
