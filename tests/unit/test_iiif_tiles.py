"""IIIF Image API level 0 tiles: named, sized and placed as a client computes them."""

import json
import math
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image

from pipeline.core.iiif import IiifTileSet, fit_max_size, make_iiif_tiles, to_media_type
from pipeline.core.imaging import SRGB_ICC
from tests.unit.iiif_client import client_paths, decoded, pattern_image, pattern_rgb, spec_max_size

IMAGE_ID = "http://127.0.0.1:8333/sohoa/iiif/" + "ab" * 32
TILE = 512


def images(tiles: IiifTileSet) -> list[tuple[str, bytes]]:
    return [(path, data) for path, data in tiles.files if path != "info.json"]


def named_size(path: str, info: dict[str, Any]) -> tuple[int, int]:
    size = path.split("/")[1]
    if size == "max":
        return spec_max_size(
            info["width"], info["height"], info.get("maxWidth"), info.get("maxHeight")
        )
    w, h = size.split(",")
    return int(w), int(h)


@pytest.fixture(scope="module")
def big() -> tuple[Image.Image, IiifTileSet]:
    image = pattern_image(6000, 4000)
    return image, make_iiif_tiles(image, image_id=IMAGE_ID, max_long_edge=3000)


@pytest.mark.parametrize(
    ("size", "scale_factors", "tile_count", "single_tile"),
    [
        ((1000, 1000), [1, 2], 4, "full/500,500/0/default.jpg"),
        ((1025, 513), [1, 2, 4], 6 + 2, "full/257,129/0/default.jpg"),
        ((513, 1025), [1, 2, 4], 6 + 2, "full/129,257/0/default.jpg"),
        ((1024, 1024), [1, 2], 4, "full/512,512/0/default.jpg"),
        ((300, 200), [1], 0, "full/max/0/default.jpg"),
        ((512, 512), [1], 0, "full/max/0/default.jpg"),
    ],
)
def test_tiles_are_named_and_counted_as_a_client_computes_them(
    size, scale_factors, tile_count, single_tile
):
    tiles = make_iiif_tiles(pattern_image(*size), image_id=IMAGE_ID)
    paths = [path for path, _ in tiles.files]
    assert tiles.info["tiles"] == [{"width": TILE, "scaleFactors": scale_factors}]
    assert paths[-1] == "info.json"  # stored last: never an info.json without its images
    assert len(paths) == len(set(paths))
    assert set(paths) - {"info.json"} == client_paths(tiles.info)
    regions = [p for p in paths if not p.startswith(("full/", "info.json"))]
    assert len(regions) == tile_count
    assert single_tile in paths


def test_a_6000_by_4000_scan_makes_128_tiles_and_a_3000_px_full_max(big):
    _, tiles = big
    paths = dict(tiles.files)
    assert tiles.info["tiles"] == [{"width": TILE, "scaleFactors": [1, 2, 4, 8, 16]}]
    regions = [p for p in paths if not p.startswith(("full/", "info.json"))]
    assert len(regions) == 12 * 8 + 6 * 4 + 3 * 2 + 2 * 1
    assert "full/375,250/0/default.jpg" in paths  # scale 16: one tile covers the image
    assert "5632,3584,368,416/368,416/0/default.jpg" in paths  # bottom-right, clipped
    assert "4096,2048,1904,1952/476,488/0/default.jpg" in paths  # scale 4, ceil(1905/4)
    assert set(paths) - {"info.json"} == client_paths(tiles.info)
    assert decoded(paths["full/max/0/default.jpg"]).size == (3000, 2000)
    assert (tiles.info["maxWidth"], tiles.info["maxHeight"]) == (3000, 3000)


@pytest.mark.parametrize("size", [(1000, 1000), (1025, 513), (300, 200), (1537, 2049)])
def test_every_file_decodes_to_the_size_its_name_says(size):
    tiles = make_iiif_tiles(pattern_image(*size), image_id=IMAGE_ID, max_long_edge=1200)
    for path, data in images(tiles):
        image = decoded(data)
        assert image.format == "JPEG", path
        assert image.size == named_size(path, tiles.info), path


def test_every_file_of_the_big_scan_decodes_to_the_size_its_name_says(big):
    _, tiles = big
    for path, data in images(tiles):
        assert decoded(data).size == named_size(path, tiles.info), path


@pytest.mark.parametrize("size", [(1000, 1000), (1025, 513), (4097, 1100), (300, 200)])
def test_scale_factors_stop_where_one_tile_covers_the_image(size):
    width, height = size
    factors = make_iiif_tiles(pattern_image(*size), image_id=IMAGE_ID).info["tiles"][0][
        "scaleFactors"
    ]
    assert factors == [2**i for i in range(len(factors))]
    last = factors[-1]
    assert math.ceil(width / last) <= TILE and math.ceil(height / last) <= TILE
    if last > 1:
        before = last // 2
        assert math.ceil(width / before) > TILE or math.ceil(height / before) > TILE


def test_sizes_in_info_json_all_exist_and_every_whole_image_file_is_listed(big):
    _, tiles = big
    paths = dict(tiles.files)
    listed = {f"full/{s['width']},{s['height']}/0/default.jpg" for s in tiles.info["sizes"]}
    assert listed and listed <= set(paths)
    whole = {p for p in paths if p.startswith("full/") and p != "full/max/0/default.jpg"}
    assert whole == listed
    for size in tiles.info["sizes"]:
        assert size["width"] <= tiles.info["maxWidth"]
        assert size["height"] <= tiles.info["maxHeight"]


