"""Searching the SQLite catalogue index: Vietnamese, accessions, ranking, facets, hostile input."""

from __future__ import annotations

import unicodedata

import pytest
from pydantic import ValidationError

from pipeline.adapters.sqlite_index import SqliteIndex
from pipeline.adapters.sqlite_search import to_match_expression
from pipeline.core.catalogue import FACET_NAMES, MAX_PAGE_SIZE, SearchQuery, SearchResult
from pipeline.core.search_text import QueryWord
from tests.unit.catalogue_sample import (
    FILLER,
    add,
    add_duong_pair,
    add_filler,
    counts,
    found,
    make_doc,
    search,
)

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
    # "đẹp" is nowhere: the object that has the other words is a partial match, and says so.
    result = index.search(SearchQuery(text="Đồ gốm đẹp Huế"))
    assert found(result) == ["HM.1"]
    assert result.partial
    assert not index.search(SearchQuery(text="gốm Huế")).partial


def test_an_nfd_query_finds_an_nfc_record(index):
    add_filler(index)
    add(index, make_doc("HM.1", name_vi="Ấn vàng Thiệu Trị"))
    assert search(index, unicodedata.normalize("NFD", "Thiệu Trị")) == ["HM.1"]


def test_an_nfc_query_finds_an_nfd_record(index):
    add_filler(index)
    add(index, make_doc("HM.1", name_vi=unicodedata.normalize("NFD", "Ấn vàng Thiệu Trị")))
    assert search(index, "thiệu trị") == ["HM.1"]
    assert index.search(SearchQuery(text="trị")).hits[0].name_vi == "Ấn vàng Thiệu Trị"


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
    add(index, make_doc("HM.2", name_vi="Bin"))
    # Finished or not, the last word of 3+ letters also finds the words it begins, below the
    # word itself; while typing, it is only a prefix.
    assert search(index, "bin") == ["HM.2", "HM.1"]
    assert search(index, "bi") == []
    assert search(index, "bin", prefix=True) == ["HM.2", "HM.1"]
    assert search(index, "bình gố", prefix=True) == ["HM.1"]
    # Only the last word is a prefix: "gố" is no word of HM.1, so it matches only in part.
    assert index.search(SearchQuery(text="gố bình", prefix=True)).partial
    assert search(index, "bin ", prefix=True) == ["HM.2"]  # a space ends the word


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
    # Separators, case and zero padding aside, the number typed is that object's.
    assert search(index, "hm 1998 45 pl") == ["HM.1998.45/PL", "HM.1998.45/PL.2"]
    assert search(index, "hm199845pl")[0] == "HM.1998.45/PL"


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
    # 'name', 'vi' and 'gốm' are words: the object has only 'gốm', a partial match.
    result = index.search(SearchQuery(text="name_vi:gốm"))
    assert found(result) == ["HM.1"]
    assert result.partial


def test_corrections_follow_the_words_the_index_holds_now(index):
    add_filler(index)
    add(index, make_doc("A.1", name_en="Bronze bell"))
    assert index.search(SearchQuery(text="bronse")).did_you_mean == "bronze"
    assert index.search(SearchQuery(text="lacqer")).total == 0  # no such word yet
    # A word published after the vocabulary was read is a correction at the next search.
    add(index, make_doc("B.1", name_en="Lacquer box"))
    result = index.search(SearchQuery(text="lacqer"))
    assert (found(result), result.did_you_mean) == (["B.1"], "lacquer")
    index.delete("b.1")
    assert index.search(SearchQuery(text="lacqer")).total == 0
