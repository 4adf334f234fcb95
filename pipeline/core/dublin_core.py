"""Simple Dublin Core from a catalogue record; pure, and never a field the public may not see."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from pipeline.core.naming import to_nfc
from pipeline.core.records import ArtefactRecord

# The fifteen elements of simple Dublin Core (DCMES 1.1), in the order oai_dc lists them.
DC_ELEMENTS: Final = (
    "title", "creator", "subject", "description", "publisher", "contributor", "date", "type",
    "format", "identifier", "source", "language", "relation", "coverage", "rights",
)  # fmt: skip
# DCMI Type Vocabulary: an artefact is a physical object; its photographs are not the resource.
PHYSICAL_OBJECT: Final = "PhysicalObject"

# Characters XML 1.0 cannot carry at all; spreadsheets put them in cells (Excel's in-cell line
# break is a vertical tab), and one of them makes a whole OAI-PMH page unreadable.
_NOT_XML: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_LINE_BREAK: Final = re.compile("[\x0b\x0c]|\r\n?")
_SPACES: Final = re.compile(r"[ \t]+")


@dataclass(frozen=True)
class DcValue:
    """One Dublin Core statement: an element, its text and, when it is known, its language."""

    element: str
    value: str
    lang: str | None = None


def to_dc_text(text: str) -> str:
    """NFC, runs of spaces collapsed, line breaks kept, characters XML cannot carry removed."""
    text = _LINE_BREAK.sub("\n", to_nfc(text))
    text = _NOT_XML.sub("", text)
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def has_manifest(record: ArtefactRecord) -> bool:
    """True when publishing wrote a IIIF manifest: the record has views, each with tiles."""
    return bool(record.views) and all(view.iiif is not None for view in record.views)


def to_dublin_core(
    record: ArtefactRecord, *, object_url: str | None = None, manifest_url: str | None = None
) -> tuple[DcValue, ...]:
    """The record as simple Dublin Core, for harvesters (OAI-PMH oai_dc) and exports.

    Only the inventory's descriptive columns and the record's identity are used. Left out on
    purpose: the current location (where a valuable object is kept), everything about the scans
    (camera, capture time, original file names, where masters are stored) and warnings. GPS never
    reaches a record; this function is written so it could not pass it on if it did.
    `manifest_url` is given only as a relation when the record has a manifest.
    """
    row = record.inventory
    out: list[DcValue] = []

    def add(element: str, text: str, lang: str | None = None) -> None:
        value = to_dc_text(text)
        if value and DcValue(element, value, lang) not in out:
            out.append(DcValue(element, value, lang))

    if row is not None:
        add("title", row.name_vi, "vi")
        add("title", row.name_en, "en")
    if not any(v.element == "title" for v in out):
        add("title", record.accession_number)
    add("identifier", record.accession_number)
    if object_url:
        add("identifier", object_url)
    add("type", PHYSICAL_OBJECT)
    if row is not None:
        add("type", row.object_type)
        add("subject", row.object_type)
        add("subject", row.material)
        # dc:format of a physical object: its medium and its extent.
        add("format", row.material)
        add("format", row.dimensions)
        add("coverage", row.period)
        add("date", row.date_range)
        add("description", row.notes)
        add("source", row.provenance)
        add("rights", row.rights)
    if manifest_url and has_manifest(record):
        add("relation", manifest_url)
    order = {name: i for i, name in enumerate(DC_ELEMENTS)}
    return tuple(sorted(out, key=lambda v: order[v.element]))
