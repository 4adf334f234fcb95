"""Send files as one batch, follow them to their end, sum them up and report (`sohoa ingest`,
the demo); no rendering, and no broker here: a ScanSender carries the messages."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.adapters.redis_broker import check_broker
from pipeline.core.inventory import Inventory, parse_inventory
from pipeline.core.naming import parse_scan_name
from pipeline.core.session import SessionRecord
from pipeline.errors import SohoaError
from pipeline.services.context import Context
from pipeline.services.intake import IngestSummary, summarise
from pipeline.services.models import ProcessScanTask, PublishRecordTask
from pipeline.services.publish import register_inventory
from pipeline.services.report import BatchInfo, SavedReport, save_batch_report, to_file_results
from pipeline.services.sender import ScanSender
from pipeline.services.session_scoring import settle_for_report
from schemas import inventory_columns

_POLL_SECONDS = 0.5

Progress = Callable[[dict[str, dict[str, Any]], int], None]


def new_batch_id() -> str:
    """A fresh name, in the order batches were started."""
    return time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]


def check_ready(ctx: Context) -> None:
    """Redis answers without evicting keys and the buckets are there; SohoaError saying which."""
    check_broker(ctx.settings.redis_url)
    ctx.store.check_buckets()


def read_inventory(ctx: Context, path: Path) -> tuple[Inventory, list[str]]:
    """Parse an inventory sheet (CSV or XLSX) and register its good rows in the bucket; the
    inventory (its problems listed in it) and the objects whose row is new or changed."""
    inventory = parse_inventory(path.read_bytes(), columns=inventory_columns())
    return inventory, list(register_inventory(ctx, inventory))


def publish_unscanned(
    ctx: Context, sender: ScanSender, changed: Iterable[str], files: Iterable[Path]
) -> list[str]:
    """Objects whose inventory row changed get their record rebuilt even with no new scan (the
    scanned ones are rebuilt after their scans); return the task ids."""
    changed = set(changed)
    if not changed:
        return []
    pattern = ctx.profile.naming.pattern
    scanned = set()
    for path in files:
        try:
            scanned.add(parse_scan_name(path.name, pattern).object_slug)
        except SohoaError:
            continue
    return [
        sender.send_publish(PublishRecordTask(object=slug)) for slug in sorted(changed - scanned)
    ]


def wait_for(
    sender: ScanSender,
    task_ids: Iterable[str],
    *,
    on_progress: Progress | None = None,
    timeout: float | None = None,
    poll: float = _POLL_SECONDS,
) -> dict[str, dict[str, Any]]:
    """Until every task has finished, or `timeout`; id -> result for the finished ones."""
    pending = set(task_ids)
    total = len(pending)
    done: dict[str, dict[str, Any]] = {}
    deadline = None if timeout is None else time.monotonic() + timeout
    while pending:
        finished = sender.poll(list(pending))
        done.update(finished)
        pending -= set(finished)
        if on_progress is not None:
            on_progress(done, total)
        if pending:
            if deadline is not None and time.monotonic() > deadline:
                break
            time.sleep(poll)
    return done


@dataclass
class IngestOutcome:
    """What became of an ingest's files; `unfinished` ones were still queued at the timeout."""

    results: dict[str, dict[str, Any]]
    summary: IngestSummary
    unfinished: int
    sessions: list[SessionRecord] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.summary.ok and not self.unfinished


@dataclass
class Ingest:
    """One ingest: its files sent as a batch, then (if asked) followed to their records."""

    ctx: Context
    sender: ScanSender
    batch_id: str
    files: list[Path]
    inputs: list[Path]
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    task_ids: list[str] = field(default_factory=list)

    def send(self, changed_objects: Iterable[str] = ()) -> list[str]:
        """Queue every file, then the records of objects whose inventory row alone changed."""
        self.task_ids = [
            self.sender.send(ProcessScanTask(path=str(path), batch_id=self.batch_id))
            for path in self.files
        ]
        publish_unscanned(self.ctx, self.sender, changed_objects, self.files)
        return self.task_ids

    def wait(
        self, *, on_progress: Progress | None = None, timeout: float | None = None
    ) -> IngestOutcome:
        """Every file's result, then every record those files rebuild, each within `timeout`."""
        results = wait_for(self.sender, self.task_ids, on_progress=on_progress, timeout=timeout)
        for task_id, path in zip(self.task_ids, self.files, strict=True):
            if task_id in results:
                # A task that raised comes back without its file: every outcome names one.
                results[task_id].setdefault("path", str(path))
                results[task_id].setdefault("name", path.name)
        publish_ids = [r["publish_task_id"] for r in results.values() if r.get("publish_task_id")]
        wait_for(self.sender, publish_ids, timeout=timeout)
        # Every scan is in now: score its sessions, and rebuild the records whose colour moved.
        scored = settle_for_report(
            self.ctx,
            (r.get("session_group") for r in results.values()),
            republish=lambda objects: wait_for(
                self.sender,
                [self.sender.send_publish(PublishRecordTask(object=slug)) for slug in objects],
                timeout=timeout,
            ),
        )
        return IngestOutcome(
            results=results,
            summary=summarise(list(results.values())),
            unfinished=len(self.task_ids) - len(results),
            sessions=scored.sessions,
        )

    def save_report(self, outcome: IngestOutcome, directory: Path) -> SavedReport:
        """The batch report, written to `directory` first, then to reports/ in the bucket."""
        rows = to_file_results(self.files, self.task_ids, outcome.results)
        batch = BatchInfo(
            self.batch_id, self.started_at, datetime.now(UTC), [str(p) for p in self.inputs]
        )
        return save_batch_report(
            self.ctx.store, rows, batch, directory=directory, sessions=outcome.sessions
        )
