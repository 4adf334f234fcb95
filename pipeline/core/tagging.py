"""Tags with provenance from inventory text, pixels, embedded metadata and views; pure, no I/O.

Every tag says where it came from (`source`) and how sure that source is (`confidence`), so a
curator can tell an archivist's statement from a measurement. The vocabularies are data at the
top of this module; matching is on whole words, and a value that matches nothing (or matches
two terms equally) gives no tag and a note, never a guess.

Text matching treats diacritics as evidence: a word written with marks must match them (tone
marks may sit on either vowel of "oa", "oe", "uy": "Hoà" is "Hòa"), a word written without any
marks matches every term that folds to it ("minh mang" is "Minh Mạng"). When a text without
marks could be two terms ("da": đá stone or da leather), no tag is given.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pipeline.core.inventory import InventoryRow
from pipeline.core.metadata import ScanMetadata
from pipeline.core.naming import VIEWS, fold_diacritics
from pipeline.core.quality import Box

# Bump a version when its algorithm or vocabulary changes, so old tags can be told apart.
COLOUR_SOURCE: Final = "analysis:colour@1"
SHAPE_SOURCE: Final = "analysis:shape@1"
# A view comes from the file name, which is none of the metadata sources: naming is an analysis.
NAMING_SOURCE: Final = "analysis:naming@1"

NAMED_CONFIDENCE: Final = 1.0  # the text names the term, diacritics and all
UNMARKED_CONFIDENCE: Final = 0.9  # the text names it without diacritics: a little less certain
DATE_CONFIDENCE: Final = 0.8  # a reign inferred from dates, times the range's share in it
MIN_DATE_SHARE: Final = 0.1  # a reign covering less of the date range is not tagged
MAX_KEYWORDS: Final = 50
MAX_LABEL: Final = 100

_SOURCE_PATTERN: Final = r"^(inventory|exif|xmp|analysis:[a-z][a-z0-9_-]*@[0-9]+)$"
_VALUE_PATTERN: Final = r"^[a-z][a-z-]*:[a-z0-9][a-z0-9.-]*$"


class Tag(BaseModel):
    """One statement about a scan or artefact: a stable slug, its labels, who says so, how sure.

    `source` is "inventory", "exif", "xmp" (IPTC-IIM keywords count as XMP: the Metadata
    Working Group maps IIM 2:25 and XMP dc:subject to one property) or
    "analysis:<name>@<version>".
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: str = Field(pattern=_VALUE_PATTERN, max_length=120)
    label_vi: str = Field(min_length=1, max_length=200)
    label_en: str = Field(min_length=1, max_length=200)
    source: str = Field(pattern=_SOURCE_PATTERN)
    confidence: float = Field(ge=0, le=1)


@dataclass(frozen=True)
class TaggingResult:
    """Tags and the sentences a caller can show about values that gave no tag."""

    tags: list[Tag]
    notes: list[str]


