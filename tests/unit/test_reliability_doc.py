"""docs/RELIABILITY.md is what the suite's Fault/Outcome docstrings say (like the schema check)."""

from __future__ import annotations

import pytest

from tests.tools.reliability_doc import DOC, DocError, collect, parse_docstring, render


def test_reliability_doc_matches_the_suite() -> None:
    committed = DOC.read_text("utf-8") if DOC.exists() else ""
    assert committed == render(collect()), (
        "docs/RELIABILITY.md is stale: run `make reliability-doc`"
    )


def test_docstrings_parse_into_pairs_with_continuation_lines() -> None:
    doc = """Something.

    Fault: one
    thing breaks.
    Outcome: it ends
    well.

    Fault: two | pipes
    Outcome: fine.
    """
    assert parse_docstring(doc, "x") == [
        ("one thing breaks.", "it ends well."),
        ("two | pipes", "fine."),
    ]


def test_a_fault_without_an_outcome_is_refused() -> None:
    with pytest.raises(DocError, match="needs one 'Outcome:'"):
        parse_docstring("Fault: something\n", "x")
