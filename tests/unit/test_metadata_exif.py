"""EXIF: the values the tests write, GPS kept restricted, and truncated or looping IFDs."""

from __future__ import annotations

import json
import struct

import pytest

from tests.unit.metadata_writer import (
    ARTIST,
    exif_block,
    extract,
    full_file,
    jpeg_file,
    make_exif,
    plain_jpeg,
    tiff_file,
    with_segments,
)

# Pillow itself warns about the damage when the test opens the file; that is not under test.
pytestmark = pytest.mark.filterwarnings("ignore:.*(EXIF|Truncated|Tag data).*:UserWarning")


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


# --- hostile and broken input ------------------------------------------------------------------


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
