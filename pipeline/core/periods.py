"""The period vocabulary (dynasties, reigns, cultures, centuries; vi and en) and the date range of
a record read from its inventory; pure, no index here."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Final

from pipeline.core.naming import fold_diacritics, to_nfc

YearRange = tuple[int, int]


@dataclass(frozen=True)
class Period:
    """A named span of Vietnamese history: its labels, every other name it goes by, its years.

    `names` name it alone (a reign's era name, its temple name, other spellings); `qualified`
    names need a word such as "triều", "nhà" or "dynasty" beside them ("Nguyễn" alone is a
    family name; "triều Nguyễn" is the dynasty).
    """

    key: str
    label_vi: str
    label_en: str
    start: int  # negative: BCE
    end: int
    names: tuple[str, ...] = ()
    qualified: tuple[str, ...] = ()
    parent: str | None = None
    # Whether a record dated inside it belongs to it by its years alone: true of the dynasties
    # that ruled Huế's court; cultures and rival houses are named by the inventory or not at all.
    by_years: bool = True


def _reign(key: str, name: str, start: int, end: int, *others: str) -> Period:
    return Period(
        key=key,
        label_vi=name,
        label_en=f"{name} reign",
        start=start,
        end=end,
        names=(name, *others),
        parent="nguyen",
    )


# Nguyễn reigns by their era names (niên hiệu), as the inventory writes them; then the other
# spellings (Minh Mệnh is the Sino-Vietnamese reading of Minh Mạng) and the temple names
# (miếu hiệu) that histories use. Dục Đức, Hiệp Hòa and Hàm Nghi kept no temple name in use.
PERIODS: Final[tuple[Period, ...]] = (
    Period(
        "nguyen",
        "Nhà Nguyễn",
        "Nguyễn dynasty",
        1802,
        1945,
        names=("Triều Nguyễn", "Nguyễn triều", "Nguyen dynasty"),
        qualified=("Nguyễn",),
    ),
    _reign("gia-long", "Gia Long", 1802, 1819, "Thế Tổ", "Cao Hoàng đế", "Nguyễn Phúc Ánh"),
    _reign("minh-mang", "Minh Mạng", 1820, 1840, "Minh Mệnh", "Thánh Tổ", "Nhân Hoàng đế"),
    _reign("thieu-tri", "Thiệu Trị", 1841, 1847, "Hiến Tổ", "Chương Hoàng đế"),
    _reign("tu-duc", "Tự Đức", 1848, 1883, "Dực Tông", "Anh Hoàng đế"),
    _reign("duc-duc", "Dục Đức", 1883, 1883, "Cung Tông", "Huệ Hoàng đế"),
    _reign("hiep-hoa", "Hiệp Hòa", 1883, 1883, "Hiệp Hoà", "Văn Lãng quận vương"),
    _reign("kien-phuc", "Kiến Phúc", 1883, 1884, "Kiến Phước", "Giản Tông", "Nghị Hoàng đế"),
    _reign("ham-nghi", "Hàm Nghi", 1884, 1885, "Xuất đế"),
    _reign("dong-khanh", "Đồng Khánh", 1885, 1888, "Cảnh Tông", "Thuần Hoàng đế"),
    _reign("thanh-thai", "Thành Thái", 1889, 1907, "Hoài Trạch công"),
    _reign("duy-tan", "Duy Tân", 1907, 1916),
    _reign("khai-dinh", "Khải Định", 1916, 1925, "Hoằng Tông", "Tuyên Hoàng đế"),
    _reign("bao-dai", "Bảo Đại", 1926, 1945),
    Period(
        "dong-son",
        "Văn hóa Đông Sơn",
        "Đông Sơn culture",
        -1000,
        100,
        names=("Đông Sơn", "Dong Son culture", "Văn hoá Đông Sơn"),
        by_years=False,
    ),
    Period(
        "sa-huynh",
        "Văn hóa Sa Huỳnh",
        "Sa Huỳnh culture",
        -1000,
        200,
        names=("Sa Huỳnh",),
        by_years=False,
    ),
    Period(
        "champa", "Chăm Pa", "Champa", 192, 1832, names=("Chămpa", "Chiêm Thành"), by_years=False
    ),
    Period("ly", "Triều Lý", "Lý dynasty", 1009, 1225, names=("Lý triều",), qualified=("Lý",)),
    Period(
        "tran", "Triều Trần", "Trần dynasty", 1225, 1400, names=("Trần triều",), qualified=("Trần",)
    ),
    Period("ho", "Triều Hồ", "Hồ dynasty", 1400, 1407, qualified=("Hồ",)),
    Period(
        "le",
        "Triều Lê",
        "Lê dynasty",
        1428,
        1789,
        names=("Lê triều", "Hậu Lê", "Later Lê"),
        qualified=("Lê",),
    ),
    Period("le-so", "Lê sơ", "Early Lê", 1428, 1527, names=("Lê Sơ",), parent="le"),
    Period(
        "le-trung-hung",
        "Lê trung hưng",
        "Revival Lê",
        1533,
        1789,
        names=("Lê Trung Hưng",),
        parent="le",
    ),
    Period("mac", "Triều Mạc", "Mạc dynasty", 1527, 1677, qualified=("Mạc",), by_years=False),
    Period(
        "chua-nguyen",
        "Chúa Nguyễn",
        "Nguyễn lords",
        1558,
        1777,
        names=("Đàng Trong",),
        by_years=False,
    ),
    Period("tay-son", "Tây Sơn", "Tây Sơn dynasty", 1778, 1802, names=("Nhà Tây Sơn",)),
)

# Words that make a family name a dynasty: "triều Nguyễn", "nhà Lê", "Trần dynasty".
QUALIFIERS_BEFORE: Final = ("triều", "nhà", "thời", "đời", "vương triều", "triều đại", "thời kỳ")
QUALIFIERS_AFTER: Final = ("dynasty", "period", "era")

_ROMAN: Final = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}
_YEAR = re.compile(r"(?<!\d)(\d{3,4})(?!\d)")
_BCE = re.compile(r"\b(tcn|bce|bc)\b")
# "thế kỷ XIX", "thế kỉ 19", "TK 19", "19th century", "century 19"; folded, lower case.
_CENTURY = re.compile(
    r"\b(?:the\s+k[yi]|tk)\s*(?:thu\s+)?([0-9]{1,2}|[ivxlc]+)\b|\b([0-9]{1,2})(?:st|nd|rd|th)\s+century\b"
)


def to_roman(number: int) -> str:
    values = [(100, "C"), (90, "XC"), (50, "L"), (40, "XL"), (10, "X"), (9, "IX")]
    values += [(5, "V"), (4, "IV"), (1, "I")]
    out = []
    for value, letters in values:
        while number >= value:
            out.append(letters)
            number -= value
    return "".join(out)


def from_roman(text: str) -> int | None:
    text = text.upper()
    if not text or any(ch not in _ROMAN for ch in text):
        return None
    total = 0
    for i, ch in enumerate(text):
        value = _ROMAN[ch]
        total += -value if i + 1 < len(text) and _ROMAN[text[i + 1]] > value else value
    return total if to_roman(total) == text else None


def century_years(century: int) -> YearRange:
    """The 19th century is 1801–1900, as museums date by; a BCE century is negative."""
    return ((century - 1) * 100 + 1, century * 100)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def century_labels(century: int) -> list[str]:
    """Every way a visitor writes the century: 'thế kỷ XIX', 'TK 19', '19th century'…"""
    roman = to_roman(century)
    return [
        f"thế kỷ {roman}",
        f"thế kỷ {century}",
        f"thế kỉ {roman}",
        f"TK {century}",
        f"TK {roman}",
        f"{_ordinal(century)} century",
    ]


def _fold(text: str) -> str:
    return " ".join(re.findall(r"\w+", fold_diacritics(to_nfc(text)).lower()))


@cache
def _phrases() -> tuple[tuple[str, Period], ...]:
    """Every folded phrase that names a period, the longest first."""
    found: dict[str, Period] = {}
    for period in PERIODS:
        for name in (period.label_vi, period.label_en, *period.names):
            found.setdefault(_fold(name), period)
        for name in period.qualified:
            for before in QUALIFIERS_BEFORE:
                found.setdefault(_fold(f"{before} {name}"), period)
            for after in QUALIFIERS_AFTER:
                found.setdefault(_fold(f"{name} {after}"), period)
    return tuple(sorted(found.items(), key=lambda item: -len(item[0])))


def find_periods(text: str) -> list[Period]:
    """The periods a text names ('Minh Mạng (1820–1840)', 'thời Thánh Tổ', 'triều Nguyễn')."""
    folded = f" {_fold(text)} "
    found: list[Period] = []
    for phrase, period in _phrases():
        if f" {phrase} " in folded and period not in found:
            found.append(period)
            folded = folded.replace(f" {phrase} ", " ")
    return found


def parse_years(text: str) -> YearRange | None:
    """The years a date text gives: '1820–1840', 'khoảng 1836', 'thế kỷ XIX', '300 TCN'."""
    folded = _fold(text)
    years = [int(y) for y in _YEAR.findall(folded)]
    if years:
        if _BCE.search(folded):
            years = [-y for y in years]
        return (min(years), max(years))
    spans = []
    for match in _CENTURY.finditer(folded):
        digits = match.group(1) or match.group(2)
        century = int(digits) if digits.isdigit() else from_roman(digits)
        if century:
            spans.append(century_years(century))
    if spans:
        return (min(s[0] for s in spans), max(s[1] for s in spans))
    return None


def derive_date_range(period: str, date_range: str) -> YearRange | None:
    """A record's years: the inventory's date range when it gives one, else the years its
    period names ('Minh Mạng (1820–1840)'), else the vocabulary's years of that period."""
    for text in (date_range, period):
        if years := parse_years(text):
            return years
    named = find_periods(f"{date_range} {period}")
    if named:
        return (min(p.start for p in named), max(p.end for p in named))
    return None


def periods_containing(years: YearRange) -> list[Period]:
    """The periods whose span holds the whole range (a reign, its dynasty)."""
    return [p for p in PERIODS if p.by_years and p.start <= years[0] and years[1] <= p.end]


def centuries_overlapping(years: YearRange) -> list[int]:
    first, last = years
    if first <= 0 or last - first > 400:
        return []  # BCE and vague spans get no century words
    return list(range((first - 1) // 100 + 1, (last - 1) // 100 + 2))


def to_period_words(period: str, date_range: str) -> str:
    """The words that let a visitor find a record by period: its reigns' other names and temple
    names, the dynasty that holds them, the centuries its years fall in, in vi and en."""
    years = derive_date_range(period, date_range)
    named = find_periods(f"{date_range} {period}")
    if years is not None:
        named += [p for p in periods_containing(years) if p not in named]
    # A reign named by the inventory brings its dynasty even if the years are wider.
    parents = {p.parent for p in named if p.parent}
    named += [p for p in PERIODS if p.key in parents and p not in named]
    words: list[str] = []
    for p in named:
        words += [p.label_vi, p.label_en, *p.names, *p.qualified]
    for century in centuries_overlapping(years) if years else []:
        words += century_labels(century)
    return " · ".join(dict.fromkeys(words))
