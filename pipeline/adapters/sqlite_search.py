"""The SQL of one catalogue search (match, filters, order, facets); executes none itself."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from pipeline.adapters.sqlite_tables import IndexTables
from pipeline.core.catalogue import (
    FACET_FIELDS,
    TEXT_FIELDS,
    FacetCount,
    SearchQuery,
)
from pipeline.core.search_text import (
    QueryWord,
    QueryWords,
    parse_query,
    to_facet_key,
)


def to_match_expression(words: Iterable[QueryWord], *, exact: bool) -> str:
    """An FTS5 query that is only quoted strings: user input can carry no FTS5 syntax."""
    terms = []
    for word in words:
        text = word.exact if exact and word.exact is not None else word.folded
        terms.append('"' + text.replace('"', '""') + '"' + ("*" if word.prefix else ""))
    return " ".join(terms)


class SearchPlan:
    """The SQL of one search: the matching set (m), the filters, the order, the facet counts."""

    def __init__(self, tables: IndexTables, query: SearchQuery) -> None:
        self.tables = tables
        self.query = query
        self.params: dict[str, Any] = {
            "limit": query.page_size,
            "offset": (query.page - 1) * query.page_size,
        }
        self.filters: dict[str, str] = {}
        for i, (name, values) in enumerate(sorted(query.filters.items())):
            self.params[f"f{i}"] = name
            keys = sorted({to_facet_key(v) for v in values})
            self.params.update({f"f{i}_{j}": key for j, key in enumerate(keys)})
            marks = ", ".join(f":f{i}_{j}" for j in range(len(keys)))
            self.filters[name] = (
                f"m.id IN (SELECT doc_id FROM {tables.facets} WHERE value_id IN "
                f"(SELECT id FROM {tables.facet_values} "
                f"WHERE name = :f{i} AND value_key IN ({marks})))"
            )
        words = parse_query(query.text, prefix_last=query.prefix)
        self.browsing = words.is_empty
        self.matched = self._match(words, scored=True)
        # Counts need only which documents match: bm25 for each of 10,000 is wasted there.
        self.matched_ids = self._match(words, scored=False)
        self.order = self._order(words)

    def _match(self, words: QueryWords, *, scored: bool) -> str:
        t = self.tables
        if words.is_empty:
            return f"SELECT id, NULL AS score FROM {t.documents}"
        self.params["match"] = to_match_expression(words.words, exact=False)
        weights = ", ".join(repr(f.weight) for f in TEXT_FIELDS)
        score = f"bm25({t.folded}, {weights})" if scored else "NULL"
        text = f"SELECT rowid AS id, {score} AS score FROM {t.folded} WHERE {t.folded} MATCH :match"
        if words.accession_key is None:
            return text
        # The accession number typed whole finds its object even if the words alone would not.
        self.params["accession"] = words.accession_key
        return (
            f"SELECT id, MIN(score) AS score FROM ({text} UNION ALL "
            f"SELECT id, NULL FROM {t.documents} WHERE accession_key = :accession) GROUP BY id"
        )

    def _order(self, words: QueryWords) -> str:
        by_accession = "d.accession_sort, d.object"
        if self.query.sort == "name":
            return f"d.name_sort, {by_accession}"
        if self.query.sort == "accession" or words.is_empty:
            return by_accession
        # Relevance, in tiers: the accession number typed whole; then how many of the words
        # typed with diacritics are spelled exactly so ("đường" before "dương"); then bm25 over
        # the folded columns, weighted by field. Tiers, not a weighted sum of two bm25 scores:
        # a sum lets a short record rich in the folded word outrank an exact spelling.
        tiers = []
        if words.accession_key is not None:
            tiers.append("(d.accession_key = :accession) DESC")
        exact = []
        for i, word in enumerate(words.exact):
            self.params[f"x{i}"] = to_match_expression([word], exact=True)
            exact.append(
                f"(m.id IN (SELECT rowid FROM {self.tables.exact} "
                f"WHERE {self.tables.exact} MATCH :x{i}))"
            )
        if exact:
            tiers.append(f"({' + '.join(exact)}) DESC")
        return ", ".join([*tiers, "m.score IS NULL", "m.score", by_accession])

    def where(self, *, skip: str | None = None) -> str:
        clauses = [sql for name, sql in self.filters.items() if name != skip]
        return " AND ".join(clauses) if clauses else "1"

    def count_sql(self) -> str:
        return f"WITH m AS ({self.matched_ids}) SELECT COUNT(*) FROM m WHERE {self.where()}"

    def page_sql(self) -> str:
        return (
            f"WITH m AS ({self.matched}) "
            f"SELECT d.hit, m.score FROM m JOIN {self.tables.documents} d ON d.id = m.id "
            f"WHERE {self.where()} ORDER BY {self.order} LIMIT :limit OFFSET :offset"
        )

    def facet_sql(self, names: list[str], *, skip: str | None) -> str:
        """Counts of `names`' values over the results, ignoring the filter on `skip`."""
        marks = ", ".join(f":n_{name}" for name in names)
        self.params.update({f"n_{name}": name for name in names})
        t = self.tables
        where = self.where(skip=skip)
        if self.browsing and where == "1":
            # Everything matches: count the links alone, in the order they are stored.
            links = f"{t.facets} f"
        else:
            # CROSS JOIN keeps the results as the outer loop: the planner otherwise scans every
            # facet link and probes the results for each, several times slower.
            links = f"m CROSS JOIN {t.facets} f ON f.doc_id = m.id WHERE {where}"
        return (
            f"WITH m AS ({self.matched_ids}), "
            f"c AS (SELECT f.value_id, f.value, COUNT(*) AS n FROM {links} "
            "GROUP BY f.value_id, f.value) "
            f"SELECT v.name, v.value_key, c.value, c.n FROM c JOIN {t.facet_values} v "
            f"ON v.id = c.value_id WHERE v.name IN ({marks})"
        )

    def read_facets(self, connection: sqlite3.Connection) -> dict[str, list[FacetCount]]:
        if self.query.facet_limit == 0:
            return {}
        # Facets without a filter of their own share one pass over the results; each filtered
        # facet needs its own, without its filter, so its other values stay countable.
        unfiltered = [f.name for f in FACET_FIELDS if f.name not in self.filters]
        statements = [self.facet_sql(unfiltered, skip=None)] if unfiltered else []
        statements += [self.facet_sql([name], skip=name) for name in self.filters]
        counts: dict[str, dict[str, list[tuple[int, str]]]] = {f.name: {} for f in FACET_FIELDS}
        for sql in statements:
            for facet, key, value, n in connection.execute(sql, self.params):
                counts[facet].setdefault(key, []).append((n, value))
        result: dict[str, list[FacetCount]] = {}
        for facet, by_key in counts.items():
            chosen = {to_facet_key(v) for v in self.query.filters.get(facet, [])}
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
            result[facet] = values[: self.query.facet_limit]
        return result
