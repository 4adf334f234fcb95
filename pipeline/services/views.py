"""Claim an artefact's view and number for one scan's bytes, so that two different files never
both become its "front #1"; no decoding and no master written here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline.core.layout import scan_record_key, view_claims_key
from pipeline.core.naming import to_nfc
from pipeline.core.records import ScanRecord
from pipeline.errors import NameConflictError
from pipeline.services.context import Context
from pipeline.services.publish import load_scans


@dataclass(frozen=True)
class ViewClaim:
    """The view and number a scan is stored as, and a warning when it is not the one its name
    asked for (naming.on_conflict = "next_seq")."""

    seq: int
    warning: str | None = None


def claim_view(ctx: Context, slug: str, view: str, seq: int, scan_id: str, name: str) -> ViewClaim:
    """Take `view` #`seq` of artefact `slug` for the scan `scan_id` (file `name`).

    The claims of an artefact are one object (names/{object}.json) written by compare-and-swap:
    of two workers storing different bytes under one name at the same moment, exactly one
    wins. The scan records already stored count too (scans stored before claims existed).
    Held by other bytes: NameConflictError naming both files, or the next free number when the
    profile says so. A claim whose scan never got stored frees itself after the task's hard
    time limit (its worker died or gave up).
    """
    policy = ctx.profile.naming.on_conflict
    stored: dict[str, dict[str, Any]] | None = None
    taken: dict[str, ViewClaim] = {}

    def stored_claims() -> dict[str, dict[str, Any]]:
        nonlocal stored
        if stored is None:
            stored = _claims_of_stored_scans(ctx, slug)
        return stored

    def change(current: dict[str, Any] | None) -> dict[str, Any] | None:
        claims = dict(current or {})
        own = [k for k, c in claims.items() if c.get("scan_id") == scan_id and _view_of(k) == view]
        if own:
            taken["claim"] = ViewClaim(_seq_of(own[0]))
            return None
        key = _key(view, seq)
        holder = claims.get(key) or stored_claims().get(key)
        if holder is None or holder.get("scan_id") == scan_id or _is_stale(ctx, slug, holder):
            claims[key] = _claim(scan_id, name)
            taken["claim"] = ViewClaim(seq)
            return claims
        if policy == "next_seq":
            free = _next_free(view, seq, {**stored_claims(), **claims})
            claims[_key(view, free)] = _claim(scan_id, name)
            taken["claim"] = ViewClaim(
                free,
                f"Stored as {view} #{free}: {holder.get('name')!r} (other bytes) already holds "
                f"{view} #{seq} of this artefact (naming.on_conflict = next_seq).",
            )
            return claims
        free = _next_free(view, seq, {**stored_claims(), **claims})
        raise _conflict(name, holder, view, seq, free)

    ctx.store.update_json(view_claims_key(slug), change)
    return taken["claim"]


def _key(view: str, seq: int) -> str:
    return f"{view}#{seq}"


def _view_of(key: str) -> str:
    return key.rpartition("#")[0]


def _seq_of(key: str) -> int:
    return int(key.rpartition("#")[2])


def _claim(scan_id: str, name: str) -> dict[str, Any]:
    return {
        "scan_id": scan_id,
        "name": name,
        "claimed_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _next_free(view: str, seq: int, claims: dict[str, Any]) -> int:
    used = {_seq_of(k) for k in claims if _view_of(k) == view}
    free = seq + 1
    while free in used:
        free += 1
    return free


def _claims_of_stored_scans(ctx: Context, slug: str) -> dict[str, dict[str, Any]]:
    claims: dict[str, dict[str, Any]] = {}
    scans: list[ScanRecord] = load_scans(ctx, slug)
    for scan in sorted(scans, key=lambda s: s.processed_at):
        claims.setdefault(
            _key(scan.view, scan.seq), {"scan_id": scan.scan_id, "name": scan.source_names[0]}
        )
    return claims


def _is_stale(ctx: Context, slug: str, holder: dict[str, Any]) -> bool:
    """A claim whose scan was never stored, made longer ago than a task may run."""
    at = holder.get("claimed_at")
    if not at:
        return False  # a stored scan's own view: never stale
    limit = timedelta(seconds=ctx.settings.task_time_limit)
    if datetime.now(UTC) - datetime.fromisoformat(at) < limit:
        return False
    return ctx.store.head(scan_record_key(slug, str(holder["scan_id"]))) is None


def _conflict(
    name: str, holder: dict[str, Any], view: str, seq: int, free: int
) -> NameConflictError:
    other = str(holder.get("name"))
    spelling = (
        " (the same name in another Unicode spelling, NFC and NFD)"
        if other != name and to_nfc(other) == to_nfc(name)
        else ""
    )
    return NameConflictError(
        f"File {name!r} has different bytes from {other!r}{spelling}, already stored as view "
        f"{view} #{seq} of this artefact (scan {str(holder.get('scan_id'))[:12]}…): if both "
        f"are wanted, rename this one to number {free} and drop it again (or set "
        'naming.on_conflict = "next_seq" in the profile); if it replaces the stored one, '
        "tell the collection's administrator. Nothing of it was stored.",
        file=name,
    )
