"""Which artefacts lack a current record, from the scans stored and the scans their records
list (the bucket's reads are the integration tests')."""

from __future__ import annotations

from pipeline.adapters.redis_batch import _queue_for
from pipeline.services.completeness import RecordGap, gaps_of

A, B, C = "a" * 64, "b" * 64, "c" * 64


def test_a_missing_record_and_a_record_missing_a_scan_are_gaps_and_nothing_else_is() -> None:
    stored = {"one": {A}, "two": {A, B}, "three": {C}, "four": {A}, "five": set()}
    listed = {"one": None, "two": {A}, "three": {C}, "four": {A, B}, "five": None}
    assert gaps_of(stored, listed) == [
        RecordGap("one", 1, (A,), has_record=False),
        RecordGap("two", 2, (B,), has_record=True),
    ]


def test_an_object_whose_record_could_not_be_read_is_left_out() -> None:
    assert gaps_of({"bad": {A}}, {}) == []


def test_the_message_names_the_object_the_scans_and_the_remedy() -> None:
    missing = RecordGap("hm.1", 2, (A, B), has_record=False).message
    assert "hm.1 has 2 stored scan(s) and no catalogue record (records/hm.1.json)" in missing
    short = RecordGap("hm.2", 3, (B,), has_record=True).message
    assert "lists 2 of its 3 stored scans (missing bbbbbbbbbbbb)" in short
    assert "sohoa reindex --repair" in missing and "sohoa reindex --repair" in short


def test_a_message_given_back_goes_to_the_list_of_its_priority_as_kombu_names_it() -> None:
    assert _queue_for("q", {"properties": {"priority": 0}}) == "q"
    assert _queue_for("q", {"properties": {}}) == "q"
    assert _queue_for("q", {"properties": {"priority": 4}}) == "q\x06\x163"
    assert _queue_for("q", {"properties": {"priority": 99}}) == "q\x06\x169"
