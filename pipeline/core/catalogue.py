"""The catalogue index's contract: fields, documents, queries, results; pure, no database here."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pipeline.core.naming import to_nfc
from pipeline.core.periods import derive_date_range, to_period_words
from pipeline.core.search_text import (
    to_accession_key,
    to_facet_key,
    to_facet_value,
    to_loose_accession_key,
    to_sort_key,
)

if TYPE_CHECKING:
    # Only named in annotations: a search (`sohoa search`, the API) never loads the record
    # models, which take a third of the CLI's start-up to import.
    from pipeline.core.inventory import InventoryRow
    from pipeline.core.records import ArtefactRecord

MAX_PAGE_SIZE: Final = 100
MAX_FACET_VALUES: Final = 200
SortOrder = Literal["relevance", "accession", "name"]


# --- the fields: the one place to add what a record contributes to search ----------------------


def _inventory(attribute: str) -> Callable[[ArtefactRecord], str]:
    def read(record: ArtefactRecord) -> str:
        value: str = getattr(record.inventory, attribute) if record.inventory else ""
        return value

    return read


@dataclass(frozen=True)
class TextField:
    """A free-text column: its name (an SQL identifier), its bm25 weight, how to read it."""

    name: str
    weight: float
    read: Callable[[ArtefactRecord], str]


@dataclass(frozen=True)
class FacetField:
    """A facet: a name and the values a record has for it (several, for tags)."""

    name: str
    read: Callable[[ArtefactRecord], list[str]]


def _period(record: ArtefactRecord) -> str:
    """The inventory's period and dates, and what the period vocabulary knows of them: the
    reign's other names, its dynasty, its centuries ("Minh Mạng" is found by "Thánh Tổ",
    "triều Nguyễn", "thế kỷ XIX", "19th century")."""
    row = record.inventory
    if not row:
        return ""
    words = to_period_words(row.period, row.date_range)
    return " · ".join(part for part in (row.period, row.date_range, words) if part.strip())


def _years(record: ArtefactRecord) -> tuple[int, int] | None:
    row = record.inventory
    return derive_date_range(row.period, row.date_range) if row else None


def _tag_labels(record: ArtefactRecord) -> str:
    """The labels of the record's tags and of its views' tags, each once."""
    tags = [*record.tags, *(tag for view in record.views for tag in view.tags)]
    labels = dict.fromkeys(label for tag in tags for label in (tag.label_vi, tag.label_en))
    return " ".join(label for label in labels if label)


# Weights: a word in a name says far more about an object than the same word in its notes.
# Adding a column changes the index's schema: indexes built before are rebuilt empty on open
# and need `sohoa reindex`. Adding a facet needs only a reindex.
TEXT_FIELDS: Final[tuple[TextField, ...]] = (
    TextField("name_vi", 10.0, _inventory("name_vi")),
    TextField("name_en", 10.0, _inventory("name_en")),
    TextField("accession", 8.0, lambda r: r.accession_number),
    TextField("object_type", 5.0, _inventory("object_type")),
    TextField("material", 5.0, _inventory("material")),
    TextField("period", 4.0, _period),
    # Controlled-vocabulary labels in vi and en: "bronze" finds what the inventory calls "đồng".
    TextField("tags", 3.0, lambda r: _tag_labels(r)),
    TextField("provenance", 2.0, _inventory("provenance")),
    TextField("description", 1.0, _inventory("notes")),
    TextField("dimensions", 1.0, _inventory("dimensions")),
)

# Fields written in English (or holding English labels): English stems are matched there only.
ENGLISH_FIELDS: Final = ("name_en", "tags", "period")

_VERDICTS: Final = ("pass", "warn", "fail")  # in order of gravity


def _qc_verdict(record: ArtefactRecord) -> list[str]:
    """The worst quality verdict of the record's views: one bad photograph needs redoing."""
    verdicts = [v.quality.verdict for v in record.views if v.quality is not None]
    return [max(verdicts, key=_VERDICTS.index)] if verdicts else []


def _colour_level(record: ArtefactRecord) -> list[str]:
    """The lowest colour level (stars, '0'–'4') its views' sessions proved; 'none' when a view's
    session had no chart. Views not yet scored say nothing."""
    sessions = [v.session for v in record.views if v.session is not None]
    if not sessions:
        return []
    if any(s.level is None for s in sessions):
        return ["none"]
    return [str(min(s.level for s in sessions if s.level is not None))]


