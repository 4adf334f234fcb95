"""Camera facts and GPS from EXIF IFDs; GPS and serial numbers go to the restricted part."""

from __future__ import annotations

import math
import re
from datetime import datetime

from pipeline.core.metadata.container import Found
from pipeline.core.metadata.model import ExifMetadata, GpsPosition, RestrictedMetadata
from pipeline.core.metadata.text import Notes
from pipeline.core.metadata.tiff import BadTiff, Entry, TiffReader


def read_exif(found: Found, notes: Notes) -> tuple[ExifMetadata, RestrictedMetadata]:
    """Camera facts from IFD0 and the Exif IFD; GPS and serial numbers as restricted."""
    if found.tiff is not None:
        reader, ifd0 = found.tiff, found.ifd0
    else:
        assert found.exif is not None
        try:
            reader = TiffReader(found.exif, "EXIF", notes)
        except BadTiff:
            notes.add("EXIF: the block does not start with a TIFF header; it is ignored.")
            return ExifMetadata(), RestrictedMetadata()
        ifd0 = reader.read_ifd(reader.first, "IFD0")
    sub: dict[int, Entry] = {}
    gps: dict[int, Entry] = {}
    if 34665 in ifd0:
        sub = _sub_ifd(reader, ifd0[34665], "Exif IFD")
    if 34853 in ifd0:
        gps = _sub_ifd(reader, ifd0[34853], "GPS IFD")
    text = reader.text
    orientation = reader.first_int(ifd0.get(274))
    if orientation is not None and not 1 <= orientation <= 8:
        notes.add(f"EXIF: orientation {orientation} is not a valid value (1–8); it is ignored.")
        orientation = None
    iso = reader.first_int(sub.get(0x8827))
    exif = ExifMetadata(
        make=text(ifd0.get(271), "exif.make"),
        model=text(ifd0.get(272), "exif.model"),
        lens=text(sub.get(0xA434), "exif.lens"),
        exposure_time=_to_finite(reader.first_number(sub.get(0x829A))),
        f_number=_to_finite(reader.first_number(sub.get(0x829D))),
        iso=iso if iso else None,
        focal_length=_to_finite(reader.first_number(sub.get(0x920A))),
        capture_datetime=_capture_datetime(reader, sub, notes),
        orientation=orientation,
        software=text(ifd0.get(305), "exif.software"),
        artist=text(ifd0.get(315), "exif.artist"),
        copyright=text(ifd0.get(33432), "exif.copyright"),
        description=text(ifd0.get(270), "exif.description"),
    )
    restricted = RestrictedMetadata(
        gps=_gps_position(reader, gps, notes) if gps else None,
        body_serial=text(sub.get(0xA431), "restricted.body_serial"),
        lens_serial=text(sub.get(0xA435), "restricted.lens_serial"),
        camera_owner=text(sub.get(0xA430), "restricted.camera_owner"),
    )
    return exif, restricted


def _sub_ifd(reader: TiffReader, entry: Entry, name: str) -> dict[int, Entry]:
    offset = reader.first_int(entry)
    if offset is None:
        return {}
    return reader.read_ifd(offset, name)


def _to_finite(value: float | None) -> float | None:
    if value is None or not math.isfinite(value) or value < 0:
        return None
    return round(value, 10)


_EXIF_DATETIME = re.compile(r"(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_EXIF_OFFSET = re.compile(r"[+-]\d{2}:\d{2}")


def _capture_datetime(reader: TiffReader, sub: dict[int, Entry], notes: Notes) -> str | None:
    raw = reader.text(sub.get(0x9003), "exif.capture_datetime")
    if raw is None:
        return None
    match = _EXIF_DATETIME.fullmatch(raw.strip())
    try:
        year, month, day, hour, minute, second = (
            (int(p) for p in match.groups()) if match else [0] * 6
        )
        moment = datetime(year, month, day, hour, minute, second) if match else None
    except ValueError:
        moment = None
    if moment is None:
        notes.add(f"EXIF: DateTimeOriginal {raw[:40]!r} is not a valid date and time; ignored.")
        return None
    text = moment.isoformat()
    subsec = reader.text(sub.get(0x9291), "exif.subsec")
    if subsec and subsec.strip().isdigit():
        text += "." + subsec.strip()
    offset = reader.text(sub.get(0x9011), "exif.offset")
    if offset:
        if _EXIF_OFFSET.fullmatch(offset.strip()):
            text += offset.strip()
        else:
            notes.add(f"EXIF: OffsetTimeOriginal {offset[:20]!r} is not ±HH:MM; ignored.")
    return text


def _gps_position(reader: TiffReader, gps: dict[int, Entry], notes: Notes) -> GpsPosition | None:
    latitude = _from_dms(reader.numbers(gps.get(2), 3))
    longitude = _from_dms(reader.numbers(gps.get(4), 3))
    if latitude is None or longitude is None:
        if 2 in gps or 4 in gps:
            notes.add("EXIF: the GPS position is incomplete or damaged; it is ignored.")
        return None
    if (reader.text(gps.get(1), "gps") or "N").upper().startswith("S"):
        latitude = -latitude
    if (reader.text(gps.get(3), "gps") or "E").upper().startswith("W"):
        longitude = -longitude
    altitude = _to_finite(reader.first_number(gps.get(6)))
    if altitude is not None and reader.raw(gps.get(5), 1) == b"\x01":
        altitude = -altitude
    return make_position(latitude, longitude, altitude, notes)


def _from_dms(values: list[float | None]) -> float | None:
    if not values or any(v is None or not math.isfinite(v) or v < 0 for v in values):
        return None
    parts = [v for v in values if v is not None]
    return float(sum(part / 60**index for index, part in enumerate(parts[:3])))


def make_position(
    latitude: float, longitude: float, altitude: float | None, notes: Notes
) -> GpsPosition | None:
    """A position rounded for the record, or None (noted) when it lies off the globe."""
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        notes.add("GPS: the position lies outside the globe's coordinates; it is ignored.")
        return None
    return GpsPosition(
        latitude=round(latitude, 9),
        longitude=round(longitude, 9),
        altitude=None if altitude is None else round(altitude, 3),
    )
