"""A tag with its provenance, and merging tags in one fixed order; no analysis."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from pipeline.core.naming import VIEWS, fold_diacritics
from pipeline.core.tagging.vocabulary import VIEW_LABELS

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


# The order tags are listed in: what the object is before what its picture looks like.
_KIND_ORDER: Final = ("view", "type", "material", "period", "colour", "mode", "orientation")
_SOURCE_ORDER: Final = ("inventory", "xmp", "exif")


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
