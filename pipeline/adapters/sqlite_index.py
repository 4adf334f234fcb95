"""The catalogue index in one SQLite file (FTS5); the only importer of sqlite3, holds no truth."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, ParamSpec, TypeVar

from pipeline.core.catalogue import (
    FACET_FIELDS,
    TEXT_FIELDS,
    CatalogueIndex,
    FacetCount,
    IndexDocument,
    SearchHit,
    SearchQuery,
    SearchResult,
)
from pipeline.core.search_text import (
    QueryWord,
    QueryWords,
    parse_query,
    to_exact_text,
    to_facet_key,
    to_folded_text,
)
from pipeline.errors import ConfigurationError, IndexUnavailableError

log = logging.getLogger(__name__)

DEFAULT_INDEX_NAME: Final = "catalogue.sqlite3"
# Bump when the tables change shape; an index of another shape is rebuilt empty on open.
_LAYOUT_VERSION: Final = 2  # 2: documents keep the ETag of the record they came from
_FINGERPRINT: Final = f"{_LAYOUT_VERSION}:" + ",".join(f.name for f in TEXT_FIELDS)
# Folded columns: we fold (incl. Đ -> D, which unicode61 leaves alone) before the tokenizer
# sees the text; remove_diacritics 2 is a second line for any mark our folding misses.
_FOLDED_TOKENIZER: Final = "unicode61 remove_diacritics 2"
# Exact columns keep diacritics so a query typed with them can rank exact spellings first.
_EXACT_TOKENIZER: Final = "unicode61 remove_diacritics 0"
# Prefix indexes make "typing" queries (last word as a prefix) cheap for 2-3 letter stems.
_PREFIXES: Final = "2 3"
# SQLite messages that mean "try again later", not "this code is wrong".
_TRANSIENT: Final = ("locked", "busy", "unable to open", "disk i/o", "readonly", "full")

P = ParamSpec("P")
R = TypeVar("R")


def check_fts5(connection: sqlite3.Connection) -> None:
    """Raise ConfigurationError unless this SQLite has FTS5 with remove_diacritics 2 (3.27+)."""
    try:
        connection.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.sohoa_fts5_probe "
            f"USING fts5(x, tokenize = '{_FOLDED_TOKENIZER}')"
        )
        connection.execute("DROP TABLE temp.sohoa_fts5_probe")
    except sqlite3.Error as exc:
        raise ConfigurationError(
            f"The SQLite library in this Python ({sqlite3.sqlite_version}) cannot build the "
            f"catalogue index: it lacks FTS5 with '{_FOLDED_TOKENIZER}' ({exc}). Use a Python "
            "whose SQLite is 3.27 or newer with FTS5 enabled (python.org and distribution "
            "builds are), or configure a PostgreSQL catalogue."
        ) from None


def _map_errors(method: Callable[P, R]) -> Callable[P, R]:
    """Turn SQLite's transient failures into IndexUnavailableError (retryable); a bug stays one."""

    @wraps(method)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except sqlite3.OperationalError as exc:
            if any(word in str(exc).lower() for word in _TRANSIENT):
                where = getattr(args[0], "path", "?")
                raise IndexUnavailableError(
                    f"The catalogue index {where} is unavailable ({exc}); will retry."
                ) from None
            raise

    return run


