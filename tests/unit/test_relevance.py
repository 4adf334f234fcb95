"""The relevance set (tests/relevance/sample_queries.py) over the sample collection: each query's
top hits are the expected objects. The index is built once for the module, in process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.adapters.sqlite_index import SqliteIndex
from pipeline.core.catalogue import SearchQuery
from tests.relevance.collection import build_sample_index, judge
from tests.relevance.sample_queries import BELL, CUP, PANEL, QUERIES, STELE


@pytest.fixture(scope="module")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteIndex]:
    index = build_sample_index(Path(tmp_path_factory.mktemp("relevance")) / "c.sqlite3")
    try:
        yield index
    finally:
        index.close()


def test_the_set_is_large_enough_and_covers_every_kind():
    assert len(QUERIES) >= 80
    kinds = {kind for kind, _, _ in QUERIES}
    assert {"vi", "bare", "nfd", "tones", "en", "natural", "period", "year", "typo"} <= kinds
    assert {"prefix", "accession", "stem", "partial"} <= kinds


@pytest.mark.parametrize(("kind", "query", "expected"), QUERIES, ids=[q for _, q, _ in QUERIES])
def test_the_top_hits_are_the_expected_objects(sample_index, kind, query, expected):
    judgement = judge(sample_index, kind, query, expected)
    assert judgement.precision == 1.0, f"{query!r}: top {judgement.top}, expected {expected}"


def test_a_correction_is_offered_when_one_was_used(sample_index):
    result = sample_index.search(SearchQuery(text="bronse bell"))
    assert [h.accession_number for h in result.hits] == [BELL]
    assert result.did_you_mean == "bronze bell"
    assert sample_index.search(SearchQuery(text="bronze bell")).did_you_mean is None
    # A plural, a word typed half way: no correction to offer, they match as they are.
    assert sample_index.search(SearchQuery(text="inscriptions")).did_you_mean is None
    assert sample_index.search(SearchQuery(text="chuon")).did_you_mean is None


def test_a_partial_match_says_so(sample_index):
    result = sample_index.search(SearchQuery(text="ấn ngọc xanh"))
    assert result.partial and result.total > 0
    assert not sample_index.search(SearchQuery(text="chén bằng vàng")).partial


def test_punctuation_alone_finds_nothing_and_says_why(sample_index):
    for text in ("?!", "…", "./-", '"*"'):
        result = sample_index.search(SearchQuery(text=text))
        assert (result.total, result.hits) == (0, []), text
        assert result.message and "no letters or digits" in result.message
    assert sample_index.search(SearchQuery(text="")).total == 15  # empty: browse everything


def test_a_year_finds_what_its_dates_hold_and_the_narrowest_first(sample_index):
    hits = [h.accession_number for h in sample_index.search(SearchQuery(text="1924")).hits]
    assert hits[0] == "BTCVH.GI.0154"  # dated 1924, before the plate of 1916–1925
    assert "BTCVH.GS.0215" in hits and PANEL not in hits and CUP not in hits
    first = sample_index.search(SearchQuery(text="1836")).hits[0]
    assert first.accession_number == STELE


def test_every_accession_form_finds_the_one_object(sample_index):
    for typed in ("btcvhgs0012", "BTCVH.GS.12", "btcvh gs 0012", "BTCVH/GS/0012"):
        hit = sample_index.find_accession(typed)
        assert hit is not None and hit.accession_number == "BTCVH.GS.0012", typed
    assert sample_index.find_accession("btcvhgs13") is None


def test_words_that_match_everything_count_everything_s_facets(sample_index):
    browse = sample_index.search(SearchQuery(text=""))
    dynasty = sample_index.search(SearchQuery(text="triều Nguyễn"))
    assert dynasty.total == browse.total == 15
    assert dynasty.facets == browse.facets and dynasty.facet_sizes == browse.facet_sizes
    # Filtered, the counts are the filter's, as for any other search.
    gold = sample_index.search(SearchQuery(text="triều Nguyễn", filters={"material": ["vàng"]}))
    assert gold.total == 1 and {c.value: c.count for c in gold.facets["object_type"]} == {"chén": 1}
