"""Thin Celery tasks: validate the payload, call one service, let the error class decide."""

from __future__ import annotations

import logging
import os
import random
import re
from pathlib import Path
from typing import Any

import cv2
from billiard.exceptions import TimeLimitExceeded
from celery import Task, states
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import (
    task_failure,
    task_postrun,
    worker_init,
    worker_process_init,
    worker_process_shutdown,
)

from config.settings import SohoaSettings
from pipeline import metrics
from pipeline.adapters.redis_batch import BatchState
from pipeline.adapters.redis_broker import DeliveryCounter
from pipeline.adapters.redis_notify import RecordStream
from pipeline.adapters.sqlite_index import SqliteIndex
from pipeline.errors import ConfigurationError, RetryableError, SohoaError, TimeLimitError
from pipeline.sandbox import (
    data_segment_mb,
    heap_ceiling_mb,
    limit_memory,
    release_memory_above,
)
from pipeline.services import catalogue, ingest, publish
from pipeline.services.context import Context
from pipeline.services.models import ProcessScanTask, PublishRecordTask, ScanResult
from pipeline.services.notify import notify_record_changed
from workers.app import app, bulk_queue, interactive_queue, settings_of

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
    # The child is the sandbox for untrusted decoding (pipeline/sandbox.py): a bomb meets
    # MemoryError and a quarantine, not the machine's OOM killer.
    settings = app.conf.get("sohoa_settings")
    if isinstance(settings, SohoaSettings):
        limit_memory(settings.worker_memory_mb)


@task_failure.connect
def _quarantine_after_hard_time_limit(
    sender: Any = None,
    task_id: str | None = None,
    exception: BaseException | None = None,
    kwargs: dict[str, Any] | None = None,
    **_: Any,
) -> None:
    """A child killed at the hard time limit (stuck in C code) has its file quarantined as
    DECODE_TIMEOUT by the worker's main process, instead of ending as a bare failure."""
    if getattr(sender, "name", None) != "sohoa.process_scan" or not task_id:
        return
    if not isinstance(exception, TimeLimitExceeded):
        return
    try:
        task = ProcessScanTask.model_validate((kwargs or {}).get("payload"))
        seconds = float(settings_of(app).task_time_limit)
        result = ingest.quarantine_timed_out(get_context(), task, seconds).model_dump()
        app.backend.store_result(task_id, result, states.SUCCESS)
        # No task_postrun follows a killed child: count it and tell its batch here.
        metrics.count_scan(result)
        get_batch_state().record_result(task.batch_id, result)
    except Exception:
        log.exception("could not quarantine %s after its hard time limit", task_id)


def get_context() -> Context:
    global _context
    if _context is None:
        _context = Context.from_settings(settings_of(app))
        _context.interrupts = (SoftTimeLimitExceeded,)
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


_streams: dict[int, RecordStream] = {}


def get_stream() -> RecordStream:
    """This process's writer of 'record changed' notes (one per pid: sockets never cross a fork)."""
    stream = _streams.get(os.getpid())
    if stream is None:
        settings = settings_of(app)
        stream = _streams[os.getpid()] = RecordStream(
            settings.redis_url, prefix=settings.queue_prefix
        )
    return stream


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
        try:
            result = ingest.process_scan(get_context(), task)
        except SoftTimeLimitExceeded:
            # Decoding meets its own deadline first (settings.decode_deadline, DECODE_TIMEOUT).
            raise TimeLimitError(
                f"File {Path(task.path).name!r} was still being stored when the task's soft "
                f"time limit ({settings.task_soft_time_limit:g} s) passed, most likely waiting "
                "on storage; it is tried again. If this repeats, check storage (`sohoa services "
                "status`) or raise SOHOA_TASK_SOFT_TIME_LIMIT.",
                file=Path(task.path).name,
            ) from None
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
    if result.status == "written":
        notify_record_changed(get_stream(), task.object)  # API replicas update their index
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


# --- batch progress, metrics and the nightly jobs ------------------------------------------------

_batch_state: tuple[int, BatchState] | None = None


def get_batch_state() -> BatchState:
    """This process's Redis client for batch progress (a new one after a fork)."""
    global _batch_state
    if _batch_state is None or _batch_state[0] != os.getpid():
        settings = settings_of(app)
        _batch_state = (os.getpid(), BatchState(settings.redis_url, prefix=settings.queue_prefix))
    return _batch_state[1]


