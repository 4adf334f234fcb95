"""Descriptive XMP properties (and XMP GPS) from untrusted packets, via defusedxml."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any, Final
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as _parse_xml_untrusted

from pipeline.core.metadata.container import Found
from pipeline.core.metadata.exif import make_position
from pipeline.core.metadata.model import GpsPosition, XmpMetadata
from pipeline.core.metadata.text import MAX_ITEMS, MAX_XMP, Notes, clean_text, clean_texts

_RDF: Final = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_XML_LANG: Final = "{http://www.w3.org/XML/1998/namespace}lang"
_DC: Final = "http://purl.org/dc/elements/1.1/"
_PHOTOSHOP: Final = "http://ns.adobe.com/photoshop/1.0/"
_IPTC_CORE: Final = "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/"
_XMP_BASIC: Final = "http://ns.adobe.com/xap/1.0/"
_EXIF_NS: Final = "http://ns.adobe.com/exif/1.0/"

_XmpValue = str | list[str] | dict[str, str]

# field: (namespace, property, whether the field is a list)
_XMP_FIELDS: Final = {
    "title": (_DC, "title", False),
    "description": (_DC, "description", False),
    "creator": (_DC, "creator", True),
    "rights": (_DC, "rights", False),
    "subject": (_DC, "subject", True),
    "headline": (_PHOTOSHOP, "Headline", False),
    "city": (_PHOTOSHOP, "City", False),
    "state": (_PHOTOSHOP, "State", False),
    "country": (_PHOTOSHOP, "Country", False),
    "credit": (_PHOTOSHOP, "Credit", False),
    "source": (_PHOTOSHOP, "Source", False),
    "date_created": (_PHOTOSHOP, "DateCreated", False),
    "location": (_IPTC_CORE, "Location", False),
    "country_code": (_IPTC_CORE, "CountryCode", False),
    "creator_tool": (_XMP_BASIC, "CreatorTool", False),
    "create_date": (_XMP_BASIC, "CreateDate", False),
}


def read_xmp(found: Found, notes: Notes) -> tuple[XmpMetadata, GpsPosition | None]:
    """The XMP fields of every packet (the standard one wins) and any XMP GPS position."""
    properties: dict[tuple[str, str], _XmpValue] = {}
    packets = list(found.xmp)
    for chunks in found.xmp_extended.values():
        packets.append(b"".join(chunks[offset] for offset in sorted(chunks)))
    for packet in packets:
        for key, parsed in _parse_xmp(packet, notes).items():
            properties.setdefault(key, parsed)  # the standard packet wins over extended ones
    values: dict[str, Any] = {}
    languages: dict[str, dict[str, str]] = {}
    for name, (namespace, local, is_list) in _XMP_FIELDS.items():
        value = properties.get((namespace, local))
        if value is None:
            continue
        where = f"xmp.{name}"
        if is_list:
            items = [value] if isinstance(value, str) else list(_alt_values(value))
            values[name] = clean_texts(items, where, notes)
            continue
        if isinstance(value, dict):
            cleaned = {
                lang: text
                for lang, raw in list(value.items())[:MAX_ITEMS]
                if (text := clean_text(raw, where, notes)) is not None
            }
            if len(cleaned) > 1:
                languages[name] = cleaned
            values[name] = cleaned.get("x-default") or next(iter(cleaned.values()), None)
        elif isinstance(value, list):
            values[name] = clean_text("; ".join(value[:MAX_ITEMS]), where, notes)
        else:
            values[name] = clean_text(value, where, notes)
    return XmpMetadata(**values, languages=languages), _xmp_gps(properties, notes)


def _alt_values(value: list[str] | dict[str, str]) -> Iterable[str]:
    return value.values() if isinstance(value, dict) else value


def _parse_xmp(packet: bytes, notes: Notes) -> dict[tuple[str, str], _XmpValue]:
    if len(packet) > MAX_XMP:
        notes.add(f"XMP: a packet of {len(packet):,} bytes is too large to read; ignored.")
        return {}
    packet = _trim_packet(packet)
    if not packet:
        return {}
    try:
        # A DTD has no place in XMP: refusing it shuts out entity bombs and external entities
        # before expat expands or fetches anything.
        root: Element = _parse_xml_untrusted(
            packet, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException as exc:
        notes.add(
            f"XMP: the packet declares a DTD or entities ({type(exc).__name__}), which XMP "
            "never needs and which can expand without bound or fetch outside files; its "
            "fields are ignored."
        )
        return {}
    except (ParseError, ValueError, UnicodeError) as exc:
        notes.add(f"XMP: the packet is not well-formed XML ({str(exc)[:120]}); ignored.")
        return {}
    properties: dict[tuple[str, str], _XmpValue] = {}
    rdf_roots = [root] if root.tag == f"{{{_RDF}}}RDF" else list(root.iter(f"{{{_RDF}}}RDF"))
    for rdf in rdf_roots[:1]:
        for description in rdf.findall(f"{{{_RDF}}}Description"):
            for name, text in description.attrib.items():
                key = _split_name(name)
                if key is not None and key[0] != _RDF:
                    properties.setdefault(key, text)
            for child in description:
                key = _split_name(child.tag)
                value = _xmp_value(child)
                if key is not None and value is not None:
                    properties.setdefault(key, value)
    return properties


def _trim_packet(packet: bytes) -> bytes:
    """Drop the padding and trailing bytes writers leave after the packet's end."""
    end = packet.rfind(b"<?xpacket end")
    if end >= 0:
        close = packet.find(b"?>", end)
        if close >= 0:
            packet = packet[: close + 2]
    return packet.strip(b"\0 \t\r\n")


