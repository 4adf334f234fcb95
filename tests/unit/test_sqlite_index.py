"""The SQLite catalogue index, against a real SQLite file (a real engine, no fake)."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from pipeline.adapters.sqlite_index import SqliteIndex, check_fts5
from pipeline.adapters.sqlite_search import to_match_expression
from pipeline.core.catalogue import (
    FACET_NAMES,
    MAX_PAGE_SIZE,
    TEXT_FIELDS,
    IndexDocument,
    SearchQuery,
    SearchResult,
    to_index_document,
)
from pipeline.core.inventory import InventoryRow
from pipeline.core.naming import to_object_slug
from pipeline.core.records import (
    ArtefactRecord,
    DerivativeRef,
    StoredObject,
    ViewEntry,
)
from pipeline.core.search_text import QueryWord
from pipeline.errors import ConfigurationError, IndexUnavailableError

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
SHA = "a" * 64

# Unrelated objects, so that bm25's document frequencies mean something.
FILLER = [
    ("F.1", "Chén trà men trắng", "teacup"),
    ("F.2", "Khay gỗ khảm xà cừ", "tray"),
    ("F.3", "Tượng lân đá", "stone lion"),
    ("F.4", "Ấn ngọc", "jade seal"),
    ("F.5", "Hộp trầu bạc", "betel box"),
    ("F.6", "Áo long bào", "dragon robe"),
]


def make_record(
    accession: str, *, updated: datetime = T0, views: list[ViewEntry] | None = None, **inventory
) -> ArtefactRecord:
    return ArtefactRecord(
        object=to_object_slug(accession),
        accession_number=accession,
        inventory=InventoryRow(accession_number=accession, **inventory),
        views=views or [],
        profile="default",
        pipeline_version="0.1.0",
        updated_at=updated,
    )


def make_doc(accession: str, **inventory) -> IndexDocument:
    return to_index_document(make_record(accession, **inventory))


def add(index: SqliteIndex, *docs: IndexDocument) -> None:
    for doc in docs:
        index.upsert(doc)


def add_filler(index: SqliteIndex) -> None:
    add(index, *(make_doc(a, name_vi=vi, name_en=en) for a, vi, en in FILLER))


def found(result: SearchResult) -> list[str]:
    return [hit.accession_number for hit in result.hits]


def search(index: SqliteIndex, text: str = "", **options) -> list[str]:
    return found(index.search(SearchQuery(text=text, **options)))


@pytest.fixture()
def index(tmp_path: Path) -> Iterator[SqliteIndex]:
    opened = SqliteIndex(tmp_path / "catalogue.sqlite3")
    try:
        yield opened
    finally:
        opened.close()


# --- Vietnamese: with or without diacritics -------------------------------------------------------


def test_hue_without_diacritics_finds_hue(index):
    add_filler(index)
    add(index, make_doc("HM.1", name_vi="Bình gốm", provenance="Kinh thành Huế"))
    assert search(index, "hue") == ["HM.1"]


def test_thua_thien_finds_thua_thien(index):
    add_filler(index)
    add(index, make_doc("HM.1", name_vi="Lư hương", provenance="Thừa Thiên"))
    add(index, make_doc("HM.2", name_vi="Lư hương", provenance="Quảng Thiện"))
    assert search(index, "thua thien") == ["HM.1"]


def test_do_gom_finds_do_gom_through_the_d_with_stroke(index):
    # unicode61 leaves "đ" alone ("đồ" -> "đo"): only our own folding lets "do" find it.
    add_filler(index)
    add(index, make_doc("HM.1", name_vi="Đồ gốm men lam"))
    assert search(index, "do gom") == ["HM.1"]
    assert search(index, "DO GOM") == ["HM.1"]


def test_a_query_with_diacritics_finds_a_record_typed_without(index):
    add_filler(index)
    add(index, make_doc("HM.1", name_vi="Binh gom", provenance="Hue"))
    assert search(index, "Huế") == ["HM.1"]
    assert search(index, "Đồ gốm đẹp Huế") == []  # every word must match


def test_an_nfd_query_finds_an_nfc_record(index):
    add_filler(index)
    add(index, make_doc("HM.1", name_vi="Ấn vàng Thiệu Trị"))
    assert search(index, unicodedata.normalize("NFD", "Thiệu Trị")) == ["HM.1"]


def test_an_nfc_query_finds_an_nfd_record(index):
    add_filler(index)
    add(index, make_doc("HM.1", name_vi=unicodedata.normalize("NFD", "Ấn vàng Thiệu Trị")))
    assert search(index, "thiệu trị") == ["HM.1"]
    assert index.search(SearchQuery(text="trị")).hits[0].name_vi == "Ấn vàng Thiệu Trị"


def add_duong_pair(index: SqliteIndex) -> None:
    add_filler(index)
    # "Dương" sits in the name (weight 10), "đường" only in the notes (weight 1): bm25 alone
    # ranks the name first for either spelling.
    add(index, make_doc("A.1", name_vi="Tượng Dương", notes="tượng nhỏ"))
    add(index, make_doc("B.1", name_vi="Tượng", notes="tìm thấy bên đường cái quan"))


def test_without_diacritics_both_spellings_match_and_bm25_decides(index):
    add_duong_pair(index)
    assert search(index, "duong") == ["A.1", "B.1"]


def test_a_query_with_diacritics_ranks_the_exact_spelling_first(index):
    add_duong_pair(index)
    assert search(index, "đường") == ["B.1", "A.1"]
    assert search(index, "dương") == ["A.1", "B.1"]


def test_exact_first_counts_every_word_typed_with_diacritics(index):
    add_filler(index)
    add(index, make_doc("A.1", name_vi="Bình đông", notes="bình đông"))
    add(index, make_doc("B.1", name_vi="Binh", notes="đồng"))
    add(index, make_doc("C.1", name_vi="Bình", notes="đồng"))
    assert search(index, "bình đồng") == ["C.1", "A.1", "B.1"]


def test_last_word_is_a_prefix_only_while_typing(index):
    add_filler(index)
    add(index, make_doc("HM.1", name_vi="Bình gốm"))
    assert search(index, "bin") == []
    assert search(index, "bin", prefix=True) == ["HM.1"]
    assert search(index, "bình gố", prefix=True) == ["HM.1"]
    assert search(index, "gố bình", prefix=True) == []  # only the last word is a prefix
    assert search(index, "bin ", prefix=True) == []  # a space ends the word


# --- accession numbers ----------------------------------------------------------------------------


def test_accession_lookup_ignores_case_and_separators(index):
    add(index, make_doc("HM.1998.45/PL", name_vi="Đĩa pháp lam"))
    for typed in ("hm.1998.45/pl", "HM.1998.45-PL", " HM.1998.45 / PL "):
        hit = index.find_accession(typed)
        assert hit is not None, typed
        assert hit.accession_number == "HM.1998.45/PL"
    assert index.find_accession("HM.1998.45") is None
    assert index.find_accession("./") is None


def test_an_accession_typed_as_a_query_ranks_that_object_first(index):
    add_filler(index)
    add(index, make_doc("HM.1998.45/PL.2", name_vi="Bản sao HM 1998 45 PL, HM 1998 45 PL"))
    add(index, make_doc("HM.1998.45/PL", name_vi="Đĩa pháp lam"))
    assert search(index, "hm.1998.45/pl") == ["HM.1998.45/PL", "HM.1998.45/PL.2"]
    assert search(index, "HM.1998.45-PL")[0] == "HM.1998.45/PL"
    assert search(index, "hm 1998 45 pl") == ["HM.1998.45/PL.2", "HM.1998.45/PL"]


# --- ranking and sorting --------------------------------------------------------------------------


def test_a_word_in_the_name_outranks_the_same_word_in_the_notes(index):
    add_filler(index)
    add(index, make_doc("A.1", name_vi="Chén", notes="rồng"))
    add(index, make_doc("Z.9", name_vi="Chén rồng"))
    assert search(index, "rong") == ["Z.9", "A.1"]
    scores = [hit.score for hit in index.search(SearchQuery(text="rong")).hits]
    assert scores[0] > scores[1] > 0


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("accession", ["HM.2", "HM.10", "HM.100"]),
        ("name", ["HM.100", "HM.10", "HM.2"]),
    ],
)
def test_sort_by_accession_number_or_name(index, sort, expected):
    add(index, make_doc("HM.10", name_vi="Chén"), make_doc("HM.2", name_vi="Đĩa"))
    add(index, make_doc("HM.100", name_vi="Bình"))
    assert search(index, sort=sort) == expected


def test_unnamed_objects_sort_last_by_name(index):
    add(index, make_doc("HM.1"), make_doc("HM.2", name_vi="Ấm"), make_doc("HM.3", name_en="Zither"))
    assert search(index, sort="name") == ["HM.2", "HM.3", "HM.1"]


def test_an_empty_query_lists_everything_by_accession(index):
    add(index, make_doc("HM.10"), make_doc("HM.9"), make_doc("HM.1"))
    assert search(index) == ["HM.1", "HM.9", "HM.10"]
    assert search(index, "   ") == ["HM.1", "HM.9", "HM.10"]


# --- facets, filters, pages -----------------------------------------------------------------------


@pytest.fixture()
def collection(index: SqliteIndex) -> SqliteIndex:
    add(
        index,
        make_doc("C.1", name_vi="Bình", material="gốm sứ", period="Minh Mạng", object_type="bình"),
        make_doc("C.2", name_vi="Đĩa", material="Gốm sứ", period="Tự Đức", object_type="đĩa"),
        make_doc("C.3", name_vi="Chén", material="gốm  sứ", period="Tự Đức", object_type="chén"),
        make_doc("C.4", name_vi="Lư", material="đồng", period="Minh Mạng", object_type="lư hương"),
        make_doc("C.5", name_vi="Đỉnh", material="đồng", period="Tự Đức", object_type="đỉnh"),
        make_doc("C.6", name_vi="Ấn", material="vàng", object_type="ấn"),
    )
    return index


def counts(result: SearchResult, facet: str) -> dict[str, int]:
    return {c.value: c.count for c in result.facets[facet]}


def test_facets_count_each_value_and_merge_case_and_spacing(collection):
    result = collection.search(SearchQuery())
    assert set(result.facets) == set(FACET_NAMES)
    assert counts(result, "material") == {"gốm sứ": 3, "đồng": 2, "vàng": 1}
    assert list(counts(result, "material")) == ["gốm sứ", "đồng", "vàng"]  # most first
    assert counts(result, "period") == {"Tự Đức": 3, "Minh Mạng": 2}
    assert counts(result, "object_type")["lư hương"] == 1


def test_facets_count_only_what_the_text_matched(collection):
    result = collection.search(SearchQuery(text="dinh"))
    assert found(result) == ["C.5"]
    assert counts(result, "material") == {"đồng": 1}


def test_a_filter_keeps_only_that_value(collection):
    assert search(collection, filters={"material": ["đồng"]}) == ["C.4", "C.5"]


def test_a_filter_matches_without_diacritics_or_case(collection):
    assert search(collection, filters={"material": ["GOM SU"]}) == ["C.1", "C.2", "C.3"]


def test_values_of_one_facet_are_alternatives_and_facets_combine(collection):
    assert search(collection, filters={"material": ["đồng", "vàng"]}) == ["C.4", "C.5", "C.6"]
    both = {"material": ["gốm sứ"], "period": ["Tự Đức"]}
    assert search(collection, filters=both) == ["C.2", "C.3"]
    assert search(collection, "chen", filters=both) == ["C.3"]


def test_a_facet_filtered_on_still_counts_its_other_values(collection):
    result = collection.search(SearchQuery(filters={"material": ["đồng"], "period": ["Tự Đức"]}))
    assert found(result) == ["C.5"]
    # Material ignores its own filter, not the period's; period the other way round.
    assert counts(result, "material") == {"gốm sứ": 2, "đồng": 1}
    assert counts(result, "period") == {"Tự Đức": 1, "Minh Mạng": 1}
    assert counts(result, "object_type") == {"đỉnh": 1}
    selected = {c.value for c in result.facets["material"] if c.selected}
    assert selected == {"đồng"}


def test_facet_limit_cuts_the_list_and_zero_skips_facets(collection):
    assert len(collection.search(SearchQuery(facet_limit=1)).facets["material"]) == 1
    assert collection.search(SearchQuery(facet_limit=0)).facets == {}


def test_filtering_on_an_unknown_facet_is_refused_with_the_known_ones():
    with pytest.raises(ValidationError, match="material"):
        SearchQuery(filters={"colour": ["red"]})


def test_pages_are_disjoint_and_cover_the_results(index):
    add(index, *(make_doc(f"P.{i}", name_vi="Chén") for i in range(25)))
    pages = [index.search(SearchQuery(text="chen", page=p, page_size=10)) for p in (1, 2, 3, 4)]
    assert [len(p.hits) for p in pages] == [10, 10, 5, 0]
    assert {p.total for p in pages} == {25}
    assert pages[0].pages == 3
    seen = [hit.object for p in pages for hit in p.hits]
    assert len(seen) == len(set(seen)) == 25


def test_page_size_is_capped():
    assert SearchQuery(page_size=10_000).page_size == MAX_PAGE_SIZE
    with pytest.raises(ValidationError):
        SearchQuery(page_size=0)


# --- hostile input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        '"',
        '"gốm',
        'gốm"',
        '""',
        "(",
        "gốm)",
        "*",
        "gốm*",
        "-gốm",
        "gốm -men",
        "NEAR",
        "NEAR(gốm men, 2)",
        "gốm AND",
        "OR gốm",
        "NOT",
        "name_vi:gốm",
        "{name_vi name_en}: gốm",
        "^gốm",
        "gốm + men",
        "'; DROP TABLE meta; --",
        "%_\\",
        "\u0301",
        "gốm " * 200,
    ],
)
def test_query_syntax_in_user_input_is_searched_as_words(index, text):
    add_filler(index)
    add(index, make_doc("HM.1", name_vi="Bình gốm men lam", notes="near not and or"))
    result = index.search(SearchQuery(text=text[:1000]))
    assert isinstance(result, SearchResult)
    assert index.count() == len(FILLER) + 1


def test_match_expressions_quote_every_word():
    words = [QueryWord('a"b', None, False), QueryWord("near", "néar", True)]
    assert to_match_expression(words, exact=False) == '"a""b" "near"*'
    assert to_match_expression(words, exact=True) == '"a""b" "néar"*'


def test_operators_typed_as_words_match_those_words(index):
    add_filler(index)
    add(index, make_doc("HM.1", name_vi="Bình gốm", notes="near"))
    assert search(index, "NEAR") == ["HM.1"]
    assert search(index, "name_vi:gốm") == []  # 'name', 'vi' and 'gốm' are all needed


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
    assert search(index, "dia cu") == []
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
    assert doc.text["period"] == "Minh Mạng 1820–1840"
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
