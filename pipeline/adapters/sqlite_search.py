"""The SQL of one catalogue search (match, partial match, filters, order, facets), and the
look-ups in the index's vocabulary that correct a misspelt word; it runs nothing else."""

from __future__ import annotations

import sqlite3
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from pipeline.adapters.sqlite_tables import IndexTables
from pipeline.core.catalogue import (
    ENGLISH_FIELDS,
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
    to_one_edit,
)

_ENGLISH_COLUMNS: Final = "{" + " ".join(ENGLISH_FIELDS) + "}"
_MAX_CORRECTIONS: Final = 3


def quote(text: str) -> str:
    """A word as an FTS5 string: user input can carry no FTS5 syntax."""
    return '"' + text.replace('"', '""') + '"'


def to_match_expression(words: Iterable[QueryWord], *, exact: bool) -> str:
    """An FTS5 query that is only quoted strings: user input can carry no FTS5 syntax."""
    terms = []
    for word in words:
        text = word.exact if exact and word.exact is not None else word.folded
        terms.append(quote(text) + ("*" if word.prefix else ""))
    return " ".join(terms)


def to_term_expression(word: QueryWord, corrections: tuple[str, ...] = ()) -> str:
    """Every way one word may match: as typed (folded); as a prefix if it is the last word; by
    its English stem on English fields; by the index's words one edit away when it has none."""
    if word.prefix:
        return quote(word.folded) + "*"
    alternatives = [quote(word.folded)]
    if word.last:
        alternatives.append(quote(word.folded) + "*")
    if word.stem:
        alternatives.append(f"{_ENGLISH_COLUMNS} : {quote(word.stem)}*")
    alternatives += [quote(c) for c in corrections]
    return alternatives[0] if len(alternatives) == 1 else f"({' OR '.join(alternatives)})"


@dataclass(frozen=True)
class Vocabulary:
    """The index's folded words and how many documents hold each, read once per change of the
    index: a look-up in FTS5's vocabulary table costs ~35 µs, and a correction asks ~300."""

    documents: dict[str, int]
    terms: list[str]  # sorted

    @classmethod
    def read(cls, connection: sqlite3.Connection, tables: IndexTables) -> Vocabulary:
        rows = connection.execute(f"SELECT term, doc FROM {tables.vocabulary}").fetchall()
        return cls(dict(rows), sorted(term for term, _ in rows))

    def has_prefix(self, prefix: str) -> bool:
        i = bisect_left(self.terms, prefix)
        return i < len(self.terms) and self.terms[i].startswith(prefix)

    def corrections(self, words: QueryWords) -> dict[str, tuple[str, ...]]:
        """For each word of 5+ letters the index does not hold (nor, for the last word, any word
        it begins; nor, in English, its stem), the index's words one edit away, the most
        frequent first (at most three)."""
        found: dict[str, tuple[str, ...]] = {}
        for word in words.words:
            if word.optional or not word.may_be_misspelt or word.folded in self.documents:
                continue
            if (word.last or word.prefix) and self.has_prefix(word.folded):
                continue
            if word.stem and self.has_prefix(word.stem):
                continue  # 'inscriptions' is no typo of 'inscription'
            near = [(self.documents[t], t) for t in to_one_edit(word.folded) if t in self.documents]
            near.sort(key=lambda pair: (-pair[0], pair[1]))
            if near:
                found[word.folded] = tuple(term for _, term in near[:_MAX_CORRECTIONS])
        return found


