"""The SQLite catalogue index, against a real SQLite file (a real engine, no fake)."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest

from pipeline.adapters.sqlite_index import SqliteIndex, check_fts5
from pipeline.core.catalogue import TEXT_FIELDS, IndexDocument, SearchQuery, to_index_document
from pipeline.core.records import DerivativeRef, StoredObject, ViewEntry
from pipeline.errors import ConfigurationError, IndexUnavailableError
from tests.unit.catalogue_sample import (
    SHA,
    T0,
    add,
    add_filler,
    counts,
    found,
    make_doc,
    make_record,
    search,
)

# --- writing --------------------------------------------------------------------------------------


def test_upserting_the_same_document_twice_changes_nothing(index):
    doc = make_doc("HM.1", name_vi="Bình gốm", material="gốm sứ")
    add(index, doc, doc)
    assert index.count() == 1
    result = index.search(SearchQuery(text="binh"))
    assert found(result) == ["HM.1"]
    assert counts(result, "material") == {"gốm sứ": 1}


def test_upserting_a_changed_record_replaces_its_words_and_facets(index):
    add(index, make_doc("HM.1", name_vi="Bình gốm", material="gốm sứ"))
    add(index, make_doc("HM.1", name_vi="Đỉnh đồng", material="đồng"))
    assert index.count() == 1
    assert search(index, "binh") == []
    assert search(index, "dinh") == ["HM.1"]
    assert counts(index.search(SearchQuery()), "material") == {"đồng": 1}


def test_delete_removes_an_object_and_says_whether_it_was_there(index):
    add(
        index, make_doc("HM.1", name_vi="Bình", material="gốm sứ"), make_doc("HM.2", name_vi="Bình")
    )
    assert index.delete("hm.1") is True
    assert search(index, "binh") == ["HM.2"]
    assert index.find_accession("HM.1") is None
    assert counts(index.search(SearchQuery()), "material") == {}
    assert index.delete("hm.1") is False


def test_the_index_survives_closing_and_reopening(tmp_path):
    with SqliteIndex(tmp_path / "c.sqlite3") as first:
        add(first, make_doc("HM.1", name_vi="Bình gốm"))
    with SqliteIndex(tmp_path / "c.sqlite3") as second:
        assert search(second, "gom") == ["HM.1"]


def test_replace_all_swaps_in_exactly_the_new_documents(index):
    add(index, make_doc("OLD.1", name_vi="Bình"), make_doc("KEEP.1", name_vi="Chén"))
    count = index.replace_all(
        [make_doc("KEEP.1", name_vi="Chén"), make_doc("NEW.1", name_vi="Đĩa")]
    )
    assert count == 2
    assert search(index) == ["KEEP.1", "NEW.1"]
    assert search(index, "binh") == []


def test_searches_answer_from_the_old_index_while_a_rebuild_runs(tmp_path):
    index = SqliteIndex(tmp_path / "c.sqlite3", batch_size=2)
    add(index, make_doc("OLD.1", name_vi="Bình"))
    seen_during: list[list[str]] = []

    def documents() -> Iterator[IndexDocument]:
        for i in range(6):
            yield make_doc(f"NEW.{i}", name_vi="Bình")
        # Three batches are committed to the new tables by now; another thread still reads
        # the old ones, as the API would.
        reader = threading.Thread(target=lambda: seen_during.append(search(index, "binh")))
        reader.start()
        reader.join()

    assert index.replace_all(documents()) == 6
    assert seen_during == [["OLD.1"]]
    assert search(index, "binh") == [f"NEW.{i}" for i in range(6)]
    index.close()


def test_a_failed_rebuild_leaves_the_old_index_in_place(index):
    add(index, make_doc("OLD.1", name_vi="Bình"))

    def documents() -> Iterator[IndexDocument]:
        yield make_doc("NEW.1", name_vi="Bình")
        raise OSError("the bucket went away")

    with pytest.raises(OSError):
        index.replace_all(documents())
    assert search(index, "binh") == ["OLD.1"]
    # The half-built tables are gone, not left to grow the file.
    raw = sqlite3.connect(index.path)
    tables = [
        r[0]
        for r in raw.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'doc%'"
        )
    ]
    raw.close()
    assert len(tables) == 1, tables
    assert index.replace_all([make_doc("NEW.2", name_vi="Bình")]) == 1
    assert search(index, "binh") == ["NEW.2"]


def test_an_upsert_during_a_rebuild_survives_the_swap(tmp_path):
    index = SqliteIndex(tmp_path / "c.sqlite3", batch_size=1)
    late = make_doc("HM.2", name_vi="Đĩa mới", updated=T0 + timedelta(hours=1))

    def documents() -> Iterator[IndexDocument]:
        yield make_doc("HM.1", name_vi="Bình")
        # A worker publishes HM.2 while the rebuild runs; the rebuild read HM.2 before that.
        threading.Thread(target=index.upsert, args=(late,)).start()
        yield make_doc("HM.3", name_vi="Chén")
        yield make_doc("HM.2", name_vi="Đĩa cũ")

    def slow(docs: Iterator[IndexDocument]) -> Iterator[IndexDocument]:
        for doc in docs:
            time.sleep(0.05)  # let the worker's upsert land between batches
            yield doc

    index.replace_all(slow(documents()))
    assert search(index, "dia moi") == ["HM.2"]
    assert search(index, "cu") == []
    assert index.count() == 3
    index.close()


# --- concurrency, files, the engine ---------------------------------------------------------------


def test_the_index_uses_wal_so_reads_do_not_wait_for_a_writer(tmp_path):
    path = tmp_path / "c.sqlite3"
    index = SqliteIndex(path, busy_timeout=0.2)
    add(index, make_doc("HM.1", name_vi="Bình"))
    writer = sqlite3.connect(path, isolation_level=None)
    assert writer.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO meta (key, value) VALUES ('held', 'by a writer')")
    try:
        assert search(index, "binh") == ["HM.1"]
        # A second writer waits busy_timeout, then gets the retryable error.
        with pytest.raises(IndexUnavailableError, match="unavailable"):
            index.upsert(make_doc("HM.2", name_vi="Chén"))
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    add(index, make_doc("HM.2", name_vi="Chén"))
    assert index.count() == 2
    index.close()


def test_threads_share_one_index_object_safely(index):
    add_filler(index)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(10):
                index.upsert(make_doc(f"T{n}.{i}", name_vi="Chén trà"))
                index.search(SearchQuery(text="chen tra"))
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert index.search(SearchQuery(text="chen tra")).total == 41


def test_a_sqlite_without_fts5_is_refused_with_a_remedy():
    class NoFts5:
        def execute(self, sql: str, *args: object) -> None:
            raise sqlite3.OperationalError("no such module: fts5")

    with pytest.raises(ConfigurationError, match="FTS5") as caught:
        check_fts5(NoFts5())  # type: ignore[arg-type]
    assert "3.27" in caught.value.message
    assert caught.value.code == "CONFIGURATION"


def test_a_damaged_index_file_names_itself_and_the_remedy(tmp_path):
    path = tmp_path / "c.sqlite3"
    path.write_bytes(b"this is not a database, " * 100)
    with pytest.raises(ConfigurationError, match="sohoa reindex") as caught:
        SqliteIndex(path)
    assert str(path) in caught.value.message


def test_an_index_of_other_fields_is_rebuilt_empty(tmp_path, caplog):
    path = tmp_path / "c.sqlite3"
    with SqliteIndex(path) as first:
        add(first, make_doc("HM.1", name_vi="Bình"))
    raw = sqlite3.connect(path)
    raw.execute("UPDATE meta SET value = 'an older layout' WHERE key = 'fingerprint'")
    raw.commit()
    raw.close()
    with caplog.at_level(logging.WARNING), SqliteIndex(path) as second:
        assert second.count() == 0
        assert search(second, "binh") == []
    assert "sohoa reindex" in caplog.text


# --- documents from records -----------------------------------------------------------------------


def make_view(scan: str) -> ViewEntry:
    stored = StoredObject(
        bucket="b", key=f"masters/x/{scan}.tif", sha256=scan, size=1, media_type="t"
    )
    thumb = DerivativeRef(
        bucket="b", key=f"derivatives/x/{scan}/thumb.jpg", sha256=scan, size=1,
        media_type="image/jpeg", width=400, height=300,
    )  # fmt: skip
    return ViewEntry(
        scan_id=scan, view="front", seq=1, source_name="x.tif", format="TIFF", width=4000,
        height=3000, bit_depth=8, pages=1, icc_profile=None, master=stored,
        derivatives={"thumb": thumb},
    )  # fmt: skip


def test_a_document_carries_every_text_field_facets_and_the_thumbnail():
    record = make_record(
        "HM.1/ĐS",
        views=[make_view(SHA), make_view("b" * 64)],
        name_vi="Bình", name_en="Vase", object_type="bình", material=" Gốm  sứ ",
        period="Minh Mạng", date_range="1820–1840", dimensions="cao 30 cm",
        provenance="Huế", current_location="Kho A", notes="men lam",
    )  # fmt: skip
    doc = to_index_document(record)
    assert set(doc.text) == {f.name for f in TEXT_FIELDS}
    assert doc.text["period"].startswith("Minh Mạng · 1820–1840 · ")
    assert "Thánh Tổ" in doc.text["period"]  # the period vocabulary's other names
    assert (doc.hit.date_from, doc.hit.date_to) == (1820, 1840)
    # Where an object is stored is for staff: the public index cannot be searched for it.
    assert "Kho A" not in " ".join(doc.text.values())
    assert doc.text["description"] == "men lam"
    assert doc.facets == {"material": ["Gốm sứ"], "period": ["Minh Mạng"], "object_type": ["bình"]}
    assert doc.accession_key == "hm.1-ds"
    assert doc.hit.thumbnail == f"derivatives/x/{SHA}/thumb.jpg"


def test_a_record_without_inventory_is_still_indexed_by_accession(index):
    record = make_record("HM.7").model_copy(update={"inventory": None})
    doc = to_index_document(record)
    assert doc.facets == {}
    add(index, doc)
    assert search(index, "hm 7") == ["HM.7"]
    assert index.search(SearchQuery()).hits[0].name_vi == ""


def test_english_words_find_vietnamese_inventory_through_the_tags(index):
    from pipeline.core.tagging import tags_from_inventory

    record = make_record("T.1", name_vi="Lư hương ba chân", material="đồng", period="Tự Đức")
    record = record.model_copy(update={"tags": tags_from_inventory(record.inventory)})
    index.upsert(to_index_document(record))
    index.upsert(to_index_document(make_record("T.2", name_vi="Bình", material="gốm sứ")))
    found = index.search(SearchQuery(text="bronze"))
    assert [hit.accession_number for hit in found.hits] == ["T.1"]
