"""Who scores a session group, and when: after every stored scan (the worker), and where a
batch or an ingest ends (for its report); one scorer per group at a time. Scoring itself is
services/session.py; this module only decides who runs it and makes sure no scan is missed.

Each stored scan marks its group (adapters/redis_session.py) and then tries the group's lock.
The holder takes the marks, scores the sessions they name, and goes on while marks arrive; a
scan that finds the lock taken leaves its mark to the holder, who looks for marks again after
giving the lock back. So the last scoring of a group has listed every scan indexed before it,
and a chart shot that arrives after the other scans of its session reaches them all.

A worker's scoring is incremental: the holder keeps each session's colour basis in Redis, and
while a session's basis stays the same (no new chart shot, no new first scan) a scan joining
it gets its colour alone: a few requests per scan, where reading every member's record made a
session of n scans cost n²/2 reads. A report's scoring (`full`) reads them all, as a check.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from pipeline.adapters.redis_session import SessionMarks
from pipeline.services.context import Context
from pipeline.services.session import SessionOutcome, read_sessions, settle_sessions

log = logging.getLogger(__name__)

Republish = Callable[[list[str]], Any]


def open_session_marks(ctx: Context) -> SessionMarks:
    return SessionMarks(ctx.settings.redis_url, prefix=ctx.settings.queue_prefix)


def scorer_name(role: str) -> str:
    """Who holds a group's lock (in Redis, for whoever looks)."""
    return f"{role}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def settle_for_report(
    ctx: Context, groups: Iterable[str | None], *, republish: Republish, wait: float = 60.0
) -> SessionOutcome:
    """settle_groups from a process that reports (an ingest, a batch's end)."""
    marks = open_session_marks(ctx)
    try:
        return settle_groups(
            ctx, marks, groups, owner=scorer_name("report"), republish=republish, wait=wait
        )
    finally:
        marks.close()


def settle_scan(
    ctx: Context,
    marks: SessionMarks,
    group: str,
    scan_id: str,
    *,
    owner: str,
    republish: Republish,
) -> SessionOutcome | None:
    """After one scan is stored: score the sessions it touches now, or leave it to the scorer
    at work on its group (None then). Idempotent."""
    marks.mark(group, [scan_id])
    if not marks.acquire(group, owner, _lock_seconds(ctx)):
        return None
    return _score_while_marked(ctx, marks, group, owner, republish, full=False)


def settle_groups(
    ctx: Context,
    marks: SessionMarks,
    groups: Iterable[str | None],
    *,
    owner: str,
    republish: Republish,
    wait: float = 60.0,
) -> SessionOutcome:
    """Score every session of `groups` in full, for a report: each group once its lock is
    free (a worker may be scoring it); a group still busy after `wait` seconds is reported as
    its summaries stand, and its scorer finishes it."""
    outcome = SessionOutcome()
    changed: set[str] = set()
    for group in sorted({g for g in groups if g}):
        deadline = time.monotonic() + wait
        while not marks.acquire(group, owner, _lock_seconds(ctx)):
            if time.monotonic() >= deadline:
                log.warning("sessions of %s: scored by another process; reported as stored", group)
                outcome.sessions.extend(read_sessions(ctx, [group]))
                break
            time.sleep(0.25)
        else:
            got = _score_while_marked(ctx, marks, group, owner, republish, full=True)
            outcome.sessions.extend(got.sessions)
            changed.update(got.changed_objects)
    outcome.sessions.sort(key=lambda s: (s.group, s.started is None, s.started, s.session_id))
    outcome.changed_objects = sorted(changed)
    return outcome


def _score_while_marked(
    ctx: Context,
    marks: SessionMarks,
    group: str,
    owner: str,
    republish: Republish,
    *,
    full: bool,
) -> SessionOutcome:
    """Called holding the lock: score (the whole group when `full`, else the marked scans'
    sessions) until no mark is left, release, and take the lock again for a mark that came
    in between; a holder that fails puts back the marks it took."""
    scored: dict[str, Any] = {}
    changed: set[str] = set()
    while True:
        try:
            while (taken := marks.take(group)) or full:
                try:
                    got = settle_sessions(
                        ctx,
                        [group],
                        republish=republish,
                        only=None if full else taken,
                        known=None if full else {group: marks.bases(group)},
                    )
                    marks.keep_bases(group, got.bases.get(group, {}))
                except BaseException:
                    marks.mark(group, taken)
                    raise
                full = False
                scored.update({s.session_id: s for s in got.sessions})
                changed.update(got.changed_objects)
                marks.acquire(group, owner, _lock_seconds(ctx))  # still ours, for longer
        finally:
            marks.release(group, owner)
        if not marks.is_marked(group) or not marks.acquire(group, owner, _lock_seconds(ctx)):
            break
    return SessionOutcome(sessions=list(scored.values()), changed_objects=sorted(changed))


def describe_outcome(outcome: SessionOutcome | None) -> dict[str, Any]:
    """A task's result: what this scoring did, or that the group's scorer took it over."""
    if outcome is None:
        return {"status": "left_to_scorer"}
    return {
        "status": "scored",
        "sessions": [
            {"session_id": s.session_id, "level": s.level, "verdict": s.verdict}
            for s in outcome.sessions
        ],
        "changed_objects": outcome.changed_objects,
    }


def _lock_seconds(ctx: Context) -> float:
    # As long as a task may run: a scorer that died holds a group no longer than that.
    return float(ctx.settings.task_time_limit)
