"""What `sohoa status` shows: workers, queues, today's figures and the last batches, gathered
from Redis and the workers' replies; it changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pipeline.adapters.redis_batch import BatchState
from pipeline.services.batch import read_progress


def collect_status(
    state: BatchState,
    *,
    queues: list[str],
    workers: list[str],
    recent: int = 5,
    held: Callable[[list[str]], set[str] | None] | None = None,
) -> dict[str, Any]:
    """One JSON-ready picture of the pipeline (`workers` are the nodes that answered a ping).

    With `held` (which of these tasks a live worker holds), a task taken by a worker that is
    gone counts as orphaned, not in progress: it waits to be given back to its queue."""
    depths = state.queue_depths(queues)
    taken = state.unacked_task_ids(queues)
    alive = held(sorted(taken)) if held is not None and taken else None
    batches = []
    for batch_id in state.recent_batches(recent):
        described = describe_batch(state, batch_id)
        if described is not None:
            batches.append(described)
    return {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "workers": workers,
        "queues": depths,
        "in_progress": len(taken) if alive is None else len(taken & alive),
        "orphaned": 0 if alive is None else len(taken - alive),
        "today": {
            status: state.daily_counts().get(status, 0)
            for status in ("stored", "already_stored", "quarantined", "failed")
        },
        "batches": batches,
    }


def describe_batch(state: BatchState, batch_id: str) -> dict[str, Any] | None:
    """A batch's meta and progress, or None when Redis no longer knows it."""
    meta = state.read_meta(batch_id)
    progress = read_progress(state, batch_id)
    if meta is None or progress is None:
        return None
    finished = meta.get("finished")
    return {
        **progress.as_dict(),
        "started_at": meta.get("started_at"),
        "finished_at": (
            datetime.fromtimestamp(float(finished), UTC).isoformat(timespec="seconds")
            if finished
            else None
        ),
        "state": "finished" if finished else ("running" if progress.remaining else "settled"),
        "inputs": meta.get("inputs") or [],
        "runs": meta.get("runs") or 1,
    }