def _tag_values(record: ArtefactRecord) -> list[str]:
    """The slugs of the record's and its views' tags ('material:dong', 'colour:red'): stable
    and unique where labels are not ('Đá' stone and 'Da' leather fold to one key)."""
    tags = [*record.tags, *(tag for view in record.views for tag in view.tags)]
    return list(dict.fromkeys(tag.value for tag in tags))


FACET_FIELDS: Final[tuple[FacetField, ...]] = (
    FacetField("material", lambda r: [_inventory("material")(r)]),
    FacetField("period", lambda r: [_inventory("period")(r)]),
    FacetField("object_type", lambda r: [_inventory("object_type")(r)]),
    FacetField("qc_verdict", _qc_verdict),
    FacetField("colour_level", _colour_level),
    FacetField("tag", _tag_values),
)

FACET_NAMES: Final = tuple(f.name for f in FACET_FIELDS)
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,30}$")


def check_fields() -> None:
    """Field names become SQL identifiers and facet keys: refuse anything else at import."""
    names = [f.name for f in TEXT_FIELDS]
    bad = [n for n in [*names, *FACET_NAMES] if not _IDENTIFIER.match(n)]
    if bad or len(set(names)) != len(names) or len(set(FACET_NAMES)) != len(FACET_NAMES):
        raise ValueError(f"catalogue field names must be unique identifiers: {bad or names}")


check_fields()


# --- documents and results ------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SearchHit(_Model):
    """One artefact in a result list: enough to show it without reading its record."""

    object: str
    accession_number: str
    name_vi: str = ""
    name_en: str = ""
    object_type: str = ""
    material: str = ""
    period: str = ""
    date_from: int | None = Field(
        default=None, description="First year (negative: BCE), from the dates or the period"
    )
    date_to: int | None = Field(default=None, description="Last year")
    thumbnail: str | None = Field(default=None, description="Bucket key of the thumb derivative")
    updated_at: datetime
    score: float | None = Field(default=None, description="Text relevance (bm25); higher is better")


class IndexDocument(_Model):
    """What the index holds for one artefact, built from its record by `to_index_document`."""

    object: str
    accession_key: str
    accession_loose: str | None = None  # no separators, no zero padding: 'btcvhgs12'
    accession_sort: str
    name_sort: str
    updated_at: datetime
    # The ETag of records/{object}.json this came from: how a catch-up tells what changed.
    etag: str | None = None
    text: dict[str, str]  # TEXT_FIELDS name -> the field's text, as written (NFC)
    facets: dict[str, list[str]]  # FACET_FIELDS name -> values, as shown (NFC, trimmed)
    hit: SearchHit


class FacetCount(_Model):
    """A facet value and how many results have it; `selected` when it is a filter now."""

    value: str
    count: int
    selected: bool = False


