"""Capture sessions: which scans share a camera and a light, and the colour their chart proves."""

from pipeline.core.session.grouping import (
    Session,
    colour_basis,
    describe_level,
    group_sessions,
    score_session,
    to_group,
    to_moment,
)
from pipeline.core.session.model import (
    PatchScore,
    ReferenceScore,
    SessionColour,
    SessionMember,
    SessionRecord,
)
from pipeline.core.session.reference import to_reference_score

__all__ = [
    "PatchScore",
    "ReferenceScore",
    "Session",
    "SessionColour",
    "SessionMember",
    "SessionRecord",
    "colour_basis",
    "describe_level",
    "group_sessions",
    "score_session",
    "to_group",
    "to_moment",
    "to_reference_score",
]
