"""LIDO 1.0 XML for one catalogue record; pure, and never a field the public may not see."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Final

from pipeline.core.dublin_core import has_manifest, to_dc_text
from pipeline.core.inventory import InventoryRow
from pipeline.core.records import ArtefactRecord, ViewEntry
from pipeline.core.tagging import REIGNS, Tag

LIDO_NS: Final = "http://www.lido-schema.org"
LIDO_SCHEMA: Final = "http://www.lido-schema.org/schema/v1.0/lido-v1.0.xsd"
XSI_NS: Final = "http://www.w3.org/2001/XMLSchema-instance"
XML_NS: Final = "http://www.w3.org/XML/1998/namespace"
LIDO_MEDIA_TYPE: Final = "application/xml; charset=utf-8"
# CIDOC-CRM E22 Man-Made Object: what every Sohoa record describes.
CATEGORY_URI: Final = "http://www.cidoc-crm.org/crm-concepts/E22"
EVENT_TYPES: Final = "http://terminology.lido-schema.org/eventType"
# Public derivatives, largest first; masters are private and never appear in an export.
DERIVATIVE_TYPES: Final = (
    ("access", "image_master"),
    ("preview", "image_preview"),
    ("thumb", "image_thumb"),
)
_YEAR: Final = re.compile(r"(?<!\d)(1\d{3}|20\d{2})(?!\d)")
_REIGN_YEARS: Final = {reign.term.value: (reign.start, reign.end) for reign in REIGNS}

ET.register_namespace("lido", LIDO_NS)
ET.register_namespace("xsi", XSI_NS)


@dataclass(frozen=True)
class LidoLinks:
    """Where the public reaches an object's parts: all URLs, none of them a master's."""

    public_base: str  # the public part of the bucket: derivatives/… and iiif/… are under it
    manifest_url: str | None = None
    record_url: str | None = None  # the object's page or API record


def _q(tag: str) -> str:
    return f"{{{LIDO_NS}}}{tag}"


def _sub(
    parent: ET.Element,
    tag: str,
    text: str | None = None,
    *,
    lang: str | None = None,
    **attrib: str,
) -> ET.Element:
    element = ET.SubElement(parent, _q(tag), {_q(k): v for k, v in attrib.items()})
    if lang:
        element.set(f"{{{XML_NS}}}lang", lang)
    if text is not None:
        element.text = to_dc_text(text)
    return element


def _concept(parent: ET.Element, tag: str, tag_: Tag, **attrib: str) -> ET.Element:
    """A LIDO concept from a controlled tag: its slug as the ID, its labels in vi and en."""
    element = _sub(parent, tag, **attrib)
    _sub(element, "conceptID", tag_.value, type="local", source="sohoa")
    _sub(element, "term", tag_.label_vi, lang="vi")
    _sub(element, "term", tag_.label_en, lang="en")
    return element


def date_span(record: ArtefactRecord) -> tuple[int, int] | None:
    """Earliest and latest year: from the inventory's dates, else from the reigns tagged."""
    row = record.inventory
    for text in (row.date_range, row.period) if row else ():
        years = [int(y) for y in _YEAR.findall(text)]
        if years:
            return min(years), max(years)
    spans = [_REIGN_YEARS[t.value] for t in record.tags if t.value in _REIGN_YEARS]
    if spans:
        return min(s for s, _ in spans), max(e for _, e in spans)
    return None


def _tags(record: ArtefactRecord, kind: str) -> list[Tag]:
    return [t for t in record.tags if t.value.startswith(f"{kind}:")]


def _url(base: str, key: str) -> str:
    return f"{base.rstrip('/')}/{key.lstrip('/')}"


