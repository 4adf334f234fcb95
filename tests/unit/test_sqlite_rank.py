"""Ranking over the index's bit sets: tiers split the matches, ties are ordered only where the page
reaches, large ties go by accession, and the sets follow every change of the index."""

from __future__ import annotations

import pytest

from pipeline.adapters import sqlite_bits, sqlite_rank
from pipeline.adapters.sqlite_bits import from_bits, to_bits
from pipeline.adapters.sqlite_rank import split_by_count
from pipeline.core.catalogue import SearchQuery
from tests.unit.catalogue_sample import add, counts, found, make_doc, search


def test_bits_round_trip_ids():
    ids = [0, 1, 7, 8, 63, 64, 1000]
    assert from_bits(to_bits(ids)) == ids
    assert to_bits([]) == 0
    assert from_bits(0) == []


def test_split_by_count_puts_the_documents_in_most_sets_first():
    group = to_bits([1, 2, 3, 4, 5])
    sets = [to_bits([1, 2, 3]), to_bits([1, 2, 9]), to_bits([1, 4])]
    assert [from_bits(level) for level in split_by_count(group, sets)] == [[1], [2], [3, 4], [5]]
    assert [from_bits(level) for level in split_by_count(group, [])] == [[1, 2, 3, 4, 5]]


@pytest.fixture()
def cups(index):
    """22 cups: 'chén' written exactly in the odd ones, 'chen' bare in the even ones."""
    for i in range(1, 23):
        add(index, make_doc(f"C.{i}", name_vi="Chén men" if i % 2 else "Chen men"))
    return index


@pytest.mark.parametrize("largest_scored_tie", [1000, 3])
@pytest.mark.parametrize("sort", ["relevance", "accession", "name"])
def test_pages_of_any_size_read_the_one_order(cups, monkeypatch, largest_scored_tie, sort):
    monkeypatch.setattr(sqlite_rank, "MAX_SCORED_TIE", largest_scored_tie)
    whole = search(cups, "chén", sort=sort, page_size=100)
    assert len(whole) == 22
    for size in (1, 4, 7):
        pages = [search(cups, "chén", sort=sort, page=p, page_size=size) for p in range(1, 24)]
        assert [a for page in pages for a in page] == whole


def test_a_large_tie_keeps_the_tiers_above_it_and_goes_by_accession(cups, monkeypatch):
    monkeypatch.setattr(sqlite_rank, "MAX_SCORED_TIE", 3)
    odd = [f"C.{i}" for i in range(1, 23, 2)]
    even = [f"C.{i}" for i in range(2, 23, 2)]
    # The exact spelling is a tier: the 11 'chén' first, each tier in accession order.
    assert search(cups, "chén", page_size=22) == odd + even
    result = cups.search(SearchQuery(text="chén", page_size=2))
    assert [hit.score for hit in result.hits] == [None, None]  # not scored: past the limit


def test_a_large_tie_sorted_in_sql_then_from_the_read_order_is_one_order(cups, monkeypatch):
    monkeypatch.setattr(sqlite_rank, "MAX_SCORED_TIE", 3)
    for sort in ("relevance", "name"):
        first = search(cups, "men", sort=sort, page=2, page_size=5)  # sorted in SQL
        again = search(cups, "men", sort=sort, page=2, page_size=5)  # walks the read order
        assert first == again and len(first) == 5


def test_the_sets_follow_every_change_of_the_index(cups):
    assert cups.search(SearchQuery(text="men")).total == 22
    before = cups.search(SearchQuery(text="chen"))
    assert counts(before, "material") == {}
    add(cups, make_doc("C.99", name_vi="Chén men", material="gốm sứ"))
    after = cups.search(SearchQuery(text="chen"))
    assert after.total == 23
    assert counts(after, "material") == {"gốm sứ": 1}
    assert "C.99" in found(cups.search(SearchQuery(text="gom su")))
    cups.delete("c.99")
    assert cups.search(SearchQuery(text="chen")).total == 22
    assert cups.search(SearchQuery(text="gom su")).total == 0


FACET_QUERIES = [
    SearchQuery(),
    SearchQuery(text="men"),
    SearchQuery(filters={"material": ["GOM SU"]}),
    SearchQuery(text="men", filters={"material": ["đồng", "gốm sứ"], "period": ["Tự Đức"]}),
    SearchQuery(facet_contains={"object_type": "chen"}, facet_limit=1),
]


@pytest.mark.parametrize("query", FACET_QUERIES)
def test_facets_counted_in_sql_or_on_bit_sets_agree(index, monkeypatch, query):
    materials = ["gốm sứ", "Gốm sứ", "đồng", "vàng"]
    for i in range(1, 30):
        add(index, make_doc(
            f"M.{i}", name_vi="Chén men" if i % 3 else "Bình", material=materials[i % 4],
            period=["Tự Đức", "Minh Mạng"][i % 2], object_type="chén" if i % 3 else "bình",
        ))  # fmt: skip
    in_sql = index.search(query)  # no facet value's set read yet: counted in SQL
    monkeypatch.setattr(sqlite_bits, "SMALL_FACET_COUNT", 0)
    asked_once = index.search(query)  # not small: counted in SQL the first time only
    on_bits = index.search(query)  # asked again: every value's set is read and counted
    for other in (asked_once, on_bits):
        assert other.facets == in_sql.facets
        assert other.facet_sizes == in_sql.facet_sizes
        assert other.total == in_sql.total
    assert any(values for values in in_sql.facets.values())
