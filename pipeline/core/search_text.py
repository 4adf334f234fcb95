"""Vietnamese-aware text normalisation for the catalogue's index and queries; pure, no SQL."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from pipeline.core.naming import fold_diacritics, to_nfc, to_object_slug

# Bounds on what one query may ask of the index: a pasted page of text is cut, not refused.
MAX_QUERY_WORDS = 32
MAX_WORD_LENGTH = 64

_SPACES = re.compile(r"\s+")
_DIGITS = re.compile(r"\d+")
# Wide enough for any accession or inventory number; shorter runs are zero-padded to it.
_SORT_DIGITS = 12


@dataclass(frozen=True)
class QueryWord:
    """One word of a query, in the two forms the index holds."""

    folded: str  # diacritics and Đ folded, lower case: matches with or without diacritics
    exact: str | None  # NFC lower case when typed with diacritics: ranks exact spellings first
    prefix: bool  # still being typed: match any word that starts with it


@dataclass(frozen=True)
class QueryWords:
    """What a user typed, ready for an index: its words and, if it can be one, an accession."""

    words: tuple[QueryWord, ...]
    accession_key: str | None  # the whole text as an accession slug

    @property
    def is_empty(self) -> bool:
        return not self.words

    @property
    def exact(self) -> tuple[QueryWord, ...]:
        """The words typed with diacritics, each once."""
        seen: dict[tuple[str | None, bool], QueryWord] = {}
        for word in self.words:
            if word.exact is not None:
                seen.setdefault((word.exact, word.prefix), word)
        return tuple(seen.values())


def to_folded_text(text: str) -> str:
    """'Đồ gốm HUẾ' -> 'do gom hue': what the folded index columns hold (NFC or NFD input)."""
    return fold_diacritics(to_nfc(text)).lower()


def to_exact_text(text: str) -> str:
    """'Đồ gốm HUẾ' -> 'đồ gốm huế': diacritics kept, NFC, lower case (the exact columns)."""
    return to_nfc(text).lower()


def is_word_char(ch: str) -> bool:
    """A letter, digit, private-use or combining mark: what SQLite's unicode61 keeps in a token."""
    category = unicodedata.category(ch)
    return category[0] in "LNM" or category == "Co"


def split_words(text: str) -> list[str]:
    """Split like the index's tokenizer does, so every word is a plain token and can carry no
    query syntax: 'HM.1998.45/PL "gốm"*' -> ['HM', '1998', '45', 'PL', 'gốm']."""
    words: list[str] = []
    current: list[str] = []
    for ch in text:
        if is_word_char(ch):
            current.append(ch)
        elif current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    return words


def has_diacritics(word: str) -> bool:
    return fold_diacritics(word) != word


def to_accession_key(accession: str) -> str | None:
    """The accession number as its object slug ('HM.1998.45/PL' and 'hm.1998.45-pl' meet);
    None when the text has no letters or digits."""
    try:
        return to_object_slug(accession)
    except ValueError:
        return None


def to_facet_key(value: str) -> str:
    """How facet values are compared: 'Gốm  sứ' and 'gom su' are one value."""
    return _SPACES.sub(" ", to_folded_text(value)).strip()


def to_facet_value(value: str) -> str:
    """How a facet value is shown: NFC, spaces collapsed, case and diacritics as written."""
    return _SPACES.sub(" ", to_nfc(value)).strip()


def to_sort_key(text: str) -> str:
    """A key that sorts like people read: folded, lower case, numbers by value ('HM.2' < 'HM.10').

    Folding puts 'Đ' with 'D' rather than after it as the Vietnamese alphabet does; that is the
    order readers of both languages expect from a list of names.
    """
    folded = _SPACES.sub(" ", to_folded_text(text)).strip()
    return _DIGITS.sub(lambda m: m.group().lstrip("0").rjust(_SORT_DIGITS, "0"), folded)


def parse_query(text: str, *, prefix_last: bool = False) -> QueryWords:
    """Normalise a query the way documents are normalised (NFC, folded, Đ -> D, lower case)."""
    nfc = to_nfc(text)
    # A stray combining mark is a word to the tokenizer but folds to nothing: drop it.
    raw = [w[:MAX_WORD_LENGTH] for w in split_words(nfc) if to_folded_text(w)][:MAX_QUERY_WORDS]
    # A trailing space means the user finished the last word; only then is it matched whole.
    typing = prefix_last and bool(raw) and not nfc[-1:].isspace()
    words = tuple(
        QueryWord(
            folded=to_folded_text(w),
            exact=to_exact_text(w) if has_diacritics(w) else None,
            prefix=typing and i == len(raw) - 1,
        )
        for i, w in enumerate(raw)
    )
    return QueryWords(words=words, accession_key=to_accession_key(nfc) if raw else None)
