"""Fixity audit: re-hash masters in the bucket against their records' SHA-256, and find stored
scans no record lists; never repairs (`sohoa audit --repair`, services/repair.py, does, from
the original files)."""

from __future__ import annotations

import csv
import io
import json
import logging
import random
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Literal

from pydantic import ValidationError

from pipeline.core.layout import (
    MASTERS_PREFIX,
    RECORDS_PREFIX,
    SCANS_PREFIX,
    to_object_slug_of,
    to_scan_of,
)
from pipeline.core.records import ArtefactRecord, ScanRecord
from pipeline.services.completeness import gaps_of
from pipeline.services.context import Context

log = logging.getLogger(__name__)

FindingKind = Literal["changed", "missing", "untracked", "unreadable", "unpublished"]
CSV_COLUMNS = [
    "kind",
    "bucket",
    "key",
    "object",
    "scan_id",
    "expected_sha256",
    "found_sha256",
    "expected_size",
    "found_size",
    "message",
]


@dataclass(frozen=True)
class AuditFinding:
    """One thing wrong, with what the records expect and what the bucket holds."""

    kind: FindingKind
    bucket: str
    key: str
    message: str
    object: str | None = None
    scan_id: str | None = None
    expected_sha256: str | None = None
    found_sha256: str | None = None
    expected_size: int | None = None
    found_size: int | None = None


@dataclass
class AuditReport:
    """What an audit checked and every failure it found (all of them, not the first)."""

    checked: int = 0
    tracked: int = 0
    sampled: bool = False
    changed: list[AuditFinding] = field(default_factory=list)
    missing: list[AuditFinding] = field(default_factory=list)
    untracked: list[AuditFinding] = field(default_factory=list)
    # Records that could not be parsed: their masters cannot be checked, so they are failures too.
    unreadable: list[AuditFinding] = field(default_factory=list)
    # Artefacts with stored scans that their record does not list (or no record at all): the
    # catalogue (search, API, OAI-PMH) misses them.
    unpublished: list[AuditFinding] = field(default_factory=list)
    started_at: str = ""
    finished_at: str = ""

    @property
    def ok(self) -> bool:
        return not (
            self.changed or self.missing or self.untracked or self.unreadable or self.unpublished
        )

    @property
    def findings(self) -> list[AuditFinding]:
        return [*self.changed, *self.missing, *self.untracked, *self.unreadable, *self.unpublished]

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "tracked": self.tracked,
            "sampled": self.sampled,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "changed": [asdict(f) for f in self.changed],
            "missing": [asdict(f) for f in self.missing],
            "untracked": [asdict(f) for f in self.untracked],
            "unreadable": [asdict(f) for f in self.unreadable],
            "unpublished": [asdict(f) for f in self.unpublished],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1)

    def to_csv(self) -> str:
        """One row per finding (a clean audit is the header alone)."""
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for finding in self.findings:
            writer.writerow(asdict(finding))
        return out.getvalue()


@dataclass(frozen=True)
class _Expected:
    bucket: str
    key: str
    sha256: str
    size: int
    object: str
    scan_id: str


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def _expected_masters(ctx: Context, report: AuditReport) -> dict[tuple[str, str], _Expected]:
    """Every master some record points at: the scan records, and the artefact records' views
    (a master a published record names must exist even if its scan record was lost). From the
    same reads, the artefacts whose stored scans their record does not list go to
    `report.unpublished` (scans processed less than SOHOA_BATCH_STALL_SECONDS ago aside)."""
    store = ctx.store
    settled_before = datetime.now(UTC).timestamp() - ctx.settings.batch_stall_seconds
    expected: dict[tuple[str, str], _Expected] = {}
    stored: dict[str, set[str]] = {}  # scan ids per object, from the scan records' keys
    listed: dict[str, set[str] | None] = {}  # scan ids each readable record lists
    for prefix in (SCANS_PREFIX, RECORDS_PREFIX):
        for key in store.list_keys(prefix):
            if not key.endswith(".json"):
                continue
            found = store.read_json(key)
            if found is None:
                continue  # deleted between the listing and the read
            try:
                if prefix == SCANS_PREFIX:
                    scan = ScanRecord.model_validate(found[0])
                    refs = [(scan.master, scan.scan_id, scan.object)]
                    parsed = to_scan_of(key)
                    # Stored a moment ago, its publish may still be on its way: not counted.
                    if parsed is not None and scan.processed_at.timestamp() <= settled_before:
                        stored.setdefault(parsed[0], set()).add(parsed[1])
                else:
                    record = ArtefactRecord.model_validate(found[0])
                    refs = [(v.master, v.scan_id, record.object) for v in record.views]
                    if (slug := to_object_slug_of(key)) is not None:
                        listed[slug] = {v.scan_id for v in record.views}
            except (ValidationError, TypeError, ValueError) as exc:
                report.unreadable.append(
                    AuditFinding(
                        kind="unreadable",
                        bucket=store.bucket,
                        key=key,
                        message=f"Record s3://{store.bucket}/{key} does not validate "
                        f"({type(exc).__name__}): the masters it names cannot be checked; "
                        "restore it from a backup or ingest its scans again.",
                    )
                )
                continue
            for ref, scan_id, slug in refs:
                expected.setdefault(
                    (ref.bucket, ref.key),
                    _Expected(ref.bucket, ref.key, ref.sha256, ref.size, slug, scan_id),
                )
    unreadable = {to_object_slug_of(f.key) for f in report.unreadable}
    for slug in stored:
        if slug not in listed and slug not in unreadable:
            listed[slug] = None  # no record at all
    report.unpublished = [
        AuditFinding(
            kind="unpublished",
            bucket=store.bucket,
            key=gap.key,
            object=gap.object,
            message=gap.message,
        )
        for gap in gaps_of(stored, listed)
    ]
    return expected


