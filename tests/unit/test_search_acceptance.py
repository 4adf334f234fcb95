"""Issue #5's search, point by point, where test_sqlite_index.py does not already prove it:
every searchable field, QC-verdict and tag facets, NFD queries ranked exactly, sorted pages."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.adapters.sqlite_index import SqliteIndex
from pipeline.core.catalogue import FACET_NAMES, SearchQuery, to_index_document
from pipeline.core.quality import QualityReport
from pipeline.core.records import ViewEntry
from pipeline.core.tagging import Tag, tags_from_inventory
from tests.unit.catalogue_sample import (
    SHA,
    add,
    add_duong_pair,
    add_filler,
    make_doc,
    make_record,
    search,
)


@pytest.fixture()
def index(tmp_path: Path) -> Iterator[SqliteIndex]:
    opened = SqliteIndex(tmp_path / "catalogue.sqlite3")
    try:
        yield opened
    finally:
        opened.close()


# --- free text over every field the issue names --------------------------------------------------

FIELDS = [
    # (what the issue calls it, the inventory column and its text, a query typed bare)
    ("name vi", {"name_vi": "Bình hoa Huế"}, "binh hoa hue"),
    ("name en", {"name_en": "Gilded altar table"}, "altar"),
    ("description", {"notes": "Lòng đĩa vẽ phượng múa"}, "phuong mua"),
    ("inscriptions (in the notes)", {"notes": "Hiệu đề: Minh Mạng niên tạo"}, "nien tao"),
    ("material", {"material": "gỗ sơn son thếp vàng"}, "son thep vang"),
    ("period", {"period": "Thiệu Trị"}, "thieu tri"),
    ("dates", {"date_range": "1841-1847"}, "1841"),
    ("provenance", {"provenance": "Đào được ở Thừa Thiên"}, "dao duoc"),
    ("object type", {"object_type": "lư hương"}, "lu huong"),
    ("dimensions", {"dimensions": "Cao 32 cm"}, "32 cm"),
]


@pytest.mark.parametrize(("field", "inventory", "query"), FIELDS, ids=[f[0] for f in FIELDS])
def test_free_text_searches_every_field(index, field, inventory, query):
    add_filler(index)
    add(index, make_doc("T.1", **inventory))
    assert search(index, query) == ["T.1"], field


def test_tags_are_searched_in_both_languages(index):
    add_filler(index)
    record = make_record("T.2", material="đồng", period="Tự Đức")
    add(
        index,
        to_index_document(
            record.model_copy(update={"tags": tags_from_inventory(record.inventory)})
        ),
    )
    assert search(index, "bronze") == ["T.2"]  # the English label of the inventory's đồng
    assert search(index, "tu duc reign") == ["T.2"]


# --- accession numbers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed", ["BTCVH.ĐS.0031", "btcvh.ds.0031", unicodedata.normalize("NFD", "BTCVH.ĐS.0031")]
)
def test_an_accession_with_a_vietnamese_letter_is_found_in_any_form(index, typed):
    add_filler(index)
    add(index, make_doc("BTCVH.ĐS.0031", name_vi="Lư hương đồng"))
    hit = index.find_accession(typed)
    assert hit is not None and hit.accession_number == "BTCVH.ĐS.0031"
    assert search(index, typed)[0] == "BTCVH.ĐS.0031"


# --- Vietnamese ranking, typed on a Mac -------------------------------------------------------


def test_an_nfd_query_with_diacritics_still_ranks_the_exact_spelling_first(index):
    add_duong_pair(index)
    assert search(index, unicodedata.normalize("NFD", "đường")) == ["B.1", "A.1"]
    assert search(index, unicodedata.normalize("NFD", "ĐƯỜNG")) == ["B.1", "A.1"]
    assert search(index, unicodedata.normalize("NFD", "dương")) == ["A.1", "B.1"]


# --- facets: QC verdict and tags -------------------------------------------------------------


def view(seq: int, verdict: str | None, *tags: Tag) -> ViewEntry:
    quality = QualityReport.model_construct(verdict=verdict) if verdict else None
    return ViewEntry.model_validate(
        {
            "scan_id": f"{seq:x}" * 64 if seq else SHA,
            "view": "front",
            "seq": seq,
            "source_name": f"x_front_{seq}.jpg",
            "format": "JPEG",
            "width": 10,
            "height": 10,
            "bit_depth": 8,
            "pages": 1,
            "icc_profile": None,
            "master": {"bucket": "b", "key": "k", "sha256": SHA, "size": 1, "media_type": "x"},
            "derivatives": {},
            "quality": quality,
            "tags": list(tags),
        }
    )


RED = Tag(
    value="colour:red", label_vi="Đỏ", label_en="Red", source="analysis:colour@1", confidence=0.7
)
STONE = Tag(value="material:da", label_vi="Đá", label_en="Stone", source="inventory", confidence=1)
LEATHER = Tag(
    value="material:da-thuoc", label_vi="Da", label_en="Leather", source="inventory", confidence=1
)


def add_checked(index: SqliteIndex) -> None:
    add(
        index,
        to_index_document(
            make_record("Q.1", name_vi="Tượng đá", views=[view(1, "pass", RED), view(2, "fail")])
        ),
        to_index_document(make_record("Q.2", name_vi="Hộp da", views=[view(3, "warn", RED)])),
        to_index_document(make_record("Q.3", name_vi="Ấn", views=[view(4, "pass")])),
        to_index_document(make_record("Q.4", name_vi="Chưa chụp")),
    )
    stone = make_record("Q.5", name_vi="Bia đá", views=[view(5, "pass")])
    leather = make_record("Q.6", name_vi="Yên ngựa", views=[view(6, "pass")])
    add(
        index,
        to_index_document(stone.model_copy(update={"tags": [STONE]})),
        to_index_document(leather.model_copy(update={"tags": [LEATHER]})),
    )


def counts(index: SqliteIndex, facet: str, **options) -> dict[str, int]:
    result = index.search(SearchQuery(**options))
    return {c.value: c.count for c in result.facets[facet]}


def test_every_facet_the_issue_names_is_counted(index):
    add_checked(index)
    assert {"material", "period", "object_type", "qc_verdict", "tag"} <= set(FACET_NAMES)
    # A record's verdict is its worst view's: one failed photograph means one to redo.
    assert counts(index, "qc_verdict") == {"pass": 3, "fail": 1, "warn": 1}
    # Tags by slug: 'Đá' (stone) and 'Da' (leather) fold alike but stay two values.
    assert counts(index, "tag") == {"colour:red": 2, "material:da": 1, "material:da-thuoc": 1}


def test_qc_verdict_and_tag_filter_and_keep_their_other_counts(index):
    add_checked(index)
    assert search(index, filters={"qc_verdict": ["fail", "warn"]}) == ["Q.1", "Q.2"]
    assert search(index, filters={"tag": ["colour:red"], "qc_verdict": ["warn"]}) == ["Q.2"]
    assert search(index, filters={"tag": ["material:da"]}) == ["Q.5"]
    assert counts(index, "qc_verdict", filters={"qc_verdict": ["fail"]}) == {
        "pass": 3, "fail": 1, "warn": 1,
    }  # fmt: skip


# --- sorting and pages ------------------------------------------------------------------------


def test_sorted_pages_of_a_text_search_are_disjoint_and_in_order(index):
    add_filler(index)
    names = ["Đĩa gốm", "Bát gốm", "Chén gốm", "Ấm gốm", "Bình gốm", "Lọ gốm", "Âu gốm"]
    add(index, *(make_doc(f"G.{i}", name_vi=n, material="gốm") for i, n in enumerate(names, 1)))
    every = [
        hit
        for page in (1, 2, 3)
        for hit in search(index, "gom", sort="name", page=page, page_size=3)
    ]
    assert every == ["G.4", "G.7", "G.2", "G.5", "G.3", "G.1", "G.6"]  # Ấm Âu Bát Bình Chén Đĩa Lọ
    by_accession = search(index, "gom", sort="accession", page=1, page_size=10)
    assert by_accession == [f"G.{i}" for i in range(1, 8)]
    result = index.search(SearchQuery(text="gom", page=3, page_size=3))
    assert (result.total, result.pages, len(result.hits)) == (7, 3, 1)


# --- the live index needs to know which version of a record it holds --------------------------


def test_the_index_remembers_the_etag_of_each_record(index):
    add(index, make_doc("V.1", name_vi="Bình").model_copy(update={"etag": "abc"}))
    add(index, make_doc("V.2", name_vi="Đĩa"))
    assert index.versions() == {"v.1": "abc", "v.2": None}
    add(index, make_doc("V.1", name_vi="Bình").model_copy(update={"etag": "def"}))
    assert index.versions()["v.1"] == "def"
    index.delete("v.2")
    assert index.versions() == {"v.1": "def"}
