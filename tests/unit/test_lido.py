"""LIDO 1.0 from catalogue records: well-formed, LIDO's element order, nothing restricted."""

from __future__ import annotations

import unicodedata
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from lxml import etree

from pipeline.core.inventory import InventoryRow
from pipeline.core.lido import LIDO_NS, XML_NS, LidoLinks, date_span, to_lido
from pipeline.core.records import (
    ArtefactRecord,
    DerivativeRef,
    IiifRef,
    StoredObject,
    ViewEntry,
)
from pipeline.core.tagging import tags_from_inventory

SHA = "cd" * 32
PUBLIC = "https://media.example.org/sohoa"
MANIFEST = "https://api.example.org/iiif/hm.1998.45-pl/manifest.json"
RECORD_URL = "https://api.example.org/api/objects/hm.1998.45-pl"
L = f"{{{LIDO_NS}}}"
LANG = f"{{{XML_NS}}}lang"

ROW = InventoryRow(
    accession_number="HM.1998.45/PL",
    name_vi='Đĩa pháp lam vẽ rồng <cung> & "ngự"',
    name_en="Painted enamel dish with dragon",
    object_type="đĩa",
    material="pháp lam",
    period="Minh Mạng",
    date_range="1820-1840",
    dimensions="Đường kính 24 cm",
    provenance="Hiến tặng 1998",
    current_location="Kho 3, kệ B-12",
    rights="CC BY 4.0",
    notes="Men xanh\x0bvẽ rồng năm móng",
)


def derivative(name: str, width: int) -> DerivativeRef:
    return DerivativeRef(
        bucket="b",
        key=f"derivatives/hm.1998.45-pl/{SHA}/{name}.jpg",
        sha256=SHA,
        size=1,
        media_type="image/jpeg",
        width=width,
        height=width * 3 // 4,
    )


def view(*, iiif: bool = True) -> ViewEntry:
    return ViewEntry(
        scan_id=SHA,
        view="front",
        seq=1,
        source_name="HM.1998.45-PL_front_1.tif",
        format="TIFF",
        width=4000,
        height=3000,
        bit_depth=8,
        pages=1,
        icc_profile=None,
        master=StoredObject(
            bucket="private",
            key=f"masters/hm.1998.45-pl/{SHA}.tif",
            sha256=SHA,
            size=9,
            media_type="image/tiff",
        ),
        derivatives={n: derivative(n, w) for n, w in (("access", 3000), ("thumb", 400))},
        iiif=IiifRef(bucket="b", base_key=f"iiif/{SHA}", files=3, size=10) if iiif else None,
        camera="Phase One IQ4",
    )


def record(row: InventoryRow | None = ROW) -> ArtefactRecord:
    return ArtefactRecord(
        object="hm.1998.45-pl",
        accession_number="HM.1998.45/PL",
        inventory=row,
        views=[view()],
        tags=tags_from_inventory(row) if row else [],
        profile="default",
        pipeline_version="0.1.0",
        updated_at=datetime(2025, 3, 1, 8, 30, tzinfo=UTC),
    )


def lido(rec: ArtefactRecord | None = None) -> bytes:
    links = LidoLinks(public_base=PUBLIC, manifest_url=MANIFEST, record_url=RECORD_URL)
    return to_lido(rec or record(), museum="Bảo tàng Cổ vật Cung đình Huế", links=links)


def parse(body: bytes) -> ET.Element:
    return ET.fromstring(body)


def children(element: ET.Element) -> list[str]:
    return [c.tag.removeprefix(L) for c in element]


def test_is_well_formed_utf8_in_the_lido_namespace() -> None:
    body = lido()
    assert body.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    root = etree.fromstring(body)  # lxml: strict, fails on any well-formedness error
    assert root.tag == f"{L}lidoWrap"
    assert root.nsmap["lido"] == LIDO_NS
    schema_location = root.get("{http://www.w3.org/2001/XMLSchema-instance}schemaLocation")
    assert schema_location == f"{LIDO_NS} http://www.lido-schema.org/schema/v1.0/lido-v1.0.xsd"
    # Every element is LIDO's; attributes are lido:-qualified (attributeFormDefault) or xml:lang.
    for element in root.iter():
        assert element.tag.startswith(L), element.tag
        for name in element.attrib:
            assert name.startswith((L, f"{{{XML_NS}}}", "{http://www.w3.org/2001/")), name


def test_required_elements_in_lidos_order() -> None:
    root = parse(lido())
    (record_,) = root.findall(f"{L}lido")
    assert children(record_) == [
        "lidoRecID", "category", "descriptiveMetadata", "administrativeMetadata",
    ]  # fmt: skip
    assert record_.find(f"{L}lidoRecID").get(f"{L}type") == "local"
    described = record_.find(f"{L}descriptiveMetadata")
    assert described.get(LANG) == "vi"
    assert children(described) == [
        "objectClassificationWrap", "objectIdentificationWrap", "eventWrap",
    ]  # fmt: skip
    classified = described.find(f"{L}objectClassificationWrap")
    assert children(classified) == ["objectWorkTypeWrap", "classificationWrap"]
    identified = described.find(f"{L}objectIdentificationWrap")
    assert children(identified) == [
        "titleWrap", "repositoryWrap", "objectDescriptionWrap", "objectMeasurementsWrap",
    ]  # fmt: skip
    production = described.find(f"{L}eventWrap/{L}eventSet/{L}event")
    assert children(production) == [
        "eventType", "eventDate", "periodName", "eventMaterialsTech",
    ]  # fmt: skip
    admin = record_.find(f"{L}administrativeMetadata")
    assert admin.get(LANG) == "en"
    assert children(admin) == ["rightsWorkWrap", "recordWrap", "resourceWrap"]
    wrap = admin.find(f"{L}recordWrap")
    assert children(wrap)[:3] == ["recordID", "recordType", "recordSource"]
    assert set(children(wrap)[3:]) == {"recordInfoSet"}
    resource = admin.find(f"{L}resourceWrap/{L}resourceSet")
    assert children(resource) == [
        "resourceID", "resourceRepresentation", "resourceRepresentation",
        "resourceRepresentation", "resourceType", "resourcePerspective", "rightsResource",
    ]  # fmt: skip