@dataclass(frozen=True)
class _Tables:
    """The tables of one generation of the index; a rebuild writes a new generation aside."""

    generation: int

    @property
    def documents(self) -> str:
        return f"documents_{self.generation}"

    @property
    def facets(self) -> str:
        return f"facets_{self.generation}"

    @property
    def facet_values(self) -> str:
        return f"facet_values_{self.generation}"

    @property
    def folded(self) -> str:
        return f"folded_{self.generation}"

    @property
    def exact(self) -> str:
        return f"exact_{self.generation}"

    def create(self, connection: sqlite3.Connection) -> None:
        columns = ", ".join(f.name for f in TEXT_FIELDS)
        n = self.generation
        for statement in (
            f"""CREATE TABLE {self.documents} (
                id INTEGER PRIMARY KEY,
                object TEXT NOT NULL UNIQUE,
                accession_key TEXT NOT NULL,
                accession_sort TEXT NOT NULL,
                name_sort TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                etag TEXT,
                hit TEXT NOT NULL)""",
            f"CREATE INDEX documents_{n}_accession ON {self.documents}(accession_key)",
            f"CREATE INDEX documents_{n}_accession_sort ON {self.documents}(accession_sort)",
            f"CREATE INDEX documents_{n}_name_sort ON {self.documents}(name_sort)",
            # Facet values get integer ids and documents link to them, clustered by value: counting
            # 10,000 results' facets is then an integer GROUP BY (~7 ms), not a text one (~45 ms).
            f"""CREATE TABLE {self.facet_values} (
                id INTEGER PRIMARY KEY,
                name TEXT NOT NULL,
                value_key TEXT NOT NULL,
                UNIQUE (name, value_key))""",
            f"""CREATE TABLE {self.facets} (
                value_id INTEGER NOT NULL,
                doc_id INTEGER NOT NULL,
                value TEXT NOT NULL,
                PRIMARY KEY (value_id, doc_id)) WITHOUT ROWID""",
            f"CREATE INDEX facets_{n}_doc ON {self.facets}(doc_id, value)",
            f"CREATE VIRTUAL TABLE {self.folded} USING fts5({columns}, "
            f"tokenize = '{_FOLDED_TOKENIZER}', prefix = '{_PREFIXES}')",
            f"CREATE VIRTUAL TABLE {self.exact} USING fts5(body, "
            f"tokenize = '{_EXACT_TOKENIZER}', prefix = '{_PREFIXES}')",
        ):
            connection.execute(statement)

    def drop(self, connection: sqlite3.Connection) -> None:
        for table in (self.folded, self.exact, self.facets, self.facet_values, self.documents):
            connection.execute(f"DROP TABLE IF EXISTS {table}")

    def write(
        self, connection: sqlite3.Connection, doc: IndexDocument, *, newer_only: bool
    ) -> None:
        """Insert or replace one document; with `newer_only`, never over a newer version."""
        updated = doc.updated_at.isoformat()
        row = connection.execute(
            f"SELECT id, updated_at FROM {self.documents} WHERE object = ?", (doc.object,)
        ).fetchone()
        values = (
            doc.accession_key,
            doc.accession_sort,
            doc.name_sort,
            updated,
            doc.etag,
            doc.hit.model_dump_json(exclude={"score"}),
        )
        if row is None:
            doc_id = connection.execute(
                f"INSERT INTO {self.documents} (object, accession_key, accession_sort, "
                "name_sort, updated_at, etag, hit) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (doc.object, *values),
            ).lastrowid
        else:
            doc_id, stored = row
            if newer_only and stored > updated:
                return
            connection.execute(
                f"UPDATE {self.documents} SET accession_key = ?, accession_sort = ?, "
                "name_sort = ?, updated_at = ?, etag = ?, hit = ? WHERE id = ?",
                (*values, doc_id),
            )
            self.remove_text(connection, doc_id)
        names = [f.name for f in TEXT_FIELDS]
        connection.execute(
            f"INSERT INTO {self.folded} (rowid, {', '.join(names)}) "
            f"VALUES (?, {', '.join('?' for _ in names)})",
            (doc_id, *(to_folded_text(doc.text.get(name, "")) for name in names)),
        )
        body = "\n".join(doc.text.get(name, "") for name in names)
        connection.execute(
            f"INSERT INTO {self.exact} (rowid, body) VALUES (?, ?)", (doc_id, to_exact_text(body))
        )
        for name, spellings in doc.facets.items():
            for value in spellings:
                key = to_facet_key(value)
                connection.execute(
                    f"INSERT INTO {self.facet_values} (name, value_key) VALUES (?, ?) "
                    "ON CONFLICT DO NOTHING",
                    (name, key),
                )
                connection.execute(
                    f"INSERT OR REPLACE INTO {self.facets} (value_id, doc_id, value) "
                    f"SELECT id, ?, ? FROM {self.facet_values} WHERE name = ? AND value_key = ?",
                    (doc_id, value, name, key),
                )

    def remove_text(self, connection: sqlite3.Connection, doc_id: int) -> None:
        connection.execute(f"DELETE FROM {self.folded} WHERE rowid = ?", (doc_id,))
        connection.execute(f"DELETE FROM {self.exact} WHERE rowid = ?", (doc_id,))
        connection.execute(f"DELETE FROM {self.facets} WHERE doc_id = ?", (doc_id,))

    def delete(self, connection: sqlite3.Connection, object_slug: str) -> bool:
        row = connection.execute(
            f"SELECT id FROM {self.documents} WHERE object = ?", (object_slug,)
        ).fetchone()
        if row is None:
            return False
        self.remove_text(connection, row[0])
        connection.execute(f"DELETE FROM {self.documents} WHERE id = ?", (row[0],))
        return True


