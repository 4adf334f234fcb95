"""Tags and notes from an inventory row: object type, material, period (reign or dates)."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from pipeline.core.inventory import InventoryRow
from pipeline.core.naming import fold_diacritics
from pipeline.core.tagging.matching import (
    MATERIAL_PHRASES,
    PERIOD_PHRASES,
    REIGN_BY_VALUE,
    TYPE_PHRASES,
    find_terms,
    to_tag,
)
from pipeline.core.tagging.tag import (
    DATE_CONFIDENCE,
    MIN_DATE_SHARE,
    Tag,
    TaggingResult,
    merge_tags,
)
from pipeline.core.tagging.vocabulary import REIGNS

_YEAR_RANGE: Final = re.compile(
    r"(?<!\d)(1\d{3}|20\d{2})(?:\s*(?:-|–|—|−|den|toi|to|until)\s*(1\d{3}|20\d{2}))?(?!\d)"
)
_FIRST_YEAR: Final = REIGNS[0].start
_LAST_YEAR: Final = REIGNS[-1].end


def tag_inventory(row: InventoryRow) -> TaggingResult:
    """Material, period (reign) and object type from an inventory row, with notes on the rest."""
    tags: list[Tag] = []
    notes: list[str] = []
    for field, text, phrases in (
        ("Object type", row.object_type, TYPE_PHRASES),
        ("Material", row.material, MATERIAL_PHRASES),
    ):
        if not text.strip():
            continue
        matches, ambiguous = find_terms(text, phrases, field)
        tags.extend(to_tag(match) for match in matches)
        notes.extend(ambiguous)
        if not matches and not ambiguous:
            notes.append(
                f"{field} {text.strip()!r} is not in the vocabulary: no tag; check the "
                "spelling, or ask for the term to be added."
            )
    period_tags, period_notes = _tag_period(row.period, row.date_range)
    return TaggingResult(tags=merge_tags(tags, period_tags), notes=notes + period_notes)


def tags_from_inventory(row: InventoryRow) -> list[Tag]:
    """The tags of `tag_inventory`, without its notes."""
    return tag_inventory(row).tags


def _tag_period(period: str, date_range: str) -> tuple[list[Tag], list[str]]:
    """Named reigns from the period text; else reigns inferred from its dates or date_range."""
    matches, notes = find_terms(period, PERIOD_PHRASES, "Period") if period.strip() else ([], [])
    ranges = _year_ranges(period, notes) or _year_ranges(date_range, notes)
    if matches:
        for match in matches:
            reign = REIGN_BY_VALUE.get(match.term.value)
            for start, end in ranges:
                if reign is not None and (end < reign.start or start > reign.end):
                    notes.append(
                        f"Period {match.text!r} is {reign.start}–{reign.end}, but the dates "
                        f"{_years(start, end)} fall outside it: check the inventory row."
                    )
        return [to_tag(match) for match in matches], notes
    if not ranges:
        if period.strip() and not notes:
            notes.append(
                f"Period {period.strip()!r} names no Nguyễn reign and no years: no tag; write "
                "the reign (e.g. 'Minh Mạng') or the years (e.g. '1850–1860')."
            )
        return [], notes
    tags = [tag for start, end in ranges for tag in _tags_from_years(start, end, notes)]
    return merge_tags(tags), notes


def _years(start: int, end: int) -> str:
    return f"{start}–{end}" if end != start else str(start)


def _year_ranges(text: str, notes: list[str]) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    for match in _YEAR_RANGE.finditer(fold_diacritics(unicodedata.normalize("NFC", text)).lower()):
        start = int(match[1])
        end = int(match[2]) if match[2] else start
        if end < start:
            notes.append(
                f"Dates {start}–{end} run backwards: no period tag from them; write the "
                "earlier year first."
            )
            continue
        ranges.append((start, end))
    return ranges


def _tags_from_years(start: int, end: int, notes: list[str]) -> list[Tag]:
    """Each reign the years fall in, sure in proportion to its share of them.

    A year two reigns share counts half to each (1883 saw four emperors: a quarter each).
    """
    span = end - start + 1
    shares: dict[str, float] = {}
    for year in range(max(start, _FIRST_YEAR), min(end, _LAST_YEAR) + 1):
        reigns = [reign for reign in REIGNS if reign.start <= year <= reign.end]
        for reign in reigns:
            shares[reign.term.value] = shares.get(reign.term.value, 0.0) + 1 / len(reigns)
    if not shares:
        notes.append(
            f"Dates {_years(start, end)} fall outside the Nguyễn reigns "
            f"({_FIRST_YEAR}–{_LAST_YEAR}): no period tag."
        )
        return []
    if start < _FIRST_YEAR or end > _LAST_YEAR:
        notes.append(
            f"Dates {_years(start, end)} reach outside the Nguyễn reigns "
            f"({_FIRST_YEAR}–{_LAST_YEAR}): only the years inside them are tagged."
        )
    tags: list[Tag] = []
    for reign in REIGNS:
        share = shares.get(reign.term.value, 0.0) / span
        if share >= MIN_DATE_SHARE:
            tags.append(
                Tag(
                    value=reign.term.value,
                    label_vi=reign.term.label_vi,
                    label_en=reign.term.label_en,
                    source="inventory",
                    confidence=round(DATE_CONFIDENCE * share, 3),
                )
            )
    if not tags:
        notes.append(
            f"Dates {_years(start, end)} span too many reigns for any to be named: no period tag."
        )
    return tags
