"""Where a batch stands, from its keys in Redis: counts of its files' outcomes and the pace of
this run; reads only (services/batch.py runs the batch)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from pipeline.adapters.redis_batch import BatchState


@dataclass
class BatchProgress:
    """Where a batch stands: counts of the files' outcomes, and the pace of this run."""

    batch_id: str
    total: int
    stored: int = 0
    quarantined: int = 0
    failed: int = 0
    skipped: int = 0  # stored before this run: not sent again
    processed: int = 0  # outcomes that arrived from workers during this run
    elapsed: float = 0.0

    @property
    def done(self) -> int:
        return self.stored + self.quarantined + self.failed

    @property
    def remaining(self) -> int:
        return max(0, self.total - self.done)

    @property
    def per_hour(self) -> float | None:
        return self.processed / self.elapsed * 3600 if self.elapsed > 0 and self.processed else None

    @property
    def eta_seconds(self) -> float | None:
        rate = self.per_hour
        return self.remaining / rate * 3600 if rate else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "total": self.total,
            "stored": self.stored,
            "quarantined": self.quarantined,
            "failed": self.failed,
            "remaining": self.remaining,
            "skipped": self.skipped,
            "per_hour": round(self.per_hour, 1) if self.per_hour else None,
            "eta_seconds": round(self.eta_seconds) if self.eta_seconds is not None else None,
        }


def count_outcome(progress: BatchProgress, outcome: dict[str, Any]) -> None:
    status = outcome.get("status")
    if status == "stored":
        progress.stored += 1
    elif status == "quarantined":
        progress.quarantined += 1
    else:
        progress.failed += 1


def read_progress(state: BatchState, batch_id: str) -> BatchProgress | None:
    """A batch's progress from its keys alone (for `sohoa status`, while or after it runs)."""
    meta = state.read_meta(batch_id)
    if meta is None:
        return None
    files = state.read_files(batch_id)
    results = state.read_results(batch_id)
    progress = BatchProgress(batch_id, total=int(meta.get("total") or len(files)))
    run_started = float(meta.get("run_started") or 0)
    for path, entry in files.items():
        outcome = entry.get("outcome") or results.get(path)
        if outcome is None:
            continue
        count_outcome(progress, outcome)
        if entry.get("skipped"):
            progress.skipped += 1
        elif entry.get("task_id"):
            progress.processed += 1
    finished = meta.get("finished")
    progress.elapsed = max(0.0, (float(finished or time.time())) - run_started)
    return progress
