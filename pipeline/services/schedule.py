"""The nightly schedule: which jobs run when, and the hot folder's backlog run; no Celery here
(workers/app.py turns the jobs into beat entries, workers/tasks.py runs them)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, is_dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from config.settings import SohoaSettings
from pipeline.adapters.redis_batch import BatchState
from pipeline.services.batch import BatchRun, SendScan, collect_files
from pipeline.services.context import Context

NIGHTLY_BACKLOG = "sohoa.nightly_backlog"
FIXITY_SAMPLE = "sohoa.fixity_sample"


@dataclass(frozen=True)
class NightlyJob:
    """One entry of the nightly schedule (times in SOHOA_SCHEDULE_TIMEZONE, the app's)."""

    name: str
    task: str
    hour: int
    minute: int


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
    files = collect_files([folder]).files
    run = BatchRun(ctx, state, batch_id, files, send=send, queues=queues, inputs=[str(folder)])
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