def test_info_json_is_an_image_api_3_level_0_document_and_its_file_says_the_same(big):
    _, tiles = big
    info = tiles.info
    assert next(iter(info)) == "@context"
    assert info["@context"] == "http://iiif.io/api/image/3/context.json"
    assert info["id"] == IMAGE_ID
    assert info["type"] == "ImageService3"
    assert info["protocol"] == "http://iiif.io/api/image"
    assert info["profile"] == "level0"
    assert (info["width"], info["height"]) == (6000, 4000)
    assert json.loads(dict(tiles.files)["info.json"]) == info


def test_without_a_limit_full_max_is_the_whole_image_and_no_max_is_declared():
    tiles = make_iiif_tiles(pattern_image(1300, 900), image_id=IMAGE_ID)
    assert "maxWidth" not in tiles.info and "maxHeight" not in tiles.info
    assert decoded(dict(tiles.files)["full/max/0/default.jpg"]).size == (1300, 900)


@pytest.mark.parametrize(
    ("size", "limit", "expected"),
    [
        ((6000, 4000), 3000, (3000, 2000)),
        ((4000, 6000), 3000, (2000, 3000)),
        ((3001, 1999), 1000, (1000, 666)),  # 666.1 rounds down
        ((1999, 3001), 1000, (666, 1000)),
        ((2999, 1001), 1000, (1000, 334)),  # 333.8 rounds up
        ((2000, 1001), 1000, (1000, 501)),  # 500.5 rounds half up, not to even
        ((800, 600), 1000, (800, 600)),  # never enlarged
    ],
)
def test_full_max_follows_the_spec_algorithm_for_max_width_and_height(size, limit, expected):
    assert fit_max_size(*size, limit) == expected == spec_max_size(*size, limit, limit)
    if size[0] * size[1] <= 3_000_000:
        tiles = make_iiif_tiles(pattern_image(*size), image_id=IMAGE_ID, max_long_edge=limit)
        assert decoded(dict(tiles.files)["full/max/0/default.jpg"]).size == expected


def test_tiles_show_the_region_their_name_says():
    width, height = 1700, 1100
    source = pattern_rgb(width, height)
    tiles = make_iiif_tiles(Image.fromarray(source), image_id=IMAGE_ID, max_long_edge=900)
    checked = 0
    for path, data in images(tiles):
        region = path.split("/")[0]
        if region == "full":
            x, y, w, h = 0, 0, width, height
        else:
            x, y, w, h = map(int, region.split(","))
        target = named_size(path, tiles.info)
        expected = cv2.resize(source[y : y + h, x : x + w], target, interpolation=cv2.INTER_AREA)
        got = np.asarray(decoded(data).convert("RGB"))
        error = np.abs(got.astype(int) - expected.astype(int)).mean()
        assert error < 5, (path, error)  # a region off by 64 px scores over 15
        checked += 1
    assert checked == len(tiles.files) - 1 > 0


def test_the_same_image_gives_the_same_bytes():
    image = pattern_image(1300, 900)
    first = make_iiif_tiles(image, image_id=IMAGE_ID, max_long_edge=1000)
    second = make_iiif_tiles(image.copy(), image_id=IMAGE_ID, max_long_edge=1000)
    assert first.files == second.files


def test_colour_files_are_srgb_tagged_and_greyscale_files_stay_greyscale():
    colour = make_iiif_tiles(pattern_image(700, 600), image_id=IMAGE_ID)
    for _, data in images(colour):
        image = decoded(data)
        assert image.mode == "RGB" and image.info.get("icc_profile") == SRGB_ICC
    grey = make_iiif_tiles(pattern_image(700, 600).convert("L"), image_id=IMAGE_ID)
    assert client_paths(grey.info) == {p for p, _ in images(grey)}
    for _, data in images(grey):
        image = decoded(data)
        assert image.mode == "L" and "icc_profile" not in image.info


def test_colour_channels_are_not_swapped():
    red = Image.new("RGB", (600, 300), (220, 30, 40))
    tiles = make_iiif_tiles(red, image_id=IMAGE_ID)
    for _, data in images(tiles):
        r, g, b = decoded(data).getpixel((0, 0))
        assert r > 200 and g < 50 and b < 60


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"image_id": "iiif/abc"}, "absolute http"),
        ({"image_id": IMAGE_ID + "/"}, "trailing slash"),
        ({"image_id": IMAGE_ID, "max_long_edge": 400}, "at least tile_size"),
        ({"image_id": IMAGE_ID, "quality": 0}, "quality"),
    ],
)
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_iiif_tiles(pattern_image(100, 100), **kwargs)


def test_only_8_bit_rgb_or_greyscale_images_are_tiled():
    with pytest.raises(ValueError, match="RGBA"):
        make_iiif_tiles(Image.new("RGBA", (10, 10)), image_id=IMAGE_ID)


def test_media_types_are_those_a_static_store_must_set():
    assert to_media_type("info.json").startswith("application/ld+json")
    assert to_media_type("0,0,512,512/512,512/0/default.jpg") == "image/jpeg"
    with pytest.raises(ValueError):
        to_media_type("full/max/0/default.png")
