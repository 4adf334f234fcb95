"""The period vocabulary: names, temple names, centuries, and a record's years."""

from __future__ import annotations

import itertools

import pytest

from pipeline.core.periods import (
    PERIODS,
    century_labels,
    derive_date_range,
    find_periods,
    from_roman,
    parse_years,
    to_period_words,
    to_roman,
)


def test_the_nguyen_dynasty_holds_its_thirteen_reigns_in_order():
    reigns = [p for p in PERIODS if p.parent == "nguyen"]
    assert len(reigns) == 13
    assert (reigns[0].label_vi, reigns[0].start) == ("Gia Long", 1802)
    assert (reigns[-1].label_vi, reigns[-1].end) == ("Bảo Đại", 1945)
    assert all(a.start <= b.start for a, b in itertools.pairwise(reigns))
    assert all(1802 <= r.start <= r.end <= 1945 for r in reigns)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Minh Mạng (1820–1840)", "minh-mang"),
        ("Minh Mệnh", "minh-mang"),
        ("thời Thánh Tổ", "minh-mang"),
        ("MINH MANG", "minh-mang"),
        ("Dực Tông", "tu-duc"),
        ("triều Nguyễn", "nguyen"),
        ("Nguyen dynasty", "nguyen"),
        ("nhà Lý", "ly"),
        ("Trần dynasty", "tran"),
        ("thời Lê", "le"),
        ("văn hóa Đông Sơn", "dong-son"),
    ],
)
def test_a_period_is_found_by_any_of_its_names(text, key):
    assert [p.key for p in find_periods(text)] == [key]


def test_a_family_name_alone_is_no_dynasty():
    assert find_periods("Nguyễn Văn A") == []
    assert find_periods("Lý") == []


@pytest.mark.parametrize(
    ("text", "years"),
    [
        ("1820–1840", (1820, 1840)),
        ("khoảng 1836", (1836, 1836)),
        ("thế kỷ XIX", (1801, 1900)),
        ("TK 18", (1701, 1800)),
        ("19th century", (1801, 1900)),
        ("thế kỉ thứ 20", (1901, 2000)),
        ("300 TCN", (-300, -300)),
        ("không rõ", None),
    ],
)
def test_dates_are_read_in_both_languages(text, years):
    assert parse_years(text) == years


def test_a_record_without_dates_takes_its_periods_years():
    assert derive_date_range("Minh Mạng (1820–1840)", "1827–1840") == (1827, 1840)
    assert derive_date_range("Minh Mạng (1820–1840)", "") == (1820, 1840)
    assert derive_date_range("Thánh Tổ", "") == (1820, 1840)
    assert derive_date_range("triều Nguyễn", "") == (1802, 1945)
    assert derive_date_range("", "") is None


def test_period_words_bring_other_names_the_dynasty_and_the_centuries():
    words = to_period_words("Minh Mạng (1820–1840)", "1836")
    for expected in ("Minh Mệnh", "Thánh Tổ", "Triều Nguyễn", "Nguyễn dynasty", "thế kỷ XIX"):
        assert expected in words
    assert "19th century" in words and "thế kỷ XX" not in words
    # Dates alone bring the reign and the dynasty that hold them.
    assert "Thành Thái" in to_period_words("", "1891")
    # A culture is named by the inventory, never guessed from years.
    assert "Champa" not in to_period_words("", "1810")


def test_roman_numerals_round_trip():
    assert [to_roman(n) for n in (4, 9, 19, 20, 40)] == ["IV", "IX", "XIX", "XX", "XL"]
    assert from_roman("xix") == 19 and from_roman("IIII") is None
    assert "TK 19" in century_labels(19)
