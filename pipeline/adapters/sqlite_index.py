"""The catalogue index in one SQLite file (FTS5): connections, generations, writes; no truth."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Final, ParamSpec, TypeVar

from pipeline.adapters.sqlite_bits import IndexBits
from pipeline.adapters.sqlite_rank import find_matches, find_page
from pipeline.adapters.sqlite_search import SearchPlan, Vocabulary
from pipeline.adapters.sqlite_tables import FOLDED_TOKENIZER, IndexTables
from pipeline.core.catalogue import (
    TEXT_FIELDS,
    CatalogueIndex,
    IndexDocument,
    SearchHit,
    SearchQuery,
    SearchResult,
)
from pipeline.core.search_text import (
    NO_WORDS_MESSAGE,
    parse_query,
    to_correction,
)
from pipeline.errors import ConfigurationError, IndexUnavailableError

log = logging.getLogger(__name__)

DEFAULT_INDEX_NAME: Final = "catalogue.sqlite3"
# Bump when the tables change shape; an index of another shape is rebuilt empty on open.
# 2: documents keep the ETag of the record they came from; 3: loose accession keys, years,
# the period vocabulary's words and the folded words' vocabulary table.
_LAYOUT_VERSION: Final = 3
_FINGERPRINT: Final = f"{_LAYOUT_VERSION}:" + ",".join(f.name for f in TEXT_FIELDS)
# SQLite messages that mean "try again later", not "this code is wrong".
_TRANSIENT: Final = ("locked", "busy", "unable to open", "disk i/o", "readonly", "full")

P = ParamSpec("P")
R = TypeVar("R")


def check_fts5(connection: sqlite3.Connection) -> None:
    """Raise ConfigurationError unless this SQLite has FTS5 with remove_diacritics 2 (3.27+)."""
    try:
        connection.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.sohoa_fts5_probe "
            f"USING fts5(x, tokenize = '{FOLDED_TOKENIZER}')"
        )
        connection.execute("DROP TABLE temp.sohoa_fts5_probe")
    except sqlite3.Error as exc:
        raise ConfigurationError(
            f"The SQLite library in this Python ({sqlite3.sqlite_version}) cannot build the "
            f"catalogue index: it lacks FTS5 with '{FOLDED_TOKENIZER}' ({exc}). Use a Python "
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
        # The vocabulary for corrections and the bit sets of searches, each with what it was
        # read from (generation, structure).
        self._words: tuple[tuple[int, bytes], Vocabulary] | None = None
        self._sets: tuple[tuple[int, bytes], IndexBits] | None = None
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

    def _new_generation(self, connection: sqlite3.Connection) -> IndexTables:
        meta = self._meta(connection)
        tables = IndexTables(int(meta.get("next", "1")))
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
                    IndexTables(int(meta[key])).drop(connection)
            connection.execute("DELETE FROM meta WHERE key = 'building'")
            tables = self._new_generation(connection)
            self._set_meta(connection, "live", tables.generation)
            self._set_meta(connection, "fingerprint", _FINGERPRINT)

    def _live(self, connection: sqlite3.Connection) -> IndexTables:
        return IndexTables(int(self._meta(connection)["live"]))

    def _version(self, connection: sqlite3.Connection, tables: IndexTables) -> tuple[int, bytes]:
        """What the live generation's contents are now: FTS5 rewrites its structure record (row
        10 of its data table) on every change, whichever connection or process made it, and
        every write of a document writes its text, so that record is the key (~10 µs)."""
        row = connection.execute(f"SELECT block FROM {tables.folded}_data WHERE id = 10").fetchone()
        return (tables.generation, bytes(row[0]) if row else b"")

    def _vocabulary(self, connection: sqlite3.Connection, tables: IndexTables) -> Vocabulary:
        """The live generation's vocabulary, read again when its words changed."""
        key = self._version(connection, tables)
        with self._lock:
            cached = self._words
        if cached is not None and cached[0] == key:
            return cached[1]
        vocabulary = Vocabulary.read(connection, tables)
        with self._lock:
            self._words = (key, vocabulary)
        return vocabulary

    def _bits(self, connection: sqlite3.Connection, tables: IndexTables) -> IndexBits:
        """The live generation's bit sets, read again when a document changed."""
        key = self._version(connection, tables)
        with self._lock:
            cached = self._sets
        if cached is not None and cached[0] == key:
            return cached[1]
        bits = IndexBits(tables)
        with self._lock:
            self._sets = (key, bits)
        return bits

    # --- writing -----------------------------------------------------------------------------

    @_map_errors
    def upsert(self, document: IndexDocument) -> None:
        with self._transaction(write=True) as connection:
            meta = self._meta(connection)
            IndexTables(int(meta["live"])).write(connection, document, newer_only=False)
            if "building" in meta:
                # A rebuild read the bucket before this change, perhaps: give it the news.
                IndexTables(int(meta["building"])).write(connection, document, newer_only=True)

    @_map_errors
    def delete(self, object_slug: str) -> bool:
        with self._transaction(write=True) as connection:
            meta = self._meta(connection)
            if "building" in meta:
                IndexTables(int(meta["building"])).delete(connection, object_slug)
            return IndexTables(int(meta["live"])).delete(connection, object_slug)

    @_map_errors
    def replace_all(self, documents: Iterable[IndexDocument]) -> int:
        with self._transaction(write=True) as connection:
            stale = self._meta(connection).get("building")
            if stale is not None:
                log.warning("catalogue index %s: discarding an unfinished rebuild", self.path)
                IndexTables(int(stale)).drop(connection)
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

    def _write_batch(self, tables: IndexTables, batch: list[IndexDocument]) -> None:
        # One short transaction per batch: readers never wait, and a single upsert from a worker
        # waits at most one batch for the write lock.
        with self._transaction(write=True) as connection:
            self._check_building(connection, tables)
            for document in batch:
                tables.write(connection, document, newer_only=True)

    def _check_building(self, connection: sqlite3.Connection, tables: IndexTables) -> None:
        if self._meta(connection).get("building") != str(tables.generation):
            raise IndexUnavailableError(
                f"Another rebuild of the catalogue index {self.path} started and replaced this "
                "one; let it finish."
            )

    def _abandon(self, tables: IndexTables) -> None:
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
            # The slug first ('hm.1998.45-pl'); then the number without separators or zero
            # padding ('btcvhgs0012', 'BTCVH.GS.12'), when that names one object only.
            row = connection.execute(
                f"SELECT hit FROM {tables.documents} WHERE accession_key = ? ORDER BY object "
                "LIMIT 1",
                (words.accession_key,),
            ).fetchone()
            if row is None and words.accession_loose is not None:
                rows = connection.execute(
                    f"SELECT hit FROM {tables.documents} WHERE accession_loose = ? LIMIT 2",
                    (words.accession_loose,),
                ).fetchall()
                row = rows[0] if len(rows) == 1 else None
        return SearchHit.model_validate_json(row[0]) if row else None

    @_map_errors
    def search(self, query: SearchQuery) -> SearchResult:
        with self._transaction(write=False) as connection:
            tables = self._live(connection)
            words = parse_query(query.text, prefix_last=query.prefix)
            corrections = (
                self._vocabulary(connection, tables).corrections(words)
                if any(w.may_be_misspelt for w in words.words)
                else {}
            )
            plan = SearchPlan(tables, query, corrections)
            bits = self._bits(connection, tables)
            matched = find_matches(connection, bits, plan)
            accepted = bits.filter_bits(connection, query.filters)
            total = (matched & accepted).bit_count()
            if total == 0 and plan.can_relax:
                plan = plan.relax()
                matched = find_matches(connection, bits, plan)
                total = (matched & accepted).bit_count()
            rows = find_page(connection, bits, plan, matched & accepted)
            hits = self._hits(connection, tables, rows)
            facets, facet_sizes = bits.count_facets(connection, matched, query)
        return SearchResult(
            total=total,
            page=query.page,
            page_size=query.page_size,
            pages=-(-total // query.page_size),
            sort=query.sort,
            hits=hits,
            facets=facets,
            facet_sizes=facet_sizes,
            partial=plan.relaxed and total > 0,
            did_you_mean=to_correction(words, corrections) if total else None,
            message=NO_WORDS_MESSAGE if plan.nothing else None,
        )

    @staticmethod
    def _hits(
        connection: sqlite3.Connection, tables: IndexTables, rows: list[tuple[int, float | None]]
    ) -> list[SearchHit]:
        """The hits of one page's (id, score) rows, in their order."""
        if not rows:
            return []
        marks = ", ".join("?" for _ in rows)
        stored = dict(
            connection.execute(
                f"SELECT id, hit FROM {tables.documents} WHERE id IN ({marks})",
                [doc_id for doc_id, _ in rows],
            ).fetchall()
        )
        return [
            SearchHit.model_validate_json(stored[doc_id]).model_copy(
                update={"score": None if score is None else round(-score, 4)}
            )
            for doc_id, score in rows
        ]

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


if TYPE_CHECKING:
    # mypy proves here that the adapter keeps to the protocol the services are written against.
    _protocol_check: type[CatalogueIndex] = SqliteIndex
