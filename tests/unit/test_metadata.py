"""Embedded metadata: values the tests write, ExifTool as the reference, hostile input."""

from __future__ import annotations

import io
import json
import os
import shutil
import struct
import subprocess
import unicodedata
import zlib
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image, TiffImagePlugin
from PIL.TiffImagePlugin import IFDRational

from pipeline.core.metadata import MAX_ITEMS, MAX_TEXT, ScanMetadata, extract_metadata
from tests.unit.images import gradient_rgb

# Pillow itself warns about the damage when the test opens the file; that is not under test.
pytestmark = pytest.mark.filterwarnings("ignore:.*(EXIF|Truncated|Tag data).*:UserWarning")


# --- writing metadata the way cameras and DAM software do --------------------------------------

ARTIST = "Nguyen Van A"  # Pillow writes EXIF ASCII only; Vietnamese goes in XMP and IPTC


def make_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Phase One"
    exif[0x0110] = "IQ4 150MP"
    exif[0x0131] = "Capture One 23"
    exif[0x013B] = ARTIST
    exif[0x8298] = "(c) Hue Museum of Royal Antiquities"
    exif[0x010E] = "Vase, front view"
    exif[0x0112] = 6
    sub = exif.get_ifd(0x8769)
    sub[0x829A] = IFDRational(1, 125)
    sub[0x829D] = IFDRational(8, 1)
    sub[0x8827] = 100
    sub[0x920A] = IFDRational(80, 1)
    sub[0x9003] = "2024:03:05 14:30:12"
    sub[0x9291] = "25"
    sub[0x9011] = "+07:00"
    sub[0xA434] = "Schneider 80mm LS"
    sub[0xA431] = "IQ4-SN-12345"
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (IFDRational(16), IFDRational(28), IFDRational(1234, 100))
    gps[3] = "E"
    gps[4] = (IFDRational(107), IFDRational(35), IFDRational(5678, 100))
    gps[5] = b"\x00"
    gps[6] = IFDRational(125, 10)
    return exif


