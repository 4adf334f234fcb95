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

import json
import re
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Final

from pipeline.adapters.sqlite_tables import IndexTables
from pipeline.core.catalogue import FACET_FIELDS, FacetCount, SearchQuery
from pipeline.core.search_text import to_facet_key

# A set is (SQL returning document ids, its parameters); it is also its key in the cache.
Source = tuple[str, tuple[object, ...]]
# Sets kept per generation: each is at most one bit per document (1.25 kB per 10,000).
MAX_CACHED_SETS: Final = 512
# Facets are counted in SQL until every facet value's set has been read (~60 ms, once): for
# results of up to SMALL_FACET_COUNT (~3 ms), and once for results of up to SQL_FACET_COUNT
# (~15 ms for 1,000; what a process that searches once needs); past that, or the second time,
# the sets are read. Counting 10,000 results in SQL costs more (~95 ms) than reading them.
SMALL_FACET_COUNT: Final = 200
SQL_FACET_COUNT: Final = 2000
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
    """Sets of one generation's documents, each read when first needed: every document, each
    facet value's documents (by spelling), the documents in accession and in name order, and the
    sets searches asked for most recently."""

    tables: IndexTables
    lock: threading.Lock = field(default_factory=threading.Lock)  # API threads share the sets
    sets: OrderedDict[Source, int] = field(default_factory=OrderedDict)
    _everything: int | None = None
    _spellings: dict[tuple[str, str, str], int] | None = None
    _orders: dict[str, list[int]] = field(default_factory=dict)
    # What was asked once already: a process that searches once (`sohoa search`) sorts a large
    # tie in SQL (~10 ms for 10,000); the second ask reads the whole order (~40 ms, once), which
    # later searches walk for free. Facets likewise (see SQL_FACET_COUNT).
    _asked: set[str] = field(default_factory=set)

    def everything(self, connection: sqlite3.Connection) -> int:
        if self._everything is None:
            ids = connection.execute(f"SELECT id FROM {self.tables.documents}")
            self._everything = to_bits(row[0] for row in ids)
        return self._everything

    def spellings(self, connection: sqlite3.Connection) -> dict[tuple[str, str, str], int]:
        """(facet, value key, spelling) -> its documents; ~50 ms for 60,000 links, once."""
        if self._spellings is None:
            t = self.tables
            rows = connection.execute(
                f"SELECT v.name, v.value_key, f.value, group_concat(f.doc_id) FROM {t.facets} f "
                f"JOIN {t.facet_values} v ON v.id = f.value_id GROUP BY f.value_id, f.value"
            )
            self._spellings = {
                (name, key, value): to_bits(map(int, ids.split(",")))
                for name, key, value, ids in rows
            }
        return self._spellings

    def order(self, connection: sqlite3.Connection, name: str) -> list[int]:
        """Every document in accession or name order."""
        if name not in self._orders:
            by = (
                "accession_sort, object"
                if name == "accession"
                else "name_sort, accession_sort, object"
            )
            sql = f"SELECT id FROM {self.tables.documents} ORDER BY {by}"
            self._orders[name] = [row[0] for row in connection.execute(sql)]
        return self._orders[name]

    def _ask_once(self, what: str) -> bool:
        """True the first time `what` is asked of this generation."""
        with self.lock:
            first = what not in self._asked
            self._asked.add(what)
        return first

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

    def filter_bits(
        self, connection: sqlite3.Connection, filters: Mapping[str, list[str]], *,
        skip: str | None = None,
    ) -> int:  # fmt: skip
        """The documents every filter accepts (any value of a facet, every facet), but `skip`'s."""
        t = self.tables
        accepted = self.everything(connection)
        for name, values in sorted(filters.items()):
            if name != skip:
                keys = tuple(sorted({to_facet_key(v) for v in values}))
                marks = ", ".join("?" for _ in keys)
                accepted &= self.select(connection, (
                    f"SELECT doc_id FROM {t.facets} WHERE value_id IN (SELECT id FROM "
                    f"{t.facet_values} WHERE name = ? AND value_key IN ({marks}))",
                    (name, *keys),
                ))  # fmt: skip
        return accepted

    def first_in_order(
        self, connection: sqlite3.Connection, bits: int, order: str, skip: int, count: int
    ) -> list[int]:
        """`count` documents of `bits` after the first `skip`, in accession or name order."""
        if order not in self._orders and self._ask_once(f"order:{order}"):
            keys = "d.accession_sort, d.object"
            keys = keys if order == "accession" else f"d.name_sort, {keys}"
            rows = connection.execute(
                f"SELECT d.id FROM json_each(?) j JOIN {self.tables.documents} d ON d.id = j.value "
                f"ORDER BY {keys} LIMIT ? OFFSET ?",
                (json.dumps(from_bits(bits)), count, skip),
            )
            return [row[0] for row in rows]
        found: list[int] = []
        for doc_id in self.order(connection, order):
            if bits >> doc_id & 1:
                if skip:
                    skip -= 1
                    continue
                found.append(doc_id)
                if len(found) == count:
                    break
        return found

    def count_facets(
        self, connection: sqlite3.Connection, matched: int, query: SearchQuery
    ) -> tuple[dict[str, list[FacetCount]], dict[str, int]]:
        """Each facet's values over the matches and the other facets' filters, most frequent
        first (its first `facet_limit`), and how many values each facet has."""
        if query.facet_limit == 0:
            return {}, {}
        bases: dict[str | None, int] = {None: matched & self.filter_bits(connection, query.filters)}
        for name in query.filters:
            bases[name] = matched & self.filter_bits(connection, query.filters, skip=name)
        counts: dict[str, dict[str, list[tuple[int, str]]]] = {f.name: {} for f in FACET_FIELDS}
        for (name, key, value), n in self._count(connection, bases):
            if n:
                counts[name].setdefault(key, []).append((n, value))
        return _to_facet_counts(counts, query)

    def _count(
        self, connection: sqlite3.Connection, bases: dict[str | None, int]
    ) -> Iterator[tuple[tuple[str, str, str], int]]:
        """(facet, key, spelling) and how many documents of its base set have it: in SQL over
        the documents while the spellings are unread and the result small or asked once, else
        a popcount per spelling."""
        largest = max(b.bit_count() for b in bases.values())
        if self._spellings is None and (
            largest <= SMALL_FACET_COUNT
            or (largest <= SQL_FACET_COUNT and self._ask_once("facets"))
        ):
            t = self.tables
            for name, base in bases.items():
                rows = connection.execute(
                    f"SELECT v.name, v.value_key, f.value, COUNT(*) FROM {t.facets} f "
                    f"JOIN {t.facet_values} v ON v.id = f.value_id WHERE f.doc_id IN "
                    "(SELECT value FROM json_each(?)) GROUP BY f.value_id, f.value",
                    (json.dumps(from_bits(base)),),
                )
                for facet, key, value, n in rows:
                    if facet == name or (name is None and facet not in bases):
                        yield (facet, key, value), n
            return
        for (facet, key, value), members in self.spellings(connection).items():
            base = bases.get(facet, bases[None])
            yield (facet, key, value), (base & members).bit_count()


def _to_facet_counts(
    counts: dict[str, dict[str, list[tuple[int, str]]]], query: SearchQuery
) -> tuple[dict[str, list[FacetCount]], dict[str, int]]:
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
