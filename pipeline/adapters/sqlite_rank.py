"""One search run over the index's bit sets: its matches, and the page of them in order; the
sets and the SQL come from the plan (sqlite_search), the cache from sqlite_bits."""

from __future__ import annotations

import json
import sqlite3
from typing import Final

from pipeline.adapters.sqlite_bits import IndexBits, from_bits
from pipeline.adapters.sqlite_search import SearchPlan

# A tie larger than this is shown in accession order, without bm25: scoring costs ~2 µs a
# document (FTS5 reads each one's column sizes), 20 ms for 10,000, and a word that half the
# collection holds ranks nothing by bm25 (FTS5 floors its weight at 1e-6).
MAX_SCORED_TIE: Final = 1000


def find_matches(connection: sqlite3.Connection, bits: IndexBits, plan: SearchPlan) -> int:
    """The documents the words match, before filters."""
    if plan.browsing:
        return bits.everything(connection)
    if plan.nothing:
        return 0
    matched = bits.everything(connection) if plan.required else 0
    for source in plan.required:
        matched &= bits.select(connection, source)
    for source in plan.alternatives:
        matched |= bits.select(connection, source)
    return matched


def split_by_count(group: int, sets: list[int]) -> list[int]:
    """The documents of `group` held by all of `sets`, then by one fewer, ... then by none."""
    at_least = [group] + [0] * len(sets)
    for members in sets:
        for n in range(len(sets), 0, -1):
            at_least[n] |= at_least[n - 1] & members
    exactly = [at_least[n] & ~at_least[n + 1] for n in range(len(sets))] + [at_least[-1]]
    return [level for level in reversed(exactly) if level]


def find_page(
    connection: sqlite3.Connection, bits: IndexBits, plan: SearchPlan, results: int
) -> list[tuple[int, float | None]]:
    """The (id, bm25) of one page of `results` in the plan's order.

    Each tier splits the results into groups; only the groups the page reaches are split
    further, and only the ties on the page are ordered, in SQL, by the rest of the order.
    """
    want, skip = plan.query.page_size, plan.offset
    groups = [results]
    for tier in plan.tiers:
        sets = [bits.select(connection, source) for source in tier]
        groups, skip = _reach(
            [part for group in groups for part in split_by_count(group, sets)], skip, want
        )
    groups, skip = _reach(groups, skip, want)
    rows: list[tuple[int, float | None]] = []
    for group in groups:
        size, take = group.bit_count(), want - len(rows)
        if size > MAX_SCORED_TIE:
            found = bits.first_in_order(connection, group, plan.order or "accession", skip, take)
            rows += [(doc_id, None) for doc_id in found]
        else:
            ids = json.dumps(from_bits(group))
            params = {"ids": ids, "match": plan.match, "limit": take, "offset": skip}
            rows += connection.execute(plan.tie_sql(plan.order), params).fetchall()
        skip = 0
        if len(rows) >= want:
            break
    return rows


def _reach(groups: list[int], skip: int, want: int) -> tuple[list[int], int]:
    """The groups a page of `want` after `skip` documents reaches, and what it skips of them."""
    kept: list[int] = []
    covered = 0
    for group in groups:
        size = group.bit_count()
        if not kept and skip >= size:
            skip -= size
            continue
        kept.append(group)
        covered += size
        if covered - skip >= want:
            break
    return kept, skip
