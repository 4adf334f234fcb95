"""Completeness of the catalogue: an artefact whose scans are stored has a record listing every
one of them. Found from the bucket, never from messages (a lost publish is found here, however
it was lost); it sends nothing itself: the caller republishes."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from pydantic import ValidationError

from pipeline.core.layout import SCANS_PREFIX, record_key, scans_prefix, to_scan_of
from pipeline.core.records import ArtefactRecord
from pipeline.errors import SohoaError
from pipeline.services.context import Context
from pipeline.services.parallel import read_each
from pipeline.services.publish import publish_record

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordGap:
    """An artefact whose record is missing, or does not list every scan stored for it."""

    object: str
    stored: int  # scan records in the bucket
    unlisted: tuple[str, ...]  # their scan ids that the record does not list
    has_record: bool

    @property
    def key(self) -> str:
        return record_key(self.object)

    @property
    def message(self) -> str:
        if not self.has_record:
            return (
                f"Artefact {self.object} has {self.stored} stored scan(s) and no catalogue "
                f"record ({self.key}): search, the API and OAI-PMH miss it; run "
                "`sohoa reindex --repair` to publish it."
            )
        return (
            f"The record of {self.object} ({self.key}) lists {self.stored - len(self.unlisted)} "
            f"of its {self.stored} stored scans (missing {', '.join(s[:12] for s in self.unlisted)}"
            "): run `sohoa reindex --repair` to publish it again."
        )


def gaps_of(
    stored: Mapping[str, Iterable[str]], listed: Mapping[str, Iterable[str] | None]
) -> list[RecordGap]:
    """The gaps between the scans stored per object and the scans its record lists (None: no
    record); an object absent from `listed` is left out (its record could not be read)."""
    gaps = []
    for slug in sorted(stored):
        if slug not in listed:
            continue
        scans = set(stored[slug])
        views = listed[slug]
        unlisted = scans - set(views or ())
        if scans and (views is None or unlisted):
            gaps.append(RecordGap(slug, len(scans), tuple(sorted(unlisted)), views is not None))
    return gaps


def stored_scans(ctx: Context, objects: Iterable[str] | None = None) -> dict[str, set[str]]:
    """Scan ids per object, from the listing of scans/ (no scan record read); only `objects`
    when given (one listing each), else every object in the bucket (one listing)."""
    found: dict[str, set[str]] = defaultdict(set)

    def scans_of(prefix: str) -> list[tuple[str, str]]:
        return [parsed for key in ctx.store.list_keys(prefix) if (parsed := to_scan_of(key))]

    if objects is None:
        listings = [scans_of(SCANS_PREFIX)]
    else:
        prefixes = [scans_prefix(slug) for slug in set(objects)]
        listings = list(read_each(scans_of, prefixes, name="scans"))
    for listing in listings:
        for slug, scan_id in listing:
            found[slug].add(scan_id)
    return dict(found)


def listed_scans(ctx: Context, slug: str) -> set[str] | None:
    """The scan ids the object's record lists; None when it has no record.

    Raises ValueError when the record does not validate (the audit reports it as unreadable).
    """
    found = ctx.store.read_json(record_key(slug))
    if found is None:
        return None
    try:
        record = ArtefactRecord.model_validate(found[0])
    except ValidationError as exc:
        raise ValueError(f"{record_key(slug)} does not validate") from exc
    return {view.scan_id for view in record.views}


def find_record_gaps(ctx: Context, objects: Iterable[str] | None = None) -> list[RecordGap]:
    """Every artefact (of `objects`, or of the whole bucket) whose stored scans are not all in
    its record. Storage errors propagate (retryable); an unreadable record is logged and left
    out (the audit names it)."""
    stored = stored_scans(ctx, objects)
    listed: dict[str, set[str] | None] = {}

    def read(slug: str) -> tuple[str, set[str] | None, bool]:
        try:
            return slug, listed_scans(ctx, slug), True
        except ValueError as exc:
            log.warning("record not checked for completeness: %s", exc)
            return slug, None, False

    for slug, views, readable in read_each(read, sorted(stored), name="records"):
        if readable:
            listed[slug] = views
    return gaps_of(stored, listed)


@dataclass(frozen=True)
class RepairResult:
    """What republishing the gaps in process did."""

    published: list[str]  # records written
    failed: dict[str, str]  # object -> why it could not be published


def republish(
    ctx: Context, gaps: Iterable[RecordGap], on_written: Callable[[str], object] | None = None
) -> RepairResult:
    """Publish each gap's record here and now (as the lost `publish_record` task would have);
    `on_written(object)` after each record written (to notify readers of the index)."""
    published: list[str] = []
    failed: dict[str, str] = {}
    for gap in gaps:
        try:
            result = publish_record(ctx, gap.object)
        except SohoaError as exc:
            failed[gap.object] = exc.message
            continue
        except ValidationError as exc:  # a scan record that does not validate
            failed[gap.object] = f"a scan record does not validate ({exc.error_count()} errors)"
            continue
        if result.status == "written":
            published.append(gap.object)
            if on_written is not None:
                on_written(gap.object)
    return RepairResult(published=published, failed=failed)
