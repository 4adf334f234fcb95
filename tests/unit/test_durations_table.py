"""The tool that refreshes the xdist scheduler's table of long tests from a run's report."""

from __future__ import annotations

import ast

from tests.tools.durations_table import TABLE, rewrite, summed, table_lines

REPORT = """\
============================= slowest 250 durations ==============================
106.56s call     tests/e2e/test_demo.py::test_demo
20.10s teardown tests/integration/test_a.py::test_x[poll]
9.00s call     tests/integration/test_a.py::test_x[poll]
3.50s setup    tests/integration/test_a.py::test_x[poll]
5.99s call     tests/integration/test_b.py::test_short
(3 durations < 0.005s hidden.  Use -vv to show these durations.)
"""


def test_phases_are_summed_and_short_tests_left_out() -> None:
    seconds = summed(REPORT)
    assert seconds["tests/integration/test_a.py::test_x[poll]"] == 32.6
    assert table_lines(seconds, 6.0) == [
        '    "tests/e2e/test_demo.py::test_demo": 107,',
        '    "tests/integration/test_a.py::test_x[poll]": 33,',
    ]


def test_the_table_is_rewritten_and_the_module_stays_valid() -> None:
    text = TABLE.read_text("utf-8")
    lines = table_lines(summed(REPORT), 6.0)
    changed = rewrite(text, lines)
    assert changed != text
    namespace: dict[str, object] = {}
    exec(compile(ast.parse(changed), str(TABLE), "exec"), namespace)
    assert namespace["SECONDS"] == {
        "tests/e2e/test_demo.py::test_demo": 107,
        "tests/integration/test_a.py::test_x[poll]": 33,
    }
    # Everything around the table is kept: the lookup and its defaults.
    assert changed.split("SECONDS: dict")[0] == text.split("SECONDS: dict")[0]
    assert changed.split("\n}\n", 1)[1] == text.split("\n}\n", 1)[1]
