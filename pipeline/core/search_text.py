"""Vietnamese-aware text normalisation for the catalogue's index and queries; pure, no SQL."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Final

from pipeline.core.naming import fold_diacritics, to_nfc, to_object_slug

# Bounds on what one query may ask of the index: a pasted page of text is cut, not refused.
MAX_QUERY_WORDS = 32
MAX_WORD_LENGTH = 64

_SPACES = re.compile(r"\s+")
_DIGITS = re.compile(r"\d+")
# Wide enough for any accession or inventory number; shorter runs are zero-padded to it.
_SORT_DIGITS = 12


# Words that carry no subject: they never block a match ("chén bằng vàng" finds "Chén vàng"),
# and an object that has them ranks higher. Typed with diacritics, only the exact word is one
# ("đồ" is, "đỏ" red is not); typed bare, the folded form is (a visitor typing "binh do" for
# "bình đỏ" still sees the red vases first, after every vase).
VI_FUNCTION_WORDS: Final = frozenset(
    [
        "thời",
        "của",
        "bằng",
        "và",
        "các",
        "những",
        "cái",
        "chiếc",
        "đồ",
        "loại",
        "là",
        "có",
        "với",
        "trong",
        "từ",
        "cho",
        "về",
        "một",
        "này",
        "đó",
        "được",
        "ở",
        "tại",
        "theo",
        "thứ",
        "năm",
        "vật",
        "hiện",
        "kiểu",
        "làm",
        "vua",
        "những",
        "mấy",
    ]
)
EN_FUNCTION_WORDS: Final = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "with",
        "and",
        "or",
        "in",
        "on",
        "from",
        "for",
        "by",
        "to",
        "at",
        "made",
        "is",
        "are",
        "any",
        "some",
        "what",
        "which",
        "object",
        "objects",
        "item",
        "items",
        "thing",
        "things",
    ]
)
_FOLDED_FUNCTION_WORDS: Final = frozenset(
    {fold_diacritics(w) for w in VI_FUNCTION_WORDS} | EN_FUNCTION_WORDS
)
# A typo is corrected only in words this long: shorter ones have too many neighbours.
MIN_TYPO_LENGTH: Final = 5
# A prefix shorter than this matches too much to help.
MIN_PREFIX_LENGTH: Final = 3
_YEARS = re.compile(r"^(\d{4})(s?)$")
_POSSESSIVE = re.compile(r"(?<=\w)['’]s\b")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class QueryWord:
    """One word of a query, in the two forms the index holds, and what else it may match."""

    folded: str  # diacritics and Đ folded, lower case: matches with or without diacritics
    exact: str | None  # NFC lower case when typed with diacritics: ranks exact spellings first
    prefix: bool  # still being typed: match any word that starts with it
    optional: bool = False  # a function word: ranks, never blocks
    stem: str | None = None  # English: the stem a prefix match on English fields starts from
    years: tuple[int, int] | None = None  # a year or decade: objects dated within it match
    last: bool = False  # the last word typed: also matched as a prefix, ranked below

    @property
    def may_be_misspelt(self) -> bool:
        return self.years is None and len(self.folded) >= MIN_TYPO_LENGTH and self.folded.isalpha()


@dataclass(frozen=True)
class QueryWords:
    """What a user typed, ready for an index: its words and, if it can be one, an accession."""

    words: tuple[QueryWord, ...]
    accession_key: str | None  # the whole text as an accession slug
    accession_loose: str | None = None  # ... without separators or zero padding
    has_text: bool = False  # something was typed, if only punctuation

    @property
    def is_empty(self) -> bool:
        return not self.words

    @property
    def required(self) -> tuple[QueryWord, ...]:
        return tuple(w for w in self.words if not w.optional)

    @property
    def optional(self) -> tuple[QueryWord, ...]:
        return tuple(w for w in self.words if w.optional)

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


def to_loose_accession_key(accession: str) -> str | None:
    """The accession number with no separators and no zero padding, to meet what visitors type:
    'BTCVH.GS.0012', 'btcvhgs0012', 'BTCVH GS 12' -> 'btcvhgs12'. None without a digit."""
    folded = fold_diacritics(to_nfc(accession)).lower()
    runs = re.findall(r"\d+|[^\W\d_]+", folded)
    if not any(run.isdigit() for run in runs):
        return None
    return "".join((run.lstrip("0") or "0") if run.isdigit() else run for run in runs)


def to_english_stem(word: str) -> str | None:
    """A light English stem for prefix matching on English fields: 'embroidery' and
    'embroidered' -> 'embroider', 'inscriptions' -> 'inscription', 'glazed' -> 'glaz'.
    None for a word that is not plain ASCII letters, or too short to stem safely."""
    if not (word.isascii() and word.isalpha()) or len(word) < 4:
        return None
    stem = word
    if stem.endswith("ies"):
        stem = stem[:-3] + "y"
    elif stem.endswith(("sses", "xes", "zes", "ches", "shes")):
        stem = stem[:-2]
    elif stem.endswith("s") and not stem.endswith(("ss", "us", "is")):
        stem = stem[:-1]
    for suffix in ("ing", "ed", "y", "e"):
        if stem.endswith(suffix) and len(stem) - len(suffix) >= 4:
            stem = stem[: -len(suffix)]
            break
    return stem


def to_one_edit(word: str) -> set[str]:
    """Every word one edit away (delete, transpose, replace, insert a letter a-z)."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    edits = {a + b[1:] for a, b in splits if b}
    edits |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    edits |= {a + c + b[1:] for a, b in splits if b for c in _LETTERS}
    edits |= {a + c + b for a, b in splits for c in _LETTERS}
    edits.discard(word)
    return edits


