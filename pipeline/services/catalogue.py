"""Keep the catalogue index in step with the records in the bucket; never writes to the bucket."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from pipeline.adapters.s3_store import to_etag
from pipeline.core.catalogue import CatalogueIndex, IndexDocument, to_index_document
from pipeline.core.layout import RECORDS_PREFIX, record_key, to_object_slug_of
from pipeline.core.records import ArtefactRecord
from pipeline.services.context import Context
from pipeline.services.parallel import READERS, read_each

log = logging.getLogger(__name__)

# Records read per round of the rebuild (READERS of them in flight at once).
_CHUNK = 64


class _Result(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RejectedRecord(_Result):
    """A key under records/ that is not a valid record, and why; the index leaves it out."""

    key: str
    reason: str


class ReindexResult(_Result):
    """What rebuilding the index from the bucket did."""

    indexed: int
    rejected: list[RejectedRecord]
    seconds: float


class CatchUpResult(_Result):
    """What reconciling the index with the bucket did: only what differed was read."""

    listed: int
    indexed: int
    removed: int
    rejected: list[RejectedRecord]
    seconds: float


class IndexObjectResult(_Result):
    """What indexing one object did: its record indexed, or removed from the index."""

    object: str
    status: Literal["indexed", "removed", "rejected"]
    reason: str | None = None


def describe_invalid(exc: ValidationError) -> str:
    problems = [
        f"{'.'.join(str(p) for p in error['loc']) or '(root)'}: {error['msg']}"
        for error in exc.errors()
    ]
    more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    return "does not match the record model: " + "; ".join(problems[:5]) + more


def load_document(ctx: Context, key: str) -> IndexDocument | RejectedRecord | None:
    """The index document of the record at `key`; None if it is gone, RejectedRecord if bad."""
    name = key.removeprefix(RECORDS_PREFIX)
    if not name.endswith(".json") or "/" in name:
        return RejectedRecord(key=key, reason="not a record: records/ holds only {object}.json")
    try:
        found = ctx.store.read_json(key)
    except UnicodeDecodeError:
        return RejectedRecord(key=key, reason="not UTF-8 text")
    except ValueError as exc:  # json.JSONDecodeError
        return RejectedRecord(key=key, reason=f"not valid JSON ({exc})")
    if found is None:
        return None
    try:
        record = ArtefactRecord.model_validate(found[0])
    except ValidationError as exc:
        return RejectedRecord(key=key, reason=describe_invalid(exc))
    if record_key(record.object) != key:
        # Two keys claiming one object would fight over one index entry; the key is the truth.
        return RejectedRecord(
            key=key, reason=f"the record names object {record.object!r} but is stored at {key}"
        )
    return to_index_document(record).model_copy(update={"etag": to_etag(found[1])})


def reindex(ctx: Context, index: CatalogueIndex) -> ReindexResult:
    """Rebuild the index from every record in the bucket; searches answer throughout.

    A record that is not valid is reported and left out; a storage failure aborts the rebuild
    and leaves the previous index in place.
    """
    started = time.monotonic()
    rejected: list[RejectedRecord] = []

    def documents() -> Iterator[IndexDocument]:
        keys = iter(ctx.store.list_keys(RECORDS_PREFIX))
        with ThreadPoolExecutor(READERS, thread_name_prefix="reindex") as pool:
            while chunk := list(islice(keys, _CHUNK)):
                for outcome in pool.map(lambda key: load_document(ctx, key), chunk):
                    if isinstance(outcome, RejectedRecord):
                        log.warning("not indexed: %s: %s", outcome.key, outcome.reason)
                        rejected.append(outcome)
                    elif outcome is not None:
                        yield outcome

    indexed = index.replace_all(documents())
    return ReindexResult(
        indexed=indexed, rejected=rejected, seconds=round(time.monotonic() - started, 3)
    )


def index_object(ctx: Context, index: CatalogueIndex, object_slug: str) -> IndexObjectResult:
    """Make the index agree with `records/{object}.json` now: upsert it, or remove the entry
    when the record is gone or invalid (as a reindex would). Safe to repeat."""
    outcome = load_document(ctx, record_key(object_slug))
    if isinstance(outcome, IndexDocument):
        index.upsert(outcome)
        return IndexObjectResult(object=object_slug, status="indexed")
    index.delete(object_slug)
    if outcome is None:
        return IndexObjectResult(object=object_slug, status="removed")
    log.warning("not indexed: %s: %s", outcome.key, outcome.reason)
    return IndexObjectResult(object=object_slug, status="rejected", reason=outcome.reason)


def catch_up(
    ctx: Context, index: CatalogueIndex, *, known_bad: dict[str, str] | None = None
) -> CatchUpResult:
    """Make the index agree with the bucket, reading only the records whose ETag differs from
    the one indexed, and removing entries whose record is gone. A notification that never
    arrived costs one listing (a request per thousand records), not a reindex.

    `known_bad` (object -> ETag) remembers records already rejected, so an invalid record is
    reported once per version, not at every catch-up; it is updated in place.
    """
    started = time.monotonic()
    known_bad = {} if known_bad is None else known_bad
    listed: dict[str, str] = {}
    for item in ctx.store.list_objects(RECORDS_PREFIX):
        slug = to_object_slug_of(item.key)
        if slug is not None:
            listed[slug] = item.etag
    held = index.versions()
    stale = sorted(
        slug
        for slug, etag in listed.items()
        if held.get(slug) != etag and known_bad.get(slug) != etag
    )
    gone = sorted(set(held) - set(listed))
    indexed, rejected = 0, []

    def load(slug: str) -> tuple[str, IndexDocument | RejectedRecord | None]:
        return slug, load_document(ctx, record_key(slug))

    for slug, outcome in read_each(load, stale, name="catch-up"):
        if isinstance(outcome, IndexDocument):
            index.upsert(outcome)
            known_bad.pop(slug, None)
            indexed += 1
            continue
        index.delete(slug)
        if isinstance(outcome, RejectedRecord):
            log.warning("not indexed: %s: %s", outcome.key, outcome.reason)
            known_bad[slug] = listed[slug]
            rejected.append(outcome)
    for slug in gone:
        index.delete(slug)
    return CatchUpResult(
        listed=len(listed),
        indexed=indexed,
        removed=len(gone),
        rejected=rejected,
        seconds=round(time.monotonic() - started, 3),
    )
