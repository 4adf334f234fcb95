"""Remake a scan's access derivatives and tiles with its session's colour correction, from its
master (read back and checked against its SHA-256, never changed): `session.correct = true`;
and measure what a correction delivers on a session's chart shot, storing nothing."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pipeline.core.fixity import digest_bytes
from pipeline.core.imaging import decode_scan, to_upright_pixels
from pipeline.core.layout import iiif_base_key, scan_record_key
from pipeline.core.records import ScanRecord
from pipeline.core.scan import read_scan_chart
from pipeline.core.session import SessionRecord
from pipeline.core.session.access import make_access
from pipeline.errors import RetryableError
from pipeline.services.context import Context
from pipeline.services.ingest import store_derivatives, store_tiles

log = logging.getLogger(__name__)


def remake_access(
    ctx: Context, record: ScanRecord, matrix: list[list[float]] | None
) -> ScanRecord | None:
    """The record with its new derivatives (and tiles), `matrix` applied (None: as shot);
    None when its master cannot be read whole just now (the next scoring tries again)."""
    got = ctx.store.get_bytes(record.master.key, bucket=record.master.bucket)
    if got is None or digest_bytes(got[0]).sha256 != record.scan_id:
        log.error("correction: master of %s missing or changed; left as it was", record.scan_id)
        return None
    iiif_id = None
    if record.iiif is not None:
        iiif_id = f"{ctx.settings.public_base_url.rstrip('/')}/{iiif_base_key(record.scan_id)}"
    derivatives, tiles = make_access(
        got[0],
        name=record.source_names[0],
        profile=ctx.profile,
        iiif_id=iiif_id,
        matrix=matrix,
        chart=record.chart,
    )
    refs = store_derivatives(ctx, record.object, record.scan_id, derivatives)
    iiif = store_tiles(ctx, tiles, record.scan_id) if tiles is not None else record.iiif
    return record.model_copy(update={"derivatives": refs, "iiif": iiif})


def try_remake_access(
    ctx: Context, record: ScanRecord, matrix: list[list[float]] | None
) -> ScanRecord | None:
    try:
        return remake_access(ctx, record, matrix)
    except RetryableError as exc:
        log.warning("correction of %s postponed: %s", record.scan_id, exc)
        return None


@dataclass(frozen=True)
class CorrectionCheck:
    """A session's chart shot, its access image remade with the session's correction and its
    chart measured again there: what `session.correct = true` delivers, not what the fit
    promises (the access image is 8-bit sRGB JPEG; colours outside sRGB stay clipped)."""

    scan_id: str
    object: str
    before: float
    before_level: int
    after: float | None  # None: the chart could not be measured in the remade image
    after_level: int | None


def check_correction(ctx: Context, session: SessionRecord) -> CorrectionCheck | None:
    """Measure a scored session's correction on its chart shot, storing nothing; None when the
    session has no correction or its chart shot's master cannot be read whole just now."""
    score = session.reference
    if score is None or score.matrix is None or not session.reference_scan:
        return None
    found = ctx.store.read_json(
        scan_record_key(str(session.reference_object), session.reference_scan)
    )
    if found is None:
        return None
    record = ScanRecord.model_validate(found[0])
    got = ctx.store.get_bytes(record.master.key, bucket=record.master.bucket)
    if got is None or digest_bytes(got[0]).sha256 != record.scan_id:
        return None
    # The whole frame (the chart kept in view), as the workers would remake it.
    whole = ctx.profile.model_copy(
        update={"session": ctx.profile.session.model_copy(update={"exclude_chart": False})}
    )
    derivatives, _ = make_access(
        got[0], name=record.source_names[0], profile=whole, iiif_id=None, matrix=score.matrix
    )
    access = next(d for d in derivatives if d.name == "access")
    decoded = decode_scan(access.data, name="access.jpg", max_pixels=whole.limits.max_pixels)
    chart = read_scan_chart(decoded, to_upright_pixels(decoded)[0], whole)
    measured = chart.measurement
    return CorrectionCheck(
        scan_id=record.scan_id,
        object=record.object,
        before=score.mean_delta_e,
        before_level=score.level,
        after=None if measured is None else round(measured.mean_delta_e, 3),
        after_level=chart.level,
    )
