"""Build the adapters an edge needs from settings (store, index, batch state), so that the CLI
and the API never construct one themselves; holds no logic."""

from __future__ import annotations

from config.settings import SohoaSettings
from pipeline.adapters.redis_batch import BatchState
from pipeline.adapters.redis_notify import RecordStream
from pipeline.adapters.s3_store import S3Store
from pipeline.adapters.sqlite_index import SqliteIndex


def open_store(settings: SohoaSettings) -> S3Store:
    return S3Store.from_settings(settings)


def open_index(settings: SohoaSettings) -> SqliteIndex:
    """The catalogue index of this machine (a read model, rebuilt from the bucket at will)."""
    return SqliteIndex(settings.catalogue_index_path)


def open_batch_state(settings: SohoaSettings) -> BatchState:
    """The batches' progress in Redis, under this installation's prefix."""
    return BatchState(settings.redis_url, prefix=settings.queue_prefix)


def open_record_stream(settings: SohoaSettings) -> RecordStream:
    """The 'record changed' notes that API replicas follow."""
    return RecordStream(settings.redis_url, prefix=settings.queue_prefix)