# --- vocabularies --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """A controlled term: its slug, labels, and the phrases that name it.

    `aliases` match with or without diacritics; `strict` aliases only with them, for words
    that are something else when written bare ("an" is the English article, not ấn).
    """

    value: str
    label_vi: str
    label_en: str
    aliases: tuple[str, ...]
    strict: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reign:
    """A Nguyễn reign and its years (inclusive; a year two reigns share belongs to both)."""

    term: Term
    start: int
    end: int


def _reign(slug: str, name: str, start: int, end: int, *aliases: str) -> Reign:
    years = f"{start}–{end}" if end != start else f"{start}"
    return Reign(
        Term(f"period:{slug}", f"{name} ({years})", f"{name} reign ({years})", (name, *aliases)),
        start,
        end,
    )


MATERIALS: Final[tuple[Term, ...]] = (
    Term("material:gom-su", "Gốm sứ", "Ceramic, porcelain",
         ("gốm sứ", "gốm", "sứ", "đồ gốm", "đồ sứ", "ceramic", "ceramics", "porcelain",
          "pottery", "stoneware", "earthenware")),
    Term("material:dong", "Đồng", "Bronze",
         ("đồng", "đồng thau", "đồng đỏ", "bronze", "copper", "brass")),
    Term("material:phap-lam", "Pháp lam", "Painted enamel on copper",
         ("pháp lam", "painted enamel", "enamel", "enamelled copper")),
    Term("material:go-son-son-thep-vang", "Gỗ sơn son thếp vàng", "Red-lacquered gilded wood",
         ("gỗ sơn son thếp vàng", "sơn son thếp vàng", "gỗ sơn son", "gỗ thếp vàng",
          "lacquered wood", "gilded wood", "red-lacquered gilded wood",
          "red lacquered gilded wood")),
    Term("material:go", "Gỗ", "Wood", ("gỗ", "wood", "wooden")),
    Term("material:ngoc", "Ngọc", "Jade", ("ngọc", "ngọc bích", "jade")),
    Term("material:vang", "Vàng", "Gold", ("vàng", "gold")),
    Term("material:bac", "Bạc", "Silver", ("bạc", "silver")),
    Term("material:da", "Đá", "Stone", ("đá", "stone", "marble", "đá cẩm thạch")),
    Term("material:da-thuoc", "Da", "Leather", ("da", "da thuộc", "leather")),
    Term("material:thuy-tinh", "Thủy tinh", "Glass", ("thủy tinh", "pha lê", "glass")),
    Term("material:giay", "Giấy", "Paper", ("giấy", "giấy dó", "giấy sắc", "paper")),
    Term("material:vai", "Vải", "Textile",
         ("vải", "lụa", "gấm", "textile", "silk", "cloth", "fabric", "brocade")),
    Term("material:nga", "Ngà", "Ivory", ("ngà", "ngà voi", "ivory")),
)  # fmt: skip

REIGNS: Final[tuple[Reign, ...]] = (
    _reign("gia-long", "Gia Long", 1802, 1819),
    _reign("minh-mang", "Minh Mạng", 1820, 1840, "Minh Mệnh"),
    _reign("thieu-tri", "Thiệu Trị", 1841, 1847),
    _reign("tu-duc", "Tự Đức", 1848, 1883),
    _reign("duc-duc", "Dục Đức", 1883, 1883),
    _reign("hiep-hoa", "Hiệp Hòa", 1883, 1883),
    _reign("kien-phuc", "Kiến Phúc", 1883, 1884),
    _reign("ham-nghi", "Hàm Nghi", 1884, 1885),
    _reign("dong-khanh", "Đồng Khánh", 1885, 1888),
    _reign("thanh-thai", "Thành Thái", 1889, 1907),
    _reign("duy-tan", "Duy Tân", 1907, 1916),
    _reign("khai-dinh", "Khải Định", 1916, 1925),
    _reign("bao-dai", "Bảo Đại", 1926, 1945),
)
DYNASTY: Final = Term(
    "period:nguyen",
    "Nhà Nguyễn (1802–1945)",
    "Nguyễn dynasty (1802–1945)",
    ("nhà nguyễn", "triều nguyễn", "thời nguyễn", "nguyễn", "nguyen dynasty"),
)
PERIODS: Final[tuple[Term, ...]] = (*(reign.term for reign in REIGNS), DYNASTY)

OBJECT_TYPES: Final[tuple[Term, ...]] = (
    Term("type:binh", "Bình", "Vase", ("bình", "lọ", "vase", "bottle vase")),
    Term("type:bat", "Bát", "Bowl", ("bát", "tô", "bowl")),
    Term("type:dia", "Đĩa", "Plate", ("đĩa", "dĩa", "plate", "dish", "platter")),
    Term("type:lu-huong", "Lư hương", "Incense burner",
         ("lư hương", "lư", "incense burner", "censer")),
    Term("type:dinh", "Đỉnh", "Tripod cauldron", ("đỉnh", "đỉnh đồng", "tripod cauldron")),
    Term("type:hop", "Hộp", "Box", ("hộp", "tráp", "box", "casket")),
    Term("type:chen", "Chén", "Cup", ("chén", "tách", "ly", "cup", "wine cup")),
    Term("type:am", "Ấm", "Teapot", ("ấm", "ấm trà", "teapot", "ewer")),
    Term("type:hu", "Hũ", "Jar", ("hũ", "jar", "covered jar")),
    Term("type:choe", "Chóe", "Large jar", ("chóe", "large jar")),
    Term("type:an", "Ấn", "Seal", ("ấn triện", "seal"), strict=("ấn",)),
    Term("type:bia", "Bia", "Stele", ("bia", "bia đá", "stele", "stela")),
    Term("type:sac-phong", "Sắc phong", "Royal decree",
         ("sắc phong", "sắc", "decree", "royal decree", "imperial decree")),
    Term("type:ao", "Áo", "Garment", ("áo", "áo long bào", "long bào", "robe", "garment")),
    Term("type:vai", "Vải", "Textile", ("vải", "tấm vải", "textile", "fabric", "cloth")),
    Term("type:bo-tu", "Bổ tử", "Rank badge", ("bổ tử", "rank badge", "mandarin square")),
    Term("type:chuong", "Chuông", "Bell", ("chuông", "bell")),
    Term("type:tuong", "Tượng", "Statue", ("tượng", "statue", "figure", "sculpture")),
    Term("type:khay", "Khay", "Tray", ("khay", "tray")),
    Term("type:tien", "Tiền", "Coin", ("tiền", "đồng tiền", "coin")),
    Term("type:kiem", "Kiếm", "Sword", ("kiếm", "gươm", "sword")),
    Term("type:mu", "Mũ", "Headdress", ("mũ", "mão", "headdress", "crown", "hat")),
)  # fmt: skip


@dataclass(frozen=True)
class ColourRule:
    """A named colour: the CIELAB lightness, chroma and hue (degrees) ranges it covers.

    Rules are tried in order; a pixel takes the first whose every range holds it. A hue range
    whose start exceeds its end wraps through 0° (red).
    """

    slug: str
    label_vi: str
    label_en: str
    lightness: tuple[float, float] = (0, 101)
    chroma: tuple[float, float] = (0, 1000)
    hue: tuple[float, float] = (0, 360)


# Measured on sRGB primaries and museum materials: pure red sits at 40° in CIELAB, orange near
# 60–75°, yellow near 100°, blue near 306°, violet past 310°; rendered gold near 85° with chroma
# about 55; bronze is a dark, weakly coloured orange. Neutrals come first, so that a grey
# backdrop never takes a hue from its noise.
COLOURS: Final[tuple[ColourRule, ...]] = (
    ColourRule("colour:trang", "Trắng", "White", lightness=(85, 101), chroma=(0, 10)),
    ColourRule("colour:trang", "Trắng", "White", lightness=(92, 101), chroma=(0, 14)),
    ColourRule("colour:den", "Đen", "Black", lightness=(0, 25), chroma=(0, 10)),
    ColourRule("colour:den", "Đen", "Black", lightness=(0, 18), chroma=(0, 25)),
    ColourRule("colour:xam", "Xám", "Grey", chroma=(0, 10)),
    ColourRule("colour:be", "Be", "Beige", lightness=(60, 101), chroma=(10, 30), hue=(30, 110)),
    ColourRule("colour:nau", "Nâu", "Brown", lightness=(0, 60), chroma=(10, 30), hue=(30, 110)),
    ColourRule("colour:vang-kim", "Vàng kim", "Gold",
               lightness=(45, 88), chroma=(35, 65), hue=(65, 100)),
    ColourRule("colour:nau", "Nâu", "Brown", lightness=(0, 50), hue=(50, 105)),
    ColourRule("colour:nau", "Nâu", "Brown", lightness=(0, 50), chroma=(0, 25), hue=(345, 50)),
    ColourRule("colour:hong", "Hồng", "Pink", lightness=(70, 101), chroma=(0, 50), hue=(345, 50)),
    ColourRule("colour:do", "Đỏ", "Red", hue=(345, 50)),
    ColourRule("colour:cam", "Cam", "Orange", hue=(50, 78)),
    ColourRule("colour:vang", "Vàng", "Yellow", hue=(78, 110)),
    ColourRule("colour:xanh-la", "Xanh lá", "Green", hue=(110, 195)),
    ColourRule("colour:xanh-lam", "Xanh lam", "Blue", hue=(195, 310)),
    ColourRule("colour:tim", "Tím", "Purple", hue=(310, 345)),
)  # fmt: skip
MIN_COLOUR_SHARE: Final = 0.10  # a colour on less of the object is not dominant
MAX_COLOURS: Final = 3
GREYSCALE_CHROMA: Final = 8.0  # CIELAB chroma below which a pixel looks neutral
GREYSCALE_SHARE: Final = 0.01  # an image with fewer coloured pixels than this is greyscale
SQUARE_TOLERANCE: Final = 0.02  # sides within 2% of each other make a square
_ANALYSIS_EDGE: Final = 256  # colours are counted on a copy at most this long
_BACKDROP_DELTA_E: Final = 10.0  # inside the object's box, this close to the backdrop is backdrop

ORIENTATIONS: Final = {
    "landscape": ("orientation:ngang", "Ngang", "Landscape"),
    "portrait": ("orientation:doc", "Dọc", "Portrait"),
    "square": ("orientation:vuong", "Vuông", "Square"),
}
MODES: Final = {
    "greyscale": ("mode:den-trang", "Đen trắng", "Greyscale"),
    "colour": ("mode:mau", "Màu", "Colour"),
}
VIEW_LABELS: Final = {
    "front": ("Mặt trước", "Front"),
    "back": ("Mặt sau", "Back"),
    "left": ("Mặt trái", "Left side"),
    "right": ("Mặt phải", "Right side"),
    "top": ("Mặt trên", "Top"),
    "bottom": ("Mặt đáy", "Bottom"),
    "detail": ("Chi tiết", "Detail"),
    "mark": ("Hiệu đề, dấu", "Mark"),
}

# The order tags are listed in: what the object is before what its picture looks like.
_KIND_ORDER: Final = ("view", "type", "material", "period", "colour", "mode", "orientation")
_SOURCE_ORDER: Final = ("inventory", "xmp", "exif")


# --- text matching -------------------------------------------------------------------------------

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


_MATERIAL_PHRASES: Final = _compile(MATERIALS)
_PERIOD_PHRASES: Final = _compile(PERIODS)
_TYPE_PHRASES: Final = _compile(OBJECT_TYPES)
_REIGN_BY_VALUE: Final = {reign.term.value: reign for reign in REIGNS}


@dataclass(frozen=True)
class _Match:
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


def _find_terms(
    text: str, phrases: Sequence[_Phrase], field: str
) -> tuple[list[_Match], list[str]]:
    """Terms named in `text`, left to right, longest phrase first; and notes on ambiguities."""
    raw_words = _WORD.findall(unicodedata.normalize("NFC", text))
    words = [_to_key(word.lower()) for word in raw_words]
    marked = any(marks for _, marks in words)
    found: list[_Match] = []
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
            found.append(_Match(term, exact, spelled))
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


def _term_tag(match: _Match, *, source: str = "inventory") -> Tag:
    return Tag(
        value=match.term.value,
        label_vi=match.term.label_vi,
        label_en=match.term.label_en,
        source=source,
        confidence=NAMED_CONFIDENCE if match.exact else UNMARKED_CONFIDENCE,
    )


# --- from the inventory --------------------------------------------------------------------------

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
        ("Object type", row.object_type, _TYPE_PHRASES),
        ("Material", row.material, _MATERIAL_PHRASES),
    ):
        if not text.strip():
            continue
        matches, ambiguous = _find_terms(text, phrases, field)
        tags.extend(_term_tag(match) for match in matches)
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
    matches, notes = _find_terms(period, _PERIOD_PHRASES, "Period") if period.strip() else ([], [])
    ranges = _year_ranges(period, notes) or _year_ranges(date_range, notes)
    if matches:
        for match in matches:
            reign = _REIGN_BY_VALUE.get(match.term.value)
            for start, end in ranges:
                if reign is not None and (end < reign.start or start > reign.end):
                    notes.append(
                        f"Period {match.text!r} is {reign.start}–{reign.end}, but the dates "
                        f"{_years(start, end)} fall outside it: check the inventory row."
                    )
        return [_term_tag(match) for match in matches], notes
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


# --- from the pixels -----------------------------------------------------------------------------

_U8 = np.ndarray[Any, np.dtype[np.uint8]]
_F32 = np.ndarray[Any, np.dtype[np.float32]]
_Mask = np.ndarray[Any, np.dtype[np.bool_]]


def tags_from_pixels(
    image: np.ndarray[Any, np.dtype[np.uint8]],
    *,
    object_mask: _Mask | None = None,
    bbox: Box | tuple[int, int, int, int] | None = None,
) -> list[Tag]:
    """Dominant colours, colour or greyscale, and orientation of an upright 8-bit image.

    Colours are counted on the object: the pixels of `object_mask` (same height and width as
    the image), or those of `bbox` (x, y, width, height) that differ from the backdrop around
    it; on the whole frame when neither is given. Each colour's share is its confidence.
    """
    pixels = _to_rgb(image)
    height, width = pixels.shape[:2]
    tags = [_orientation_tag(width, height)]
    step = max(1, max(height, width) // (_ANALYSIS_EDGE * 4))
    # Striding first makes shrinking a 24 MP scan cheap; colour shares survive the sampling.
    sampled = pixels[::step, ::step]
    lab = _to_lab(_shrink(sampled, _ANALYSIS_EDGE))
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    coloured = float((chroma >= GREYSCALE_CHROMA).mean())
    mode = "greyscale" if coloured < GREYSCALE_SHARE else "colour"
    # Grey pixels stored as grey are certain; a colour photograph of a neutral object (silver,
    # stone) on a grey sweep only looks greyscale.
    stored_grey = image.ndim == 2 or bool(coloured == 0 and _has_equal_channels(sampled))
    sure = 1.0 if mode == "colour" or stored_grey else 0.8
    slug, vi, en = MODES[mode]
    tags.append(Tag(value=slug, label_vi=vi, label_en=en, source=COLOUR_SOURCE, confidence=sure))
    region = _object_pixels(pixels, lab, step, object_mask, bbox)
    tags.extend(_colour_tags(region))
    return tags


def _to_rgb(image: np.ndarray[Any, np.dtype[Any]]) -> _U8:
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise ValueError(f"expected 8-bit pixels, got {array.dtype}")
    if array.ndim == 3 and array.shape[2] == 4:
        array = array[:, :, :3]  # RGBA: the alpha channel says nothing about colour
    if array.ndim == 3 and array.shape[2] in (1, 2):
        array = array[:, :, 0]  # L or LA
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] != 3 or min(array.shape[:2]) < 1:
        raise ValueError(f"expected an (h, w) or (h, w, 3) image, got shape {array.shape}")
    return array


def _has_equal_channels(pixels: _U8) -> bool:
    return bool(
        np.array_equal(pixels[..., 0], pixels[..., 1])
        and np.array_equal(pixels[..., 1], pixels[..., 2])
    )


def _shrink(pixels: _U8, long_edge: int) -> _U8:
    height, width = pixels.shape[:2]
    scale = long_edge / max(height, width)
    contiguous = np.ascontiguousarray(pixels)
    if scale >= 1:
        return contiguous
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(cv2.resize(contiguous, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def _to_lab(pixels: _U8) -> _F32:
    scaled = pixels.astype(np.float32) * np.float32(1 / 255)
    return np.asarray(cv2.cvtColor(scaled, cv2.COLOR_RGB2Lab), dtype=np.float32)


def _orientation_tag(width: int, height: int) -> Tag:
    if abs(width - height) <= SQUARE_TOLERANCE * max(width, height):
        shape = "square"
    else:
        shape = "landscape" if width > height else "portrait"
    slug, vi, en = ORIENTATIONS[shape]
    return Tag(value=slug, label_vi=vi, label_en=en, source=SHAPE_SOURCE, confidence=1.0)


def _object_pixels(
    pixels: _U8,
    frame_lab: _F32,
    step: int,
    object_mask: _Mask | None,
    bbox: Box | tuple[int, int, int, int] | None,
) -> _F32:
    """CIELAB values (n, 3) of the object's pixels, on a copy at most _ANALYSIS_EDGE long."""
    height, width = pixels.shape[:2]
    if object_mask is not None:
        mask = np.asarray(object_mask, dtype=bool)
        if mask.shape != (height, width):
            raise ValueError(f"object_mask is {mask.shape}, the image {(height, width)}")
        small_mask = _shrink(mask[::step, ::step].astype(np.uint8) * 255, _ANALYSIS_EDGE) >= 128
        chosen = frame_lab[small_mask]
        return chosen if len(chosen) else frame_lab.reshape(-1, 3)
    if bbox is None:
        return frame_lab.reshape(-1, 3)
    x, y, right, bottom = bbox.to_pil_box() if isinstance(bbox, Box) else _tuple_box(bbox)
    x, y = min(max(0, x), width - 1), min(max(0, y), height - 1)
    right, bottom = min(width, max(x + 1, right)), min(height, max(y + 1, bottom))
    inside = _to_lab(_shrink(pixels[y:bottom:step, x:right:step], _ANALYSIS_EDGE)).reshape(-1, 3)
    # What surrounds the box is backdrop: its median colour, found on the frame's copy.
    fh, fw = frame_lab.shape[:2]
    outside = np.ones((fh, fw), dtype=bool)
    outside[
        math.floor(y * fh / height) : math.ceil(bottom * fh / height),
        math.floor(x * fw / width) : math.ceil(right * fw / width),
    ] = False
    if outside.sum() < 16:
        return inside
    backdrop = np.median(frame_lab[outside], axis=0)
    delta = inside - backdrop
    # Lightness counts half: soft shadows on the sweep change lightness, hardly colour.
    distance = np.sqrt((0.5 * delta[:, 0]) ** 2 + delta[:, 1] ** 2 + delta[:, 2] ** 2)
    kept = inside[distance >= _BACKDROP_DELTA_E]
    return kept if len(kept) >= 0.05 * len(inside) else inside


