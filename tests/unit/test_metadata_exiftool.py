"""Embedded metadata read alike by us and by ExifTool, the reference reader."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest

from pipeline.core.metadata import ScanMetadata
from tests.unit.metadata_writer import extract, full_file, jpeg_file

# Pillow itself warns about the damage when the test opens the file; that is not under test.
pytestmark = pytest.mark.filterwarnings("ignore:.*(EXIF|Truncated|Tag data).*:UserWarning")


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
