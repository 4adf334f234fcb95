"""Metadata written the way cameras and DAM software do, for the tests to read back; no checks."""

from __future__ import annotations

import io
import struct

from PIL import Image, TiffImagePlugin
from PIL.TiffImagePlugin import IFDRational

from pipeline.core.metadata import ScanMetadata, extract_metadata
from tests.unit.images import gradient_rgb

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


def exif_block(body: bytes) -> bytes:
    return segment(0xE1, b"Exif\0\0" + body)


def plain_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(gradient_rgb(64, 48)).save(buffer, "JPEG")
    return buffer.getvalue()
