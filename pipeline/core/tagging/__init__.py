"""Tags with provenance from inventory text, pixels, embedded metadata and views; pure, no I/O.

Every tag says where it came from (`source`) and how sure that source is (`confidence`), so a
curator can tell an archivist's statement from a measurement. The vocabularies are data
(`vocabulary`); matching is on whole words, and a value that matches nothing (or matches
two terms equally) gives no tag and a note, never a guess.

Text matching treats diacritics as evidence: a word written with marks must match them (tone
marks may sit on either vowel of "oa", "oe", "uy": "Hoà" is "Hòa"), a word written without any
marks matches every term that folds to it ("minh mang" is "Minh Mạng"). When a text without
marks could be two terms ("da": đá stone or da leather), no tag is given.
"""

from pipeline.core.tagging.colour import classify_colours, tags_from_pixels
from pipeline.core.tagging.inventory import tag_inventory, tags_from_inventory
from pipeline.core.tagging.keyword import tags_from_metadata
from pipeline.core.tagging.similarity import NearDuplicate, find_near_duplicates
from pipeline.core.tagging.tag import (
    COLOUR_SOURCE,
    DATE_CONFIDENCE,
    MAX_KEYWORDS,
    NAMING_SOURCE,
    SHAPE_SOURCE,
    Tag,
    TaggingResult,
    merge_tags,
    view_tag,
)
from pipeline.core.tagging.vocabulary import (
    COLOURS,
    DYNASTY,
    MATERIALS,
    OBJECT_TYPES,
    PERIODS,
    REIGNS,
    Reign,
    Term,
)

__all__ = [
    "COLOURS",
    "COLOUR_SOURCE",
    "DATE_CONFIDENCE",
    "DYNASTY",
    "MATERIALS",
    "MAX_KEYWORDS",
    "NAMING_SOURCE",
    "OBJECT_TYPES",
    "PERIODS",
    "REIGNS",
    "SHAPE_SOURCE",
    "NearDuplicate",
    "Reign",
    "Tag",
    "TaggingResult",
    "Term",
    "classify_colours",
    "find_near_duplicates",
    "merge_tags",
    "tag_inventory",
    "tags_from_inventory",
    "tags_from_metadata",
    "tags_from_pixels",
    "view_tag",
]
