"""The Celery tasks by wire name: validate, call one service, let the error class decide."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task

from pipeline.errors import RetryableError
from pipeline.services import catalogue, delivery, publish, schedule, session_scoring
from pipeline.services.models import ProcessScanTask, PublishRecordTask, SettleSessionTask
from pipeline.services.notify import notify_record_changed
from workers.app import app
from workers.containment import ContainedTask
from workers.context import worker_context
from workers.retry import retry_or_give_up

log = logging.getLogger(__name__)


@app.task(name="sohoa.process_scan", bind=True, base=ContainedTask)
def process_scan(self: Task, payload: dict[str, Any]) -> dict[str, Any]:
    """Store one scan (or quarantine it), then ask for its artefact's record to be published."""
    task = ProcessScanTask.model_validate(payload)
    worker = worker_context()
    attempt = int(self.request.retries or 0)
    try:
        result = delivery.process_delivery(
            worker.context, worker.deliveries, task, task_id=str(self.request.id), attempt=attempt
        )
    except RetryableError as exc:
        retry_or_give_up(self, exc)
        return delivery.given_up_result(task, exc).model_dump()
    if result.status == "stored" and result.object:
        sent = _publish(worker.interactive_queue, result.object)
        result = result.model_copy(update={"publish_task_id": sent})
        if result.session_group and result.scan_id:
            # On the scan's own queue: a batch's scoring waits behind the batch, not in front
            # of the records' publishing and the hot folder's drops.
            queue = (self.request.delivery_info or {}).get("routing_key")
            _settle(result.session_group, result.scan_id, queue or worker.interactive_queue)
    return result.model_dump()


def _settle(group: str, scan_id: str, queue: str) -> None:
    settling = SettleSessionTask(group=group, scan_id=scan_id)
    settle_session.apply_async(kwargs={"payload": settling.model_dump()}, queue=queue)


@app.task(name="sohoa.settle_session", bind=True, base=ContainedTask)
def settle_session(self: Task, payload: dict[str, Any]) -> dict[str, Any]:
    """Score the sessions a stored scan touches, or leave them to whoever scores its group now;
    the records whose colour moved are published again."""
    task = SettleSessionTask.model_validate(payload)
    worker = worker_context()
    try:
        outcome = session_scoring.settle_scan(
            worker.context,
            worker.session_marks,
            task.group,
            task.scan_id,
            owner=session_scoring.scorer_name(f"settle_session[{self.request.id}]"),
            republish=lambda objects: [_publish(worker.interactive_queue, o) for o in objects],
        )
    except RetryableError as exc:
        retry_or_give_up(self, exc)
        raise
    return session_scoring.describe_outcome(outcome)


def _publish(queue: str, slug: str) -> str:
    return str(publish_record.apply_async(kwargs={"payload": {"object": slug}}, queue=queue).id)


@app.task(name="sohoa.publish_record", bind=True, base=ContainedTask)
def publish_record(self: Task, payload: dict[str, Any]) -> dict[str, Any]:
    """Rebuild one artefact's catalogue record from the bucket (idempotent)."""
    task = PublishRecordTask.model_validate(payload)
    worker = worker_context()
    try:
        result = publish.publish_record(worker.context, task.object)
    except RetryableError as exc:
        retry_or_give_up(self, exc)
        raise
    if result.status == "written":
        notify_record_changed(worker.stream, task.object)  # API replicas update their index
    # Its own task, so that a busy index retries the indexing, not the publishing.
    index_record.apply_async(kwargs={"payload": payload}, queue=worker.interactive_queue)
    return result.model_dump()


@app.task(name="sohoa.index_record", bind=True, base=ContainedTask)
def index_record(self: Task, payload: dict[str, Any]) -> dict[str, Any]:
    """Bring one artefact's entry in the catalogue index in step with its record."""
    task = PublishRecordTask.model_validate(payload)
    worker = worker_context()
    try:
        return catalogue.index_object(worker.context, worker.index, task.object).model_dump()
    except RetryableError as exc:
        retry_or_give_up(self, exc)
        raise


@app.task(name="sohoa.nightly_backlog", base=ContainedTask)
def nightly_backlog() -> dict[str, Any]:
    """Send what waits in the hot folder as tonight's batch (nothing when none is configured)."""
    worker = worker_context()
    folder = worker.settings.hot_folder
    if folder is None:
        return {"status": "no_hot_folder"}
    state = worker.batch_state
    return schedule.run_backlog(
        worker.context, state, worker.producer.send, worker.queues, folder=folder
    )


@app.task(name="sohoa.finish_batches", bind=True, base=ContainedTask)
def finish_batches(self: Task) -> dict[str, Any]:
    """Reconcile every unfinished batch once; report and mark finished those that are done."""
    worker = worker_context()
    return schedule.finish_batches(
        worker.context,
        worker.batch_state,
        worker.producer.send,
        worker.queues,
        stall_seconds=worker.settings.batch_stall_seconds,
        lookup=worker.producer.lookup,
        owner=schedule.lock_owner(f"finish_batches[{self.request.id}]"),
        send_publish=worker.producer.send_publish,
        held=worker.producer.held,
    )


@app.task(name="sohoa.fixity_sample", base=ContainedTask)
def fixity_sample(sample: int | None = None, seed: int | None = None) -> dict[str, Any]:
    """Re-hash a random sample of masters; write the findings to reports/fixity/YYYYMMDD.*;
    publish again the artefacts found with scans their record does not list."""
    worker = worker_context()
    size = sample or worker.settings.fixity_sample
    summary = schedule.run_fixity_sample(
        worker.context,
        worker.batch_state,
        sample=size,
        seed=seed,
        send_publish=worker.producer.send_publish,
    )
    if not summary["ok"]:
        log.error(
            "fixity sample: %d changed, %d missing masters (report: %s)",
            summary["counts"]["changed"],
            summary["counts"]["missing"],
            summary["report"]["keys"][0],
        )
    return summary
