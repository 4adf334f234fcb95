"""The worker's side of installations: it refuses another installation's task before it runs
(never touching the file), answers who it serves, and points at tasks left in the old queues."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from celery import Celery, Task, states
from celery.signals import worker_ready
from celery.worker.control import inspect_command
from celery.worker.strategy import default as default_strategy
from kombu.message import Message

from config.settings import SohoaSettings
from pipeline.adapters.redis_batch import BatchState
from pipeline.errors import ConfigurationError
from pipeline.services.models import ScanResult
from workers.app import (
    INSTALLATION_HEADER,
    PROCESS_SCAN,
    app,
    old_queues,
    settings_of,
)

log = logging.getLogger(__name__)

# What a refused message's queue was for, kept when it is sent to its own installation's queues.
_KINDS = ("interactive", "bulk")


def foreign_home(headers: dict[str, Any] | None, settings: SohoaSettings) -> dict[str, str] | None:
    """The installation a message belongs to when it is not this one; None when it is ours, or
    when it says nothing (queued by a Sohoa before installations: taken as ours)."""
    home = (headers or {}).get(INSTALLATION_HEADER)
    if not isinstance(home, dict) or not isinstance(home.get("id"), str):
        return None
    if home["id"] == settings.installation_id:
        return None
    return {"id": home["id"], "queues": str(home.get("queues") or "")}


def checked_strategy(task: Task, celery_app: Celery, consumer: Any, **options: Any) -> Any:
    """Celery's own strategy, behind a check made in the worker's main process as a message
    arrives: another installation's task goes back to its own queues (or, when both share
    these queues, fails with CONFIGURATION) before any child sees it."""
    handle = default_strategy(task, celery_app, consumer, **options)
    settings = settings_of(celery_app)
    node = str(consumer.hostname)
    errors = consumer.connection_errors

    def checked(
        message: Message, body: Any, ack: Any, reject: Any, callbacks: Any, **kw: Any
    ) -> Any:
        home = foreign_home(message.headers, settings)
        if home is None:
            return handle(message, body, ack, reject, callbacks, **kw)
        try:
            refuse(celery_app, settings, message, home, node)
        except Exception:  # the broker or the backend failed us: the message waits, unharmed
            log.exception("could not refuse task %s; it stays queued", message.headers.get("id"))
            reject(log, errors, True)
            return None
        ack(log, errors)
        return None

    return checked


def refuse(
    celery_app: Celery, settings: SohoaSettings, message: Message, home: dict[str, str], node: str
) -> None:
    """Send the message to the queues it belongs to, untouched; or, when those are this
    worker's own (two installations share them), end it failed with CONFIGURATION."""
    headers = message.headers or {}
    task_id, name = str(headers.get("id")), str(headers.get("task"))
    what = f"task {name}[{task_id}]" + _file_of(message, " for {!r}")
    if home["queues"] and home["queues"] != settings.queue_prefix:
        routed = str((message.delivery_info or {}).get("routing_key") or "")
        kind = routed.rsplit(".", 1)[-1] if routed.rsplit(".", 1)[-1] in _KINDS else "bulk"
        target = f"{home['queues']}.{kind}"
        with celery_app.producer_or_acquire() as producer:
            producer.publish(
                message.body,
                exchange="",
                routing_key=target,
                headers=dict(headers),
                content_type=message.content_type,
                content_encoding=message.content_encoding,
                correlation_id=message.properties.get("correlation_id"),
                reply_to=message.properties.get("reply_to"),
                priority=message.properties.get("priority"),
                retry=True,
            )
        log.warning(
            "refused %s: it belongs to installation %s, and this worker (%s) serves %s; "
            "the file is untouched and the task is back on its own queue %s",
            what, home["id"], node, settings.installation_id, target,
        )  # fmt: skip
        return
    sentence = (
        f"{_file_of(message, 'File {!r}') or 'This task'} was sent by installation {home['id']} "
        f"to queues {settings.queue_prefix}.*, which worker {node} of installation "
        f"{settings.installation_id} also serves: two installations share these queues. The "
        "file is untouched; give each installation queues of its own (leave SOHOA_QUEUE_PREFIX "
        "unset, or set a different SOHOA_INSTALLATION on each) and send it again."
    )
    _store_refusal(celery_app, message, sentence)
    log.error("refused %s: %s", what, sentence)


def _store_refusal(celery_app: Celery, message: Message, sentence: str) -> None:
    """The result the sender waits for: a failed scan (CONFIGURATION), or a failed task."""
    headers = message.headers or {}
    task_id = str(headers.get("id"))
    path = _path_of(message)
    if headers.get("task") == PROCESS_SCAN and path is not None:
        result = ScanResult(
            status="failed",
            path=path,
            name=Path(path).name,
            code=ConfigurationError.code,
            message=sentence,
        ).model_dump()
        celery_app.backend.store_result(task_id, result, states.SUCCESS)
        return
    celery_app.backend.mark_as_failure(task_id, ConfigurationError(sentence))


def _path_of(message: Message) -> str | None:
    try:
        _, kwargs, _ = message.decode()
        path = kwargs["payload"]["path"]
    except Exception:  # a message of another shape: it names no file
        return None
    return path if isinstance(path, str) else None


def _file_of(message: Message, pattern: str) -> str:
    path = _path_of(message)
    return pattern.format(Path(path).name) if path else ""


@inspect_command()
def sohoa_installation(state: Any, **_: Any) -> dict[str, str]:
    """Which installation this worker serves (`sohoa status` counts only its own)."""
    settings = settings_of(state.consumer.app)
    return {"installation": settings.installation_id, "queues": settings.queue_prefix}


@worker_ready.connect
def _point_at_old_queues(sender: Any = None, **_: Any) -> None:
    """Tasks queued before the upgrade wait in the old default queues, which this worker no
    longer reads: say so, and how to take them (README, upgrading)."""
    settings = app.conf.get("sohoa_settings")
    if not isinstance(settings, SohoaSettings):
        return
    waiting = old_queue_depths(settings)
    if waiting:
        log.warning(
            "%s task(s) queued before the upgrade wait in %s; if they are this installation's, "
            "take them with `sohoa worker -Q %s` until these queues are empty",
            sum(waiting.values()), ", ".join(waiting), ",".join(waiting),
        )  # fmt: skip


def old_queue_depths(settings: SohoaSettings) -> dict[str, int]:
    """The old default queues that hold messages (none when this installation still uses them)."""
    names = old_queues(settings)
    if not names:
        return {}
    state = BatchState(settings.redis_url, prefix=settings.queue_prefix, timeout=2)
    try:
        depths = state.queue_depths(names)
    except Exception as exc:  # advice only: a worker starts whatever Redis says here
        log.warning("could not look into the old queues: %s", exc)
        return {}
    finally:
        state.close()
    return {name: depth for name, depth in depths.items() if depth}