def _split_name(name: str) -> tuple[str, str] | None:
    if not name.startswith("{"):
        return None
    namespace, _, local = name[1:].partition("}")
    return namespace, local


def _xmp_value(element: Element) -> _XmpValue | None:
    resource = element.get(f"{{{_RDF}}}resource")
    if resource is not None:
        return resource
    containers = list(element)
    if not containers:
        return element.text or ""
    container = containers[0]
    if container.tag == f"{{{_RDF}}}Alt":
        alternatives: dict[str, str] = {}
        for item in container.findall(f"{{{_RDF}}}li"):
            if len(item) == 0:
                alternatives.setdefault(item.get(_XML_LANG, "x-default"), item.text or "")
        return alternatives
    if container.tag in (f"{{{_RDF}}}Seq", f"{{{_RDF}}}Bag"):
        return [item.text or "" for item in container.findall(f"{{{_RDF}}}li") if len(item) == 0]
    return None  # a structure: none of the fields read here is one


_XMP_COORDINATE = re.compile(r"(\d{1,3}),(\d{1,2}(?:\.\d+)?)(?:,(\d{1,2}(?:\.\d+)?))?([NSEW])")


def _xmp_gps(properties: dict[tuple[str, str], _XmpValue], notes: Notes) -> GpsPosition | None:
    latitude = _xmp_coordinate(properties.get((_EXIF_NS, "GPSLatitude")))
    longitude = _xmp_coordinate(properties.get((_EXIF_NS, "GPSLongitude")))
    if latitude is None or longitude is None:
        return None
    altitude = None
    raw = properties.get((_EXIF_NS, "GPSAltitude"))
    if isinstance(raw, str):
        top, _, bottom = raw.partition("/")
        try:
            altitude = float(top) / float(bottom or 1)
        except (ValueError, ZeroDivisionError):
            altitude = None
        if altitude is not None and properties.get((_EXIF_NS, "GPSAltitudeRef")) == "1":
            altitude = -altitude
    if altitude is not None and not math.isfinite(altitude):
        altitude = None
    return make_position(latitude, longitude, altitude, notes)


def _xmp_coordinate(value: _XmpValue | None) -> float | None:
    if not isinstance(value, str):
        return None
    match = _XMP_COORDINATE.fullmatch(value.strip())
    if match is None:
        return None
    degrees, minutes, seconds, hemisphere = match.groups()
    number = int(degrees) + float(minutes) / 60 + float(seconds or 0) / 3600
    return -number if hemisphere in "SW" else number
