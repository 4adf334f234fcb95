"""Capture-session models: a chart's score, a view's inherited colour, a session's summary;
pure, no I/O."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Verdict = Literal["pass", "warn", "fail"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PatchScore(_Model):
    """One patch of the chart: measured and reference CIELAB D50, and their ΔE2000."""

    name: str
    measured: tuple[float, float, float]
    reference: tuple[float, float, float]
    delta_e: float = Field(ge=0)


class ReferenceScore(_Model):
    """What a chart shot measured: the score its whole session inherits."""

    level: int = Field(ge=0, le=4, description="FADGI-like stars for colour accuracy (0: none)")
    verdict: Verdict
    mean_delta_e: float = Field(ge=0, description="CIEDE2000, mean of the patches")
    max_delta_e: float | None = Field(default=None, ge=0)
    p90_delta_e: float | None = Field(default=None, ge=0)
    worst_patch: str | None = None
    finding: str | None = Field(default=None, description="the measurement's own sentence")
    patches: list[PatchScore] = []
    matrix: list[list[float]] | None = Field(
        default=None, description="3×3 correction in linear RGB (white preserved)"
    )
    mean_delta_e_corrected: float | None = Field(default=None, ge=0)
    pixels_per_mm: float | None = Field(default=None, gt=0)


class SessionColour(_Model):
    """A view's colour as its session proves it: in its scan record and its public record."""

    session_id: str = Field(pattern=r"^[0-9a-f]{16}$")
    level: int | None = Field(default=None, ge=0, le=4, description="None: no reference")
    verdict: Verdict
    mean_delta_e: float | None = Field(default=None, ge=0)
    reference_scan: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{64}$", description="the chart shot scored from"
    )
    reference_object: str | None = None
    inherited: bool = Field(description="False for the chart shot itself")
    finding: str
    corrected: bool = False
    matrix: list[list[float]] | None = None
    mean_delta_e_corrected: float | None = Field(default=None, ge=0)


class SessionMember(_Model):
    """One scan as a session sees it: where it belongs and whether it shows the chart."""

    scan_id: str = Field(pattern=r"^[0-9a-f]{64}$")
    object: str
    group: str = Field(description="camera or folder, hashed: never a serial number")
    moment: datetime | None = Field(description="DateTimeOriginal; None for a folder group")
    reference: bool = Field(description="shows the chart, or its view is `target`")


class SessionRecord(_Model):
    """One capture session: `sessions/{session_id}.json`, private (members, cameras)."""

    session_id: str = Field(pattern=r"^[0-9a-f]{16}$")
    group: str
    camera: str | None = Field(default=None, description="make and model; never the serial")
    started: datetime | None = None
    ended: datetime | None = None
    scans: int = Field(ge=1)
    objects: list[str]
    reference_scans: list[str]
    level: int | None = Field(default=None, ge=0, le=4)
    verdict: Verdict
    finding: str
    reference: ReferenceScore | None = Field(default=None, description="the worst chart's")
    reference_scan: str | None = None
    reference_object: str | None = None
