"""Run an overnight batch that resumes and reconciles against the bucket; no decoding, and the
broker is not the record (services/intake.py finds the files and sums up their outcomes)."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.adapters.redis_batch import BatchState
from pipeline.core.naming import parse_scan_name, to_nfc
from pipeline.errors import BatchBusyError, NotRegularFileError, SohoaError
from pipeline.services.completeness import RecordGap, find_record_gaps
from pipeline.services.context import Context
from pipeline.services.handoff import batch_task
from pipeline.services.models import PublishRecordTask, ScanResult
from pipeline.services.progress import BatchProgress, count_outcome, read_progress
from pipeline.services.quarantine import sha256_of_file
from pipeline.services.sender import SendScan
from pipeline.services.stored import stored_result, stored_results

log = logging.getLogger(__name__)

__all__ = ["BatchProgress", "BatchRun", "default_batch_id", "read_progress", "stored_result"]


# --- the overnight batch: plan, send, follow, reconcile ----------------------------------------

# How long a batch's lock lasts unless its holder extends it (a holder that died only delays).
LOCK_SECONDS = 120.0
# Records still missing after this many republishing rounds (each `stall_seconds` apart) are
# reported as missing: `sohoa batch` then exits 1 and says which.
PUBLISH_ROUNDS = 3
# A round's publish tasks still without a result are waited for, up to this many stalls.
IN_FLIGHT_STALLS = 10


def default_batch_id(folder: Path) -> str:
    """The same folder gives the same batch, so running it again resumes it."""
    resolved = folder.resolve()
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", resolved.name).strip("-._")[:40] or "batch"
    return f"{slug}-{hashlib.sha1(str(resolved).encode()).hexdigest()[:8]}"


@dataclass
class BatchRun:
    """One run of a batch. The bucket decides what is stored; Redis only carries messages and
    progress, so anything it loses is found missing and sent again."""

    ctx: Context
    state: BatchState
    batch_id: str
    files: list[Path]
    send: SendScan
    queues: list[str]
    inputs: list[str] = field(default_factory=list)
    # No news for this long: look for messages the broker lost (two looks, to be sure).
    stall_seconds: float = 60.0
    # The task's own result in Celery's backend, for an outcome our progress keys missed.
    lookup: Callable[[str], dict[str, Any] | None] | None = None
    # Wall time: the first sighting of a lost message is shared with other finishers.
    clock: Callable[[], float] = time.time
    # Set, the run takes the batch's lock (Redis) before it re-sends or finishes anything.
    lock_owner: str | None = None
    # Queues the rebuilding of an artefact's record whose publish never arrived.
    send_publish: Callable[[PublishRecordTask], str] | None = None
    # Of these task ids, those a live worker holds (running, reserved, waiting for a retry);
    # None when the workers could not be asked. Given, a task taken by a worker that died is
    # given back to its queue within `stall_seconds`, not after the visibility timeout.
    held: Callable[[list[str]], set[str] | None] | None = None
    lock_wait: float = LOCK_SECONDS + 5
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    outcomes: dict[str, dict[str, Any]] = field(default_factory=dict)
    pending: set[str] = field(default_factory=set)
    resent: int = 0
    requeued: int = 0  # messages of dead workers given back to the queue
    record_gaps: list[RecordGap] = field(default_factory=list)  # artefacts not yet published
    republished: set[str] = field(default_factory=set)
    publish_rounds: int = 0
    _republish_ids: list[str] = field(default_factory=list)
    _gaps_since: float | None = None
    _orphans_checked: float = 0.0
    _processed: int = 0
    _cursor: int = 0
    _started: float = 0.0
    _last_news: float = 0.0
    _lock_depth: int = 0
    report: dict[str, Any] | None = None  # where the finished batch's report is

    # --- one finisher at a time ----------------------------------------------------------------

    @contextmanager
    def exclusive(self, wait: float | None = None) -> Iterator[None]:
        """Hold the batch's lock (waiting up to `wait`, default `lock_wait`); re-entrant within
        this run. BatchBusyError when another process keeps it."""
        if self.lock_owner is None:
            yield
            return
        if self._lock_depth == 0:
            deadline = self.clock() + (self.lock_wait if wait is None else wait)
            while not self.state.acquire_lock(self.batch_id, self.lock_owner, LOCK_SECONDS):
                if self.clock() >= deadline:
                    raise BatchBusyError(
                        f"Batch {self.batch_id} is being reconciled or reported by another "
                        f"process ({self.state.lock_holder(self.batch_id)}): wait for it, "
                        "then look at `sohoa status`; a holder that died lets go within "
                        f"{LOCK_SECONDS:.0f} s."
                    )
                time.sleep(0.5)
        self._lock_depth += 1
        try:
            yield
        finally:
            self._lock_depth -= 1
            if self._lock_depth == 0:
                self.state.release_lock(self.batch_id, self.lock_owner)

    def _renew(self) -> None:
        """Extend the lock during long work (hashing, checking the bucket)."""
        if self.lock_owner is not None and self._lock_depth:
            self.state.acquire_lock(self.batch_id, self.lock_owner, LOCK_SECONDS)

    @classmethod
    def resume(
        cls,
        ctx: Context,
        state: BatchState,
        batch_id: str,
        *,
        send: SendScan,
        queues: list[str],
        stall_seconds: float = 60.0,
        lookup: Callable[[str], dict[str, Any] | None] | None = None,
        lock_owner: str | None = None,
        **ports: Any,
    ) -> BatchRun | None:
        """The batch as its keys in Redis describe it, for a process that did not start it;
        None when Redis no longer knows it or it is still being planned (files missing).
        `ports`: send_publish and held (as the fields)."""
        meta = state.read_meta(batch_id)
        if meta is None:
            return None
        entries = state.read_files(batch_id)
        if len(entries) < int(meta.get("total") or 0):
            return None
        results = state.read_results(batch_id)
        run = cls(
            ctx, state, batch_id, sorted(Path(p) for p in entries), send=send, queues=queues,
            inputs=list(meta.get("inputs") or []), stall_seconds=stall_seconds, lookup=lookup,
            lock_owner=lock_owner, **ports,
        )  # fmt: skip
        run.entries = entries
        for key, entry in entries.items():
            outcome = entry.get("outcome") or results.get(key)
            if outcome is not None:
                run.outcomes[key] = outcome
                run._processed += int(not entry.get("outcome"))
            else:
                run.pending.add(key)  # no task id (planning cut off): found lost, sent again
        run._started = float(meta.get("run_started") or run.clock())
        run._last_news = run.clock()
        return run

    # --- plan and send -------------------------------------------------------------------------

    def start(self, on_prepared: Callable[[int, int], None] | None = None) -> None:
        """Hash every file, ask the bucket, send what is not stored (and not already queued)."""
        with self.exclusive():
            self._start(on_prepared)

    def _start(self, on_prepared: Callable[[int, int], None] | None) -> None:
        self._started = self._last_news = self.clock()
        # Results arriving from here on are read from the arrival list; earlier ones are read
        # once, below. Taking the cursor first means none falls in between.
        self._cursor = self.state.arrival_count(self.batch_id)
        previous = self.state.read_files(self.batch_id)
        earlier = self.state.read_results(self.batch_id)
        # Messages of this batch still queued or being processed (an earlier run was cut off,
        # perhaps before it noted what it had sent): waited for, never sent twice.
        in_flight = {
            str(payload.get("path")): task_id
            for task_id, payload in self.state.queued_tasks(self.queues).items()
            if payload is not None and payload.get("batch_id") == self.batch_id
        }
        old_meta = self.state.read_meta(self.batch_id) or {}
        meta = {
            "batch_id": self.batch_id,
            "inputs": self.inputs,
            "started_at": old_meta.get("started_at") or datetime.now(UTC).isoformat(),
            "run_started": time.time(),
            "runs": int(old_meta.get("runs") or 0) + 1,
            "total": len(self.files),
            "finished": None,
        }
        self.state.save_meta(self.batch_id, meta)
        pattern = self.ctx.profile.naming.pattern
        buffer: dict[str, dict[str, Any]] = {}
        for number, path in enumerate(self.files, start=1):
            key = str(path)
            entry = self._plan_one(path, pattern, previous.get(key), earlier.get(key), in_flight)
            self.entries[key] = buffer[key] = entry
            if len(buffer) >= 100:
                self.state.save_files(self.batch_id, buffer)
                buffer = {}
                self._renew()
            if on_prepared is not None:
                on_prepared(number, len(self.files))
        if buffer:
            self.state.save_files(self.batch_id, buffer)

    def _plan_one(
        self,
        path: Path,
        pattern: str,
        before: dict[str, Any] | None,
        earlier: dict[str, Any] | None,
        in_flight: dict[str, str],
    ) -> dict[str, Any]:
        key = str(path)
        try:
            stat = path.stat()
            same = (
                before is not None
                and before.get("size") == stat.st_size
                and before.get("mtime_ns") == stat.st_mtime_ns
                and bool(before.get("sha256"))
            )
            sha256 = str(before["sha256"]) if same and before else sha256_of_file(path)
        except (OSError, NotRegularFileError) as exc:
            code, message = (
                (exc.code, exc.message)
                if isinstance(exc, NotRegularFileError)
                else (
                    "SOURCE_MISSING",
                    f"File {path.name!r} could not be read ({exc.strerror or exc}): check "
                    "that it is still there and readable, then run the batch again.",
                )
            )
            outcome = ScanResult(
                status="failed", path=key, name=to_nfc(path.name), code=code, message=message
            ).model_dump()
            self.outcomes[key] = outcome
            return {"outcome": outcome}
        try:
            slug: str | None = parse_scan_name(path.name, pattern).object_slug
        except SohoaError:
            slug = None  # the worker quarantines it as BAD_NAME, with the remedy
        entry: dict[str, Any] = {
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "sha256": sha256,
            "object": slug,
            "task_id": None,
            "outcome": None,
        }
        stored = stored_result(self.ctx, path, slug, sha256) if slug else None
        if stored is not None:
            if earlier is not None and earlier.get("status") == "stored":
                stored = earlier  # this batch stored it in an earlier run: keep its figures
            entry["outcome"] = self.outcomes[key] = stored
            entry["skipped"] = True
            return entry
        if same and earlier is not None and earlier.get("status") == "quarantined":
            # Unchanged bytes give the same verdict: keep it rather than decode them again.
            entry["outcome"] = self.outcomes[key] = earlier
            return entry
        if key in in_flight:
            # Its message is still queued (or being processed): wait for it, do not send twice.
            entry["task_id"] = in_flight[key]
            entry["adopted"] = True
            self.pending.add(key)
            return entry
        self.state.forget_results(self.batch_id, [key])
        entry["task_id"] = self.send(batch_task(self.ctx, key, self.batch_id, sha256))
        self.pending.add(key)
        return entry

    # --- follow --------------------------------------------------------------------------------

    def poll(self) -> BatchProgress:
        """Take the results that arrived; look for lost messages when nothing arrives."""
        arrived = self.state.arrivals(self.batch_id, self._cursor)
        self._cursor += len(arrived)
        wanted = [p for p in dict.fromkeys(arrived) if p in self.pending]
        if wanted:
            for path, result in self.state.read_results(self.batch_id, wanted).items():
                self._settle(path, result)
        if self.pending and self.clock() - self._last_news >= self.stall_seconds:
            self.reconcile()
        if self.pending and self.clock() - self._orphans_checked >= self.stall_seconds / 2:
            self.find_orphans()  # on its own clock: other workers' results keep arriving
        return self.progress()

    def step(self) -> bool:
        """One non-blocking round, for a process that does not follow the batch: take the
        results, look for lost messages (sent again once missing for `stall_seconds`) and for
        tasks of dead workers, check the bucket when nothing is pending, then the records
        (republished at once when missing). True when every file is settled and verified and
        every artefact published."""
        with self.exclusive():
            if self.pending:
                found = self.state.read_results(self.batch_id, sorted(self.pending))
                for path, result in found.items():
                    self._settle(path, result)
            if self.pending:
                self.reconcile()
                self.find_orphans()
            if self.pending or self.verify_stored():
                return False
            return self.check_records(patient=False) and not self.record_gaps

    def _settle(self, path: str, outcome: dict[str, Any]) -> None:
        self.outcomes[path] = outcome
        self.pending.discard(path)
        self._processed += 1
        self._last_news = self.clock()

    def reconcile(self) -> list[str]:
        """Send again the files whose message is gone (missing for `stall_seconds`, at two
        looks or more, whoever looked) and not stored."""
        with self.exclusive():
            return self._reconcile()

    def _adopt(self, paths: list[str]) -> None:
        """Take what another finisher did to these files: re-sent (a new task id), or settled."""
        for path, current in self.state.read_file_entries(self.batch_id, paths).items():
            if current.get("outcome"):
                self.entries[path] = current
                self._settle(path, current["outcome"])
            elif current.get("task_id") != self.entries[path].get("task_id"):
                self.entries[path] = current

    def _reconcile(self) -> list[str]:
        self._last_news = self.clock()
        self._adopt(sorted(self.pending))
        in_flight = self.state.queued_task_ids(self.queues)
        suspects = {p for p in self.pending if self.entries[p].get("task_id") not in in_flight}
        if not suspects:
            self.state.save_suspects(self.batch_id, {})
            return []
        # A result written between our reads is not a loss.
        found = self.state.read_results(self.batch_id, sorted(suspects))
        if self.lookup is not None:
            for path in suspects - set(found):
                result = self.lookup(str(self.entries[path]["task_id"]))
                if result is not None:
                    found[path] = result
        for path, result in found.items():
            self._settle(path, result)
            suspects.discard(path)
        # Seen missing before with the same task id, long enough ago: lost (a message moving
        # between a queue and a worker's unacknowledged set is missing only for an instant).
        now = self.clock()
        seen_before = self.state.read_suspects(self.batch_id)
        first_seen: dict[str, float] = {}
        for path in suspects:
            task_id, at = (seen_before.get(path) or [None, None])[:2]
            same = task_id == self.entries[path].get("task_id") and at is not None
            first_seen[path] = float(at) if same else now
        lost = [p for p in sorted(suspects) if now - first_seen[p] >= self.stall_seconds]
        self.state.save_suspects(
            self.batch_id,
            {p: [self.entries[p].get("task_id"), first_seen[p]] for p in suspects if p not in lost},
        )
        resent = []
        changed: dict[str, dict[str, Any]] = {}
        for key in lost:
            entry = self.entries[key]
            slug, sha256 = entry.get("object"), entry.get("sha256")
            stored = stored_result(self.ctx, Path(key), slug, sha256) if slug and sha256 else None
            if stored is not None:
                entry["outcome"] = stored
                self._settle(key, stored)
            else:
                log.debug("batch %s: the message for %s was lost", self.batch_id, key)
                self.state.forget_results(self.batch_id, [key])
                entry["task_id"] = self.send(batch_task(self.ctx, key, self.batch_id, sha256))
                resent.append(key)
            changed[key] = entry
        if changed:
            self.state.save_files(self.batch_id, changed)
        if resent:
            # One line, not one per file: after a Redis restart that can be thousands.
            log.warning(
                "batch %s: the broker lost the messages of %d file(s) (%s%s); sent again",
                self.batch_id, len(resent), Path(resent[0]).name,
                f" and {len(resent) - 1} more" if len(resent) > 1 else "",
            )  # fmt: skip
        self.resent += len(resent)
        return resent

    # --- a task taken by a worker that died ----------------------------------------------------

    def find_orphans(self) -> list[str]:
        """Give back to their queue the messages of pending files that a worker took and no
        live worker holds (it died: SIGKILL, power cut), once seen so at two looks at least
        `stall_seconds / 2` apart, shared by every finisher. Without this they would wait for
        the broker's visibility timeout (an hour by default). The same message goes back (its
        task id and delivery count kept). A worker too busy to answer within the question's
        timeout is taken for dead: its task then runs twice, which stores nothing twice."""
        with self.exclusive():
            return self._find_orphans()

    def _find_orphans(self) -> list[str]:
        now = self._orphans_checked = self.clock()
        if self.held is None:
            return []
        by_task = {
            str(entry["task_id"]): path
            for path in self.pending
            if (entry := self.entries.get(path, {})).get("task_id")
        }
        # Taken a moment ago, a worker may not have registered it yet: not judged.
        taken = {
            task
            for task, at in self.state.unacked_since(self.queues).items()
            if task in by_task and now - at >= self.stall_seconds / 2
        }
        seen = self.state.read_orphans(self.batch_id)
        alive = self.held(sorted(taken)) if taken else set()
        if alive is None:
            return []  # the workers could not be asked: judge nothing
        first = {task: float(seen.get(task, now)) for task in taken - alive}
        due = sorted(task for task, at in first.items() if now - at >= self.stall_seconds / 2)
        self.state.save_orphans(self.batch_id, {t: at for t, at in first.items() if t not in due})
        given_back = self.state.requeue_unacked(due, self.queues) if due else []
        if given_back:
            self.requeued += len(given_back)
            log.warning(
                "batch %s: %d file(s) taken by a worker that is gone (%s%s); given back to the "
                "queue", self.batch_id, len(given_back), Path(by_task[given_back[0]]).name,
                f" and {len(given_back) - 1} more" if len(given_back) > 1 else "",
            )  # fmt: skip
        return [by_task[task] for task in given_back]

    # --- every artefact published --------------------------------------------------------------

    def touched_objects(self) -> list[str]:
        """The artefacts this batch stored a scan of, or found one stored."""
        return sorted(
            {str(o["object"]) for o in self.outcomes.values() if o.get("status") == "stored"
             and o.get("object")}
        )  # fmt: skip

    def check_records(self, *, patient: bool = True) -> bool:
        """True once every artefact of the batch has a record listing all its stored scans, or
        republishing gave up (`record_gaps` then says which have not). A record still missing
        `stall_seconds` after the last one arrived (its publish lost with Redis, or given up
        while storage was away) is republished, at most PUBLISH_ROUNDS times; with
        `patient=False` at once (a finisher's round: minutes apart, publishing is idempotent)."""
        with self.exclusive():
            objects = self.touched_objects() if self._gaps_since is None else [
                gap.object for gap in self.record_gaps
            ]  # fmt: skip
            gaps = find_record_gaps(self.ctx, objects)
            now = self.clock()
            if self._gaps_since is None or len(gaps) < len(self.record_gaps):
                self._gaps_since = now
            self.record_gaps = gaps
            if not gaps:
                return True
            if patient and now - self._gaps_since < self.stall_seconds:
                return False  # their publish tasks may still be on their way
            if patient and self._republish_in_flight(now - self._gaps_since):
                return False  # the last round's tasks wait behind other work: not lost
            if self.send_publish is None or self.publish_rounds >= PUBLISH_ROUNDS:
                return True
            self._republish_ids = [
                self.send_publish(PublishRecordTask(object=gap.object)) for gap in gaps
            ]
            self.republished.update(gap.object for gap in gaps)
            self.publish_rounds += 1
            self._gaps_since = now
            log.warning(
                "batch %s: %d artefact(s) without a current record (%s%s); published again",
                self.batch_id, len(gaps), gaps[0].object,
                f" and {len(gaps) - 1} more" if len(gaps) > 1 else "",
            )  # fmt: skip
            return False

    def _republish_in_flight(self, waited: float) -> bool:
        """Whether a task of the last republishing round has no result yet (queued behind a
        busy worker's other work), for at most IN_FLIGHT_STALLS stalls: only a round whose
        tasks ended, or waited that long, counts as lost."""
        if self.lookup is None or not self._republish_ids:
            return False
        if waited >= IN_FLIGHT_STALLS * self.stall_seconds:
            return False
        return any(self.lookup(task_id) is None for task_id in self._republish_ids)

    def verify_stored(self) -> list[str]:
        """The last word is the bucket's: a file a worker called stored must be there."""
        with self.exclusive():
            return self._verify_stored()

    def _verify_stored(self) -> list[str]:
        told = [
            (key, outcome.get("object"), outcome.get("scan_id"))
            for key, outcome in self.outcomes.items()
            # Those found in the bucket by this run already are not asked again.
            if outcome.get("status") == "stored" and not self.entries.get(key, {}).get("outcome")
        ]
        missing = []
        checked = zip(told, stored_results(self.ctx, told), strict=True)
        for number, ((key, _, _), found) in enumerate(checked, start=1):
            if number % 200 == 0:
                self._renew()
            if not found:
                missing.append(key)
        if not missing:
            return []
        current = self.state.read_file_entries(self.batch_id, missing)
        resent = []
        for key in missing:
            del self.outcomes[key]
            self.pending.add(key)
            now = current.get(key, {})
            if now.get("task_id") and now.get("task_id") != self.entries[key].get("task_id"):
                self.entries[key] = now  # another finisher sent it again already
                continue
            self.state.forget_results(self.batch_id, [key])
            sha256 = self.entries[key].get("sha256")
            self.entries[key]["task_id"] = self.send(
                batch_task(self.ctx, key, self.batch_id, sha256)
            )
            resent.append(key)
        if resent:
            self.state.save_files(self.batch_id, {k: self.entries[k] for k in resent})
            self.resent += len(resent)
        return missing

    def progress(self) -> BatchProgress:
        progress = BatchProgress(self.batch_id, total=len(self.files))
        for key, outcome in self.outcomes.items():
            count_outcome(progress, outcome)
            if self.entries.get(key, {}).get("skipped"):
                progress.skipped += 1
        progress.processed = self._processed
        progress.elapsed = self.clock() - self._started
        return progress

    def results(self) -> list[dict[str, Any]]:
        """One result per settled file, in the batch's order."""
        return [self.outcomes[str(p)] for p in self.files if str(p) in self.outcomes]

    def finish(
        self, write_report: Callable[[list[dict[str, Any]]], dict[str, Any]] | None = None
    ) -> bool:
        """Write the report (`write_report` returns where) and mark the batch finished, once:
        False when another finisher already did (`self.report` then says where it is)."""
        with self.exclusive():
            meta = self.state.read_meta(self.batch_id) or {"batch_id": self.batch_id}
            if meta.get("finished") and meta.get("report"):
                self.report = dict(meta["report"])
                return False
            if write_report is not None:
                self.report = write_report(self.results())
                meta["report"] = self.report
            meta["finished"] = time.time()
            meta["summary"] = self.progress().as_dict()
            self.state.save_meta(self.batch_id, meta)
            return True