def _resource_set(parent: ET.Element, view: ViewEntry, links: LidoLinks, rights: str) -> None:
    resource = _sub(parent, "resourceSet")
    _sub(resource, "resourceID", view.scan_id, type="sha256")
    for name, kind in DERIVATIVE_TYPES:
        derivative = view.derivatives.get(name)
        if derivative is None:
            continue
        representation = _sub(resource, "resourceRepresentation", type=kind)
        _sub(
            representation,
            "linkResource",
            _url(links.public_base, derivative.key),
            formatResource=derivative.media_type,
        )
        size = _sub(representation, "resourceMeasurementsSet")
        _sub(size, "measurementType", "width")
        _sub(size, "measurementUnit", "pixel")
        _sub(size, "measurementValue", str(derivative.width))
        size = _sub(representation, "resourceMeasurementsSet")
        _sub(size, "measurementType", "height")
        _sub(size, "measurementUnit", "pixel")
        _sub(size, "measurementValue", str(derivative.height))
    if view.iiif is not None:
        representation = _sub(resource, "resourceRepresentation", type="iiif_image_api_3")
        _sub(
            representation,
            "linkResource",
            _url(links.public_base, f"{view.iiif.base_key}/info.json"),
            formatResource="application/ld+json",
        )
    resource_type = _sub(resource, "resourceType")
    _sub(resource_type, "term", "Ảnh số", lang="vi")
    _sub(resource_type, "term", "digital image", lang="en")
    perspective = _sub(resource, "resourcePerspective")
    _sub(perspective, "term", f"{view.view} {view.seq}".strip())
    if rights:
        rights_set = _sub(resource, "rightsResource")
        rights_type = _sub(rights_set, "rightsType")
        _sub(rights_type, "term", rights)