class SearchQuery(_Model):
    """A catalogue search: free text, facet filters, order and page."""

    text: str = Field(default="", max_length=1000)
    # Facet name -> accepted values: any value of one facet (OR), every facet (AND).
    filters: dict[str, list[str]] = Field(default_factory=dict)
    sort: SortOrder = "relevance"
    page: int = Field(default=1, ge=1, le=100_000)
    page_size: int = Field(default=20, ge=1)
    prefix: bool = Field(default=False, description="Match the last word as a prefix (typing)")
    facet_limit: int = Field(default=20, ge=0, le=MAX_FACET_VALUES)
    # Facet name -> text: only that facet's values containing it (folded) are listed; how a
    # visitor reaches a value that is not among the most frequent, however many there are.
    facet_contains: dict[str, str] = Field(default_factory=dict)

    @field_validator("page_size")
    @classmethod
    def _cap_page_size(cls, value: int) -> int:
        return min(value, MAX_PAGE_SIZE)

    @field_validator("facet_contains")
    @classmethod
    def _known_facet_names(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(FACET_NAMES))
        if unknown:
            raise ValueError(
                f"no facet named {', '.join(unknown)}: the facets are {', '.join(FACET_NAMES)}"
            )
        return {name: text[:200] for name, text in value.items() if to_facet_key(text)}

    @field_validator("filters")
    @classmethod
    def _known_facets(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = sorted(set(value) - set(FACET_NAMES))
        if unknown:
            raise ValueError(
                f"cannot filter on {', '.join(unknown)}: the facets are {', '.join(FACET_NAMES)}"
            )
        cleaned = {name: [v for v in values if to_facet_key(v)] for name, values in value.items()}
        return {name: values for name, values in cleaned.items() if values}


class SearchResult(_Model):
    """One page of results, the total, and the facet counts of the whole result set."""

    total: int
    page: int
    page_size: int
    sort: SortOrder
    pages: int
    hits: list[SearchHit]
    # Counts for a facet ignore that facet's own filter, so the other choices stay visible.
    facets: dict[str, list[FacetCount]]
    # Facet name -> how many values it has over the results (after facet_contains), of which
    # `facets` lists the first facet_limit.
    facet_sizes: dict[str, int] = Field(default_factory=dict)
    # True when no object matched every word: the hits are the best partial matches.
    partial: bool = False
    # The query with misspelt words corrected, when corrections were used.
    did_you_mean: str | None = None
    # Why there is nothing to show, when the query itself is the reason (only punctuation).
    message: str | None = None


class CatalogueIndex(Protocol):
    """A read model of the records in the bucket, rebuildable from it at any time.

    Implementations: SQLite (one file per machine or API replica); a PostgreSQL one can follow
    for several replicas sharing one index. Every method may raise IndexUnavailableError
    (retryable); the index never holds anything the bucket does not.
    """

    def upsert(self, document: IndexDocument) -> None:
        """Add or replace one artefact; the same document twice changes nothing."""

    def delete(self, object_slug: str) -> bool:
        """Remove one artefact; False when it was not there."""

    def replace_all(self, documents: Iterable[IndexDocument]) -> int:
        """Build a new index aside from `documents`, then swap it in at once; searches answer
        from the old one until then. If `documents` raises, the old index stays. Returns the
        number of documents indexed."""

    def search(self, query: SearchQuery) -> SearchResult: ...

    def find_accession(self, accession: str) -> SearchHit | None:
        """The artefact whose accession number has the same slug ('HM.1/A' finds 'hm.1-a')."""

    def count(self) -> int: ...

    def versions(self) -> dict[str, str | None]:
        """Every indexed object and the ETag of the record it was indexed from (None: unknown)."""

    def close(self) -> None: ...


# --- from a record to a document ------------------------------------------------------------------


def to_index_document(record: ArtefactRecord) -> IndexDocument:
    """Everything the index needs from one record; fields come from TEXT_FIELDS / FACET_FIELDS."""
    row: InventoryRow | None = record.inventory
    thumbnail = next(
        (v.derivatives["thumb"].key for v in record.views if "thumb" in v.derivatives), None
    )
    name = (row.name_vi or row.name_en) if row else ""
    updated_at = record.updated_at
    if updated_at.tzinfo is None:
        updated_at = updated_at.replace(tzinfo=UTC)  # records are written in UTC
    # Shown as NFC whatever the inventory's spreadsheet sent (macOS sends NFD).
    years = _years(record)
    hit = SearchHit(
        object=record.object,
        accession_number=to_nfc(record.accession_number),
        name_vi=to_nfc(row.name_vi) if row else "",
        name_en=to_nfc(row.name_en) if row else "",
        object_type=to_nfc(row.object_type) if row else "",
        material=to_nfc(row.material) if row else "",
        period=to_nfc(row.period) if row else "",
        date_from=years[0] if years else None,
        date_to=years[1] if years else None,
        thumbnail=thumbnail,
        updated_at=updated_at,
    )
    facets: dict[str, list[str]] = {}
    for facet in FACET_FIELDS:
        # One value per facet key: 'Gốm sứ' and 'gốm sứ' on one record count it once.
        kept: dict[str, str] = {}
        for value in facet.read(record):
            if key := to_facet_key(value):
                kept.setdefault(key, to_facet_value(value))
        if kept:
            facets[facet.name] = list(kept.values())
    return IndexDocument(
        object=record.object,
        accession_key=to_accession_key(record.accession_number) or record.object,
        accession_loose=to_loose_accession_key(record.accession_number),
        accession_sort=to_sort_key(record.accession_number),
        # Unnamed objects sort after named ones, by accession number.
        name_sort=to_sort_key(name) if name else "\uffff" + to_sort_key(record.accession_number),
        updated_at=updated_at.astimezone(UTC),
        text={f.name: f.read(record) for f in TEXT_FIELDS},
        facets=facets,
        hit=hit,
    )
