"""Capture sessions in the bucket: index each stored scan by camera and time, then score the
sessions a batch touched, write their summaries and their members' colour; no decoding.

Scans of one session arrive on different workers in any order, so nothing is decided per scan:
each stored scan leaves an empty index key naming its group, time and whether it shows the chart
(`layout.session_index_key`), and the batch's end (or an ingest's, once its records are
published) lists those keys, groups, scores and writes. The same keys always give the same
sessions, so the last run over a camera's scans is right whatever ran before it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pipeline.core.chart import ChartReport
from pipeline.core.layout import (
    from_session_index_key,
    scan_record_key,
    session_index_key,
    session_index_prefix,
    session_key,
    sessions_prefix,
)
from pipeline.core.records import ScanRecord
from pipeline.core.session import (
    ReferenceScore,
    SessionColour,
    SessionMember,
    SessionRecord,
    group_sessions,
    score_session,
    to_group,
    to_moment,
    to_reference_score,
)
from pipeline.services.context import Context

log = logging.getLogger(__name__)

TARGET_VIEW = "target"


def group_of(record: ScanRecord, folder: str) -> tuple[str, Any]:
    """The session group (hashed camera or folder) of a scan record, and its moment."""
    meta = record.metadata
    exif = meta.exif if meta else None
    serial = meta.restricted.body_serial if meta and meta.restricted else None
    return to_group(
        make=exif.make if exif else None,
        model=exif.model if exif else None,
        serial=serial,
        moment=to_moment(exif.capture_datetime if exif else None),
        folder=folder,
    )


def shows_reference(record: ScanRecord) -> bool:
    """A chart shot: its view is `target`, or a chart was found in it."""
    return record.view == TARGET_VIEW or reference_score(record) is not None


def reference_score(record: ScanRecord) -> ReferenceScore | None:
    """The score a chart shot gives its session; None when it shows no measured chart."""
    chart = getattr(record, "chart", None)  # the scan's chart report, where measured
    return to_reference_score(chart) if isinstance(chart, ChartReport) else None


def index_scan(ctx: Context, record: ScanRecord, folder: str) -> str:
    """Leave the scan's (empty) index key; return its group. Idempotent."""
    group, moment = group_of(record, folder)
    key = session_index_key(
        group, moment, record.object, record.scan_id, reference=shows_reference(record)
    )
    ctx.store.put_small(key, b"", content_type="application/octet-stream")
    return group


def camera_label(record: ScanRecord) -> str | None:
    exif = record.metadata.exif if record.metadata else None
    label = " ".join(p for p in (exif.make, exif.model) if p) if exif else ""
    return label or None


@dataclass
class SessionOutcome:
    """What scoring did: every session of the groups touched, and the objects it changed."""

    sessions: list[SessionRecord] = field(default_factory=list)
    changed_objects: list[str] = field(default_factory=list)


def settle_sessions(
    ctx: Context,
    groups: Iterable[str | None],
    *,
    republish: Callable[[list[str]], Any] | None = None,
) -> SessionOutcome:
    """Score every session of `groups`: write `sessions/{group}/{id}.json`, put each member's
    colour into its scan record, then `republish` the objects whose colour changed."""
    outcome = SessionOutcome()
    changed: set[str] = set()
    for group in sorted({g for g in groups if g}):
        members = _members(ctx, group)
        if not members:
            continue
        written: set[str] = set()
        for session in group_sessions(members, ctx.profile.session.window_hours):
            records = {
                m.scan_id: _read_scan(ctx, m.object, m.scan_id)
                for m in session.members
                if m.reference or m is session.members[0]
            }
            references = {
                scan_id: score
                for scan_id, rec in records.items()
                if rec is not None and (score := reference_score(rec)) is not None
            }
            first = records.get(session.members[0].scan_id)
            summary, colours = score_session(
                session,
                references,
                ctx.profile.session,
                camera=camera_label(first) if first and group.startswith("c") else None,
            )
            _write_summary(ctx, summary)
            written.add(session_key(group, summary.session_id))
            outcome.sessions.append(summary)
            for member in session.members:
                if _set_colour(ctx, member, colours[member.scan_id]):
                    changed.add(member.object)
        for key in ctx.store.list_keys(sessions_prefix(group)):
            if key not in written:  # a session since merged into another
                ctx.store.delete(key)
    outcome.changed_objects = sorted(changed)
    if republish is not None and outcome.changed_objects:
        republish(outcome.changed_objects)
    return outcome


def _members(ctx: Context, group: str) -> list[SessionMember]:
    members = []
    for key in ctx.store.list_keys(session_index_prefix(group)):
        parsed = from_session_index_key(key)
        if parsed is None:
            log.warning("session index: %s is not an index key; ignored", key)
            continue
        _, moment, slug, scan_id, reference = parsed
        members.append(
            SessionMember(
                scan_id=scan_id, object=slug, group=group, moment=moment, reference=reference
            )
        )
    return members


def _read_scan(ctx: Context, slug: str, scan_id: str) -> ScanRecord | None:
    found = ctx.store.read_json(scan_record_key(slug, scan_id))
    return ScanRecord.model_validate(found[0]) if found else None


def _write_summary(ctx: Context, summary: SessionRecord) -> None:
    wanted = summary.model_dump(mode="json")
    ctx.store.update_json(
        session_key(summary.group, summary.session_id),
        lambda current: None if current == wanted else wanted,
    )


def _set_colour(ctx: Context, member: SessionMember, colour: SessionColour) -> bool:
    """Put the member's colour in its scan record; True when it changed."""
    wanted = colour.model_dump(mode="json")
    changed = False

    def change(current: dict[str, Any] | None) -> dict[str, Any] | None:
        nonlocal changed
        if current is None or current.get("session") == wanted:
            changed = False
            return None
        changed = True
        return {**current, "session": wanted}

    ctx.store.update_json(scan_record_key(member.object, member.scan_id), change)
    return changed


def read_sessions(ctx: Context, groups: Iterable[str | None]) -> list[SessionRecord]:
    """The stored summaries of the sessions of `groups` (for a report), oldest first."""
    found = []
    for group in sorted({g for g in groups if g}):
        for key in ctx.store.list_keys(sessions_prefix(group)):
            got = ctx.store.read_json(key)
            if got is not None:
                found.append(SessionRecord.model_validate(got[0]))
    return sorted(found, key=lambda s: (s.started is None, s.started, s.session_id))
