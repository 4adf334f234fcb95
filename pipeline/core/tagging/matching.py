"""Find vocabulary terms in free text, with diacritics as evidence; no tags decided here."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from pipeline.core.naming import fold_diacritics
from pipeline.core.tagging.tag import NAMED_CONFIDENCE, UNMARKED_CONFIDENCE, Tag
from pipeline.core.tagging.vocabulary import MATERIALS, OBJECT_TYPES, PERIODS, REIGNS, Term

_WORD: Final = re.compile(r"\w+")
_Key = tuple[str, str]  # (word without marks, its marks sorted: where a tone sits is moot)


def _to_key(word: str) -> _Key:
    marks = "đ" * word.count("đ")
    decomposed = unicodedata.normalize("NFD", word)
    marks += "".join(sorted(ch for ch in decomposed if unicodedata.combining(ch)))
    return fold_diacritics(word), marks


def _to_keys(text: str) -> list[_Key]:
    return [_to_key(word) for word in _WORD.findall(unicodedata.normalize("NFC", text).lower())]


@dataclass(frozen=True)
class _Phrase:
    term: Term
    keys: tuple[_Key, ...]
    strict: bool


def _compile(terms: Iterable[Term]) -> tuple[_Phrase, ...]:
    phrases = [
        _Phrase(term, tuple(_to_keys(alias)), strict)
        for term in terms
        for aliases, strict in ((term.aliases, False), (term.strict, True))
        for alias in aliases
    ]
    # Longest first: "gỗ sơn son thếp vàng" must win over "gỗ" and over "vàng".
    return tuple(sorted(phrases, key=lambda p: -len(p.keys)))


MATERIAL_PHRASES: Final = _compile(MATERIALS)
PERIOD_PHRASES: Final = _compile(PERIODS)
TYPE_PHRASES: Final = _compile(OBJECT_TYPES)
REIGN_BY_VALUE: Final = {reign.term.value: reign for reign in REIGNS}


@dataclass(frozen=True)
class Match:
    term: Term
    exact: bool  # every word carried the term's marks (or the term has none)
    text: str


def _match_phrase(words: list[_Key], at: int, phrase: _Phrase) -> bool | None:
    """None when the phrase is not at `at`; else whether it matched with its diacritics."""
    if at + len(phrase.keys) > len(words):
        return None
    exact = True
    for offset, (folded, marks) in enumerate(phrase.keys):
        word = words[at + offset]
        if word[0] != folded:
            return None
        if word[1] != marks:
            if word[1] or phrase.strict:
                return None  # marks written are evidence: wrong marks are another word
            exact = False
    return exact


def find_terms(text: str, phrases: Sequence[_Phrase], field: str) -> tuple[list[Match], list[str]]:
    """Terms named in `text`, left to right, longest phrase first; and notes on ambiguities."""
    raw_words = _WORD.findall(unicodedata.normalize("NFC", text))
    words = [_to_key(word.lower()) for word in raw_words]
    marked = any(marks for _, marks in words)
    found: list[Match] = []
    notes: list[str] = []
    at = 0
    while at < len(words):
        length = 0
        candidates: dict[str, tuple[Term, bool]] = {}
        for phrase in phrases:
            if len(phrase.keys) < length:
                break  # sorted longest first: nothing shorter can replace a match
            exact = _match_phrase(words, at, phrase)
            if exact is None:
                continue
            length = len(phrase.keys)
            _, before = candidates.get(phrase.term.value, (phrase.term, False))
            candidates[phrase.term.value] = (phrase.term, before or exact)
        if not length:
            at += 1
            continue
        spelled = " ".join(raw_words[at : at + length])
        choices = list(candidates.values())
        if len(choices) > 1 and marked:
            # A writer who uses diacritics elsewhere wrote this word bare on purpose.
            choices = [choice for choice in choices if choice[1]] or choices
        if len(choices) == 1:
            term, exact = choices[0]
            found.append(Match(term, exact, spelled))
        else:
            meanings = " or ".join(
                f"{term.label_vi} ({term.label_en})" for term, _ in sorted(choices, key=_by_value)
            )
            notes.append(
                f"{field} {spelled!r} could be {meanings}: no tag; write it with its diacritics "
                "in the inventory sheet."
            )
        at += length
    return found, notes


def _by_value(choice: tuple[Term, bool]) -> str:
    return choice[0].value


def to_tag(match: Match, *, source: str = "inventory") -> Tag:
    return Tag(
        value=match.term.value,
        label_vi=match.term.label_vi,
        label_en=match.term.label_en,
        source=source,
        confidence=NAMED_CONFIDENCE if match.exact else UNMARKED_CONFIDENCE,
    )
