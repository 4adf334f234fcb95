"""Capture sessions, pure: group scans by camera and time (or folder), score each session from
its chart shots and hand every member its inherited colour; no I/O, no clock."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pipeline.core.chart import split_finding
from pipeline.core.profile import SessionSettings
from pipeline.core.session.model import (
    ReferenceScore,
    SessionColour,
    SessionMember,
    SessionRecord,
    Verdict,
)

_VERDICT_ORDER: dict[Verdict, int] = {"pass": 0, "warn": 1, "fail": 2}


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def to_moment(capture_datetime: str | None) -> datetime | None:
    """EXIF DateTimeOriginal as stored ('2025-03-04T09:12:00', offset optional) -> naive time.

    With an offset it becomes UTC; without one it stays the camera's clock. One camera writes
    one kind, so its shots compare.
    """
    if not capture_datetime:
        return None
    try:
        moment = datetime.fromisoformat(capture_datetime)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def to_group(
    *,
    make: str | None,
    model: str | None,
    serial: str | None,
    moment: datetime | None,
    folder: str,
) -> tuple[str, datetime | None]:
    """The session group of one scan and its moment: its camera when the file names one and
    says when it was shot, else its batch folder (then no moment). Hashed, so that a camera's
    serial number never appears in a key or a public record."""
    if (make or model) and moment is not None:
        return "c" + _hash(f"camera\x00{make or ''}\x00{model or ''}\x00{serial or ''}"), moment
    return "f" + _hash(f"folder\x00{folder}"), None


@dataclass(frozen=True)
class Session:
    """The members of one session, in time order (scan id order within a folder)."""

    session_id: str
    group: str
    members: list[SessionMember]

    @property
    def started(self) -> datetime | None:
        return self.members[0].moment

    @property
    def ended(self) -> datetime | None:
        return self.members[-1].moment


def group_sessions(members: Iterable[SessionMember], window_hours: float) -> list[Session]:
    """Split each group into sessions wherever two consecutive shots are more than the window
    apart. The same members always give the same sessions and ids, whatever their order."""
    by_group: dict[str, list[SessionMember]] = {}
    for member in {m.scan_id: m for m in members}.values():
        by_group.setdefault(member.group, []).append(member)
    window = timedelta(hours=window_hours)
    sessions: list[Session] = []
    for group, found in sorted(by_group.items()):
        ordered = sorted(found, key=lambda m: (m.moment or datetime.min, m.scan_id))
        runs: list[list[SessionMember]] = [[ordered[0]]]
        for member in ordered[1:]:
            last = runs[-1][-1]
            if (
                member.moment is not None
                and last.moment is not None
                and (member.moment - last.moment > window)
            ):
                runs.append([member])
            else:
                runs[-1].append(member)
        for run in runs:
            first = run[0].moment
            key = f"{group}\x00{first.isoformat() if first else ''}"
            sessions.append(Session(_hash(key), group, run))
    return sessions


def score_session(
    session: Session,
    references: Mapping[str, ReferenceScore],
    settings: SessionSettings,
    *,
    camera: str | None = None,
) -> tuple[SessionRecord, dict[str, SessionColour]]:
    """The session's summary and each member's colour.

    `references` holds the measured chart shots (scan id -> score). Each member inherits from
    the chart shot nearest to it in time (drift during a long session stays local); the
    session's level is its worst chart's, since the archive is as good as its worst light.
    """
    charts = [m for m in session.members if m.scan_id in references]
    unmeasured = [m for m in session.members if m.reference and m.scan_id not in references]
    objects = sorted({m.object for m in session.members})
    base = {
        "session_id": session.session_id,
        "group": session.group,
        "camera": camera,
        "started": session.started,
        "ended": session.ended,
        "scans": len(session.members),
        "objects": objects,
        "reference_scans": sorted(m.scan_id for m in session.members if m.reference),
    }
    if not charts:
        verdict: Verdict = "fail" if settings.require_reference else "warn"
        finding = _no_reference(session, camera, unmeasured, _span(session))
        record = SessionRecord(**base, level=None, verdict=verdict, finding=finding)
        # A member's sentence names its session by its start, not by its size or end: scans
        # joining the session change its summary, never its members' records.
        colour = SessionColour(
            session_id=session.session_id,
            verdict=verdict,
            inherited=True,
            finding=_no_reference(session, camera, unmeasured, _start(session)),
        )
        return record, {m.scan_id: colour for m in session.members}
    worst = max(
        charts,
        key=lambda m: (
            _VERDICT_ORDER[references[m.scan_id].verdict],
            -references[m.scan_id].level,
            references[m.scan_id].mean_delta_e,
            m.scan_id,
        ),
    )
    score = references[worst.scan_id]
    record = SessionRecord(
        **base,
        level=score.level,
        verdict=score.verdict,
        finding=_session_finding(score, worst, len(charts)),
        reference=score,
        reference_scan=worst.scan_id,
        reference_object=worst.object,
    )
    colours = {}
    for member in session.members:
        chart = _nearest(member, charts)
        colours[member.scan_id] = to_session_colour(
            session.session_id, chart, references[chart.scan_id], member, settings
        )
    return record, colours


def colour_basis(
    session: Session,
    references: Mapping[str, ReferenceScore],
    settings: SessionSettings,
    *,
    camera: str | None = None,
) -> str:
    """A fingerprint of everything `score_session` makes a member's colour from, besides the
    member itself: the session's id and start, its camera, its chart shots (when, of what, and
    their scores), the unmeasured ones and the settings. While it stays the same, a member
    scored before keeps its colour, so only the scans that joined need theirs."""
    charts = [m for m in session.members if m.scan_id in references]
    unmeasured = [m for m in session.members if m.reference and m.scan_id not in references]
    basis = {
        "session_id": session.session_id,
        "started": session.started.isoformat() if session.started else None,
        "camera": camera,
        "settings": settings.model_dump(mode="json"),
        "charts": [
            [
                m.scan_id,
                m.object,
                m.moment.isoformat() if m.moment else None,
                references[m.scan_id].model_dump(mode="json"),
            ]
            for m in charts
        ],
        "unmeasured": [[m.scan_id, m.object] for m in unmeasured],
    }
    return _hash(json.dumps(basis, sort_keys=True, ensure_ascii=False))


def to_session_colour(
    session_id: str,
    chart: SessionMember,
    score: ReferenceScore,
    member: SessionMember,
    settings: SessionSettings,
) -> SessionColour:
    inherited = chart.scan_id != member.scan_id
    stars = describe_level(score.level)
    if inherited:
        finding = (
            f"{stars} (mean ΔE2000 {score.mean_delta_e:.1f}), inherited from the chart shot of "
            f"{chart.object} (scan {chart.scan_id[:12]}) in the same session."
        )
    else:
        finding = score.finding or f"{stars}: mean ΔE2000 {score.mean_delta_e:.1f}."
    correct = settings.correct and score.matrix is not None
    return SessionColour(
        session_id=session_id,
        level=score.level,
        verdict=score.verdict,
        mean_delta_e=score.mean_delta_e,
        reference_scan=chart.scan_id,
        reference_object=chart.object,
        inherited=inherited,
        finding=finding,
        corrected=correct,
        matrix=score.matrix if correct else None,
        mean_delta_e_corrected=score.mean_delta_e_corrected if correct else None,
    )


def describe_level(level: int | None) -> str:
    """'3 stars'; 'below 1 star' for 0; 'no level' without a reference."""
    if level is None:
        return "no level"
    if level == 0:
        return "below 1 star"
    return f"{level} star{'s' if level > 1 else ''}"


def _nearest(member: SessionMember, charts: list[SessionMember]) -> SessionMember:
    def distance(chart: SessionMember) -> tuple[float, str]:
        if member.moment is None or chart.moment is None:
            return (0.0, chart.scan_id)
        return (abs((member.moment - chart.moment).total_seconds()), chart.scan_id)

    return min(charts, key=distance)


def _span(session: Session) -> str:
    if session.started is None or session.ended is None:
        return f"{len(session.members)} scans of one batch folder, no camera data"
    return f"{len(session.members)} scans, {session.started:%Y-%m-%d %H:%M}–{session.ended:%H:%M}"


def _start(session: Session) -> str:
    if session.started is None:
        return "one batch folder, no camera data"
    return f"from {session.started:%Y-%m-%d %H:%M}"


def _no_reference(
    session: Session, camera: str | None, unmeasured: list[SessionMember], span: str
) -> str:
    where = f"{camera}, " if camera else ""
    if unmeasured:
        return (
            f"No colour reference in this session ({where}{span}): the chart shot of "
            f"{unmeasured[0].object} could not be measured; shoot the whole chart, flat and "
            "evenly lit, again."
        )
    return (
        f"No colour reference in this session ({where}{span}): shoot the colour "
        "chart (view `target`) at the start of each session."
    )


def _session_finding(score: ReferenceScore, chart: SessionMember, charts: int) -> str:
    text = (
        f"{describe_level(score.level)}: mean ΔE2000 {score.mean_delta_e:.1f}"
        + (f", worst patch {score.worst_patch}" if score.worst_patch else "")
        + f", from the chart shot of {chart.object}"
    )
    if charts > 1:
        text += f" (the worst of {charts} chart shots)"
    # The chart's own sentence repeats the figures above: only its advice is added.
    advice = split_finding(score.finding)[1] if score.finding else None
    return text + (f"; {advice}" if advice else ".")
