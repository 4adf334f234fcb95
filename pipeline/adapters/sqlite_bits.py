"""Sets of documents of one generation of the catalogue index as bit sets held in memory (facet
values, what a search's words select, the documents in accession and name order), read from the
index and kept until it changes; no SQL of a search is built here.

A common word's documents are a doclist of 10,000 entries: reading it costs ~4 ms, and a search
asks for several (the match, then a set per ranking tier). As bit sets, counting a result's
facets is one AND and one popcount per value (~0.3 ms against a ~30 ms GROUP BY), its total is
one popcount, and a tier splits the results with a few ANDs. Sets are kept like Lucene's query
cache keeps filters' bit sets: the most recently used, bounded, and all dropped on any change.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from pipeline.adapters.sqlite_tables import IndexTables
from pipeline.core.catalogue import FACET_FIELDS, FacetCount, SearchQuery
from pipeline.core.search_text import to_facet_key

# A set is (SQL returning document ids, its parameters); it is also its key in the cache.
Source = tuple[str, tuple[object, ...]]
# Sets kept per generation: each is at most one bit per document (1.25 kB per 10,000).
MAX_CACHED_SETS: Final = 512
_ONE: Final = re.compile("1")


def to_bits(ids: Iterable[int]) -> int:
    """A set of document ids as an int whose bit i is set when id i is in the set."""
    members = list(ids)
    if not members:
        return 0
    buffer = bytearray((max(members) >> 3) + 1)
    for i in members:
        buffer[i >> 3] |= 1 << (i & 7)
    return int.from_bytes(buffer, "little")


def from_bits(bits: int) -> list[int]:
    """The ids of a bit set, in ascending order."""
    return [m.start() for m in _ONE.finditer(bin(bits)[:1:-1])]


@dataclass
class IndexBits:
    """Every document (`everything`), each facet value's documents (by key and by spelling), the
    documents in accession and in name order, and the sets searches asked for most recently."""

    everything: int = 0
    keys: dict[tuple[str, str], int] = field(default_factory=dict)
    spellings: dict[tuple[str, str, str], int] = field(default_factory=dict)
    orders: dict[str, list[int]] = field(default_factory=dict)
    sets: OrderedDict[Source, int] = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)  # API threads share the sets

    @classmethod
    def read(cls, connection: sqlite3.Connection, tables: IndexTables) -> IndexBits:
        ids: dict[tuple[str, str, str], list[int]] = {}
        rows = connection.execute(
            f"SELECT v.name, v.value_key, f.value, f.doc_id FROM {tables.facets} f "
            f"JOIN {tables.facet_values} v ON v.id = f.value_id"
        )
        for name, key, value, doc_id in rows:
            ids.setdefault((name, key, value), []).append(doc_id)
        documents = f"SELECT id FROM {tables.documents}"
        bits = cls(everything=to_bits(row[0] for row in connection.execute(documents)))
        for (name, key, value), members in ids.items():
            member_bits = to_bits(members)
            bits.spellings[(name, key, value)] = member_bits
            bits.keys[(name, key)] = bits.keys.get((name, key), 0) | member_bits
        for order, columns in (("accession", "accession_sort, object"), ("name", "name_sort, "
                               "accession_sort, object")):  # fmt: skip
            sql = f"SELECT id FROM {tables.documents} ORDER BY {columns}"
            bits.orders[order] = [row[0] for row in connection.execute(sql)]
        return bits

    def select(self, connection: sqlite3.Connection, source: Source) -> int:
        """The documents a source selects, from the cache or the index."""
        with self.lock:
            found = self.sets.get(source)
            if found is not None:
                self.sets.move_to_end(source)
                return found
        sql, params = source
        found = to_bits(row[0] for row in connection.execute(sql, params))
        with self.lock:
            self.sets[source] = found
            if len(self.sets) > MAX_CACHED_SETS:
                self.sets.popitem(last=False)
        return found

    def filter_bits(self, filters: Mapping[str, list[str]], *, skip: str | None = None) -> int:
        """The documents every filter accepts (any value of a facet, every facet), but `skip`'s."""
        accepted = self.everything
        for name, values in filters.items():
            if name != skip:
                any_of = 0
                for key in {to_facet_key(v) for v in values}:
                    any_of |= self.keys.get((name, key), 0)
                accepted &= any_of
        return accepted

    def first_in_order(self, bits: int, order: str, skip: int, count: int) -> list[int]:
        """`count` documents of `bits` after the first `skip`, in accession or name order."""
        found: list[int] = []
        for doc_id in self.orders[order]:
            if bits >> doc_id & 1:
                if skip:
                    skip -= 1
                    continue
                found.append(doc_id)
                if len(found) == count:
                    break
        return found

    def count_facets(
        self, matched: int, query: SearchQuery
    ) -> tuple[dict[str, list[FacetCount]], dict[str, int]]:
        """Each facet's values over the matches and the other facets' filters, most frequent
        first (its first `facet_limit`), and how many values each facet has."""
        if query.facet_limit == 0:
            return {}, {}
        unfiltered = matched & self.filter_bits(query.filters)
        within = {n: matched & self.filter_bits(query.filters, skip=n) for n in query.filters}
        counts: dict[str, dict[str, list[tuple[int, str]]]] = {f.name: {} for f in FACET_FIELDS}
        for (name, key, value), members in self.spellings.items():
            if n := (within.get(name, unfiltered) & members).bit_count():
                counts[name].setdefault(key, []).append((n, value))
        result: dict[str, list[FacetCount]] = {}
        sizes: dict[str, int] = {}
        for facet, by_key in counts.items():
            chosen = {to_facet_key(v) for v in query.filters.get(facet, [])}
            if contains := to_facet_key(query.facet_contains.get(facet, "")):
                by_key = {k: v for k, v in by_key.items() if contains in k or k in chosen}
            values = [
                FacetCount(
                    # Spelled as most records spell it; the key merges case and diacritic slips.
                    value=max(spellings)[1],
                    count=sum(n for n, _ in spellings),
                    selected=key in chosen,
                )
                for key, spellings in by_key.items()
            ]
            values.sort(key=lambda c: (-c.count, to_facet_key(c.value)))
            result[facet] = values[: query.facet_limit]
            sizes[facet] = len(values)
        return result, sizes
