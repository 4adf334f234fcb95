"""Tags measured on pixels: dominant colours, colour or greyscale, orientation; pure."""

from __future__ import annotations

import math
from typing import Any, Final

import cv2
import numpy as np

from pipeline.core.quality import Box
from pipeline.core.shrink import shrink_to_long_edge
from pipeline.core.tagging.tag import COLOUR_SOURCE, SHAPE_SOURCE, Tag
from pipeline.core.tagging.vocabulary import COLOURS, MODES, ORIENTATIONS

MIN_COLOUR_SHARE: Final = 0.10  # a colour on less of the object is not dominant
MAX_COLOURS: Final = 3
GREYSCALE_CHROMA: Final = 8.0  # CIELAB chroma below which a pixel looks neutral
GREYSCALE_SHARE: Final = 0.01  # an image with fewer coloured pixels than this is greyscale
SQUARE_TOLERANCE: Final = 0.02  # sides within 2% of each other make a square
_ANALYSIS_EDGE: Final = 256  # colours are counted on a copy at most this long
_BACKDROP_DELTA_E: Final = 10.0  # inside the object's box, this close to the backdrop is backdrop

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
    lab = _to_lab(shrink_to_long_edge(sampled, _ANALYSIS_EDGE))
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
        small_mask = (
            shrink_to_long_edge(mask[::step, ::step].astype(np.uint8) * 255, _ANALYSIS_EDGE) >= 128
        )
        chosen = frame_lab[small_mask]
        return chosen if len(chosen) else frame_lab.reshape(-1, 3)
    if bbox is None:
        return frame_lab.reshape(-1, 3)
    x, y, right, bottom = bbox.to_pil_box() if isinstance(bbox, Box) else _tuple_box(bbox)
    x, y = min(max(0, x), width - 1), min(max(0, y), height - 1)
    right, bottom = min(width, max(x + 1, right)), min(height, max(y + 1, bottom))
    inside = _to_lab(
        shrink_to_long_edge(pixels[y:bottom:step, x:right:step], _ANALYSIS_EDGE)
    ).reshape(-1, 3)
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
