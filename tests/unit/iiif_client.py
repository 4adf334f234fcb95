"""What an IIIF client derives from info.json, and the pattern images it is checked on."""

import io
import math
from typing import Any

import numpy as np
from PIL import Image


def pattern_rgb(width: int, height: int) -> np.ndarray:
    """Smooth but different everywhere: a misplaced or misscaled tile cannot match."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    out = np.empty((height, width, 3), np.uint8)
    out[..., 0] = x * (255 / width)
    out[..., 1] = y * (255 / height)
    out[..., 2] = 128 + 100 * np.sin(x / 37) * np.cos(y / 53)
    return out


def pattern_image(width: int, height: int) -> Image.Image:
    return Image.fromarray(pattern_rgb(width, height))


def spec_max_size(width: int, height: int, max_width: int | None, max_height: int | None):
    """The Image API 3.0 implementation notes' own algorithm (§4), as a client computes it."""
    w, h = width, height
    if max_width:
        max_height = max_height or max_width
        if max_width < w:
            w = max_width
            h = int(float(height * max_width) / float(width) + 0.5)
        if max_height < h:
            h = max_height
            w = int(float(width * max_height) / float(height) + 0.5)
    return w, h


def client_paths(info: dict[str, Any]) -> set[str]:
    """Every image path a viewer derives from info.json: tiles by the implementation notes' §3
    algorithm, in canonical form (OpenSeadragon's rules), the listed sizes, and full/max."""
    width, height = info["width"], info["height"]
    paths = {"full/max/0/default.jpg"}
    for tiles in info["tiles"]:
        tw = tiles["width"]
        th = tiles.get("height", tw)
        for s in tiles["scaleFactors"]:
            for m in range(math.ceil(height / (th * s))):
                for n in range(math.ceil(width / (tw * s))):
                    xr, yr = n * tw * s, m * th * s
                    wr, hr = min(tw * s, width - xr), min(th * s, height - yr)
                    ws, hs = math.ceil(wr / s), math.ceil(hr / s)
                    full = (xr, yr, wr, hr) == (0, 0, width, height)
                    region = "full" if full else f"{xr},{yr},{wr},{hr}"
                    size = "max" if (ws, hs) == (width, height) else f"{ws},{hs}"
                    paths.add(f"{region}/{size}/0/default.jpg")
    for size in info.get("sizes", []):
        paths.add(f"full/{size['width']},{size['height']}/0/default.jpg")
    return paths


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image
