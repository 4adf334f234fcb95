"""Thin Celery tasks: validate the payload, call one service, let the error class decide."""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any

import cv2
from celery import Task
from celery.signals import worker_process_init

from pipeline.adapters.redis_broker import DeliveryCounter
from pipeline.adapters.sqlite_index import SqliteIndex
from pipeline.errors import ConfigurationError, RetryableError, SohoaError
from pipeline.services import catalogue, ingest, publish
from pipeline.services.context import Context
from pipeline.services.models import ProcessScanTask, PublishRecordTask, ScanResult
from workers.app import app, interactive_queue, settings_of

log = logging.getLogger(__name__)

_context: Context | None = None
_index: SqliteIndex | None = None
_deliveries: DeliveryCounter | None = None


@worker_process_init.connect
def _forget_parent_context(**_: Any) -> None:
    # boto3 clients and sockets must not cross a fork: each child builds its own.
    global _context, _index, _deliveries
    _context = None
    _index = None
    _deliveries = None
    # One worker child per core already: OpenCV's own threads would only fight over them.
    cv2.setNumThreads(1)


def get_context() -> Context:
    global _context
    if _context is None:
        _context = Context.from_settings(settings_of(app))
    return _context


def get_deliveries() -> DeliveryCounter:
    global _deliveries
    if _deliveries is None:
        settings = settings_of(app)
        _deliveries = DeliveryCounter(settings.redis_url, prefix=settings.queue_prefix)
    return _deliveries


def get_index() -> SqliteIndex:
    """This machine's catalogue index (a read model: rebuildable from the bucket)."""
    global _index
    if _index is None:
        _index = SqliteIndex(settings_of(app).catalogue_index_path)
    return _index


def backoff_seconds(retries: int, *, cap: int) -> float:
    """Exponential backoff with full jitter, so retries of many tasks do not arrive together."""
    return random.uniform(1.0, float(min(cap, 2 ** (retries + 1))))


def _retry_or_give_up(task: Task, exc: RetryableError) -> None:
    settings = settings_of(app)
    if task.request.retries >= settings.task_max_retries:
        return
    countdown = backoff_seconds(task.request.retries, cap=settings.retry_backoff_max)
    log.warning("retrying %s in %.1f s: %s", task.name, countdown, exc.message)
    raise task.retry(exc=exc, countdown=countdown, max_retries=settings.task_max_retries)


def _failed(payload: ProcessScanTask, exc: SohoaError, note: str) -> dict[str, Any]:
    return ScanResult(
        status="failed",
        path=payload.path,
        name=Path(payload.path).name,
        code=exc.code,
        message=f"{exc.message} {note}",
    ).model_dump()


@app.task(name="sohoa.process_scan", bind=True)
def process_scan(self: Task, payload: dict[str, Any]) -> dict[str, Any]:
    """Store one scan (or quarantine it), then ask for its artefact's record to be published."""
    task = ProcessScanTask.model_validate(payload)
    settings = settings_of(app)
    attempt = (str(self.request.id), int(self.request.retries or 0))
    try:
        delivered = get_deliveries().count(*attempt)
        if delivered > settings.max_deliveries:
            # The earlier deliveries of this very attempt all died with their worker.
            return ingest.quarantine_worker_lost(get_context(), task, delivered - 1).model_dump()
        result = ingest.process_scan(get_context(), task)
    except RetryableError as exc:
        _retry_or_give_up(self, exc)
        return _failed(
            task, exc, "Gave up after retries; the source file is untouched: run the ingest again."
        )
    except ConfigurationError as exc:
        log.error("configuration error: %s", exc.message)
        return _failed(task, exc, "The source file is untouched.")
    finally:
        # Reached only when this process lives to finish the attempt, whatever its outcome.
        get_deliveries().forget(*attempt)
    if result.status == "stored" and result.object:
        sent = publish_record.apply_async(
            kwargs={"payload": {"object": result.object}},
            queue=interactive_queue(settings_of(app)),
        )
        result = result.model_copy(update={"publish_task_id": sent.id})
    return result.model_dump()


@app.task(name="sohoa.publish_record", bind=True)
def publish_record(self: Task, payload: dict[str, Any]) -> dict[str, Any]:
    """Rebuild one artefact's catalogue record from the bucket (idempotent)."""
    task = PublishRecordTask.model_validate(payload)
    try:
        result = publish.publish_record(get_context(), task.object)
    except RetryableError as exc:
        _retry_or_give_up(self, exc)
        raise
    # Its own task, so that a busy index retries the indexing, not the publishing.
    index_record.apply_async(kwargs={"payload": payload}, queue=interactive_queue(settings_of(app)))
    return result.model_dump()


@app.task(name="sohoa.index_record", bind=True)
def index_record(self: Task, payload: dict[str, Any]) -> dict[str, Any]:
    """Bring one artefact's entry in the catalogue index in step with its record."""
    task = PublishRecordTask.model_validate(payload)
    try:
        return catalogue.index_object(get_context(), get_index(), task.object).model_dump()
    except RetryableError as exc:
        _retry_or_give_up(self, exc)
        raise
