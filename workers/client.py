"""The producer: the one implementation of the ScanSender port (pipeline/services/sender.py),
Celery signatures by stable task name routed to the installation's queues; runs no task."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from celery import Celery
from celery.canvas import Signature
from celery.result import AsyncResult

from config.settings import SohoaSettings
from pipeline.adapters.redis_broker import broker_unavailable
from pipeline.services import submission
from pipeline.services.models import ProcessScanTask, PublishRecordTask
from workers.app import app, bulk_queue, configure_app, interactive_queue, settings_of

PROCESS_SCAN = "sohoa.process_scan"
PUBLISH_RECORD = "sohoa.publish_record"


# Celery (5.7) stamps a locally registered task's time limits, taken from the sender's own
# configuration when the task was bound, on every message it sends by that task's name; the
# worker then obeys the message, not its own settings. Explicit Nones leave the limits to the
# worker that runs the task, whoever sends it (a beat, a test process, another installation).
_WORKER_DECIDES: dict[str, None] = {"time_limit": None, "soft_time_limit": None}


def scan_signature(task: ProcessScanTask, queue: str) -> Signature:
    """The message of one scan, by name: the same on the wire whoever sends it."""
    payload = {"payload": task.model_dump()}
    return app.signature(PROCESS_SCAN, kwargs=payload, queue=queue, **_WORKER_DECIDES)


def publish_signature(task: PublishRecordTask, queue: str) -> Signature:
    payload = {"payload": task.model_dump()}
    return app.signature(PUBLISH_RECORD, kwargs=payload, queue=queue, **_WORKER_DECIDES)


class ScanProducer:
    """Sends scans to one queue (interactive: an archivist waits; bulk: batches) and reads
    their results; kombu, redis-py and socket failures become BrokerUnavailableError."""

    def __init__(
        self,
        celery_app: Celery = app,
        *,
        interactive: bool = False,
        then: str = "try again once it answers",
    ) -> None:
        self.app = celery_app
        # What the sentence of a broker failure says happens next (the watcher retries alone).
        self.then = then
        settings = settings_of(celery_app)
        self.queue = interactive_queue(settings) if interactive else bulk_queue(settings)
        self.publish_queue = interactive_queue(settings)

    def send(self, task: ProcessScanTask) -> str:
        try:
            return str(scan_signature(task, self.queue).apply_async().id)
        except Exception as exc:  # kombu, redis-py and socket errors share no base class
            raise broker_unavailable(exc, "queue a file", self.then) from None

    def send_publish(self, task: PublishRecordTask) -> str:
        try:
            return str(publish_signature(task, self.publish_queue).apply_async().id)
        except Exception as exc:
            raise broker_unavailable(exc, "queue a record", self.then) from None

    def poll(self, task_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        try:
            return _take_finished(self.app, task_ids)
        except Exception as exc:
            raise broker_unavailable(exc, "read results", self.then) from None

    def lookup(self, task_id: str) -> dict[str, Any] | None:
        try:
            result = AsyncResult(task_id, app=self.app)
            if result.ready() and result.successful() and isinstance(result.result, dict):
                return dict(result.result)
        except Exception as exc:
            raise broker_unavailable(exc, "read a result", self.then) from None
        return None

    def live_workers(self) -> list[str]:
        return _members(self.app)

    def any_worker(self) -> bool:
        return _any_member(self.app)

    def held(self, task_ids: list[str], timeout: float = 2.0) -> set[str] | None:
        """Which of these tasks a live worker holds (running, reserved, or waiting for a retry's
        countdown): one broadcast, answered by every worker's main process; None when the
        broker does not answer. A task no worker names is one whose worker is gone."""
        try:
            replies = self.app.control.inspect(timeout=timeout).query_task(*task_ids) or {}
        except Exception:  # kombu, redis-py and socket errors share no base class
            return None
        return {task for tasks in replies.values() for task in tasks or {}}


def connect_producer(
    settings: SohoaSettings, *, interactive: bool = False, then: str | None = None
) -> ScanProducer:
    """The producer of an edge (the CLI): the Celery app configured from settings first."""
    celery_app = configure_app(settings)
    if then is None:
        return ScanProducer(celery_app, interactive=interactive)
    return ScanProducer(celery_app, interactive=interactive, then=then)


def _take_finished(celery_app: Celery, task_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """One look at each task: the finished ones' results, forgotten in the backend once read."""
    done: dict[str, dict[str, Any]] = {}
    for task_id in task_ids:
        result = AsyncResult(task_id, app=celery_app)
        if not result.ready():
            continue
        if result.successful():
            done[task_id] = result.result
        else:
            done[task_id] = {
                "status": "failed",
                "code": "TASK_FAILED",
                "message": str(result.result),
            }
        result.forget()
    return done


# --- the producer API of scripts and tests: the configured app's bulk or interactive queue ---


def send_scan(task: ProcessScanTask, *, interactive: bool = False) -> str:
    settings = settings_of(app)
    queue = interactive_queue(settings) if interactive else bulk_queue(settings)
    return str(scan_signature(task, queue).apply_async().id)


def send_publish(task: PublishRecordTask) -> str:
    return str(publish_signature(task, interactive_queue(settings_of(app))).apply_async().id)


def is_answering(node: str, timeout: float = 0.5) -> bool:
    """Whether the worker named `node` (e.g. sohoa-demo-1a2b3c@host) answers a ping."""
    return bool(app.control.ping(destination=[node], timeout=timeout))


def live_workers(timeout: float = 1.0) -> list[str]:
    return _members(app, timeout)


def held_tasks(task_ids: list[str]) -> set[str] | None:
    """Which of these tasks a live worker holds (ScanProducer.held, on the configured app)."""
    return ScanProducer(app).held(task_ids)


def _members(celery_app: Celery, timeout: float = 1.0) -> list[str]:
    """The workers that answer and serve this installation (workers/installation.py): one that
    shares its queues but serves another store would never take its files."""
    own = settings_of(celery_app).installation_id
    replies = celery_app.control.broadcast("sohoa_installation", reply=True, timeout=timeout)
    return sorted(
        name
        for reply in replies or []
        for name, answer in reply.items()
        if isinstance(answer, dict) and answer.get("installation") == own
    )


def _any_member(celery_app: Celery, timeout: float = 1.0) -> bool:
    """Whether a worker serving this installation answers, known at the first answer (asking
    for every answer waits the whole timeout). A first answer from a worker that serves another
    store is not enough: then every worker is asked."""
    own = settings_of(celery_app).installation_id
    replies = celery_app.control.broadcast(
        "sohoa_installation", reply=True, timeout=timeout, limit=1
    )
    if not replies:
        return False
    answers = [answer for reply in replies for answer in reply.values()]
    if any(isinstance(a, dict) and a.get("installation") == own for a in answers):
        return True
    return bool(_members(celery_app, timeout))


def wait_for(
    task_ids: Iterable[str],
    *,
    on_progress: Callable[[dict[str, dict[str, Any]], int], None] | None = None,
    poll: float = 0.5,
    timeout: float | None = None,
) -> dict[str, dict[str, Any]]:
    """Wait until every task has finished; return id -> result dict (or an error dict)."""
    producer = ScanProducer(app)
    return submission.wait_for(
        producer, task_ids, on_progress=on_progress, timeout=timeout, poll=poll
    )