@worker_init.connect
def _serve_metrics(sender: Any = None, **_: Any) -> None:
    """In the worker's main process, before its children fork: one /metrics for all of them."""
    settings = app.conf.get("sohoa_settings")
    if not isinstance(settings, SohoaSettings) or settings.metrics_port == 0:
        return
    node = re.sub(r"[^A-Za-z0-9._-]+", "_", str(getattr(sender, "hostname", "worker")))
    metrics.enable(settings.var_dir / "metrics" / node)
    queues = [interactive_queue(settings), bulk_queue(settings)]
    state = BatchState(settings.redis_url, prefix=settings.queue_prefix, timeout=2)
    registry = metrics.make_registry(lambda: state.queue_depths(queues))
    metrics.serve(settings.metrics_host, settings.metrics_port, registry)


@worker_process_shutdown.connect
def _forget_metrics_of_child(pid: int | None = None, **_: Any) -> None:
    try:
        metrics.forget_process(pid or os.getpid())
    except Exception:
        log.warning("could not clean the metrics files of process %s", pid)


@task_postrun.connect
def _record_scan(
    sender: Any = None,
    kwargs: dict[str, Any] | None = None,
    retval: Any = None,
    state: str | None = None,
    **_: Any,
) -> None:
    """A settled scan counts in the metrics, today's figures and its batch's progress."""
    if getattr(sender, "name", None) != "sohoa.process_scan" or state != states.SUCCESS:
        return
    if not isinstance(retval, dict) or "status" not in retval:
        return
    payload = (kwargs or {}).get("payload") or {}
    try:
        metrics.count_scan(retval)
        get_batch_state().record_result(payload.get("batch_id"), retval)
    except Exception as exc:
        # Progress is a cache: `sohoa batch` finds the outcome in the bucket or the backend.
        log.warning("could not record the outcome of %s: %s", retval.get("path"), exc)


@task_postrun.connect
def _bound_the_heap(sender: Any = None, **_: Any) -> None:
    """The heap is kept whole between scans (cheaper pages, pipeline/sandbox.py); a larger
    scan, or a decode that met the memory ceiling, must not leave it large for good."""
    if getattr(sender, "name", None) != "sohoa.process_scan":
        return
    ceiling = heap_ceiling_mb()
    if release_memory_above(ceiling) and (held := data_segment_mb()) > ceiling:
        # Its top is pinned by something still alive: later allocations outside the heap
        # (thread stacks, Python's arenas) have less room; restarting the worker clears it.
        log.warning(
            "worker child %d still holds a %.0f MB heap after a task (kept below %.0f MB); "
            "if scans start failing, restart the worker",
            os.getpid(),
            held,
            ceiling,
        )


def _send_bulk(task: ProcessScanTask) -> str:
    sent = process_scan.apply_async(
        kwargs={"payload": task.model_dump()}, queue=bulk_queue(settings_of(app))
    )
    return str(sent.id)


def _queues() -> list[str]:
    settings = settings_of(app)
    return [interactive_queue(settings), bulk_queue(settings)]


@app.task(name="sohoa.nightly_backlog")
def nightly_backlog() -> dict[str, Any]:
    """Send what waits in the hot folder as tonight's batch (nothing when none is configured)."""
    from pipeline.services.schedule import run_backlog

    settings = settings_of(app)
    if settings.hot_folder is None:
        return {"status": "no_hot_folder"}
    return run_backlog(
        get_context(), get_batch_state(), _send_bulk, _queues(), folder=settings.hot_folder
    )


@app.task(name="sohoa.finish_batches", bind=True)
def finish_batches(self: Task) -> dict[str, Any]:
    """Reconcile every unfinished batch once; report and mark finished those that are done."""
    from celery.result import AsyncResult

    from pipeline.services.schedule import finish_batches as finish
    from pipeline.services.schedule import lock_owner

    def lookup(task_id: str) -> dict[str, Any] | None:
        result = AsyncResult(task_id, app=app)
        if result.ready() and result.successful() and isinstance(result.result, dict):
            return dict(result.result)
        return None

    return finish(
        get_context(),
        get_batch_state(),
        _send_bulk,
        _queues(),
        stall_seconds=settings_of(app).batch_stall_seconds,
        lookup=lookup,
        owner=lock_owner(f"finish_batches[{self.request.id}]"),
    )


@app.task(name="sohoa.fixity_sample")
def fixity_sample(sample: int | None = None, seed: int | None = None) -> dict[str, Any]:
    """Re-hash a random sample of masters; write the findings to reports/fixity/YYYYMMDD.*."""
    from pipeline.services.schedule import run_fixity_sample

    size = sample or settings_of(app).fixity_sample
    summary = run_fixity_sample(get_context(), get_batch_state(), sample=size, seed=seed)
    if not summary["ok"]:
        log.error(
            "fixity sample: %d changed, %d missing masters (report: %s)",
            summary["counts"]["changed"],
            summary["counts"]["missing"],
            summary["report"]["keys"][0],
        )
    return summary