def xmp_packet(
    *,
    description: str = "Bình gốm &lt;b&gt;men lam&lt;/b&gt;",
    subjects: tuple[str, ...] = ("gốm sứ", "Minh Mạng"),
    extra: str = "",
) -> bytes:
    """An XMP packet as Lightroom or Capture One would write it (values already XML-escaped)."""
    return f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"
    xmlns:Iptc4xmpCore="http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    photoshop:City="Huế" photoshop:Country="Việt Nam" xmp:CreatorTool="Capture One 23"
    xmp:CreateDate="2024-03-05T14:30:12+07:00" photoshop:DateCreated="2024-03-05">
   <dc:title><rdf:Alt>
    <rdf:li xml:lang="x-default">Bình hoa lam</rdf:li>
    <rdf:li xml:lang="en">Blue-and-white vase</rdf:li>
   </rdf:Alt></dc:title>
   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">{description}</rdf:li></rdf:Alt>
   </dc:description>
   <dc:creator><rdf:Seq><rdf:li>Nguyễn Văn A</rdf:li><rdf:li>Trần Thị B</rdf:li></rdf:Seq>
   </dc:creator>
   <dc:rights><rdf:Alt><rdf:li xml:lang="x-default">© Bảo tàng Cổ vật Cung đình Huế</rdf:li>
   </rdf:Alt></dc:rights>
   <dc:subject><rdf:Bag>{"".join(f"<rdf:li>{s}</rdf:li>" for s in subjects)}</rdf:Bag></dc:subject>
   <photoshop:Headline>Bình men lam thời Minh Mạng</photoshop:Headline>
   <photoshop:Credit>Bảo tàng Cổ vật Cung đình Huế</photoshop:Credit>
   <photoshop:Source>Kho 3</photoshop:Source>
   <Iptc4xmpCore:Location>Điện Long An</Iptc4xmpCore:Location>
   <Iptc4xmpCore:CountryCode>VN</Iptc4xmpCore:CountryCode>
   {extra}
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>""".encode()


def iim(datasets: list[tuple[int, int, bytes]]) -> bytes:
    return b"".join(struct.pack(">BBBH", 0x1C, r, n, len(v)) + v for r, n, v in datasets)


IIM_UTF8 = iim(
    [
        (1, 90, b"\x1b%G"),
        (2, 5, "Bình hoa".encode()),
        (2, 120, "Bình gốm\r\nmen lam".encode()),
        (2, 25, "gốm".encode()),
        (2, 25, b"porcelain"),
        (2, 80, "Nguyễn Văn A".encode()),
        (2, 116, "© Bảo tàng".encode()),
        (2, 90, "Huế".encode()),
        (2, 101, "Việt Nam".encode()),
        (2, 55, b"20240305"),
        (2, 60, b"143012+0700"),
    ]
)


def photoshop_irb(iim_block: bytes) -> bytes:
    """An image resource block holding the IPTC-NAA record (resource 0x0404)."""
    pad = b"\0" if len(iim_block) % 2 else b""
    return b"8BIM" + struct.pack(">HHI", 0x0404, 0, len(iim_block)) + iim_block + pad


def segment(marker: int, payload: bytes) -> bytes:
    return b"\xff" + bytes([marker]) + struct.pack(">H", len(payload) + 2) + payload


def with_segments(jpeg: bytes, *segments: bytes) -> bytes:
    """Insert APPn segments right after SOI, where writers put them."""
    return jpeg[:2] + b"".join(segments) + jpeg[2:]


def xmp_segment(packet: bytes) -> bytes:
    return segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0" + packet)


def iptc_segment(iim_block: bytes) -> bytes:
    return segment(0xED, b"Photoshop 3.0\0" + photoshop_irb(iim_block))


def jpeg_file(
    *, exif: Image.Exif | None = None, xmp: bytes | None = None, iim_block: bytes | None = None
) -> bytes:
    buffer = io.BytesIO()
    options: dict[str, object] = {"quality": 90, "dpi": (300, 300)}
    if exif is not None:
        options["exif"] = exif
    Image.fromarray(gradient_rgb(96, 64)).save(buffer, "JPEG", **options)
    extra = []
    if xmp is not None:
        extra.append(xmp_segment(xmp))
    if iim_block is not None:
        extra.append(iptc_segment(iim_block))
    return with_segments(buffer.getvalue(), *extra)


def tiff_file(
    *,
    exif: Image.Exif | None = None,
    xmp: bytes | None = None,
    iim_block: bytes | None = None,
    tags: dict[int, object] | None = None,
    size: tuple[int, int] = (96, 64),
    **options: object,
) -> bytes:
    info = TiffImagePlugin.ImageFileDirectory_v2()
    if exif is not None:
        for tag, value in exif.items():
            info[tag] = value
        info[0x8769] = dict(exif.get_ifd(0x8769))
        info[0x8825] = dict(exif.get_ifd(0x8825))
    if xmp is not None:
        info[700] = xmp
        info.tagtype[700] = 1
    if iim_block is not None:
        info[33723] = iim_block
        info.tagtype[33723] = 7
    info[282], info[283], info[296] = IFDRational(400), IFDRational(400), 3
    for tag, value in (tags or {}).items():
        info[tag] = value
    buffer = io.BytesIO()
    Image.fromarray(gradient_rgb(*size)).save(buffer, "TIFF", tiffinfo=info, **options)
    return buffer.getvalue()


def extract(data: bytes) -> ScanMetadata:
    image = Image.open(io.BytesIO(data))
    image.load()
    return extract_metadata(data, image)


def full_file(kind: str) -> bytes:
    exif, xmp = make_exif(), xmp_packet()
    if kind == "jpeg":
        return jpeg_file(exif=exif, xmp=xmp, iim_block=IIM_UTF8)
    return tiff_file(exif=exif, xmp=xmp, iim_block=IIM_UTF8)


# --- known values ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["jpeg", "tiff"])
def test_exif_fields_are_read(kind):
    meta = extract(full_file(kind))
    exif = meta.exif
    assert (exif.make, exif.model, exif.lens) == ("Phase One", "IQ4 150MP", "Schneider 80mm LS")
    assert exif.exposure_time == pytest.approx(1 / 125)
    assert (exif.f_number, exif.iso, exif.focal_length) == (8.0, 100, 80.0)
    assert exif.capture_datetime == "2024-03-05T14:30:12.25+07:00"
    assert exif.orientation == 6
    assert (exif.software, exif.artist) == ("Capture One 23", ARTIST)
    assert exif.copyright == "(c) Hue Museum of Royal Antiquities"
    assert exif.description == "Vase, front view"
    assert meta.warnings == []


@pytest.mark.parametrize("kind", ["jpeg", "tiff"])
def test_gps_and_serials_are_kept_apart_from_public_fields(kind):
    meta = extract(full_file(kind))
    gps = meta.restricted.gps
    assert gps is not None
    assert gps.latitude == pytest.approx(16 + 28 / 60 + 12.34 / 3600, abs=1e-9)
    assert gps.longitude == pytest.approx(107 + 35 / 60 + 56.78 / 3600, abs=1e-9)
    assert gps.altitude == pytest.approx(12.5)
    assert meta.restricted.body_serial == "IQ4-SN-12345"
    public = json.dumps(meta.public_dump())
    assert "restricted" not in public and "16.47" not in public and "IQ4-SN" not in public
    assert "gps" not in json.dumps(meta.model_dump(include={"exif", "xmp", "iptc"})).lower()


def test_southern_western_and_below_sea_level_positions_are_negative():
    exif = make_exif()
    gps = exif.get_ifd(0x8825)
    gps[1], gps[3], gps[5] = "S", "W", b"\x01"
    meta = extract(jpeg_file(exif=exif))
    assert meta.restricted.gps is not None
    assert meta.restricted.gps.latitude < 0 and meta.restricted.gps.longitude < 0
    assert meta.restricted.gps.altitude == pytest.approx(-12.5)


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


def test_technical_facts_of_a_jpeg():
    technical = extract(jpeg_file(exif=make_exif())).technical
    assert technical.format == "JPEG"
    assert technical.compression == "JPEG baseline" and technical.progressive is False
    assert (technical.width, technical.height, technical.bit_depth) == (96, 64, 8)
    assert (technical.pages, technical.tiled, technical.colour_mode) == (1, False, "RGB")
    assert (technical.dpi_x, technical.dpi_y, technical.resolution_unit) == (300, 300, "inch")


def test_technical_facts_of_a_tiled_multipage_lzw_tiff():
    buffer = io.BytesIO()
    with tifffile.TiffWriter(buffer) as writer:
        for seed in range(3):
            writer.write(
                gradient_rgb(256, 160, seed=seed),
                photometric="rgb",
                compression="lzw",
                tile=(64, 64),
                resolution=(600, 600),
                resolutionunit="inch",
            )
    technical = extract(buffer.getvalue()).technical
    assert (technical.format, technical.pages, technical.tiled) == ("TIFF", 3, True)
    assert (technical.compression, technical.compression_code) == ("LZW", 5)
    assert (technical.width, technical.height, technical.samples_per_pixel) == (256, 160, 3)
    assert technical.photometric == "RGB"
    assert technical.x_resolution == pytest.approx(600)
    assert technical.resolution_unit == "inch"


def test_icc_description_and_centimetre_resolution():
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    technical = extract(tiff_file(icc_profile=icc)).technical
    assert technical.icc_description and "sRGB" in technical.icc_description
    assert technical.resolution_unit == "cm"
    assert technical.dpi_x == pytest.approx(400 * 2.54)


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


def test_a_file_without_metadata_gives_empty_parts_and_no_warnings():
    buffer = io.BytesIO()
    Image.fromarray(gradient_rgb(64, 48)).save(buffer, "JPEG")
    meta = extract(buffer.getvalue())
    assert meta.exif.make is None and meta.xmp.title is None and meta.iptc.keywords == []
    assert meta.restricted.gps is None and meta.warnings == []


# --- ExifTool as the reference -----------------------------------------------------------------


@pytest.fixture(scope="module")
def exiftool() -> str:
    path = shutil.which("exiftool")
    if path is not None:
        return path
    reason = (
        "exiftool is not installed (apt-get install libimage-exiftool-perl), so metadata "
        "cannot be compared with the reference reader"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; under CI this comparison is required, not optional")
    pytest.skip(reason)


def read_with_exiftool(exiftool: str, path: Path) -> dict[str, object]:
    result = subprocess.run(
        [exiftool, "-j", "-n", "-G1", "-charset", "iptc=UTF8", str(path)],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return json.loads(result.stdout.decode("utf-8"))[0]


def exif_style(moment: str | None) -> str | None:
    """ISO 8601 as ExifTool prints dates: colons in the date, a space before the time."""
    if moment is None:
        return None
    date, _, time = moment.partition("T")
    return date.replace("-", ":") + (" " + time if time else "")


def as_list(value: object) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def as_text(value: object) -> str | None:
    return None if value is None else unicodedata.normalize("NFC", str(value).replace("\r\n", "\n"))


@pytest.mark.parametrize("kind", ["jpeg", "tiff"])
def test_fields_agree_with_exiftool(kind, exiftool, tmp_path):
    data = full_file(kind)
    path = tmp_path / f"scan.{'jpg' if kind == 'jpeg' else 'tif'}"
    path.write_bytes(data)
    ref = read_with_exiftool(exiftool, path)
    meta = extract(data)
    exif, xmp, iptc, technical = meta.exif, meta.xmp, meta.iptc, meta.technical

    pairs: list[tuple[str, object, object]] = [
        ("IFD0:Make", exif.make, ref.get("IFD0:Make")),
        ("IFD0:Model", exif.model, ref.get("IFD0:Model")),
        ("ExifIFD:LensModel", exif.lens, ref.get("ExifIFD:LensModel")),
        ("IFD0:Orientation", exif.orientation, ref.get("IFD0:Orientation")),
        ("IFD0:Software", exif.software, ref.get("IFD0:Software")),
        ("IFD0:Artist", exif.artist, ref.get("IFD0:Artist")),
        ("IFD0:Copyright", exif.copyright, ref.get("IFD0:Copyright")),
        ("IFD0:ImageDescription", exif.description, ref.get("IFD0:ImageDescription")),
        ("ExifIFD:ISO", exif.iso, ref.get("ExifIFD:ISO")),
        (
            "Composite:SubSecDateTimeOriginal",
            exif_style(exif.capture_datetime),
            ref.get("Composite:SubSecDateTimeOriginal"),
        ),
        ("XMP-dc:Title", xmp.title, ref.get("XMP-dc:Title")),
        ("XMP-dc:Title-en", xmp.languages["title"]["en"], ref.get("XMP-dc:Title-en")),
        ("XMP-dc:Description", xmp.description, ref.get("XMP-dc:Description")),
        ("XMP-dc:Creator", xmp.creator, as_list(ref.get("XMP-dc:Creator"))),
        ("XMP-dc:Rights", xmp.rights, ref.get("XMP-dc:Rights")),
        ("XMP-dc:Subject", xmp.subject, as_list(ref.get("XMP-dc:Subject"))),
        ("XMP-photoshop:Headline", xmp.headline, ref.get("XMP-photoshop:Headline")),
        ("XMP-photoshop:City", xmp.city, ref.get("XMP-photoshop:City")),
        ("XMP-photoshop:Country", xmp.country, ref.get("XMP-photoshop:Country")),
        ("XMP-photoshop:Credit", xmp.credit, ref.get("XMP-photoshop:Credit")),
        ("XMP-photoshop:Source", xmp.source, ref.get("XMP-photoshop:Source")),
        (
            "XMP-photoshop:DateCreated",
            exif_style(xmp.date_created),
            ref.get("XMP-photoshop:DateCreated"),
        ),
        ("XMP-iptcCore:Location", xmp.location, ref.get("XMP-iptcCore:Location")),
        ("XMP-iptcCore:CountryCode", xmp.country_code, ref.get("XMP-iptcCore:CountryCode")),
        ("XMP-xmp:CreatorTool", xmp.creator_tool, ref.get("XMP-xmp:CreatorTool")),
        ("XMP-xmp:CreateDate", exif_style(xmp.create_date), ref.get("XMP-xmp:CreateDate")),
        ("IPTC:ObjectName", iptc.object_name, as_text(ref.get("IPTC:ObjectName"))),
        ("IPTC:Caption-Abstract", iptc.caption, as_text(ref.get("IPTC:Caption-Abstract"))),
        ("IPTC:Keywords", iptc.keywords, as_list(ref.get("IPTC:Keywords"))),
        ("IPTC:By-line", iptc.by_line, as_list(ref.get("IPTC:By-line"))),
        ("IPTC:CopyrightNotice", iptc.copyright, as_text(ref.get("IPTC:CopyrightNotice"))),
        ("IPTC:City", iptc.city, as_text(ref.get("IPTC:City"))),
        (
            "IPTC:Country-PrimaryLocationName",
            iptc.country,
            as_text(ref.get("IPTC:Country-PrimaryLocationName")),
        ),
        (
            "Composite:DateTimeCreated",
            exif_style(iptc.date_created),
            ref.get("Composite:DateTimeCreated"),
        ),
    ]
    numbers: list[tuple[str, float | None, object]] = [
        ("ExifIFD:ExposureTime", exif.exposure_time, ref.get("ExifIFD:ExposureTime")),
        ("ExifIFD:FNumber", exif.f_number, ref.get("ExifIFD:FNumber")),
        ("ExifIFD:FocalLength", exif.focal_length, ref.get("ExifIFD:FocalLength")),
        ("Composite:GPSLatitude", _gps(meta, "latitude"), ref.get("Composite:GPSLatitude")),
        ("Composite:GPSLongitude", _gps(meta, "longitude"), ref.get("Composite:GPSLongitude")),
        ("Composite:GPSAltitude", _gps(meta, "altitude"), ref.get("Composite:GPSAltitude")),
    ]
    group = "File" if kind == "jpeg" else "IFD0"
    resolution_group = "JFIF" if kind == "jpeg" else "IFD0"
    pairs += [
        (f"{group}:ImageWidth", technical.width, ref.get(f"{group}:ImageWidth")),
        (f"{group}:ImageHeight", technical.height, ref.get(f"{group}:ImageHeight")),
        (
            f"{group}:BitsPerSample",
            technical.bit_depth,
            int(str(ref.get(f"{group}:BitsPerSample")).split()[0]),
        ),
    ]
    numbers += [
        (
            f"{resolution_group}:XResolution",
            technical.x_resolution,
            ref.get(f"{resolution_group}:XResolution"),
        ),
        (
            f"{resolution_group}:YResolution",
            technical.y_resolution,
            ref.get(f"{resolution_group}:YResolution"),
        ),
    ]
    unit_codes = {"none": 0, "inch": 1, "cm": 2} if kind == "jpeg" else {"inch": 2, "cm": 3}
    pairs.append(
        (
            f"{resolution_group}:ResolutionUnit",
            unit_codes[technical.resolution_unit or "none"],
            ref.get(f"{resolution_group}:ResolutionUnit"),
        )
    )
    if kind == "tiff":
        pairs.append(("IFD0:Compression", technical.compression_code, ref.get("IFD0:Compression")))

    disagreements = [f"{tag}: ours {ours!r}, ExifTool {theirs!r}" for tag, ours, theirs in pairs]
    disagreements = [d for (_, o, t), d in zip(pairs, disagreements, strict=True) if o != t]
    for tag, ours, theirs in numbers:
        if theirs is None or ours is None or abs(ours - float(theirs)) > 1e-6:  # type: ignore[arg-type]
            disagreements.append(f"{tag}: ours {ours!r}, ExifTool {theirs!r}")
    assert not disagreements, "\n".join(disagreements)


def _gps(meta: ScanMetadata, name: str) -> float | None:
    gps = meta.restricted.gps
    return None if gps is None else getattr(gps, name)


def test_iptc_written_by_exiftool_is_read_alike(exiftool, tmp_path):
    path = tmp_path / "scan.jpg"
    path.write_bytes(jpeg_file())
    subprocess.run(
        [
            exiftool,
            "-overwrite_original",
            "-codedcharacterset=utf8",
            "-IPTC:Keywords=gốm sứ",
            "-IPTC:Keywords=pháp lam",
            "-IPTC:ObjectName=Đĩa pháp lam",
            "-IPTC:By-line=Lê Văn C",
            "-IPTC:City=Huế",
            str(path),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    ref = read_with_exiftool(exiftool, path)
    iptc = extract(path.read_bytes()).iptc
    assert iptc.keywords == as_list(ref["IPTC:Keywords"]) == ["gốm sứ", "pháp lam"]
    assert iptc.object_name == ref["IPTC:ObjectName"] == "Đĩa pháp lam"
    assert iptc.by_line == as_list(ref["IPTC:By-line"])
    assert iptc.city == ref["IPTC:City"]


# --- hostile and broken input ------------------------------------------------------------------


def exif_block(body: bytes) -> bytes:
    return segment(0xE1, b"Exif\0\0" + body)


def plain_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(gradient_rgb(64, 48)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_truncated_exif_gives_warnings_not_errors():
    whole = make_exif().tobytes()[6:]  # the TIFF structure after "Exif\0\0"
    for cut in (10, 30, len(whole) // 2, len(whole) - 20):
        meta = extract(with_segments(plain_jpeg(), exif_block(whole[:cut])))
        assert any("EXIF" in warning for warning in meta.warnings), cut
        assert meta.technical.width == 64


def test_exif_offsets_past_the_end_are_refused():
    # An IFD whose Make value points 2 GB away, and an Exif IFD pointer past the end.
    entries = struct.pack("<HHII", 0x010F, 2, 100, 0x7FFFFFF0)
    entries += struct.pack("<HHII", 0x8769, 4, 1, 0x00FFFFFF)
    body = b"II*\0" + struct.pack("<I", 8) + struct.pack("<H", 2) + entries + b"\0\0\0\0"
    meta = extract(with_segments(plain_jpeg(), exif_block(body)))
    assert meta.exif.make is None
    assert any("1 tag(s) of the IFD0 point past the end" in w for w in meta.warnings)
    assert any("the Exif IFD starts at byte 16,777,215, past the end" in w for w in meta.warnings)


def test_exif_header_pointing_nowhere_and_ifd_loops_end():
    body = b"MM\0*" + struct.pack(">I", 0xFFFFFF00)
    assert extract(with_segments(plain_jpeg(), exif_block(body))).warnings
    # A TIFF whose page chain points back at itself: counted once, with a warning.
    data = bytearray(tiff_file())
    first = struct.unpack_from("<I", data, 4)[0]
    count = struct.unpack_from("<H", data, first)[0]
    struct.pack_into("<I", data, first + 2 + 12 * count, first)
    meta = extract(bytes(data))
    assert meta.technical.pages == 1
    assert any("chain of pages" in warning for warning in meta.warnings)


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


def test_random_damage_never_raises():
    good = full_file("jpeg")
    image = Image.open(io.BytesIO(good))
    image.load()
    rng = np.random.default_rng(7)
    header_end = good.find(b"\xff\xda")
    for _ in range(300):
        damaged = bytearray(good)
        for position in rng.integers(2, header_end, size=int(rng.integers(1, 12))):
            damaged[position] = int(rng.integers(0, 256))
        meta = extract_metadata(bytes(damaged), image)
        ScanMetadata.model_validate(meta.model_dump())
    for cut in range(0, header_end, 97):
        extract_metadata(good[:cut], image)


def test_random_damage_in_a_tiff_never_raises():
    good = full_file("tiff")
    image = Image.open(io.BytesIO(good))
    image.load()
    rng = np.random.default_rng(11)
    for _ in range(300):
        damaged = bytearray(good)
        for position in rng.integers(0, 1024, size=int(rng.integers(1, 12))):
            damaged[position] = int(rng.integers(0, 256))
        extract_metadata(bytes(damaged), image)
    extract_metadata(os.urandom(4096), image)
