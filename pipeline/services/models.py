"""Celery payloads (`...Task`) and service results (`...Result`): validated at the edges."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipeline.core.layout import to_staged_sha256


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProcessScanTask(_Message):
    """Process one file: a reference to its bytes, never the bytes."""

    path: str = Field(min_length=1, description="Absolute path on storage shared with workers")
    batch_id: str | None = None
    # The stage hand-off: the file's bytes are at this key (incoming/{sha256}), not read from
    # `path` (which then only names the file: its name, its folder, where it came from).
    staged: str | None = Field(default=None, min_length=1, max_length=200)

    @field_validator("staged")
    @classmethod
    def _only_incoming(cls, value: str | None) -> str | None:
        # A worker reads, copies and deletes this key: never one outside incoming/.
        if value is not None and to_staged_sha256(value) is None:
            raise ValueError("staged must be incoming/ followed by a SHA-256 in hex")
        return value


class PublishRecordTask(_Message):
    """Merge one artefact's scans and inventory row into its catalogue record."""

    object: str = Field(min_length=1, max_length=200)


class SettleSessionTask(_Message):
    """Score the capture sessions a stored scan belongs to (its group, from the scan's result)."""

    group: str = Field(pattern=r"^[cf][0-9a-f]{16}$")
    scan_id: str = Field(pattern=r"^[0-9a-f]{64}$")


ScanStatus = Literal["stored", "quarantined", "failed"]


class ScanResult(_Message):
    """What happened to one file; `code` and `message` are set unless it was stored."""

    status: ScanStatus
    path: str
    name: str
    object: str | None = None
    scan_id: str | None = None
    code: str | None = None
    message: str | None = None
    bytes_stored: int = 0
    master_created: bool = False
    already_stored: bool = False
    quarantine_path: str | None = None
    seconds: float = 0.0
    publish_task_id: str | None = None
    qc_verdict: Literal["pass", "warn", "fail"] | None = None
    session_group: str | None = Field(default=None, description="its capture session's group")


class PublishResult(_Message):
    """What publishing one artefact did."""

    object: str
    status: Literal["written", "unchanged", "no_scans"]
    views: int = 0
    key: str | None = None