def is_function_word(word: str) -> bool:
    """'của', 'bằng', 'of', 'the' (see VI_FUNCTION_WORDS)."""
    exact = to_exact_text(word)
    if has_diacritics(word):
        return exact in VI_FUNCTION_WORDS
    return exact in _FOLDED_FUNCTION_WORDS


def to_years(word: str) -> tuple[int, int] | None:
    """'1845' -> (1845, 1845); '1840s' -> (1840, 1849); other words -> None."""
    match = _YEARS.match(word.lower())
    if not match:
        return None
    year = int(match.group(1))
    if not 1000 <= year <= 2100:
        return None
    return (year, year + 9) if match.group(2) else (year, year)


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
    """Normalise a query the way documents are normalised (NFC, folded, Đ -> D, lower case);
    mark function words optional, years as years, English words with their stems."""
    nfc = to_nfc(text)
    # "dragon's" is "dragon": the tokenizer would make the "s" a word of its own.
    # A stray combining mark is a word to the tokenizer but folds to nothing: drop it.
    raw = [w[:MAX_WORD_LENGTH] for w in split_words(_POSSESSIVE.sub("", nfc)) if to_folded_text(w)][
        :MAX_QUERY_WORDS
    ]
    # A trailing space means the user finished the last word; only then is it matched whole.
    finished = nfc[-1:].isspace()
    typing = prefix_last and bool(raw) and not finished
    optional = [is_function_word(w) for w in raw]
    if all(optional):
        optional = [False] * len(raw)  # "đồ" alone is what the visitor wants found
    words = tuple(
        QueryWord(
            folded=to_folded_text(w),
            exact=to_exact_text(w) if has_diacritics(w) else None,
            prefix=typing and i == len(raw) - 1,
            optional=optional[i],
            stem=None if has_diacritics(w) else to_english_stem(to_folded_text(w)),
            years=to_years(w),
            last=i == len(raw) - 1 and not finished and len(w) >= MIN_PREFIX_LENGTH,
        )
        for i, w in enumerate(raw)
    )
    return QueryWords(
        words=words,
        accession_key=to_accession_key(nfc) if raw else None,
        accession_loose=to_loose_accession_key(nfc) if raw else None,
        has_text=bool(nfc.strip()),
    )


NO_WORDS_MESSAGE: Final = (
    "Câu tìm không có chữ hay số nào để tìm. / The query has no letters or digits to search for."
)


def to_correction(words: QueryWords, corrections: dict[str, tuple[str, ...]]) -> str | None:
    """The query as it would read with each misspelt word corrected; None when none was."""
    if not any(w.folded in corrections for w in words.words):
        return None
    fixed = [
        corrections[w.folded][0] if w.folded in corrections else w.exact or w.folded
        for w in words.words
    ]
    return " ".join(fixed)
