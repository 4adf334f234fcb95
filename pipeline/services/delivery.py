"""One delivered process-scan task taken to its outcome; no Celery type (the worker retries)."""

from __future__ import annotations

import logging
from pathlib import Path

from pipeline.adapters.redis_broker import DeliveryCounter
from pipeline.errors import ConfigurationError, SohoaError, TimeLimitError
from pipeline.sandbox import Interrupted
from pipeline.services import ingest
from pipeline.services.context import Context
from pipeline.services.models import ProcessScanTask, ScanResult

log = logging.getLogger(__name__)


def process_delivery(
    ctx: Context,
    deliveries: DeliveryCounter,
    task: ProcessScanTask,
    *,
    task_id: str,
    attempt: int,
) -> ScanResult:
    """Store (or quarantine) the scan of one delivered attempt of a task.

    Redis and Celery keep no redelivery count, so a file whose decoding kills its worker would
    come back forever: each delivery of (task_id, attempt) is counted, and one past
    settings.max_deliveries is quarantined as WORKER_LOST without being touched. An
    `Interrupted` (the worker's soft time limit) while storing is a TimeLimitError; it and
    every other RetryableError propagate for the caller to retry. A ConfigurationError ends
    in a failed result: the deployment is wrong, the file untouched.
    """
    try:
        delivered = deliveries.count(task_id, attempt)
        if delivered > ctx.settings.max_deliveries:
            # The earlier deliveries of this very attempt all died with their worker.
            return ingest.quarantine_worker_lost(ctx, task, delivered - 1)
        return _ingest(ctx, task)
    except ConfigurationError as exc:
        log.error("configuration error: %s", exc.message)
        return _failed_result(task, exc, "The source file is untouched.")
    finally:
        # Reached only when this process lives to finish the attempt, whatever its outcome.
        deliveries.forget(task_id, attempt)


def given_up_result(task: ProcessScanTask, exc: SohoaError) -> ScanResult:
    """The outcome of a scan whose retryable error outlasted every retry."""
    note = "Gave up after retries; the source file is untouched: run the ingest again."
    return _failed_result(task, exc, note)


def _failed_result(task: ProcessScanTask, exc: SohoaError, note: str) -> ScanResult:
    return ScanResult(
        status="failed",
        path=task.path,
        name=Path(task.path).name,
        code=exc.code,
        message=f"{exc.message} {note}",
    )


def _ingest(ctx: Context, task: ProcessScanTask) -> ScanResult:
    try:
        return ingest.process_scan(ctx, task)
    except Interrupted:
        # Decoding meets its own deadline first (settings.decode_deadline, DECODE_TIMEOUT).
        name = Path(task.path).name
        raise TimeLimitError(
            f"File {name!r} was still being stored when the task's soft time limit "
            f"({ctx.settings.task_soft_time_limit:g} s) passed, most likely waiting on storage; "
            "it is tried again. If this repeats, check storage (`sohoa services status`) or "
            "raise SOHOA_TASK_SOFT_TIME_LIMIT.",
            file=name,
        ) from None