class SearchPlan:
    """The SQL of one search: the matching set (m), the filters, the order, the facet counts.

    `relaxed`: objects matching any of the words, ranked by how many they match (the partial
    matches shown when nothing matches them all).
    """

    def __init__(
        self,
        tables: IndexTables,
        query: SearchQuery,
        corrections: dict[str, tuple[str, ...]] | None = None,
        *,
        relaxed: bool = False,
    ) -> None:
        self.tables = tables
        self.query = query
        self.corrections = corrections or {}
        self.relaxed = relaxed
        self.params: dict[str, Any] = {
            "limit": query.page_size,
            "offset": (query.page - 1) * query.page_size,
        }
        self.filters: dict[str, str] = {}
        self.facet_sizes: dict[str, int] = {}
        # Set by the caller when the words match every document ("triều Nguyễn" in a Nguyễn
        # collection): the facets are then everything's, counted without the join.
        self.everything = False
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
        self.words = words
        # Only punctuation typed: nothing to look for, and everything is not the answer.
        self.nothing = words.is_empty and words.has_text
        self.browsing = words.is_empty and not words.has_text
        self.texts = [w for w in words.required if w.years is None]
        self.years = [w for w in words.required if w.years is not None]
        self.matched = self._match(words, scored=True)
        # Counts need only which documents match: bm25 for each of 10,000 is wasted there.
        self.matched_ids = self._match(words, scored=False)
        self.order = self._order(words)

    @property
    def can_relax(self) -> bool:
        return not self.relaxed and len(self.words.required) > 1

    def relax(self) -> SearchPlan:
        return SearchPlan(self.tables, self.query, self.corrections, relaxed=True)

    def _year_set(self, i: int, word: QueryWord) -> str:
        """Objects dated within a year or decade, or whose text has the number."""
        t = self.tables
        assert word.years is not None
        self.params.update({f"ylo{i}": word.years[0], f"yhi{i}": word.years[1]})
        self.params[f"yw{i}"] = quote(word.folded)
        return (
            f"SELECT id FROM {t.documents} WHERE year_from <= :yhi{i} AND year_to >= :ylo{i} "
            f"UNION SELECT rowid FROM {t.folded} WHERE {t.folded} MATCH :yw{i}"
        )

    def _text_set(self, i: int, word: QueryWord) -> str:
        t = self.tables
        self.params[f"t{i}"] = to_term_expression(word, self.corrections.get(word.folded, ()))
        return f"SELECT rowid FROM {t.folded} WHERE {t.folded} MATCH :t{i}"

    def term_sets(self) -> list[str]:
        return [self._text_set(i, w) for i, w in enumerate(self.texts)] + [
            self._year_set(i, w) for i, w in enumerate(self.years)
        ]

    def _match(self, words: QueryWords, *, scored: bool) -> str:
        t = self.tables
        if self.browsing:
            return f"SELECT id, NULL AS score FROM {t.documents}"
        if self.nothing:
            return f"SELECT id, NULL AS score FROM {t.documents} WHERE 0"
        weights = ", ".join(repr(f.weight) for f in TEXT_FIELDS)
        score = f"bm25({t.folded}, {weights})" if scored else "NULL"
        terms = [to_term_expression(w, self.corrections.get(w.folded, ())) for w in self.texts]
        fts = f"SELECT rowid AS id, {score} AS score FROM {t.folded} WHERE {t.folded} MATCH :match"
        if terms:
            self.params["match"] = (" OR " if self.relaxed else " AND ").join(terms)
        years = [self._year_set(i, w) for i, w in enumerate(self.years)]
        if self.relaxed:
            parts = ([fts] if terms else []) + [f"SELECT id, NULL FROM ({y})" for y in years]
        elif terms:
            parts = [fts + "".join(f" AND rowid IN ({y})" for y in years)]
        else:
            within = " AND ".join(f"id IN ({y})" for y in years)
            parts = [f"SELECT id, NULL AS score FROM {t.documents} WHERE {within}"]
        if words.accession_key is not None:
            # The accession number typed whole finds its object even if the words would not.
            self.params["accession"] = words.accession_key
            self.params["loose"] = words.accession_loose
            parts.append(
                f"SELECT id, NULL FROM {t.documents} WHERE accession_key = :accession "
                "OR accession_loose = :loose"
            )
        if len(parts) == 1:
            return parts[0]
        # One level of UNION: FTS5's bm25 cannot be read through a nested one.
        return f"SELECT id, MIN(score) AS score FROM ({' UNION ALL '.join(parts)}) GROUP BY id"

    def _order(self, words: QueryWords) -> str:
        by_accession = "d.accession_sort, d.object"
        if self.query.sort == "name":
            return f"d.name_sort, {by_accession}"
        if self.query.sort == "accession" or words.is_empty:
            return by_accession
        # Relevance, in tiers: the accession number typed whole; then (partial matches) how many
        # words matched; then how many words matched as typed, not by a stem, a prefix or a
        # correction; then how many of the words typed with diacritics are spelled exactly so
        # ("đường" before "dương"); then the words side by side as typed; then, for a year, the
        # narrowest dating; then bm25 over the folded columns, weighted by field. Tiers, not a
        # weighted sum of two bm25 scores: a sum lets a short record rich in the folded word
        # outrank an exact spelling.
        t = self.tables
        tiers = []
        if words.accession_key is not None:
            tiers.append("(d.accession_key = :accession OR d.accession_loose = :loose) DESC")
        if self.relaxed:
            sets = self.term_sets()
            tiers.append(f"({' + '.join(f'(m.id IN ({s}))' for s in sets)}) DESC")
        literal = []
        for i, word in enumerate(w for w in words.words if w.years is None):
            alone = to_term_expression(word, self.corrections.get(word.folded, ()))
            if not word.optional and alone == quote(word.folded):
                continue  # every match of the word is a literal one
            self.params[f"l{i}"] = quote(word.folded)
            literal.append(f"(m.id IN (SELECT rowid FROM {t.folded} WHERE {t.folded} MATCH :l{i}))")
        if literal:
            tiers.append(f"({' + '.join(literal)}) DESC")
        exact = []
        for i, word in enumerate(words.exact):
            self.params[f"x{i}"] = to_match_expression([word], exact=True)
            exact.append(f"(m.id IN (SELECT rowid FROM {t.exact} WHERE {t.exact} MATCH :x{i}))")
        if exact:
            tiers.append(f"({' + '.join(exact)}) DESC")
        phrase = [w.folded for w in words.words if w.years is None and not w.prefix]
        if len(phrase) > 1:
            # The words side by side, as typed: "Thế Tổ" the temple name before an object
            # that has "thế" (kỷ) in one place and "Tổ" in another.
            self.params["phrase"] = quote(" ".join(phrase))
            tiers.append(
                f"(m.id IN (SELECT rowid FROM {t.folded} WHERE {t.folded} MATCH :phrase)) DESC"
            )
        if self.years:
            tiers.append("COALESCE(d.year_to - d.year_from, 1000000)")
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
        if (self.browsing or self.everything) and where == "1":
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
            if contains := to_facet_key(self.query.facet_contains.get(facet, "")):
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
            result[facet] = values[: self.query.facet_limit]
            self.facet_sizes[facet] = len(values)
        return result