def test_identification_titles_and_repository() -> None:
    root = parse(lido())
    titles = root.findall(f".//{L}titleSet/{L}appellationValue")
    assert [(t.get(LANG), t.get(f"{L}pref")) for t in titles] == [
        ("vi", "preferred"), ("en", "alternate"),
    ]  # fmt: skip
    assert titles[0].text == 'Đĩa pháp lam vẽ rồng <cung> & "ngự"'  # escaped, then read back
    assert b"&lt;cung&gt; &amp;" in lido()
    repository = root.find(f".//{L}repositorySet")
    assert repository.get(f"{L}type") == "current"
    name = repository.find(f"{L}repositoryName/{L}legalBodyName/{L}appellationValue")
    assert name.text == "Bảo tàng Cổ vật Cung đình Huế"
    work_id = repository.find(f"{L}workID")
    assert (work_id.text, work_id.get(f"{L}type")) == ("HM.1998.45/PL", "inventory number")


def test_never_exports_the_current_location_nor_the_master() -> None:
    body = lido().decode("utf-8")
    assert "Kho 3" not in body
    assert "repositoryLocation" not in body
    assert "masters/" not in body and "private" not in body
    assert "Phase One" not in body and ".tif" not in body


def test_classification_materials_dates_and_rights() -> None:
    root = parse(lido())
    work_type = root.find(f".//{L}objectWorkType")
    assert work_type.find(f"{L}conceptID").text == "type:dia"
    assert [t.text for t in work_type.findall(f"{L}term")] == ["Đĩa", "Plate"]
    classes = {c.find(f"{L}conceptID").text for c in root.iter(f"{L}classification")}
    assert {"material:phap-lam", "period:minh-mang"} <= classes
    material = root.find(f".//{L}termMaterialsTech")
    assert material.get(f"{L}type") == "material"
    assert material.find(f"{L}conceptID").text == "material:phap-lam"
    assert root.find(f".//{L}displayMaterialsTech").text == "pháp lam"
    date = root.find(f".//{L}eventDate")
    assert date.find(f"{L}displayDate").text == "Minh Mạng 1820-1840"
    assert date.find(f"{L}date/{L}earliestDate").text == "1820"
    assert date.find(f"{L}date/{L}latestDate").text == "1840"
    period = root.find(f".//{L}periodName")
    assert period.find(f"{L}conceptID").text == "period:minh-mang"
    assert root.find(f".//{L}rightsWorkSet/{L}rightsType/{L}term").text == "CC BY 4.0"
    # An in-cell line break from a spreadsheet (a vertical tab) is not XML: it becomes a newline.
    note = root.find(f".//{L}objectDescriptionSet/{L}descriptiveNoteValue")
    assert note.text == "Men xanh\nvẽ rồng năm móng"
    acquisition = root.findall(f".//{L}eventSet")[1]
    assert acquisition.find(f".//{L}descriptiveNoteValue").text == "Hiến tặng 1998"


def test_dates_from_the_reign_when_the_inventory_gives_no_years() -> None:
    row = ROW.model_copy(update={"period": "Tự Đức", "date_range": ""})
    assert date_span(record(row)) == (1848, 1883)
    root = parse(lido(record(row)))
    assert root.find(f".//{L}earliestDate").text == "1848"
    assert date_span(record(ROW.model_copy(update={"period": "", "date_range": ""}))) is None


def test_resources_point_at_public_derivatives_iiif_and_manifest() -> None:
    root = parse(lido())
    links = {
        r.get(f"{L}type"): r.find(f"{L}linkResource").text
        for r in root.iter(f"{L}resourceRepresentation")
    }
    assert links == {
        "image_master": f"{PUBLIC}/derivatives/hm.1998.45-pl/{SHA}/access.jpg",
        "image_thumb": f"{PUBLIC}/derivatives/hm.1998.45-pl/{SHA}/thumb.jpg",
        "iiif_image_api_3": f"{PUBLIC}/iiif/{SHA}/info.json",
    }
    info = {s.get(f"{L}type"): s for s in root.iter(f"{L}recordInfoSet")}
    assert info["iiif_manifest"].find(f"{L}recordInfoLink").text == MANIFEST
    assert info["record"].find(f"{L}recordInfoLink").text == RECORD_URL
    assert info["record"].find(f"{L}recordMetadataDate").text == "2025-03-01T08:30:00+00:00"


def test_a_record_without_inventory_still_has_the_required_parts() -> None:
    bare = record(None).model_copy(update={"views": [view(iiif=False)]})
    root = parse(lido(bare))
    title = root.find(f".//{L}titleSet/{L}appellationValue")
    assert title.text == "HM.1998.45/PL"
    assert root.find(f".//{L}objectWorkType/{L}term").text == "not specified"
    assert root.find(f".//{L}rightsWorkWrap") is None
    assert not [s for s in root.iter(f"{L}recordInfoSet") if s.get(f"{L}type") == "iiif_manifest"]


def test_nfd_input_comes_out_nfc() -> None:
    row = ROW.model_copy(update={"name_vi": unicodedata.normalize("NFD", "Bình gốm Huế")})
    title = parse(lido(record(row))).find(f".//{L}titleSet/{L}appellationValue")
    assert title.text == unicodedata.normalize("NFC", "Bình gốm Huế")
