"""Catalogue records and index documents for the tests, and calls to add and search; no checks."""

from __future__ import annotations

from datetime import UTC, datetime

from pipeline.adapters.sqlite_index import SqliteIndex
from pipeline.core.catalogue import IndexDocument, SearchQuery, SearchResult, to_index_document
from pipeline.core.inventory import InventoryRow
from pipeline.core.naming import to_object_slug
from pipeline.core.records import ArtefactRecord, ViewEntry

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
SHA = "a" * 64

# Unrelated objects, so that bm25's document frequencies mean something.
FILLER = [
    ("F.1", "Chén trà men trắng", "teacup"),
    ("F.2", "Khay gỗ khảm xà cừ", "tray"),
    ("F.3", "Tượng lân đá", "stone lion"),
    ("F.4", "Ấn ngọc", "jade seal"),
    ("F.5", "Hộp trầu bạc", "betel box"),
    ("F.6", "Áo long bào", "dragon robe"),
]


def make_record(
    accession: str, *, updated: datetime = T0, views: list[ViewEntry] | None = None, **inventory
) -> ArtefactRecord:
    return ArtefactRecord(
        object=to_object_slug(accession),
        accession_number=accession,
        inventory=InventoryRow(accession_number=accession, **inventory),
        views=views or [],
        profile="default",
        pipeline_version="0.1.0",
        updated_at=updated,
    )


def make_doc(accession: str, **inventory) -> IndexDocument:
    return to_index_document(make_record(accession, **inventory))


def add(index: SqliteIndex, *docs: IndexDocument) -> None:
    for doc in docs:
        index.upsert(doc)


def add_filler(index: SqliteIndex) -> None:
    add(index, *(make_doc(a, name_vi=vi, name_en=en) for a, vi, en in FILLER))


def found(result: SearchResult) -> list[str]:
    return [hit.accession_number for hit in result.hits]


def search(index: SqliteIndex, text: str = "", **options) -> list[str]:
    return found(index.search(SearchQuery(text=text, **options)))


def add_duong_pair(index: SqliteIndex) -> None:
    add_filler(index)
    # "Dương" sits in the name (weight 10), "đường" only in the notes (weight 1): bm25 alone
    # ranks the name first for either spelling.
    add(index, make_doc("A.1", name_vi="Tượng Dương", notes="tượng nhỏ"))
    add(index, make_doc("B.1", name_vi="Tượng", notes="tìm thấy bên đường cái quan"))


def counts(result: SearchResult, facet: str) -> dict[str, int]:
    return {c.value: c.count for c in result.facets[facet]}
