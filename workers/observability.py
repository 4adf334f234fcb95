"""What the worker shows of itself (/metrics, outcomes, batch progress); never alters one."""

from __future__ import annotations

import logging
import os
import re
from typing import Any

from celery import states
from celery.signals import task_postrun, worker_init, worker_process_shutdown

from config.settings import SohoaSettings
from pipeline import metrics
from pipeline.adapters.redis_batch import BatchState
from workers.app import PROCESS_SCAN, app, bulk_queue, interactive_queue
from workers.context import worker_context

log = logging.getLogger(__name__)


def record_outcome(batch_id: str | None, result: dict[str, Any]) -> None:
    """A settled scan counts in the metrics, today's figures and its batch's progress."""
    try:
        metrics.count_scan(result)
        worker_context().batch_state.record_result(batch_id, result)
    except Exception as exc:
        # Progress is a cache: `sohoa batch` finds the outcome in the bucket or the backend.
        log.warning("could not record the outcome of %s: %s", result.get("path"), exc)


@task_postrun.connect
def _record_scan(
    sender: Any = None,
    kwargs: dict[str, Any] | None = None,
    retval: Any = None,
    state: str | None = None,
    **_: Any,
) -> None:
    if getattr(sender, "name", None) != PROCESS_SCAN or state != states.SUCCESS:
        return
    if not isinstance(retval, dict) or "status" not in retval:
        return
    payload = (kwargs or {}).get("payload") or {}
    record_outcome(payload.get("batch_id"), retval)


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
