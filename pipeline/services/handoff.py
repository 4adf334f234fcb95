"""The stage hand-off (SOHOA_HANDOFF=stage): a producer puts each file's bytes in storage for
workers that do not share its drop folder, and the finishing round finds what no task took;
no decoding, and no broker here (the sender it wraps carries the messages)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.adapters.s3_stage import list_dated
from pipeline.core.layout import INCOMING_PREFIX, staged_key, to_staged_sha256
from pipeline.errors import IntegrityError, NotRegularFileError
from pipeline.services.context import Context
from pipeline.services.models import ProcessScanTask, PublishRecordTask
from pipeline.services.source import open_source

log = logging.getLogger(__name__)

_OCTETS = "application/octet-stream"


def stage_file(ctx: Context, path: Path, sha256: str | None = None) -> str | None:
    """Upload `path` to incoming/{sha256} with its SHA-256, which storage checks (a damaged
    upload is refused); the key, or None when the file cannot be read here or is over the
    profile's size limit (the task then carries its path alone, and the worker says why).

    `sha256`, when the caller hashed the file already (a batch does, to plan), is sent as the
    checksum without hashing again: a file changed since is refused by storage and staged
    under its new hash.
    """
    try:
        with open_source(path) as handle:
            data = handle.read()
    except (OSError, NotRegularFileError):
        return None
    if len(data) > ctx.profile.limits.max_file_mb * 1024 * 1024:
        return None
    digest = sha256 or hashlib.sha256(data).hexdigest()
    try:
        _put(ctx, digest, data)
    except IntegrityError:
        if sha256 is None:
            raise  # damaged in transit: the caller's retry sends it again
        digest = hashlib.sha256(data).hexdigest()  # the file changed since it was hashed
        _put(ctx, digest, data)
    return staged_key(digest)


def _put(ctx: Context, sha256: str, data: bytes) -> None:
    # If-None-Match: the same content staged already (a re-send, a twin) is not sent twice.
    ctx.store.put_bytes(
        staged_key(sha256), data, content_type=_OCTETS, sha256=sha256, if_none_match=True
    )


def to_staged(ctx: Context, task: ProcessScanTask) -> ProcessScanTask:
    """The task as a worker without the drop folder needs it: its file staged from its path.
    A task naming its staged key already (a batch's) keeps that key when the file cannot be
    read here but the object is there: a re-send by a finisher that cannot see the folder."""
    known = to_staged_sha256(task.staged) if task.staged else None
    staged = stage_file(ctx, Path(task.path), known)
    if staged is None and task.staged is not None and ctx.store.head(task.staged) is not None:
        return task
    return task.model_copy(update={"staged": staged})


@dataclass
class StagingSender:
    """A ScanSender that stages each file before its task is sent; the rest passes through."""

    ctx: Context
    inner: Any  # a ScanSender (the producer); Any so its extra methods (held) pass through

    def send(self, task: ProcessScanTask) -> str:
        return str(self.inner.send(to_staged(self.ctx, task)))

    def send_publish(self, task: PublishRecordTask) -> str:
        return str(self.inner.send_publish(task))

    def poll(self, task_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        return dict(self.inner.poll(task_ids))

    def lookup(self, task_id: str) -> dict[str, Any] | None:
        found = self.inner.lookup(task_id)
        return dict(found) if found is not None else None

    def live_workers(self) -> list[str]:
        return list(self.inner.live_workers())

    def any_worker(self) -> bool:
        return bool(self.inner.any_worker())

    def held(self, task_ids: list[str]) -> set[str] | None:
        found = self.inner.held(task_ids)
        return set(found) if found is not None else None


def with_handoff(ctx: Context, sender: Any) -> Any:
    """`sender` as the installation's hand-off wants it: wrapped to stage with `stage`."""
    return StagingSender(ctx, sender) if ctx.settings.handoff == "stage" else sender


def batch_task(ctx: Context, path: str, batch_id: str, sha256: str | None) -> ProcessScanTask:
    """A batch's task for one file: with `stage`, naming the key its known hash stages it at,
    so a finisher that cannot see the folder re-sends a lost task from storage."""
    staged = staged_key(sha256) if sha256 and ctx.settings.handoff == "stage" else None
    return ProcessScanTask(path=path, batch_id=batch_id, staged=staged)


# --- staged objects whose task never completed ---------------------------------------------------


@dataclass
class StagedSweep:
    """What the finishing round found under incoming/: unclaimed objects, and those removed."""

    unfinished: list[dict[str, Any]] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"unfinished": self.unfinished, "removed": self.removed}


def sweep_staged(
    ctx: Context,
    claimed: set[str],
    *,
    grace_seconds: float,
    now: datetime | None = None,
) -> StagedSweep:
    """Staged objects that no queued or running task carries (`claimed`: their keys) and that
    are older than `grace_seconds`: their task failed, was lost or was never sent. Each is
    reported (logged, and in the result); those older than SOHOA_STAGE_RETENTION_DAYS are
    deleted. An object a task still carries is never touched, however old."""
    moment = now or datetime.now(UTC)
    retention = ctx.settings.stage_retention_days * 86_400
    sweep = StagedSweep()
    for item in list_dated(ctx.store, INCOMING_PREFIX):
        age = (moment - item.modified).total_seconds()
        if item.key in claimed or age < grace_seconds:
            continue
        if age >= retention:
            ctx.store.delete(item.key)
            sweep.removed.append(item.key)
            continue
        sweep.unfinished.append({"key": item.key, "size": item.size, "age_seconds": int(age)})
    if sweep.unfinished:
        log.warning(
            "%d staged file(s) under %s have no task (failed, lost or never sent), e.g. %s; "
            "kept %g day(s) for a batch to send again, then removed",
            len(sweep.unfinished), INCOMING_PREFIX, sweep.unfinished[0]["key"],
            ctx.settings.stage_retention_days,
        )  # fmt: skip
    if sweep.removed:
        log.warning(
            "removed %d staged file(s) older than SOHOA_STAGE_RETENTION_DAYS=%g, e.g. %s",
            len(sweep.removed), ctx.settings.stage_retention_days, sweep.removed[0],
        )  # fmt: skip
    return sweep


def claimed_keys(payloads: Iterable[dict[str, Any] | None]) -> set[str]:
    """The staged keys that queued or running tasks carry (from their payloads)."""
    return {str(p["staged"]) for p in payloads if p is not None and p.get("staged")}
