"""The worker child as the sandbox of untrusted decoding, hooked to Celery; no pipeline logic."""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import cv2
from billiard import pool
from billiard.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from celery import Task, states
from celery.signals import task_failure, task_postrun, worker_process_init

from config.settings import SohoaSettings
from pipeline.sandbox import (
    Interrupted,
    data_segment_mb,
    heap_ceiling_mb,
    limit_memory,
    release_memory_above,
)
from pipeline.services import ingest
from pipeline.services.models import ProcessScanTask
from workers.app import PROCESS_SCAN, app
from workers.context import worker_context
from workers.observability import record_outcome

log = logging.getLogger(__name__)


class ContainedTask(Task):
    """The base of every Sohoa task: while its body runs, Celery's soft time limit arrives as
    the project's `Interrupted`, so services stay free of Celery's types and no `except
    Exception` on the way can swallow it. What the body does not handle leaves it as Celery's
    SoftTimeLimitExceeded again: an Interrupted must never reach Celery's tracer."""

    # Another installation's task is refused as it arrives, before a child runs it.
    Strategy = "workers.installation:checked_strategy"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            with _soft_limit_interrupts():
                return super().__call__(*args, **kwargs)
        except Interrupted:
            raise SoftTimeLimitExceeded() from None


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise Interrupted("the task's soft time limit passed")


@contextmanager
def _soft_limit_interrupts() -> Iterator[None]:
    # billiard's pool sends SIGUSR1 to a child past the soft limit, whose handler it installs
    # after Celery's worker_process_init: hence swapped around each task, not once per child.
    # Elsewhere (the main process, a thread, an eager call) nothing arrives by it.
    signum = pool.SIG_SOFT_TIMEOUT
    if signum is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signum)
    if previous is not pool.soft_timeout_sighandler:
        yield
        return
    signal.signal(signum, _interrupt)
    try:
        yield
    finally:
        signal.signal(signum, previous)


@worker_process_init.connect
def _set_up_child(**_: Any) -> None:
    # One worker child per core already: OpenCV's own threads would only fight over them.
    cv2.setNumThreads(1)
    # The child is the sandbox for untrusted decoding (pipeline/sandbox.py): a bomb meets
    # MemoryError and a quarantine, not the machine's OOM killer.
    settings = app.conf.get("sohoa_settings")
    if isinstance(settings, SohoaSettings):
        limit_memory(settings.worker_memory_mb)


@task_postrun.connect
def _bound_the_heap(sender: Any = None, **_: Any) -> None:
    """The heap is kept whole between scans (cheaper pages, pipeline/sandbox.py); a larger
    scan, or a decode that met the memory ceiling, must not leave it large for good."""
    if getattr(sender, "name", None) != PROCESS_SCAN:
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
    if getattr(sender, "name", None) != PROCESS_SCAN or not task_id:
        return
    if not isinstance(exception, TimeLimitExceeded):
        return
    try:
        task = ProcessScanTask.model_validate((kwargs or {}).get("payload"))
        worker = worker_context()
        seconds = float(worker.settings.task_time_limit)
        result = ingest.quarantine_timed_out(worker.context, task, seconds).model_dump()
        app.backend.store_result(task_id, result, states.SUCCESS)
    except Exception:
        log.exception("could not quarantine %s after its hard time limit", task_id)
        return
    # No task_postrun follows a killed child: count it and tell its batch here.
    record_outcome(task.batch_id, result)
