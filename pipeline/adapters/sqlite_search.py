"""The SQL of one catalogue search (match, partial match, filters, order), and the
look-ups in the index's vocabulary that correct a misspelt word; it runs nothing else."""

from __future__ import annotations

import sqlite3
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from pipeline.adapters.sqlite_bits import Source
from pipeline.adapters.sqlite_tables import IndexTables
from pipeline.core.catalogue import (
    ENGLISH_FIELDS,
    TEXT_FIELDS,
    SearchQuery,
)
from pipeline.core.search_text import (
    QueryWord,
    QueryWords,
    parse_query,
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
    """One search as sets of documents (sources: SQL returning ids) and how to rank them.

    The matches are the documents in every `required` set, or in any `alternative` one. The
    relevance order is tiers, each a list of sets ranking a document by how many of them hold
    it; within a tier's tie, the narrowest dating (for a year), then bm25, then the accession.
    `relaxed`: objects matching any of the words, ranked first by how many they match (the
    partial matches shown when nothing matches them all).
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
        self.offset = (query.page - 1) * query.page_size
        words = parse_query(query.text, prefix_last=query.prefix)
        self.words = words
        # Only punctuation typed: nothing to look for, and everything is not the answer.
        self.nothing = words.is_empty and words.has_text
        self.browsing = words.is_empty and not words.has_text
        self.texts = [w for w in words.required if w.years is None]
        self.years = [w for w in words.required if w.years is not None]
        terms = [self.term_expression(w) for w in self.texts]
        # The words' FTS5 query, whose bm25 ranks within a tie; None for years alone.
        self.match = (" OR " if relaxed else " AND ").join(terms) if terms else None
        self.required: list[Source] = []
        self.alternatives: list[Source] = []
        year_sets = [self._year_set(w) for w in self.years]
        text_set = [self.fts(tables.folded, self.match)] if self.match else []
        if relaxed:
            self.alternatives += text_set + year_sets
        else:
            self.required += text_set + year_sets
        if words.accession_key is not None:
            # The accession number typed whole finds its object even if the words would not.
            self.alternatives.append(self._accession_set())
        self.order = query.sort if query.sort != "relevance" or words.is_empty else None
        if query.sort == "relevance" and words.is_empty:
            self.order = "accession"
        self.tiers = self._tiers(terms) if self.order is None else []

    @property
    def can_relax(self) -> bool:
        return not self.relaxed and len(self.words.required) > 1

    def relax(self) -> SearchPlan:
        return SearchPlan(self.tables, self.query, self.corrections, relaxed=True)

    @staticmethod
    def fts(table: str, expression: str) -> Source:
        return (f"SELECT rowid FROM {table} WHERE {table} MATCH ?", (expression,))

    def term_expression(self, word: QueryWord) -> str:
        return to_term_expression(word, self.corrections.get(word.folded, ()))

    def _year_set(self, word: QueryWord) -> Source:
        """Objects dated within a year or decade, or whose text has the number."""
        t = self.tables
        assert word.years is not None
        return (
            f"SELECT id FROM {t.documents} WHERE year_from <= ? AND year_to >= ? "
            f"UNION SELECT rowid FROM {t.folded} WHERE {t.folded} MATCH ?",
            (word.years[1], word.years[0], quote(word.folded)),
        )

    def _accession_set(self) -> Source:
        words = self.words
        return (
            f"SELECT id FROM {self.tables.documents} WHERE accession_key = ? "
            "OR accession_loose = ?",
            (words.accession_key, words.accession_loose),
        )

    def _tiers(self, terms: list[str]) -> list[list[Source]]:
        """Relevance, in tiers: the accession number typed whole; then (partial matches) how
        many words matched; then how many words matched as typed, not by a stem, a prefix or a
        correction; then how many of the words typed with diacritics are spelled exactly so
        ("đường" before "dương"); then the words side by side as typed. Tiers, not a weighted
        sum of two bm25 scores: a sum lets a short record rich in the folded word outrank an
        exact spelling."""
        t = self.tables
        words = self.words
        tiers: list[list[Source]] = []
        if words.accession_key is not None:
            tiers.append([self._accession_set()])
        if self.relaxed:
            tiers.append(
                [self.fts(t.folded, term) for term in terms]
                + [self._year_set(w) for w in self.years]
            )
        literal = []
        for word in (w for w in words.words if w.years is None):
            if not word.optional and self.term_expression(word) == quote(word.folded):
                continue  # every match of the word is a literal one
            literal.append(self.fts(t.folded, quote(word.folded)))
        exact = [self.fts(t.exact, to_match_expression([w], exact=True)) for w in words.exact]
        phrase = [w.folded for w in words.words if w.years is None and not w.prefix]
        # The words side by side, as typed: "Thế Tổ" the temple name before an object that has
        # "thế" (kỷ) in one place and "Tổ" in another.
        together = [self.fts(t.folded, quote(" ".join(phrase)))] if len(phrase) > 1 else []
        return tiers + [tier for tier in (literal, exact, together) if tier]

    def tie_sql(self, order: str | None) -> str:
        """The order of a tie's documents (ids in :ids as JSON): for relevance, the narrowest
        dating for a year, then bm25 (documents the words do not match last), then accession."""
        t = self.tables
        within = "d.id IN (SELECT value FROM json_each(:ids))"
        by_accession = "d.accession_sort, d.object"
        if order == "name":
            keys = f"d.name_sort, {by_accession}"
        elif order == "accession":
            keys = by_accession
        else:
            widths = ["COALESCE(d.year_to - d.year_from, 1000000)"] if self.years else []
            keys = ", ".join([*widths, "s.score IS NULL", "s.score", by_accession])
        if order is None and self.match is not None:
            weights = ", ".join(repr(f.weight) for f in TEXT_FIELDS)
            # "+rowid": FTS5 would otherwise run the match once per id (~15 ms for 800).
            scored = (
                f"LEFT JOIN (SELECT rowid AS id, bm25({t.folded}, {weights}) AS score "
                f"FROM {t.folded} WHERE {t.folded} MATCH :match AND +rowid IN "
                "(SELECT value FROM json_each(:ids))) s ON s.id = d.id"
            )
        else:
            scored = "LEFT JOIN (SELECT NULL AS id, NULL AS score) s ON 0"
        return (
            f"SELECT d.id, s.score FROM {t.documents} d {scored} WHERE {within} "
            f"ORDER BY {keys} LIMIT :limit OFFSET :offset"
        )
