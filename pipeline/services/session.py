"""Capture sessions in the bucket: score the sessions a batch touched, write their summaries
and their members' colour (services/session_index.py indexes each stored scan; with
`session.correct`, services/correction.py remakes a member's access images from its master).

Scans of one session arrive on different workers in any order, so nothing is decided per scan:
each stored scan leaves an empty index key naming its group, time and whether it shows the chart
(`layout.session_index_key`), and the batch's end (or an ingest's, once its records are
published) lists those keys, groups, scores and writes. The same keys always give the same
sessions, so the last run over a camera's scans is right whatever ran before it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline.core.layout import (
    from_session_index_key,
    scan_record_key,
    session_index_prefix,
    session_key,
    sessions_prefix,
)
from pipeline.core.records import ScanRecord
from pipeline.core.session import (
    SessionColour,
    SessionMember,
    SessionRecord,
    colour_basis,
    group_sessions,
    score_session,
)
from pipeline.services.context import Context
from pipeline.services.correction import try_remake_access
from pipeline.services.session_index import camera_label, reference_score

log = logging.getLogger(__name__)


@dataclass
class SessionOutcome:
    """What scoring did: every session of the groups touched, and the objects it changed.
    `bases`: per group, each current session's colour basis (`colour_basis`) under which every
    one of its members holds its colour, as far as this scoring knows (session id -> basis)."""

    sessions: list[SessionRecord] = field(default_factory=list)
    changed_objects: list[str] = field(default_factory=list)
    bases: dict[str, dict[str, str]] = field(default_factory=dict)


def settle_sessions(
    ctx: Context,
    groups: Iterable[str | None],
    *,
    republish: Callable[[list[str]], Any] | None = None,
    only: Collection[str] | None = None,
    known: Mapping[str, Mapping[str, str]] | None = None,
) -> SessionOutcome:
    """Score every session of `groups` (with `only`, the sessions holding one of those scans):
    write `sessions/{group}/{id}.json`, put each member's colour into its scan record, then
    `republish` the objects whose colour changed.

    `known`: the bases a previous scoring left (`SessionOutcome.bases`, by group). A session
    scored for `only` whose basis is still the one known has its other members' colours right
    already: only the `only` scans get theirs, so a scan joining a session of n costs a few
    requests, not n reads (n² over the session). When a known session is gone (merged into
    another by a scan between them), the group's touched sessions are scored in full."""
    outcome = SessionOutcome()
    changed: set[str] = set()
    for group in sorted({g for g in groups if g}):
        members = _members(ctx, group)
        if not members:
            continue
        sessions = group_sessions(members, ctx.profile.session.window_hours)
        current = {session_key(group, s.session_id) for s in sessions}
        was = dict((known or {}).get(group, {}))
        if not was.keys() <= {s.session_id for s in sessions}:
            was = {}  # a merge: the merged session's members hold other sessions' colours
        bases = outcome.bases.setdefault(group, {})
        for session in sessions:
            if only is not None and not any(m.scan_id in only for m in session.members):
                if session.session_id in was:
                    bases[session.session_id] = was[session.session_id]
                continue
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
            camera = camera_label(first) if first else None
            summary, colours = score_session(
                session, references, ctx.profile.session, camera=camera
            )
            basis = colour_basis(session, references, ctx.profile.session, camera=camera)
            # The basis known still holds: only the scans that joined need their colour.
            held = was.get(session.session_id) == basis
            joined = set(only) if only is not None and held else None
            complete = True
            for member in session.members:
                if joined is not None and member.scan_id not in joined:
                    continue
                got, as_scored = _set_colour(ctx, member, colours[member.scan_id])
                if got:
                    changed.add(member.object)
                complete = complete and as_scored
            if complete:  # else the next scoring tries them all again
                bases[session.session_id] = basis
            # After its members: a summary says what every member's record already holds.
            _write_summary(ctx, summary)
            outcome.sessions.append(summary)
        for key in ctx.store.list_keys(sessions_prefix(group)):
            if key not in current:  # a session since merged into another
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


def _set_colour(ctx: Context, member: SessionMember, colour: SessionColour) -> tuple[bool, bool]:
    """Put the member's colour in its scan record, its access images remade first when the
    correction it carries changed: (the record changed, it now holds `colour` or has no
    record; False when a postponed correction left the images, and the colour, as they were)."""
    key = scan_record_key(member.object, member.scan_id)
    found = ctx.store.read_json(key)
    if found is None:
        return False, True
    record = ScanRecord.model_validate(found[0])
    if record.session == colour:
        return False, True
    applied = record.session.matrix if record.session else None
    as_scored = True
    if colour.matrix != applied:
        remade = try_remake_access(ctx, record, colour.matrix)
        if remade is None:  # keep saying what the images are
            colour = colour.model_copy(update={"corrected": applied is not None, "matrix": applied})
            as_scored = False
        else:
            record = remade
    wanted = record.model_copy(update={"session": colour}).model_dump(mode="json")

    def change(current: dict[str, Any] | None) -> dict[str, Any] | None:
        if current is None:
            return None
        # Only what this step owns: a name added meanwhile by another ingest is kept.
        updated = {**current, **{k: wanted[k] for k in ("session", "derivatives", "iiif")}}
        return None if updated == current else updated

    ctx.store.update_json(key, change)
    return True, as_scored


def read_sessions(ctx: Context, groups: Iterable[str | None]) -> list[SessionRecord]:
    """The stored summaries of the sessions of `groups` (for a report), oldest first."""
    found = []
    for group in sorted({g for g in groups if g}):
        for key in ctx.store.list_keys(sessions_prefix(group)):
            got = ctx.store.read_json(key)
            if got is not None:
                found.append(SessionRecord.model_validate(got[0]))
    return sorted(found, key=lambda s: (s.started is None, s.started, s.session_id))
