"""Free keyword tags from embedded metadata (XMP dc:subject, IPTC-IIM 2:25), cleaned."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from pipeline.core.metadata import ScanMetadata
from pipeline.core.naming import fold_diacritics
from pipeline.core.tagging.tag import MAX_KEYWORDS, MAX_LABEL, Tag

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
