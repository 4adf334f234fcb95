"""The sample collection's records as the publisher builds them (inventory and its tags, no
scans), indexed once; and precision at 3 over the relevance set. No checks here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pipeline.adapters.sqlite_index import SqliteIndex
from pipeline.core.catalogue import SearchQuery, to_index_document
from pipeline.core.inventory import InventoryRow
from pipeline.core.naming import to_object_slug
from pipeline.core.records import ArtefactRecord
from pipeline.core.tagging import tags_from_inventory
from pipeline.samples.collection import inventory_rows
from tests.relevance.sample_queries import QUERIES

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def sample_records() -> list[ArtefactRecord]:
    records = []
    for row in inventory_rows():
        inventory = InventoryRow(**row)
        records.append(
            ArtefactRecord(
                object=to_object_slug(inventory.accession_number),
                accession_number=inventory.accession_number,
                inventory=inventory,
                views=[],
                tags=tags_from_inventory(inventory),
                profile="default",
                pipeline_version="0.1.0",
                updated_at=T0,
            )
        )
    return records


def build_sample_index(path: Path) -> SqliteIndex:
    index = SqliteIndex(path)
    index.replace_all(to_index_document(r) for r in sample_records())
    return index


@dataclass(frozen=True)
class Judgement:
    kind: str
    query: str
    expected: list[str]
    top: list[str]

    @property
    def judged(self) -> int:
        return min(3, len(self.expected)) if self.expected else 1

    @property
    def relevant(self) -> int:
        if not self.expected:
            return int(not self.top)
        return sum(1 for hit in self.top[: self.judged] if hit in self.expected)

    @property
    def precision(self) -> float:
        """Precision at 3: of the top 3, the share expected; a query expecting fewer than three
        objects is judged on that many, and one expecting none on returning none."""
        return self.relevant / self.judged


def judge(index: SqliteIndex, kind: str, query: str, expected: list[str]) -> Judgement:
    result = index.search(SearchQuery(text=query, facet_limit=0, page_size=3))
    return Judgement(kind, query, expected, [hit.accession_number for hit in result.hits])


def judge_all(index: SqliteIndex) -> list[Judgement]:
    return [judge(index, *case) for case in QUERIES]
