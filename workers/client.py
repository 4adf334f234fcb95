"""The producer side: send tasks by their stable names and follow their results."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from celery.result import AsyncResult

from pipeline.services.models import ProcessScanTask, PublishRecordTask
from workers.app import app, bulk_queue, interactive_queue, settings_of

PROCESS_SCAN = "sohoa.process_scan"
PUBLISH_RECORD = "sohoa.publish_record"


def send_scan(task: ProcessScanTask, *, interactive: bool = False) -> str:
    settings = settings_of(app)
    queue = interactive_queue(settings) if interactive else bulk_queue(settings)
    return str(app.send_task(PROCESS_SCAN, kwargs={"payload": task.model_dump()}, queue=queue).id)


def send_publish(task: PublishRecordTask) -> str:
    sent = app.send_task(
        PUBLISH_RECORD,
        kwargs={"payload": task.model_dump()},
        queue=interactive_queue(settings_of(app)),
    )
    return str(sent.id)


def is_answering(node: str, timeout: float = 0.5) -> bool:
    """Whether the worker named `node` (e.g. sohoa-demo-1a2b3c@host) answers a ping."""
    return bool(app.control.ping(destination=[node], timeout=timeout))


def live_workers(timeout: float = 1.0) -> list[str]:
    replies = app.control.ping(timeout=timeout) or []
    return sorted(name for reply in replies for name in reply)


def wait_for(
    task_ids: Iterable[str],
    *,
    on_progress: Callable[[dict[str, dict[str, Any]], int], None] | None = None,
    poll: float = 0.5,
    timeout: float | None = None,
) -> dict[str, dict[str, Any]]:
    """Wait until every task has finished; return id -> result dict (or an error dict)."""
    pending = set(task_ids)
    total = len(pending)
    done: dict[str, dict[str, Any]] = {}
    deadline = None if timeout is None else time.monotonic() + timeout
    while pending:
        for task_id in list(pending):
            result = AsyncResult(task_id, app=app)
            if not result.ready():
                continue
            pending.discard(task_id)
            if result.successful():
                done[task_id] = result.result
            else:
                done[task_id] = {
                    "status": "failed",
                    "code": "TASK_FAILED",
                    "message": str(result.result),
                }
            result.forget()
        if on_progress is not None:
            on_progress(done, total)
        if pending:
            if deadline is not None and time.monotonic() > deadline:
                break
            time.sleep(poll)
    return done
