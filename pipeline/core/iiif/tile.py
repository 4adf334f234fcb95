"""Static IIIF Image API 3 level-0 tiles and info.json from one upright image; pure, no I/O.

---------------------------------------------------
A level-0 service answers only the requests it has files for, so every name below is the
*canonical* URI a client builds (Image API 3.0 §4.8 and the implementation notes §3):

- Tiles of `tile_size` px at scale factors 1, 2, 4, ... up to the first factor at which the
  whole image fits in one tile. A tile's region is `x,y,w,h` in full-image pixels and its size
  `ceil(w/s),ceil(h/s)`, so the right and bottom edge tiles are clipped, never padded.
- At that last factor the single tile covers the image, and the canonical region of a
  whole-image request is `full`: its file is `full/{w},{h}/0/default.jpg` (OpenSeadragon asks
  for exactly that), or `full/max/0/default.jpg` when the image is no larger than one tile.
- A few smaller whole-image sizes below that tile (down to a 64 px long edge), for thumbnails.
- `full/max/0/default.jpg`, which level 0 requires.
- `info.json`, whose `sizes` lists only sizes that have a `full/{w},{h}` file; the full/max
  size is not listed, because its canonical name is `max`, not `w,h`.

`max_long_edge` and `maxWidth`/`maxHeight`. Without a limit, `full/max` is the whole image at
full resolution (a 6000×4000 scan makes a ~6 MB JPEG). With `max_long_edge=L` the info.json
says `"maxWidth": L, "maxHeight": L`, and `full/max` is the image reduced by the spec's own
algorithm (implementation notes §4: `w = L, h = int(H*L/W + 0.5)` for a landscape image), so a
client computing the `max` size from info.json arrives at the size of the file. The tiles stay
full resolution at every scale factor, and that is valid: the limits apply to the pixel size of
the *returned* image (§5.2: "Servers MUST ensure that sizes specified by any sizes or tiles
properties are within any size limits expressed"; implementation notes §4: for a size other
than `max` it is "the size of the resulting scaled image content" that is checked), and every
tile is at most `tile_size` px, hence `max_long_edge` must be at least `tile_size`. So the limit
caps the one large static file, not what deep zoom reveals; to publish less than full
resolution, shrink the image before calling.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import cv2
import numpy as np
from PIL import Image

from pipeline.core.imaging import SRGB_ICC
from pipeline.core.shrink import Pyramid, shrink_to

IMAGE_CONTEXT: Final = "http://iiif.io/api/image/3/context.json"
INFO_JSON_MEDIA_TYPE: Final = f'application/ld+json;profile="{IMAGE_CONTEXT}"'
JPEG_MEDIA_TYPE: Final = "image/jpeg"

# Whole-image sizes below the single-tile level stop here: smaller ones help no viewer.
_MIN_SIZE_EDGE: Final = 64
_ICC_METADATA = [np.frombuffer(SRGB_ICC, dtype=np.uint8)]


@dataclass(frozen=True)
class IiifTileSet:
    """The static files of one image service: the images, then info.json.

    `files` holds paths relative to the service's base URI (`image_id`), to be stored exactly
    as the URI path, e.g. `0,0,512,512/512,512/0/default.jpg`. info.json comes last so that
    storing them in order never publishes an info.json whose images are not there yet.
    """

    info: dict[str, Any]
    files: list[tuple[str, bytes]]


def to_media_type(path: str) -> str:
    """The Content-Type to serve a tile-set file with (info.json is JSON-LD, §5.1)."""
    if path.endswith(".json"):
        return INFO_JSON_MEDIA_TYPE
    if path.endswith(".jpg"):
        return JPEG_MEDIA_TYPE
    raise ValueError(f"not a IIIF tile-set path: {path!r}")


def fit_max_size(width: int, height: int, max_long_edge: int | None) -> tuple[int, int]:
    """The `max` size of a width×height image under maxWidth = maxHeight = `max_long_edge`.

    The Image API implementation notes' algorithm, rounding included, so that clients that
    compute the size from info.json agree with the file; never enlarges.
    """
    if max_long_edge is None:
        return width, height
    w, h = width, height
    if max_long_edge < w:
        w = max_long_edge
        h = int(height * max_long_edge / width + 0.5)
    if max_long_edge < h:
        h = max_long_edge
        w = int(width * max_long_edge / height + 0.5)
    return max(1, w), max(1, h)


def make_iiif_tiles(
    image: Image.Image | np.ndarray[Any, Any],
    *,
    image_id: str,
    tile_size: int = 512,
    quality: int = 85,
    max_long_edge: int | None = None,
    max_image: tuple[int, int, bytes] | None = None,
    pyramid: Pyramid | None = None,
) -> IiifTileSet:
    """Make the info.json and every level-0 file of one upright 8-bit RGB or L image.

    `max_image` (width, height, JPEG bytes): the caller's own encoding of this image at its
    `max` size (the access derivative), served as `full/max` instead of encoding another; it
    is used only if its size is the `max` size computed here. `pyramid`: the scan's halvings of
    `image`, shared with the derivatives (a level that is an exact halving is taken from it).

    `image_id` is the service's public base URI (the caller builds it from the public base
    URL: `{base}/iiif/{scan_sha256}`). Each scale factor is shrunk from the previous one
    (INTER_AREA), never from a new decode; the JPEGs (`quality`) are baseline, sRGB-tagged
    when in colour, and the same input gives the same bytes.
    """
    _check_image_id(image_id)
    if isinstance(image, np.ndarray):
        mode = {2: "L", 3: "RGB"}.get(image.ndim) if image.dtype == np.uint8 else None
        if image.ndim == 3 and image.shape[2] != 3:
            mode = None
    else:
        mode = image.mode
    if mode not in ("RGB", "L"):
        raise ValueError(f"IIIF tiles need an 8-bit RGB or L image, not mode {mode!r}")
    if tile_size < 1:
        raise ValueError(f"tile_size must be positive, not {tile_size}")
    if not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality must be 1 to 100, not {quality}")
    if max_long_edge is not None and max_long_edge < tile_size:
        raise ValueError(
            f"max_long_edge ({max_long_edge}) must be at least tile_size ({tile_size}): "
            "every tile must fit within the declared maxWidth/maxHeight"
        )
    level = image if isinstance(image, np.ndarray) else np.asarray(image)
    pyramid = pyramid or Pyramid()
    height, width = level.shape[:2]
    max_size = fit_max_size(width, height, max_long_edge)
    limited = max_size != (width, height)

    colour = level.ndim == 3

    def encode(array: np.ndarray[Any, Any]) -> bytes:
        # OpenCV encodes BGR: each tile is swapped while it is in cache, which costs less than
        # a swapped copy of the full-size image (and the levels stay RGB, shareable).
        bgr = cv2.cvtColor(array, cv2.COLOR_RGB2BGR) if colour else array
        return _encode_jpeg(bgr, quality=quality, colour=colour)

    tiles: list[tuple[str, bytes]] = []
    sizes: list[tuple[str, bytes]] = []
    # Unlimited, full/max is the whole image: encode it now, while that level is in hand.
    full_max = None
    if max_image is not None and max_image[:2] == max_size:
        full_max = max_image[2]
    elif not limited:
        full_max = encode(level)
    scale_factors: list[int] = []
    scale = 1
    while True:
        level_w, level_h = _ceil_div(width, scale), _ceil_div(height, scale)
        level = pyramid.shrink_to(level, (level_w, level_h))
        if full_max is None:
            next_w, next_h = _ceil_div(width, 2 * scale), _ceil_div(height, 2 * scale)
            if next_w < max_size[0] or next_h < max_size[1]:
                # The smallest level still at least max_size: one short step down from it.
                full_max = encode(shrink_to(level, max_size))
        scale_factors.append(scale)
        if level_w <= tile_size and level_h <= tile_size:
            break
        tiles.extend(_cut_tiles(level, width, height, scale, tile_size, encode))
        scale *= 2
    assert full_max is not None  # the last level is below tile_size <= max_long_edge

    # Whole-image sizes: the level where one tile covers the image (canonical region `full`;
    # at scale 1 its canonical size is `max`, already made), then halvings for thumbnails.
    size_list: list[dict[str, int]] = []
    while True:
        if scale > 1:
            sizes.append((_full_path(level_w, level_h), encode(level)))
            size_list.append({"width": level_w, "height": level_h})
        next_w, next_h = _ceil_div(width, 2 * scale), _ceil_div(height, 2 * scale)
        if max(next_w, next_h) < _MIN_SIZE_EDGE:
            break
        scale *= 2
        level_w, level_h = next_w, next_h
        level = pyramid.shrink_to(level, (level_w, level_h))

    info: dict[str, Any] = {
        "@context": IMAGE_CONTEXT,
        "id": image_id,
        "type": "ImageService3",
        "protocol": "http://iiif.io/api/image",
        "profile": "level0",
        "width": width,
        "height": height,
    }
    if limited:
        info["maxWidth"] = max_long_edge
        info["maxHeight"] = max_long_edge
    info["sizes"] = sorted(size_list, key=lambda size: size["width"])
    info["tiles"] = [{"width": tile_size, "scaleFactors": scale_factors}]
    info_bytes = json.dumps(info, ensure_ascii=False, indent=2).encode("utf-8")
    files = [("full/max/0/default.jpg", full_max), *sizes, *tiles, ("info.json", info_bytes)]
    return IiifTileSet(info=info, files=files)


def _check_image_id(image_id: str) -> None:
    parts = urlsplit(image_id)
    if parts.scheme not in ("http", "https") or not parts.netloc or image_id.endswith("/"):
        raise ValueError(
            f"image_id must be an absolute http(s) URL without a trailing slash: {image_id!r}"
        )


def _ceil_div(value: int, divisor: int) -> int:
    return -(-value // divisor)


def _full_path(width: int, height: int) -> str:
    return f"full/{width},{height}/0/default.jpg"


def _cut_tiles(
    level: np.ndarray[Any, Any],
    width: int,
    height: int,
    scale: int,
    tile_size: int,
    encode: Callable[[np.ndarray[Any, Any]], bytes],
) -> list[tuple[str, bytes]]:
    """The tiles of one scale factor, named as the implementation notes (§3) compute them."""
    span = tile_size * scale  # a tile's extent in full-image pixels
    out: list[tuple[str, bytes]] = []
    for y in range(0, height, span):
        region_h = min(span, height - y)
        size_h = _ceil_div(region_h, scale)
        top = y // scale
        for x in range(0, width, span):
            region_w = min(span, width - x)
            size_w = _ceil_div(region_w, scale)
            left = x // scale
            pixels = level[top : top + size_h, left : left + size_w]
            name = f"{x},{y},{region_w},{region_h}/{size_w},{size_h}/0/default.jpg"
            out.append((name, encode(pixels)))
    return out


def _encode_jpeg(array: np.ndarray[Any, Any], *, quality: int, colour: bool) -> bytes:
    """Baseline JPEG via OpenCV: a fifth faster than Pillow's save on 512 px tiles (measured,
    same bytes out), and it takes the BGR levels as they are.

    Colour files carry the 588-byte sRGB profile: no measurable time, ~1% of a tile, and every
    file is tagged like the derivatives; a greyscale JPEG cannot carry an RGB profile.
    """
    params = [cv2.IMWRITE_JPEG_QUALITY, quality]
    if colour:
        ok, buffer = cv2.imencodeWithMetadata(
            ".jpg", array, [cv2.IMAGE_METADATA_ICCP], _ICC_METADATA, params
        )
    else:
        ok, buffer = cv2.imencode(".jpg", array, params)
    if not ok:
        raise ValueError(f"OpenCV could not encode a {array.shape} tile as JPEG")
    return bytes(buffer)
