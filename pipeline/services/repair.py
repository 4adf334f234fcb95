"""Put a master back from its original file, once the file's bytes are proven to be the ones
the catalogue recorded; never writes over an intact master, never writes other bytes."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from pipeline.core.fixity import digest_bytes
from pipeline.core.layout import MASTERS_PREFIX, scan_record_key, to_master_parts
from pipeline.core.naming import parse_scan_name
from pipeline.core.records import ScanRecord
from pipeline.errors import IntegrityError, PermanentError
from pipeline.services.context import Context

log = logging.getLogger(__name__)

MasterState = Literal["intact", "absent", "restored"]


def ensure_master(
    ctx: Context, record: ScanRecord, data: bytes, sha256: str, *, name: str, absent_too: bool
) -> MasterState:
    """Re-hash the stored master of `record` (a full read, not HEAD: size and metadata survive
    bit rot) and, when its bytes are not the recorded ones, write `data` back over it and prove
    the result by reading it back. `data` must be the recorded bytes (SHA-256 and size), or
    nothing is written. An absent master is written back only with `absent_too`."""
    ref = record.master
    store = ctx.store
    found = store.hash_object(ref.key, bucket=ref.bucket)
    if found == (ref.sha256, ref.size):
        return "intact"
    if found is None and not absent_too:
        return "absent"
    if sha256 != ref.sha256 or len(data) != ref.size:
        raise IntegrityError(
            f"File {name!r} is not the original of s3://{ref.bucket}/{ref.key}: its SHA-256 is "
            f"{sha256} ({len(data)} bytes), the catalogue's {ref.sha256} ({ref.size} bytes); "
            "nothing was written.",
            file=name,
            expected=ref.sha256,
            found=sha256,
        )
    # Not conditional: the object there is damage, and the new bytes are checked by storage
    # against their SHA-256 on the way in, then read back whole.
    store.put_bytes(
        ref.key,
        data,
        bucket=ref.bucket,
        content_type=ref.media_type,
        metadata={"sha256": sha256},
        sha256=sha256,
    )
    again = store.hash_object(ref.key, bucket=ref.bucket)
    if again != (ref.sha256, ref.size):
        raise IntegrityError(
            f"Master of {name!r} written back to s3://{ref.bucket}/{ref.key} reads back as "
            f"{again[0] if again else 'nothing'}, not {ref.sha256}; run the repair again.",
            file=name,
            expected=ref.sha256,
            found=again[0] if again else "",
        )
    log.warning(
        "restored master s3://%s/%s from %s: it held SHA-256 %s (%s bytes), now %s as recorded",
        ref.bucket, ref.key, name, found[0] if found else "nothing", found[1] if found else 0,
        ref.sha256,
    )  # fmt: skip
    return "restored"


@dataclass(frozen=True)
class RepairResult:
    """What `sohoa audit --repair` did with one file."""

    path: str
    status: Literal["restored", "intact", "unknown"]
    message: str
    object: str | None = None
    key: str | None = None
    sha256: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return asdict(self)


def repair_from_file(ctx: Context, path: Path) -> RepairResult:
    """Put back the master whose recorded SHA-256 is this file's, if it changed or is gone."""
    name = path.name
    try:
        data = path.read_bytes()
    except OSError as exc:
        return RepairResult(str(path), "unknown", f"File {name!r} cannot be read: {exc.strerror}.")
    sha256 = digest_bytes(data).sha256
    record = _scan_record_of(ctx, name, sha256)
    if record is None:
        return RepairResult(
            str(path),
            "unknown",
            f"No stored scan has the bytes of {name!r} (SHA-256 {sha256}): it is not the "
            "original of any master in the catalogue, so nothing was written. The audit names "
            "the SHA-256 the original must have.",
            sha256=sha256,
        )
    ref = record.master
    where = f"s3://{ref.bucket}/{ref.key}"
    state = ensure_master(ctx, record, data, sha256, name=name, absent_too=True)
    if state == "intact":
        message = f"Master of {record.object} in {where} already matches {name!r}; nothing written."
    else:
        message = (
            f"Master of {record.object} in {where} put back from {name!r}: SHA-256 {sha256} "
            "proven before writing and by reading it back."
        )
    return RepairResult(
        str(path),
        "intact" if state == "intact" else "restored",
        message,
        object=record.object,
        key=ref.key,
        sha256=sha256,
    )


def _scan_record_of(ctx: Context, name: str, sha256: str) -> ScanRecord | None:
    """The scan record of these bytes: under the artefact the name says, else wherever a master
    of that SHA-256 is (the file may have been renamed since)."""
    try:
        found = _read_scan(
            ctx, parse_scan_name(name, ctx.profile.naming.pattern).object_slug, sha256
        )
    except PermanentError:
        found = None
    if found is not None:
        return found
    for key in ctx.store.list_keys(MASTERS_PREFIX, bucket=ctx.store.masters_bucket):
        parts = to_master_parts(key)
        if parts is not None and parts[1] == sha256:
            found = _read_scan(ctx, parts[0], sha256)
            if found is not None:
                return found
    return None


def _read_scan(ctx: Context, slug: str, sha256: str) -> ScanRecord | None:
    found = ctx.store.read_json(scan_record_key(slug, sha256))
    return ScanRecord.model_validate(found[0]) if found is not None else None
