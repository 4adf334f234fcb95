"""Read every metadata part of a scan, each guarded: one broken block hides nothing else."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from PIL import Image

from pipeline.core.decode_check import plain_text
from pipeline.core.icc import IccProfile, read_icc
from pipeline.core.metadata.container import Found, from_decoder, scan_container
from pipeline.core.metadata.exif import read_exif
from pipeline.core.metadata.iptc import read_iptc
from pipeline.core.metadata.model import (
    ExifMetadata,
    GpsPosition,
    IptcMetadata,
    RestrictedMetadata,
    ScanMetadata,
    TechnicalMetadata,
    XmpMetadata,
)
from pipeline.core.metadata.technical import build_technical
from pipeline.core.metadata.text import Notes
from pipeline.core.metadata.xmp import read_xmp

_T = TypeVar("_T")


def extract_metadata(
    data: bytes,
    image: Image.Image,
    *,
    icc: IccProfile | None = None,
    size: tuple[int, int] | None = None,
    bit_depth: int | None = None,
) -> ScanMetadata:
    """Read the metadata of a scan already decoded as `image` (its first page, loaded).

    `icc`: the embedded profile as decoding parsed it (`DecodedScan.icc`), whose problems
    decoding reported already; without it, the profile in `image.info` is parsed (and judged)
    here. `size` and `bit_depth`: the stored master's, as decoding read them from the header,
    so every report of them says the same (decoders turn and widen pixels).

    Never raises on a damaged or hostile file: what cannot be read is left empty and explained
    in `warnings`. Pixels are not decoded again; only headers and metadata blocks are parsed.
    """
    notes = Notes()
    found = Found()
    exif = ExifMetadata()
    xmp = XmpMetadata()
    iptc = IptcMetadata()
    restricted = RestrictedMetadata()
    xmp_gps: GpsPosition | None = None

    # Each part is guarded on its own: metadata is optional, and a parser slip on one hostile
    # block must neither hide the other parts nor quarantine a scan that decoded fine.
    _run_guarded(notes, "file structure", lambda: scan_container(data, found, notes))
    if found.format is None and image.format in ("AVIF", "HEIF"):
        from_decoder(found, image)
    if size is not None:
        found.width, found.height = size
    if bit_depth is not None:
        found.bit_depth = bit_depth
    # A profile decoding parsed was judged there: an unreadable one is one warning, not two.
    icc_notes = notes if icc is None else Notes()
    technical = _run_guarded(
        notes,
        "technical",
        lambda: build_technical(
            found, image, icc or read_icc(image.info.get("icc_profile")), notes, icc_notes
        ),
    )
    if found.exif is not None or found.tiff is not None:
        parts = _run_guarded(notes, "EXIF", lambda: read_exif(found, notes))
        if parts:
            exif, restricted = parts
    if found.xmp:
        xmp_parts = _run_guarded(notes, "XMP", lambda: read_xmp(found, notes))
        if xmp_parts:
            xmp, xmp_gps = xmp_parts
    if found.iim is not None or found.photoshop is not None:
        iptc = _run_guarded(notes, "IPTC", lambda: read_iptc(found, notes)) or iptc
    if restricted.gps is None and xmp_gps is not None:
        restricted = restricted.model_copy(update={"gps": xmp_gps})
    return ScanMetadata(
        technical=technical or TechnicalMetadata(colour_mode=image.mode),
        exif=exif,
        xmp=xmp,
        iptc=iptc,
        restricted=restricted,
        warnings=notes.result(),
    )


def _run_guarded(notes: Notes, part: str, run: Callable[[], _T]) -> _T | None:
    try:
        return run()
    except Exception as exc:  # see extract_metadata: never raise on a broken file
        reason = f"{type(exc).__name__}: {plain_text(str(exc))}"
        notes.add(f"{part} could not be read ({reason}); skipped.")
        return None