def to_match_expression(words: Iterable[QueryWord], *, exact: bool) -> str:
    """An FTS5 query that is only quoted strings: user input can carry no FTS5 syntax."""
    terms = []
    for word in words:
        text = word.exact if exact and word.exact is not None else word.folded
        terms.append('"' + text.replace('"', '""') + '"' + ("*" if word.prefix else ""))
    return " ".join(terms)


class SqliteIndex:
    """CatalogueIndex in a SQLite file: WAL, one connection per thread, short transactions.

    Readers never wait for writers (WAL). A rebuild writes a new generation of tables in
    batches and swaps it in with one small transaction; single upserts during a rebuild go to
    both generations so the swap loses none of them.
    """

    def __init__(self, path: Path, *, batch_size: int = 500, busy_timeout: float = 10.0) -> None:
        self.path = Path(path)
        self.batch_size = batch_size
        self.busy_timeout = busy_timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._prepare()

    # --- connections and transactions --------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path,
            timeout=self.busy_timeout,
            isolation_level=None,  # we issue BEGIN/COMMIT ourselves: transactions stay short
            check_same_thread=False,  # only so close() can close every thread's connection
        )
        try:
            mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            # WAL + NORMAL can lose the last transactions on power loss, never corrupt: the
            # index is rebuilt from the bucket, so speed wins.
            connection.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.DatabaseError as exc:
            connection.close()
            if isinstance(exc, sqlite3.OperationalError):
                raise
            raise ConfigurationError(
                f"The catalogue index {self.path} is damaged or not a SQLite file ({exc}): "
                "delete it and run `sohoa reindex`; the bucket holds everything it had."
            ) from None
        if mode != "wal":
            log.warning(
                "catalogue index %s is in %s mode, not WAL: reads may wait", self.path, mode
            )
        return connection

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection (a forked worker child opens its own, never the parent's)."""
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None or self._local.pid != os.getpid():
            connection = self._connect()
            self._local.connection, self._local.pid = connection, os.getpid()
            with self._lock:
                self._connections.append(connection)
        return connection

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        connection = self._connection()
        # IMMEDIATE takes the write lock up front, so a writer waits (busy_timeout) at BEGIN
        # instead of failing halfway; a reader's BEGIN fixes one snapshot for all its queries.
        connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield connection
        except BaseException:
            # SQLite may have rolled back already (disk full, interrupted): then there is none.
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    @staticmethod
    def _meta(connection: sqlite3.Connection) -> dict[str, str]:
        return dict(connection.execute("SELECT key, value FROM meta").fetchall())

    @staticmethod
    def _set_meta(connection: sqlite3.Connection, key: str, value: object) -> None:
        connection.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, str(value)),
        )

    def _new_generation(self, connection: sqlite3.Connection) -> _Tables:
        meta = self._meta(connection)
        tables = _Tables(int(meta.get("next", "1")))
        self._set_meta(connection, "next", tables.generation + 1)
        tables.drop(connection)
        tables.create(connection)
        return tables

    @_map_errors
    def _prepare(self) -> None:
        check_fts5(self._connection())
        with self._transaction(write=True) as connection:
            connection.execute(
                "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )
            meta = self._meta(connection)
            if "live" in meta and meta.get("fingerprint") == _FINGERPRINT:
                return
            if "live" in meta:
                log.warning(
                    "catalogue index %s was built with other fields: it is empty until "
                    "`sohoa reindex`",
                    self.path,
                )
            for key in ("live", "building"):
                if key in meta:
                    _Tables(int(meta[key])).drop(connection)
            connection.execute("DELETE FROM meta WHERE key = 'building'")
            tables = self._new_generation(connection)
            self._set_meta(connection, "live", tables.generation)
            self._set_meta(connection, "fingerprint", _FINGERPRINT)

    def _live(self, connection: sqlite3.Connection) -> _Tables:
        return _Tables(int(self._meta(connection)["live"]))

    # --- writing -----------------------------------------------------------------------------

    @_map_errors
    def upsert(self, document: IndexDocument) -> None:
        with self._transaction(write=True) as connection:
            meta = self._meta(connection)
            _Tables(int(meta["live"])).write(connection, document, newer_only=False)
            if "building" in meta:
                # A rebuild read the bucket before this change, perhaps: give it the news.
                _Tables(int(meta["building"])).write(connection, document, newer_only=True)

    @_map_errors
    def delete(self, object_slug: str) -> bool:
        with self._transaction(write=True) as connection:
            meta = self._meta(connection)
            if "building" in meta:
                _Tables(int(meta["building"])).delete(connection, object_slug)
            return _Tables(int(meta["live"])).delete(connection, object_slug)

    @_map_errors
    def replace_all(self, documents: Iterable[IndexDocument]) -> int:
        with self._transaction(write=True) as connection:
            stale = self._meta(connection).get("building")
            if stale is not None:
                log.warning("catalogue index %s: discarding an unfinished rebuild", self.path)
                _Tables(int(stale)).drop(connection)
            tables = self._new_generation(connection)
            self._set_meta(connection, "building", tables.generation)
        try:
            batch: list[IndexDocument] = []
            for document in documents:
                batch.append(document)
                if len(batch) >= self.batch_size:
                    self._write_batch(tables, batch)
                    batch = []
            self._write_batch(tables, batch)
            with self._transaction(write=True) as connection:
                self._check_building(connection, tables)
                old = self._live(connection)
                self._set_meta(connection, "live", tables.generation)
                connection.execute("DELETE FROM meta WHERE key = 'building'")
                old.drop(connection)
                return int(
                    connection.execute(f"SELECT COUNT(*) FROM {tables.documents}").fetchone()[0]
                )
        except BaseException:
            self._abandon(tables)
            raise

    def _write_batch(self, tables: _Tables, batch: list[IndexDocument]) -> None:
        # One short transaction per batch: readers never wait, and a single upsert from a worker
        # waits at most one batch for the write lock.
        with self._transaction(write=True) as connection:
            self._check_building(connection, tables)
            for document in batch:
                tables.write(connection, document, newer_only=True)

    def _check_building(self, connection: sqlite3.Connection, tables: _Tables) -> None:
        if self._meta(connection).get("building") != str(tables.generation):
            raise IndexUnavailableError(
                f"Another rebuild of the catalogue index {self.path} started and replaced this "
                "one; let it finish."
            )

    def _abandon(self, tables: _Tables) -> None:
        try:
            with self._transaction(write=True) as connection:
                if self._meta(connection).get("building") == str(tables.generation):
                    tables.drop(connection)
                    connection.execute("DELETE FROM meta WHERE key = 'building'")
        except sqlite3.Error:
            log.exception("could not discard an unfinished rebuild of %s", self.path)

    # --- reading -----------------------------------------------------------------------------

    @_map_errors
    def count(self) -> int:
        with self._transaction(write=False) as connection:
            tables = self._live(connection)
            return int(connection.execute(f"SELECT COUNT(*) FROM {tables.documents}").fetchone()[0])

    @_map_errors
    def versions(self) -> dict[str, str | None]:
        with self._transaction(write=False) as connection:
            tables = self._live(connection)
            rows = connection.execute(f"SELECT object, etag FROM {tables.documents}").fetchall()
        return {object_slug: etag for object_slug, etag in rows}

    @_map_errors
    def find_accession(self, accession: str) -> SearchHit | None:
        words = parse_query(accession)
        if words.accession_key is None:
            return None
        with self._transaction(write=False) as connection:
            tables = self._live(connection)
            row = connection.execute(
                f"SELECT hit FROM {tables.documents} WHERE accession_key = ? ORDER BY object "
                "LIMIT 1",
                (words.accession_key,),
            ).fetchone()
        return SearchHit.model_validate_json(row[0]) if row else None

    @_map_errors
    def search(self, query: SearchQuery) -> SearchResult:
        with self._transaction(write=False) as connection:
            plan = _SearchPlan(self._live(connection), query)
            total = int(connection.execute(plan.count_sql(), plan.params).fetchone()[0])
            rows = connection.execute(plan.page_sql(), plan.params).fetchall()
            facets = plan.read_facets(connection)
        hits = [
            SearchHit.model_validate_json(hit).model_copy(
                update={"score": None if score is None else round(-score, 4)}
            )
            for hit, score in rows
        ]
        return SearchResult(
            total=total,
            page=query.page,
            page_size=query.page_size,
            pages=-(-total // query.page_size),
            sort=query.sort,
            hits=hits,
            facets=facets,
        )

    def close(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()
        self._local = threading.local()

    def __enter__(self) -> SqliteIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _SearchPlan:
    """The SQL of one search: the matching set (m), the filters, the order, the facet counts."""

    def __init__(self, tables: _Tables, query: SearchQuery) -> None:
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


if TYPE_CHECKING:
    # mypy proves here that the adapter keeps to the protocol the services are written against.
    _protocol_check: type[CatalogueIndex] = SqliteIndex
