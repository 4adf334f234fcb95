"""XMP and IPTC: the values the tests write, character sets, and hostile packets and text."""

from __future__ import annotations

import io
import json
import struct
import unicodedata
import zlib

import pytest
from PIL import Image

from pipeline.core.metadata import MAX_ITEMS, MAX_TEXT
from tests.unit.images import gradient_rgb
from tests.unit.metadata_writer import extract, full_file, iim, jpeg_file, tiff_file, xmp_packet

# Pillow itself warns about the damage when the test opens the file; that is not under test.
pytestmark = pytest.mark.filterwarnings("ignore:.*(EXIF|Truncated|Tag data).*:UserWarning")


# --- known values ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["jpeg", "tiff"])
def test_xmp_fields_are_read(kind):
    xmp = extract(full_file(kind)).xmp
    assert xmp.title == "Bình hoa lam"
    assert xmp.languages["title"] == {"x-default": "Bình hoa lam", "en": "Blue-and-white vase"}
    assert xmp.description == "Bình gốm <b>men lam</b>"  # plain text: never interpreted
    assert xmp.creator == ["Nguyễn Văn A", "Trần Thị B"]
    assert xmp.rights == "© Bảo tàng Cổ vật Cung đình Huế"
    assert xmp.subject == ["gốm sứ", "Minh Mạng"]
    assert (xmp.city, xmp.country) == ("Huế", "Việt Nam")
    assert xmp.headline == "Bình men lam thời Minh Mạng"
    assert (xmp.credit, xmp.source) == ("Bảo tàng Cổ vật Cung đình Huế", "Kho 3")
    assert xmp.date_created == "2024-03-05"
    assert (xmp.location, xmp.country_code) == ("Điện Long An", "VN")
    assert xmp.creator_tool == "Capture One 23"
    assert xmp.create_date == "2024-03-05T14:30:12+07:00"


@pytest.mark.parametrize("kind", ["jpeg", "tiff"])
def test_iptc_fields_are_read_with_the_declared_character_set(kind):
    iptc = extract(full_file(kind)).iptc
    assert iptc.character_set == "UTF-8"
    assert iptc.object_name == "Bình hoa"
    assert iptc.caption == "Bình gốm\nmen lam"
    assert iptc.keywords == ["gốm", "porcelain"]
    assert iptc.by_line == ["Nguyễn Văn A"]
    assert (iptc.copyright, iptc.city, iptc.country) == ("© Bảo tàng", "Huế", "Việt Nam")
    assert iptc.date_created == "2024-03-05T14:30:12+07:00"


def test_iptc_without_a_character_set_falls_back_from_utf8_to_latin1():
    block = iim([(2, 5, "Huế".encode()), (2, 90, "Café".encode("latin-1"))])
    iptc = extract(jpeg_file(iim_block=block)).iptc
    assert (iptc.object_name, iptc.city, iptc.character_set) == ("Huế", "Café", None)


@pytest.mark.parametrize("compressed", [False, True])
def test_png_itxt_xmp_is_read(compressed):
    packet = xmp_packet()
    body = zlib.compress(packet) if compressed else packet
    chunk_data = b"XML:com.adobe.xmp\0" + bytes([int(compressed), 0]) + b"\0\0" + body
    chunk = struct.pack(">I", len(chunk_data)) + b"iTXt" + chunk_data
    chunk += struct.pack(">I", zlib.crc32(b"iTXt" + chunk_data))
    buffer = io.BytesIO()
    Image.fromarray(gradient_rgb(64, 48)).save(buffer, "PNG")
    png = buffer.getvalue()
    data = png[:33] + chunk + png[33:]  # after the IHDR chunk
    meta = extract(data)
    assert meta.technical.format == "PNG"
    assert meta.xmp.title == "Bình hoa lam" and meta.xmp.subject == ["gốm sứ", "Minh Mạng"]