def _tuple_box(box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    x, y, w, h = (int(v) for v in box)
    return x, y, x + w, y + h


def _colour_tags(lab: _F32) -> list[Tag]:
    rules = _classify(lab)
    total = len(rules)
    if total == 0:
        return []
    counts: dict[str, int] = {}
    for index, count in enumerate(np.bincount(rules, minlength=len(COLOURS)).tolist()):
        if count:
            slug = COLOURS[index].slug  # several rules may name one colour
            counts[slug] = counts.get(slug, 0) + count
    labels = {rule.slug: (rule.label_vi, rule.label_en) for rule in COLOURS}
    tags: list[Tag] = []
    for slug, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        share = count / total
        if len(tags) == MAX_COLOURS or (share < MIN_COLOUR_SHARE and tags):
            break
        vi, en = labels[slug]
        tags.append(
            Tag(value=slug, label_vi=vi, label_en=en, source=COLOUR_SOURCE,
                confidence=round(share, 3))
        )  # fmt: skip
    return tags


def classify_colours(lab: np.ndarray[Any, np.dtype[Any]]) -> list[str]:
    """The colour slug of each CIELAB value of an (n, 3) array, by the first rule of COLOURS."""
    return [COLOURS[index].slug for index in _classify(lab).tolist()]


def _classify(lab: np.ndarray[Any, np.dtype[Any]]) -> np.ndarray[Any, np.dtype[np.intp]]:
    """Index in COLOURS of the first rule each CIELAB value satisfies (the last one always is)."""
    values = np.asarray(lab, dtype=np.float32).reshape(-1, 3)
    lightness = values[:, 0]
    chroma = np.hypot(values[:, 1], values[:, 2])
    hue = np.degrees(np.arctan2(values[:, 2], values[:, 1])) % 360
    out = np.full(len(values), len(COLOURS) - 1, dtype=np.intp)
    todo = np.ones(len(values), dtype=bool)
    for index, rule in enumerate(COLOURS):
        low, high = rule.hue
        in_hue = (hue >= low) & (hue < high) if low <= high else (hue >= low) | (hue < high)
        hit = (
            todo
            & in_hue
            & (lightness >= rule.lightness[0])
            & (lightness < rule.lightness[1])
            & (chroma >= rule.chroma[0])
            & (chroma < rule.chroma[1])
        )
        out[hit] = index
        todo &= ~hit
    return out


# --- from embedded metadata ----------------------------------------------------------------------

# Control characters, bidirectional overrides and isolates, the BOM: invisible characters that
# could disguise a keyword when a catalogue shows it.
_UNWANTED: Final = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_SLUG_UNSAFE: Final = re.compile(r"[^a-z0-9.]+")


def tags_from_metadata(metadata: ScanMetadata) -> list[Tag]:
    """Keywords (XMP dc:subject, IPTC-IIM 2:25) as free tags, source "xmp", cleaned.

    A value holding ";" is split (some tools pack a list into one field); at most MAX_KEYWORDS
    are kept. They are not mapped to the vocabularies: a keyword "vàng" may mean gold or yellow.
    """
    tags: list[Tag] = []
    seen: set[str] = set()
    for raw in [*metadata.xmp.subject, *metadata.iptc.keywords]:
        for part in raw.split(";"):
            label = _clean_keyword(part)
            if label is None:
                continue
            slug = _SLUG_UNSAFE.sub("-", fold_diacritics(label).lower()).strip("-.")[:80]
            value = f"keyword:{slug}"
            if not slug or value in seen:
                continue
            seen.add(value)
            tags.append(
                Tag(value=value, label_vi=label, label_en=label, source="xmp", confidence=1.0)
            )
            if len(tags) == MAX_KEYWORDS:
                return tags
    return tags


def _clean_keyword(text: str) -> str | None:
    cleaned = " ".join(_UNWANTED.sub(" ", unicodedata.normalize("NFC", text)).split())
    cleaned = cleaned.strip(" ,.:-–—|/\\\"'")
    return cleaned[:MAX_LABEL].rstrip() or None


# --- views, merging, near-duplicates -------------------------------------------------------------


def view_tag(view: str) -> Tag:
    """The tag of a view, English or Vietnamese ('trước' → Mặt trước / Front).

    A view outside the vocabulary keeps its own word as both labels, as the record keeps it.
    """
    folded = re.sub(r"[^a-z0-9]+", "-", fold_diacritics(view).lower()).strip("-")
    canonical = VIEWS.get(folded, folded)
    vi, en = VIEW_LABELS.get(canonical, (view.strip() or "?", view.strip() or "?"))
    return Tag(
        value=f"view:{canonical or 'unknown'}",
        label_vi=vi,
        label_en=en,
        source=NAMING_SOURCE,
        confidence=1.0,
    )


def merge_tags(*lists: Iterable[Tag]) -> list[Tag]:
    """One tag per (value, source), in a fixed order whatever the input order.

    Several sources saying the same thing stay separate tags: provenance is never blurred. A
    source repeating itself keeps its highest confidence (then the label with more diacritics).
    Order: kind (view, type, material, period, colour, mode, orientation, others), then the
    value's best confidence, then value, then source.
    """
    best: dict[tuple[str, str], Tag] = {}
    for tag in (tag for tags in lists for tag in tags):
        key = (tag.value, tag.source)
        current = best.get(key)
        if current is None or _strength(tag) > _strength(current):
            best[key] = tag
    top: dict[str, float] = {}
    for tag in best.values():
        top[tag.value] = max(top.get(tag.value, 0.0), tag.confidence)
    return sorted(best.values(), key=lambda t: _order(t, top[t.value]))


def _strength(tag: Tag) -> tuple[float, int, str, str]:
    marks = sum(1 for ch in unicodedata.normalize("NFD", tag.label_vi) if ord(ch) > 127)
    return tag.confidence, marks, tag.label_vi, tag.label_en


def _order(tag: Tag, confidence: float) -> tuple[int, float, str, int, str]:
    kind = tag.value.split(":", 1)[0]
    kind_rank = _KIND_ORDER.index(kind) if kind in _KIND_ORDER else len(_KIND_ORDER)
    source_rank = (
        _SOURCE_ORDER.index(tag.source) if tag.source in _SOURCE_ORDER else len(_SOURCE_ORDER)
    )
    return kind_rank, -confidence, tag.value, source_rank, tag.source


_PHASH: Final = re.compile(r"[0-9a-fA-F]{16}")


@dataclass(frozen=True)
class NearDuplicate:
    """Two items whose perceptual hashes differ in `distance` bits (`a` sorts before `b`)."""

    a: str
    b: str
    distance: int


def find_near_duplicates(
    items: Sequence[tuple[str, str]], max_distance: int
) -> list[NearDuplicate]:
    """Pairs of (id, 16-hex-digit pHash) within `max_distance` bits, closest first.

    Every pair is compared (n²/2, vectorised: 20,000 items take about 0.2 s); an id given
    twice is one item (its first hash counts), never a pair with itself.
    """
    if not 0 <= max_distance <= 64:
        raise ValueError(f"max_distance must be 0–64 bits, got {max_distance}")
    for item_id, phash in items:
        if not _PHASH.fullmatch(phash):
            raise ValueError(f"item {item_id!r}: not a 16-hex-digit perceptual hash: {phash!r}")
    unique = dict(reversed(items))  # the first hash given for an id is the one kept
    ids = list(unique)
    hashes = np.array([int(phash, 16) for phash in unique.values()], dtype=np.uint64)
    pairs: list[NearDuplicate] = []
    for index in range(len(ids) - 1):
        distances = np.bitwise_count(hashes[index + 1 :] ^ hashes[index])
        for offset in np.flatnonzero(distances <= max_distance).tolist():
            a, b = sorted((ids[index], ids[index + 1 + offset]))
            pairs.append(NearDuplicate(a, b, int(distances[offset])))
    return sorted(pairs, key=lambda p: (p.distance, p.a, p.b))
