"""Index each stored scan by capture session: an empty key under sessions/index/ naming its
group (camera or folder, hashed), shot time and whether it shows the chart; no scoring here."""

from __future__ import annotations

from datetime import datetime

from pipeline.core.layout import session_index_key
from pipeline.core.records import ScanRecord
from pipeline.core.session import ReferenceScore, to_group, to_moment, to_reference_score
from pipeline.services.context import Context

TARGET_VIEW = "target"


def group_of(record: ScanRecord, folder: str) -> tuple[str, datetime | None]:
    """The session group (hashed camera or folder) of a scan record, and its moment."""
    meta = record.metadata
    exif = meta.exif if meta else None
    serial = meta.restricted.body_serial if meta and meta.restricted else None
    return to_group(
        make=exif.make if exif else None,
        model=exif.model if exif else None,
        serial=serial,
        moment=to_moment(exif.capture_datetime if exif else None),
        folder=folder,
    )


def shows_reference(record: ScanRecord) -> bool:
    """A chart shot: its view is `target`, or a chart was found in it."""
    return record.view == TARGET_VIEW or reference_score(record) is not None


def reference_score(record: ScanRecord) -> ReferenceScore | None:
    """The score a chart shot gives its session; None when it shows no measured chart."""
    return to_reference_score(record.chart)


def index_scan(ctx: Context, record: ScanRecord, folder: str) -> str:
    """Leave the scan's (empty) index key; return its group. Idempotent."""
    group, moment = group_of(record, folder)
    key = session_index_key(
        group, moment, record.object, record.scan_id, reference=shows_reference(record)
    )
    ctx.store.put_small(key, b"", content_type="application/octet-stream")
    return group


def camera_label(record: ScanRecord) -> str | None:
    """'Canon EOS 5D Mark IV' (the model alone when it names its maker), never the serial."""
    exif = record.metadata.exif if record.metadata else None
    if exif is None:
        return None
    make, model = (exif.make or "").strip(), (exif.model or "").strip()
    if make and model.lower().startswith(make.lower()):
        make = ""
    return " ".join(p for p in (make, model) if p) or None