def test_xmp_gps_goes_to_the_restricted_part_only():
    extra = (
        '<exif:GPSLatitude xmlns:exif="http://ns.adobe.com/exif/1.0/">16,28.2057N</exif:GPSLatitude>'
        '<exif:GPSLongitude xmlns:exif="http://ns.adobe.com/exif/1.0/">107,35.9463E'
        "</exif:GPSLongitude>"
    )
    meta = extract(jpeg_file(xmp=xmp_packet(extra=extra)))
    assert meta.restricted.gps is not None
    assert meta.restricted.gps.latitude == pytest.approx(16 + 28.2057 / 60)
    public = meta.public_dump()
    assert "restricted" not in public
    assert f"{meta.restricted.gps.latitude:.4f}" not in json.dumps(public)


# --- hostile and broken input ------------------------------------------------------------------


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/">
<dc:title><rdf:Alt><rdf:li xml:lang="x-default">&lol9;</rdf:li></rdf:Alt></dc:title>
</rdf:Description></rdf:RDF></x:xmpmeta>"""


def external_entity(target: str) -> bytes:
    return f"""<?xml version="1.0"?>
<!DOCTYPE x [ <!ENTITY xxe SYSTEM "{target}"> ]>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/">
<dc:title><rdf:Alt><rdf:li xml:lang="x-default">&xxe;</rdf:li></rdf:Alt></dc:title>
</rdf:Description></rdf:RDF></x:xmpmeta>""".encode()


@pytest.mark.parametrize("kind", ["jpeg", "tiff"])
def test_xmp_entity_bomb_is_not_expanded(kind):
    data = jpeg_file(xmp=BOMB) if kind == "jpeg" else tiff_file(xmp=BOMB)
    meta = extract(data)
    assert meta.xmp.title is None
    assert "lollol" not in meta.model_dump_json()
    assert any("XMP: the packet declares a DTD or entities" in w for w in meta.warnings)


def test_xmp_external_entity_is_not_fetched(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    meta = extract(jpeg_file(xmp=external_entity(secret.as_uri())))
    assert meta.xmp.title is None
    assert "TOP-SECRET" not in meta.model_dump_json()
    assert any("XMP: the packet declares a DTD or entities" in w for w in meta.warnings)


def test_malformed_xmp_is_a_warning():
    meta = extract(jpeg_file(xmp=b"<x:xmpmeta><rdf:RDF><unclosed>"))
    assert meta.xmp.title is None
    assert any("not well-formed" in w for w in meta.warnings)


def test_a_megabyte_string_is_capped_with_a_warning():
    huge = "Bình " * 200_000  # 1 MB of text
    packet = xmp_packet(description=huge, subjects=tuple(f"kw{i}" for i in range(500)))
    meta = extract(tiff_file(xmp=packet, tags={270: huge}))
    assert meta.xmp.description is not None and len(meta.xmp.description) == MAX_TEXT
    assert meta.exif.description is not None and len(meta.exif.description) <= MAX_TEXT
    assert len(meta.xmp.subject) == MAX_ITEMS
    assert any("xmp.description" in w and "2,000" in w for w in meta.warnings)
    assert any("exif.description" in w for w in meta.warnings)
    assert any("xmp.subject" in w and "500" in w for w in meta.warnings)


def test_control_characters_go_html_stays_plain_text_and_text_is_nfc():
    nfd = unicodedata.normalize("NFD", "Huế")
    hostile = f"<script>alert(1)</script>\x00\x07\x1b[31m{nfd}\u202e\r\nline\ttab"
    block = iim([(1, 90, b"\x1b%G"), (2, 120, hostile.encode()), (2, 90, nfd.encode())])
    exif = Image.Exif()
    exif[0x013B] = "Ann\x07\x08e"
    iptc_meta = extract(jpeg_file(exif=exif, iim_block=block))
    assert iptc_meta.iptc.caption == "<script>alert(1)</script>[31mHuế\nline\ttab"
    assert iptc_meta.iptc.city == "Huế" and unicodedata.is_normalized("NFC", iptc_meta.iptc.city)
    assert iptc_meta.exif.artist == "Anne"
