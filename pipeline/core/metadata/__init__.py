"""Read a scan's embedded EXIF, GPS, XMP and IPTC from its bytes; never decodes pixels or raises.

Every container is walked by a bounded parser written for untrusted input: offsets are checked
against the data before they are followed, loops and counts are capped, XMP goes through
defusedxml, and every string is normalised and length-capped. A problem becomes a sentence in
`ScanMetadata.warnings`; the scan itself was already decoded (and judged) by `imaging`.
GPS and serial numbers go to `ScanMetadata.restricted`, which must never reach public output.
"""

from pipeline.core.metadata.model import (
    ExifMetadata,
    GpsPosition,
    IptcMetadata,
    RestrictedMetadata,
    ScanMetadata,
    TechnicalMetadata,
    XmpMetadata,
)
from pipeline.core.metadata.reader import extract_metadata
from pipeline.core.metadata.text import MAX_ITEMS, MAX_TEXT, MAX_WARNINGS

__all__ = [
    "MAX_ITEMS",
    "MAX_TEXT",
    "MAX_WARNINGS",
    "ExifMetadata",
    "GpsPosition",
    "IptcMetadata",
    "RestrictedMetadata",
    "ScanMetadata",
    "TechnicalMetadata",
    "XmpMetadata",
    "extract_metadata",
]
