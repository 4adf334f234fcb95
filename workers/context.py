"""This worker process's dependencies, built once per process; never carried across a fork."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property

from config.settings import SohoaSettings
from pipeline.adapters.redis_batch import BatchState
from pipeline.adapters.redis_broker import DeliveryCounter
from pipeline.adapters.redis_notify import RecordStream
from pipeline.adapters.redis_session import SessionMarks
from pipeline.adapters.sqlite_index import SqliteIndex
from pipeline.services.context import Context
from pipeline.services.handoff import StagingSender, with_handoff
from workers.app import app, bulk_queue, interactive_queue, settings_of
from workers.client import ScanProducer


@dataclass
class WorkerContext:
    """What tasks and signal handlers use: each dependency built on first use."""

    settings: SohoaSettings
    pid: int

    @cached_property
    def context(self) -> Context:
        """The services' context: settings, processing profile, object store."""
        return Context.from_settings(self.settings)

    @cached_property
    def deliveries(self) -> DeliveryCounter:
        return DeliveryCounter(self.settings.redis_url, prefix=self.settings.queue_prefix)

    @cached_property
    def index(self) -> SqliteIndex:
        """This machine's catalogue index (a read model: rebuildable from the bucket)."""
        return SqliteIndex(self.settings.catalogue_index_path)

    @cached_property
    def stream(self) -> RecordStream:
        """The writer of 'record changed' notes that API replicas follow."""
        return RecordStream(self.settings.redis_url, prefix=self.settings.queue_prefix)

    @cached_property
    def batch_state(self) -> BatchState:
        """Batch progress and today's figures in Redis."""
        return BatchState(self.settings.redis_url, prefix=self.settings.queue_prefix)

    @cached_property
    def session_marks(self) -> SessionMarks:
        """Which session groups wait to be scored, and who scores one now."""
        return SessionMarks(self.settings.redis_url, prefix=self.settings.queue_prefix)

    @cached_property
    def producer(self) -> ScanProducer | StagingSender:
        """How the schedule's tasks send scans: on the bulk queue, as a batch does (staging
        each file first with SOHOA_HANDOFF=stage)."""
        sender: ScanProducer | StagingSender = with_handoff(self.context, ScanProducer(app))
        return sender

    @property
    def interactive_queue(self) -> str:
        return interactive_queue(self.settings)

    @property
    def queues(self) -> list[str]:
        return [interactive_queue(self.settings), bulk_queue(self.settings)]


_current: WorkerContext | None = None


def worker_context() -> WorkerContext:
    """This process's context. A prefork child is forked from the worker's main process after
    that may have built its own: boto3 clients, Redis sockets and SQLite connections must not
    cross a fork, so a context belongs to the process that built it and a child builds anew."""
    global _current
    if _current is None or _current.pid != os.getpid():
        _current = WorkerContext(settings_of(app), os.getpid())
    return _current