def _remedy(ref: _Expected) -> str:
    # Needs no worker. `sohoa ingest` of the original re-hashes and restores too, but a
    # `sohoa batch` re-run skips files whose master looks whole by HEAD (size, metadata).
    return (
        "put the original file back with `sohoa audit --repair ORIGINAL_FILE` (written only if "
        f"its SHA-256 is {ref.sha256}), or restore the object from a backup."
    )


def _missing(ref: _Expected, message: str) -> AuditFinding:
    return AuditFinding(
        kind="missing",
        bucket=ref.bucket,
        key=ref.key,
        object=ref.object,
        scan_id=ref.scan_id,
        expected_sha256=ref.sha256,
        expected_size=ref.size,
        message=message,
    )


def run_audit(
    ctx: Context, *, sample: int | None = None, everything: bool = False, seed: int | None = None
) -> AuditReport:
    """Re-hash masters (streamed from the server) against the SHA-256 their records hold.

    Every tracked master is checked for presence and every stored object under `masters/` for
    a record (both from listings, cheap); the full re-hash covers all masters, or a random
    `sample` of them unless `everything`. Storage errors propagate (retryable); nothing is
    ever changed in the bucket.
    """
    report = AuditReport(started_at=_now())
    store = ctx.store
    expected = _expected_masters(ctx, report)
    report.tracked = len(expected)
    buckets = {store.masters_bucket} | {bucket for bucket, _ in expected}
    stored: set[tuple[str, str]] = {
        (bucket, key)
        for bucket in sorted(buckets)
        for key in store.list_keys(MASTERS_PREFIX, bucket=bucket)
    }

    for bucket, key in sorted(stored - set(expected)):
        report.untracked.append(
            AuditFinding(
                kind="untracked",
                bucket=bucket,
                key=key,
                message=f"s3://{bucket}/{key} is in the masters area but no record names it: "
                "find out who put it there before deleting it.",
            )
        )
    present = []
    for ref in sorted(expected.values(), key=lambda e: (e.bucket, e.key)):
        if (ref.bucket, ref.key) in stored:
            present.append(ref)
            continue
        report.missing.append(
            _missing(
                ref,
                f"Master of {ref.object} (scan {ref.scan_id[:12]}) is missing from "
                f"s3://{ref.bucket}/{ref.key}: {_remedy(ref)}",
            )
        )

    if not everything and sample is not None and sample < len(present):
        report.sampled = True
        present = sorted(
            random.Random(seed).sample(present, max(sample, 0)), key=lambda e: (e.bucket, e.key)
        )
    for ref in present:
        found = store.hash_object(ref.key, bucket=ref.bucket)
        report.checked += 1
        if found is None:  # deleted since the listing
            report.missing.append(
                _missing(
                    ref,
                    f"Master of {ref.object} vanished from s3://{ref.bucket}/{ref.key} "
                    f"during the audit: {_remedy(ref)}",
                )
            )
            continue
        sha, size = found
        if sha != ref.sha256 or size != ref.size:
            report.changed.append(
                AuditFinding(
                    kind="changed",
                    bucket=ref.bucket,
                    key=ref.key,
                    object=ref.object,
                    scan_id=ref.scan_id,
                    expected_sha256=ref.sha256,
                    found_sha256=sha,
                    expected_size=ref.size,
                    found_size=size,
                    message=f"Master of {ref.object} in s3://{ref.bucket}/{ref.key} has "
                    f"changed: expected SHA-256 {ref.sha256} ({ref.size} bytes), found {sha} "
                    f"({size} bytes); {_remedy(ref)}",
                )
            )
    report.finished_at = _now()
    log.info(
        "audit: %d checked, %d changed, %d missing, %d untracked, %d unpublished",
        report.checked,
        len(report.changed),
        len(report.missing),
        len(report.untracked),
        len(report.unpublished),
    )
    return report
