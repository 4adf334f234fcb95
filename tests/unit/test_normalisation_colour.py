"""Normalisation traps (issue #3), colour: ICC profiles to sRGB through LittleCMS, once."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageCms

from pipeline.core.imaging import SRGB_ICC, to_display_array, to_upright_pixels
from pipeline.core.profile import ProcessingProfile
from pipeline.core.scan import prepare_scan
from pipeline.samples.icc import make_adobe_rgb_profile
from tests.unit.icc_builder import (
    COLOURS,
    SPACES,
    build_profile,
    delta_e,
    encode_in,
    gamma_tag,
    rgb_profile,
    srgb_encode,
)
from tests.unit.images import encode, gradient_rgb
from tests.unit.normalisation_input import decode, tiff

# --- colour: ICC profiles through LittleCMS ---------------------------------------------------


@pytest.mark.parametrize("space", list(SPACES))
@pytest.mark.parametrize("fmt", ["TIFF", "PNG", "JPEG"])
def test_tagged_rgb_is_converted_to_srgb_through_littlecms(space, fmt):
    primaries, white, trc, encode_curve = SPACES[space]
    profile = rgb_profile(space, primaries, white, trc)
    assert (
        ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(profile))).strip()
        == space
    )
    encoded = np.stack([encode_in(c, primaries, white, encode_curve) for c in COLOURS])
    pixels = np.repeat(np.repeat(encoded[None], 16, axis=0), 16, axis=1)  # 16 × 64 patches
    data = encode(
        pixels,
        fmt,
        icc_profile=profile,
        **({"quality": 100, "subsampling": 0} if fmt == "JPEG" else {}),
    )
    scan = decode(data, f"x_front_1.{fmt.lower()}")
    assert scan.icc_description == space
    out = to_display_array(scan)
    for index, colour in enumerate(COLOURS):
        found = out[8, index * 16 + 8]
        assert delta_e(found, colour) < 2.0, (space, colour, found)
    # The test can fail: read as if sRGB, the saturated colours are visibly off.
    assert max(delta_e(encoded[i], COLOURS[i]) for i in range(3)) > 5


@pytest.mark.parametrize("gamma_value", [1.0, 1.8])
def test_grey_gamma_profile_is_converted(gamma_value):
    profile = build_profile(
        b"GRAY", f"Grey gamma {gamma_value}", [(b"kTRC", gamma_tag(gamma_value))]
    )
    grey = np.full((8, 8), 128, np.uint8)
    scan = decode(encode(grey, "PNG", icc_profile=profile), "x_front_1.png")
    assert scan.icc_description is not None
    out = to_display_array(scan).astype(int)
    expected = round(float(srgb_encode(np.array((128 / 255) ** gamma_value))) * 255)
    assert np.abs(out - expected).max() <= 1
    assert abs(expected - 128) > 10


def test_adobe_rgb_16_bit_tiff_converts_on_both_paths_alike():
    # With tiles the full size is converted; without, the conversion follows the first shrink.
    from pipeline.samples.icc import encode_adobe_rgb16

    colour = np.array([200, 80, 40]) / 255
    samples = encode_adobe_rgb16(np.broadcast_to(colour, (300, 450, 3)))
    data = tiff(
        samples, photometric="rgb", extratags=[(34675, 7, None, make_adobe_rgb_profile(), False)]
    )
    profile = ProcessingProfile.model_validate(
        {"derivatives": {"access": 300, "preview": 120, "thumb": 40}, "iiif": {"tile_size": 128}}
    )
    with_tiles = prepare_scan(
        data, name="a_front_1.tif", view="front", profile=profile, iiif_id="http://h/iiif/x"
    )
    without = prepare_scan(data, name="a_front_1.tif", view="front", profile=profile, iiif_id=None)
    assert with_tiles.tiles is not None
    tile = next(content for path, content in with_tiles.tiles.files if path.startswith("0,0,"))
    for encoded in [
        *(d.data for d in with_tiles.derivatives),
        *(d.data for d in without.derivatives),
        tile,
    ]:
        image = Image.open(io.BytesIO(encoded))
        assert image.info.get("icc_profile") == SRGB_ICC  # derivatives embed sRGB
        middle = np.asarray(image.convert("RGB"))[image.height // 2, image.width // 2]
        assert delta_e(middle, (200, 80, 40)) < 2.5
    assert [d.data for d in with_tiles.derivatives] == [
        d.data
        for d in prepare_scan(
            data, name="a_front_1.tif", view="front", profile=profile, iiif_id="http://h/iiif/x"
        ).derivatives
    ]


def test_untagged_is_treated_as_srgb_and_left_alone():
    pixels = gradient_rgb(40, 30)
    scan = decode(encode(pixels, "PNG"), "x_front_1.png")
    _, convert = to_upright_pixels(scan)
    assert convert is None
    assert np.array_equal(to_display_array(scan), pixels)
    assert scan.warnings == []


def test_an_srgb_tagged_scan_is_not_transformed_again():
    pixels = gradient_rgb(40, 30)
    scan = decode(encode(pixels, "PNG", icc_profile=SRGB_ICC), "x_front_1.png")
    _, convert = to_upright_pixels(scan)
    assert convert is None  # LittleCMS's own probe found it sRGB already
    assert np.abs(to_display_array(scan).astype(int) - pixels).max() <= 1


@pytest.mark.parametrize(
    "profile",
    [
        b"garbage" * 30,
        make_adobe_rgb_profile()[:200],  # truncated
    ],
)
def test_broken_profile_is_a_warning_on_the_record_not_a_rejection(profile):
    pixels = gradient_rgb(40, 30)
    data = tiff(pixels, photometric="rgb", extratags=[(34675, 7, None, profile, False)])
    scan = decode(data)
    assert scan.warnings and any("ICC" in w or "colour" in w for w in scan.warnings)
    assert np.array_equal(to_display_array(scan), pixels)  # treated as sRGB


def test_a_grey_profile_on_rgb_pixels_is_a_warning():
    profile = build_profile(b"GRAY", "Grey gamma 2.2", [(b"kTRC", gamma_tag(2.2))])
    pixels = gradient_rgb(40, 30)
    scan = decode(encode(pixels, "PNG", icc_profile=profile), "x_front_1.png")
    out = to_display_array(scan)
    assert np.array_equal(out, pixels)
    assert any("GRAY" in w for w in scan.warnings)
