"""The schedule: which jobs run when, the hot folder's backlog, the finishing of unattended
batches and the fixity sample; no Celery here (workers/app.py turns the jobs into beat
entries, workers/tasks.py runs them)."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, is_dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from config.settings import SohoaSettings
from pipeline.adapters.redis_batch import BatchState
from pipeline.errors import RetryableError
from pipeline.services.audit import run_audit
from pipeline.services.batch import LOCK_SECONDS, BatchRun
from pipeline.services.context import Context
from pipeline.services.handoff import claimed_keys, sweep_staged
from pipeline.services.intake import collect_files
from pipeline.services.models import PublishRecordTask
from pipeline.services.report import finish_batch, save_fixity_report
from pipeline.services.sender import SendScan

log = logging.getLogger(__name__)

NIGHTLY_BACKLOG = "sohoa.nightly_backlog"
FIXITY_SAMPLE = "sohoa.fixity_sample"
FINISH_BATCHES = "sohoa.finish_batches"


@dataclass(frozen=True)
class NightlyJob:
    """One entry of the nightly schedule (times in SOHOA_SCHEDULE_TIMEZONE, the app's)."""

    name: str
    task: str
    hour: int
    minute: int


@dataclass(frozen=True)
class PeriodicJob:
    """A job beat sends every `minutes`, day and night."""

    name: str
    task: str
    minutes: int


def periodic_jobs(settings: SohoaSettings) -> list[PeriodicJob]:
    """Finishing unattended batches, unless SOHOA_FINISH_BATCHES_MINUTES is 0."""
    minutes = settings.finish_batches_minutes
    return [PeriodicJob("finish-batches", FINISH_BATCHES, minutes)] if minutes > 0 else []


def lock_owner(role: str) -> str:
    """Who holds a batch's lock, as `sohoa status` and the busy error name it."""
    return f"{role}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def parse_hhmm(text: str) -> tuple[int, int]:
    """'02:00' -> (2, 0); the settings' pattern has already refused anything else."""
    hour, _, minute = text.partition(":")
    return int(hour), int(minute)


def nightly_jobs(settings: SohoaSettings) -> list[NightlyJob]:
    """The backlog run only when a hot folder is configured; the fixity sample unless N is 0."""
    jobs = []
    if settings.hot_folder is not None:
        jobs.append(
            NightlyJob("nightly-backlog", NIGHTLY_BACKLOG, *parse_hhmm(settings.nightly_at))
        )
    if settings.fixity_sample > 0:
        hour, minute = parse_hhmm(settings.fixity_at)
        jobs.append(NightlyJob("nightly-fixity", FIXITY_SAMPLE, hour, minute))
    return jobs


def backlog_batch_id(moment: datetime) -> str:
    return f"nightly-{moment.astimezone(UTC):%Y%m%d}"


def run_backlog(
    ctx: Context,
    state: BatchState,
    send: SendScan,
    queues: list[str],
    *,
    folder: Path,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Send what waits in the hot folder as tonight's batch (resumable, like `sohoa batch`).

    Files already stored are not sent again; `sohoa status nightly-YYYYMMDD` follows it, and
    the watcher, when it runs, still moves each file out once stored.
    """
    batch_id = backlog_batch_id(now or datetime.now(UTC))
    if not folder.is_dir():
        return {"batch_id": batch_id, "status": "no_folder", "folder": str(folder), "files": 0}
    files = collect_files([folder.resolve()]).files
    run = BatchRun(
        ctx, state, batch_id, files, send=send, queues=queues, inputs=[str(folder)],
        lock_owner=lock_owner("nightly-backlog"),
    )  # fmt: skip
    run.start()
    progress = run.progress()
    return {
        "batch_id": batch_id,
        "status": "sent",
        "folder": str(folder),
        "files": len(files),
        "sent": len(run.pending),
        "already_stored": progress.skipped,
    }


def _plain(item: Any) -> Any:
    """An audit finding as JSON: a pydantic model or dataclass as a dict, anything else as text."""
    if hasattr(item, "model_dump"):
        return item.model_dump(mode="json")
    if is_dataclass(item) and not isinstance(item, type):
        return {k: _plain(v) if not isinstance(v, str | int | float | bool) else v
                for k, v in asdict(item).items()}  # fmt: skip
    return item if isinstance(item, str | int | float | bool | None) else str(item)


def summarise_audit(report: Any, *, sample: int, limit: int = 100) -> dict[str, Any]:
    """The fixity sample's result as the nightly task returns it (at most `limit` per list)."""
    return {
        "ok": bool(report.ok),
        "sample": sample,
        "changed": [_plain(item) for item in list(report.changed)[:limit]],
        "missing": [_plain(item) for item in list(report.missing)[:limit]],
        "untracked": len(list(report.untracked)),
        "checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def finish_batches(
    ctx: Context,
    state: BatchState,
    send: SendScan,
    queues: list[str],
    *,
    stall_seconds: float,
    lookup: Callable[[str], dict[str, Any] | None] | None = None,
    owner: str | None = None,
    **ports: Any,
) -> dict[str, Any]:
    """One round over every unfinished batch Redis knows, as `sohoa batch` would follow it:
    results taken, lost messages sent again (once missing for `stall_seconds`), tasks of dead
    workers given back, and once every file is settled and checked in the bucket and every
    artefact has a current record (republished when not), the report written and the batch
    marked finished. Non-blocking; a batch another process holds is left for the next round.
    Then the staged files (SOHOA_HANDOFF=stage) that no task carries are reported (`staged`,
    present when any are found), and removed after SOHOA_STAGE_RETENTION_DAYS.
    `ports`: BatchRun's send_publish and held."""
    owner = owner or lock_owner("finish-batches")
    done: dict[str, Any] = {"finished": [], "waiting": [], "busy": []}
    for batch_id in state.all_batches():
        meta = state.read_meta(batch_id)
        if meta is None or meta.get("finished"):
            continue
        if not state.acquire_lock(batch_id, owner, LOCK_SECONDS):
            done["busy"].append({"batch_id": batch_id, "holder": state.lock_holder(batch_id)})
            continue
        try:
            # Read again under the lock: another finisher may have ended it, or a `sohoa batch`
            # started it over, between the look above and the lock.
            run = BatchRun.resume(
                ctx, state, batch_id, send=send, queues=queues, stall_seconds=stall_seconds,
                lookup=lookup, lock_owner=owner, **ports,
            )  # fmt: skip
            meta = state.read_meta(batch_id) or {}
            if run is None or meta.get("finished"):
                continue  # still being planned (files missing), or ended meanwhile
            with run.exclusive():
                if not run.step():
                    progress = run.progress()
                    done["waiting"].append(
                        {"batch_id": batch_id, "remaining": progress.remaining, "sent_again":
                         run.resent, "published_again": len(run.republished)}
                    )  # fmt: skip
                    continue
                ended = finish_batch(run)
        except RetryableError as exc:
            # Storage or Redis away for this batch: the others still get their round.
            log.warning("batch %s: left for the next round: %s", batch_id, exc.message)
            done["waiting"].append({"batch_id": batch_id, "error": exc.message})
            continue
        finally:
            state.release_lock(batch_id, owner)
        if ended.error is not None:
            log.warning("batch %s: report not uploaded (%s); next round", batch_id, ended.error)
            done["waiting"].append({"batch_id": batch_id, "remaining": 0, "error": ended.error})
            continue
        summary = run.progress()
        log.info("batch %s finished: report %s", batch_id, ended.location)
        done["finished"].append(
            {
                "batch_id": batch_id,
                "report": ended.location,
                "written": ended.written,
                "stored": summary.stored,
                "quarantined": summary.quarantined,
                "failed": summary.failed,
            }
        )
    staged = _sweep_staged(ctx, state, queues, stall_seconds)
    if any(staged.values()):
        done["staged"] = staged  # only when there is something to say: the round's shape holds
    return done


def _sweep_staged(
    ctx: Context, state: BatchState, queues: list[str], grace_seconds: float
) -> dict[str, Any]:
    """Staged files no task carries any more: reported, and removed after their retention."""
    try:
        claimed = claimed_keys(state.queued_tasks(queues).values())
        return sweep_staged(ctx, claimed, grace_seconds=grace_seconds).as_dict()
    except RetryableError as exc:
        log.warning("staged files not checked this round: %s", exc.message)
        return {"error": exc.message}


def run_fixity_sample(
    ctx: Context,
    state: BatchState,
    *,
    sample: int,
    seed: int | None = None,
    now: datetime | None = None,
    send_publish: Callable[[PublishRecordTask], str] | None = None,
) -> dict[str, Any]:
    """Re-hash `sample` random masters; write every finding to reports/fixity/YYYYMMDD.json
    and .csv in the bucket, and keep the figures for `sohoa status`. Artefacts found with
    scans their record does not list are published again through `send_publish`."""
    moment = now or datetime.now(UTC)
    audit = run_audit(ctx, sample=sample, seed=seed)
    if send_publish is not None:
        for finding in audit.unpublished:
            send_publish(PublishRecordTask(object=str(finding.object)))
    keys = save_fixity_report(ctx.store, audit, moment)
    summary = summarise_audit(audit, sample=sample)
    summary.update(
        checked=audit.checked,
        counts=fixity_counts(audit),
        report={"bucket": ctx.store.bucket, "keys": keys},
    )
    state.save_fixity(
        {k: summary[k] for k in ("ok", "sample", "checked", "counts", "report", "checked_at")}
    )
    return summary


def fixity_counts(audit: Any) -> dict[str, int]:
    return {
        kind: len(list(getattr(audit, kind, [])))
        for kind in ("changed", "missing", "untracked", "unreadable", "unpublished")
    }
