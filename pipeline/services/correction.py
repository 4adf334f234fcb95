"""Remake a scan's access derivatives and tiles with its session's colour correction, from its
master (read back and checked against its SHA-256, never changed): `session.correct = true`."""

from __future__ import annotations

import logging

from pipeline.core.fixity import digest_bytes
from pipeline.core.layout import iiif_base_key
from pipeline.core.records import ScanRecord
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