def to_lido(record: ArtefactRecord, *, museum: str, links: LidoLinks) -> bytes:
    """The record as one LIDO 1.0 document (a lido:lidoWrap holding one lido:lido), UTF-8.

    Left out on purpose, as in Dublin Core: the current location (where a valuable object is
    kept), the masters and where they are stored, camera and capture details, warnings.
    """
    # No inventory row yet: the record still says what it can (accession, images).
    row = record.inventory or InventoryRow(accession_number=record.accession_number)
    root = ET.Element(_q("lidoWrap"), {f"{{{XSI_NS}}}schemaLocation": f"{LIDO_NS} {LIDO_SCHEMA}"})
    lido = _sub(root, "lido")
    _sub(lido, "lidoRecID", f"sohoa:{record.object}", type="local", source=museum)
    category = _sub(lido, "category")
    _sub(category, "conceptID", CATEGORY_URI, type="URI")
    _sub(category, "term", "Man-Made Object", lang="en")

    described = _sub(lido, "descriptiveMetadata", lang="vi")
    classified = _sub(described, "objectClassificationWrap")
    work_types = _sub(classified, "objectWorkTypeWrap")
    type_tags = _tags(record, "type")
    if type_tags:
        for tag in type_tags:
            _concept(work_types, "objectWorkType", tag)
    else:
        # objectWorkType is required: the inventory's words, or LIDO's "not specified".
        work_type = _sub(work_types, "objectWorkType")
        _sub(work_type, "term", to_dc_text(row.object_type) or "not specified")
    other_tags = [t for t in record.tags if not t.value.startswith("type:")]
    if other_tags:
        classes = _sub(classified, "classificationWrap")
        for tag in other_tags:
            _concept(classes, "classification", tag, type=tag.value.split(":", 1)[0])

    identified = _sub(described, "objectIdentificationWrap")
    titles = _sub(identified, "titleWrap")
    title_set = _sub(titles, "titleSet")
    names = [(lang, t) for lang, t in (("vi", row.name_vi), ("en", row.name_en)) if to_dc_text(t)]
    if not names:
        names = [("", record.accession_number)]
    for i, (lang, text) in enumerate(names):
        _sub(
            title_set,
            "appellationValue",
            text,
            lang=lang or None,
            pref="preferred" if i == 0 else "alternate",
        )
    repositories = _sub(identified, "repositoryWrap")
    repository = _sub(repositories, "repositorySet", type="current")
    repository_name = _sub(repository, "repositoryName")
    legal_body = _sub(repository_name, "legalBodyName")
    _sub(legal_body, "appellationValue", museum)
    _sub(repository, "workID", record.accession_number, type="inventory number")
    if to_dc_text(row.notes):
        descriptions = _sub(identified, "objectDescriptionWrap")
        description = _sub(descriptions, "objectDescriptionSet")
        _sub(description, "descriptiveNoteValue", row.notes, lang="vi")
    if to_dc_text(row.dimensions):
        measurements = _sub(identified, "objectMeasurementsWrap")
        measurement = _sub(measurements, "objectMeasurementsSet")
        _sub(measurement, "displayObjectMeasurements", row.dimensions)

    events = _sub(described, "eventWrap")
    event = _sub(_sub(events, "eventSet"), "event")
    event_type = _sub(event, "eventType")
    _sub(event_type, "conceptID", f"{EVENT_TYPES}/production", type="URI")
    _sub(event_type, "term", "Sản xuất", lang="vi")
    _sub(event_type, "term", "Production", lang="en")
    span = date_span(record)
    display_date = to_dc_text(f"{row.period} {row.date_range}")
    if display_date or span:
        event_date = _sub(event, "eventDate")
        if display_date:
            _sub(event_date, "displayDate", display_date, lang="vi")
        if span:
            dates = _sub(event_date, "date")
            _sub(dates, "earliestDate", str(span[0]))
            _sub(dates, "latestDate", str(span[1]))
    for tag in _tags(record, "period"):
        _concept(event, "periodName", tag, type="reign" if tag.value in _REIGN_YEARS else "period")
    material_tags = _tags(record, "material")
    if to_dc_text(row.material) or material_tags:
        materials = _sub(event, "eventMaterialsTech")
        if to_dc_text(row.material):
            _sub(materials, "displayMaterialsTech", row.material, lang="vi")
        if material_tags:
            tech = _sub(materials, "materialsTech")
            for tag in material_tags:
                _concept(tech, "termMaterialsTech", tag, type="material")
    if to_dc_text(row.provenance):
        # Where the object came from (excavation, gift): said; where it is kept now, never.
        acquired = _sub(_sub(events, "eventSet"), "event")
        acquired_type = _sub(acquired, "eventType")
        _sub(acquired_type, "conceptID", f"{EVENT_TYPES}/acquisition", type="URI")
        _sub(acquired_type, "term", "Nguồn gốc", lang="vi")
        _sub(acquired_type, "term", "Acquisition", lang="en")
        note = _sub(acquired, "eventDescriptionSet")
        _sub(note, "descriptiveNoteValue", row.provenance, lang="vi")

    admin = _sub(lido, "administrativeMetadata", lang="en")
    rights = to_dc_text(row.rights)
    if rights:
        rights_set = _sub(_sub(admin, "rightsWorkWrap"), "rightsWorkSet")
        rights_type = _sub(rights_set, "rightsType")
        _sub(rights_type, "term", rights)
        _sub(rights_set, "creditLine", f"{museum}, {record.accession_number}")
    record_wrap = _sub(admin, "recordWrap")
    _sub(record_wrap, "recordID", record.object, type="local")
    record_type = _sub(record_wrap, "recordType")
    _sub(record_type, "term", "item", lang="en")
    source = _sub(record_wrap, "recordSource")
    _sub(_sub(source, "legalBodyName"), "appellationValue", museum)
    info = _sub(record_wrap, "recordInfoSet", type="record")
    if links.record_url:
        _sub(info, "recordInfoLink", links.record_url)
    _sub(info, "recordMetadataDate", record.updated_at.isoformat())
    if links.manifest_url and has_manifest(record):
        manifest = _sub(record_wrap, "recordInfoSet", type="iiif_manifest")
        _sub(manifest, "recordInfoLink", links.manifest_url, formatResource="application/ld+json")
    if record.views:
        resources = _sub(admin, "resourceWrap")
        for view in record.views:
            _resource_set(resources, view, links, rights)
    ET.indent(root, space=" ")
    body: bytes = ET.tostring(root, encoding="UTF-8", xml_declaration=True)
    return body
