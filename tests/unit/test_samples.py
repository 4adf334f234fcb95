"""Tests the sample collection generator: files, metadata, inventory, pixels and ICC profiles."""

from __future__ import annotations

import csv
import io
import os
import struct
import unicodedata
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageCms, ImageOps

from pipeline.samples import (
    ADOBE_RGB,
    KINDS,
    SRGB,
    VIEW_WORDS_VI,
    VIEWS,
    SampleCollection,
    SampleScan,
    frame_size,
    generate_collection,
    make_adobe_rgb_profile,
    make_rgb_profile,
    make_srgb_profile,
    render_artefact,
    to_file_accession,
)
from pipeline.samples.icc import encode_adobe_rgb16
from schemas import inventory_columns

SIZE = 400
ICC_TAG = 34675
ORIENTATION_TAG = 0x0112
# Close-ups (a detail, a seal mark) may be filled by the object right to the corners.
CLOSE_UPS = frozenset({"detail", "mark"})


@pytest.fixture(scope="module")
def collection(tmp_path_factory: pytest.TempPathFactory) -> SampleCollection:
    return generate_collection(tmp_path_factory.mktemp("first"), size=SIZE)


def read_pixels(scan: SampleScan) -> np.ndarray:
    """The stored pixels as floats in [0, 1], (height, width, 3)."""
    if scan.format == "TIFF":
        pixels = tifffile.imread(scan.path)
    else:
        with Image.open(scan.path) as image:
            pixels = np.asarray(image.convert("RGB"))
    return pixels.astype(np.float64) / np.iinfo(pixels.dtype).max


def profile_description(icc: bytes) -> str:
    return ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))).strip()


def embedded_profile(scan: SampleScan) -> bytes | None:
    if scan.format == "TIFF":
        with tifffile.TiffFile(scan.path) as tif:
            tag = tif.pages.first.tags.get(ICC_TAG)
            return bytes(tag.value) if tag is not None else None
    with Image.open(scan.path) as image:
        return image.info.get("icc_profile")


def by_accession(scans: list[SampleScan]) -> dict[str, list[SampleScan]]:
    groups: dict[str, list[SampleScan]] = defaultdict(list)
    for scan in scans:
        groups[scan.accession].append(scan)
    return groups


def test_same_seed_and_size_give_byte_identical_files(
    collection: SampleCollection, tmp_path: Path
) -> None:
    again = generate_collection(tmp_path, size=SIZE)
    first = sorted(os.listdir(collection.root))
    assert sorted(os.listdir(again.root)) == first
    different = [
        name
        for name in first
        if (collection.root / name).read_bytes() != (tmp_path / name).read_bytes()
    ]
    assert different == []


def test_another_seed_gives_other_pixels(collection: SampleCollection, tmp_path: Path) -> None:
    first = collection.scans[0]
    other = generate_collection(tmp_path, seed=7, size=SIZE, only={first.accession})
    second = other.scans[0]
    assert first.path.name == second.path.name
    assert first.path.read_bytes() != second.path.read_bytes()


def test_some_objects_alone_are_the_same_files_as_in_the_whole_collection(
    collection: SampleCollection, tmp_path: Path
) -> None:
    wanted = {"BTCVH.GS.0012", "HM.1998.45/PL"}
    part = generate_collection(tmp_path, size=SIZE, only=wanted)
    expected = sorted(s.path.name for s in collection.scans if s.accession in wanted)
    assert sorted(s.path.name for s in part.scans) == expected
    assert len(expected) >= 4
    for scan in part.scans:
        assert scan.path.read_bytes() == (collection.root / scan.path.name).read_bytes()
    # The inventory stays whole: the objects left out are still catalogued.
    assert part.inventory_csv.read_bytes() == collection.inventory_csv.read_bytes()


def test_collection_has_twelve_artefacts_or_more_with_two_to_four_scans(
    collection: SampleCollection,
) -> None:
    groups = by_accession(collection.scans)
    assert len(groups) >= 12
    counts = {accession: len(scans) for accession, scans in groups.items()}
    assert all(2 <= count <= 4 for count in counts.values()), counts
    assert {scan.view for scan in collection.scans} <= set(VIEWS)
    assert all(
        scan.path.is_file() and scan.path.parent == collection.root for scan in collection.scans
    )


def test_file_names_follow_the_museum_convention(collection: SampleCollection) -> None:
    english_of = {word: view for view, word in VIEW_WORDS_VI.items()} | {v: v for v in VIEWS}
    seqs: dict[tuple[str, str], list[int]] = defaultdict(list)
    for scan in collection.scans:
        name = unicodedata.normalize("NFC", scan.path.name)
        stem, ext = name.rsplit(".", 1)
        accession_part, view_word, seq = stem.rsplit("_", 2)
        assert accession_part == to_file_accession(scan.accession)
        assert "/" not in accession_part and " " not in accession_part
        assert english_of[view_word] == scan.view
        assert ext == {"TIFF": "tif", "JPEG": "jpg"}[scan.format]
        seqs[(scan.accession, scan.view)].append(int(seq))
    assert all(sorted(s) == list(range(1, len(s) + 1)) for s in seqs.values()), seqs
    assert any("/" in scan.accession for scan in collection.scans)
    assert any(" " in scan.accession for scan in collection.scans)
    assert any("Đ" in scan.accession for scan in collection.scans)
    assert any(seq == 2 for s in seqs.values() for seq in s)


def test_one_object_is_named_in_nfd_the_rest_in_nfc(collection: SampleCollection) -> None:
    names = [name for name in os.listdir(collection.root) if name != "inventory.csv"]
    nfd = [
        n
        for n in names
        if unicodedata.is_normalized("NFD", n) and not unicodedata.is_normalized("NFC", n)
    ]
    assert nfd, "no file name is written in NFD"
    assert all(unicodedata.is_normalized("NFC", n) for n in names if n not in nfd)
    assert all(unicodedata.is_normalized("NFC", scan.accession) for scan in collection.scans)


def test_adobe_rgb_scans_are_16_bit_rgb_tiffs_with_the_profile(
    collection: SampleCollection,
) -> None:
    adobe = [scan for scan in collection.scans if scan.icc == ADOBE_RGB]
    assert len(adobe) >= 3
    for scan in adobe:
        assert (scan.format, scan.bit_depth) == ("TIFF", 16)
        with tifffile.TiffFile(scan.path) as tif:
            page = tif.pages.first
            assert page.dtype == np.uint16
            assert page.photometric == tifffile.PHOTOMETRIC.RGB
            assert page.shape[-1] == 3
            assert profile_description(bytes(page.tags[ICC_TAG].value)) == "Adobe RGB (1998)"
        # Real 16-bit data, not 8-bit values scaled up.
        assert np.any(tifffile.imread(scan.path) % 257 != 0)


def test_8_bit_scans_are_tagged_srgb_or_untagged_as_declared(collection: SampleCollection) -> None:
    eight_bit = [scan for scan in collection.scans if scan.bit_depth == 8]
    assert {scan.icc for scan in eight_bit} == {SRGB, None}
    assert {scan.format for scan in eight_bit} == {"TIFF", "JPEG"}
    for scan in eight_bit:
        assert read_pixels(scan).shape[-1] == 3
        profile = embedded_profile(scan)
        if scan.icc == SRGB:
            assert profile is not None and "sRGB" in profile_description(profile)
        else:
            assert profile is None


def test_rotated_jpegs_carry_the_orientation_and_show_upright(
    collection: SampleCollection,
) -> None:
    rotated = [scan for scan in collection.scans if scan.exif_orientation not in (None, 1)]
    assert {scan.exif_orientation for scan in rotated} >= {3, 6, 8}
    for scan in rotated:
        assert scan.format == "JPEG"
        with Image.open(scan.path) as image:
            exif = image.getexif()
            assert exif[ORIENTATION_TAG] == scan.exif_orientation
            assert exif[0x010F] and exif[0x0110]
            assert exif.get_ifd(0x8769)[0x9003].startswith("2024:")
            upright = np.asarray(ImageOps.exif_transpose(image).convert("L"), dtype=float)
        # The studio sweep is lit from above: an upright photo is lighter at the top.
        band = upright.shape[0] // 12
        assert upright[:band].mean() > upright[-band:].mean() + 5
        kind_is_portrait = upright.shape[0] > upright.shape[1]
        stored_is_portrait = Image.open(scan.path).height > Image.open(scan.path).width
        assert kind_is_portrait != stored_is_portrait or scan.exif_orientation == 3


def test_inventory_has_the_schema_columns_and_a_row_per_scanned_object(
    collection: SampleCollection,
) -> None:
    raw = collection.inventory_csv.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    with collection.inventory_csv.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == inventory_columns()
    records = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    accessions = [record["accession_number"] for record in records]
    assert len(set(accessions)) == len(accessions)
    scanned = {scan.accession for scan in collection.scans}
    assert scanned <= set(accessions)
    assert set(accessions) - scanned, "every row has scans; one should not be photographed yet"
    for record in records:
        assert all(unicodedata.is_normalized("NFC", value) for value in record.values())
        assert record["name_vi"] and record["name_en"] and record["material"]
        assert "(" in record["period"] and "–" in record["period"]
    materials = {record["material"] for record in records}
    assert {"gốm sứ", "đồng", "pháp lam", "giấy", "vải"} <= materials
    assert len(materials) >= 8


def test_images_have_texture_and_a_grey_backdrop(collection: SampleCollection) -> None:
    for scan in collection.scans:
        pixels = read_pixels(scan)
        assert pixels.std() > 0.05, scan.path.name
        # Sensor noise and surface detail: neighbouring pixels differ.
        assert np.abs(np.diff(pixels, axis=1)).mean() > 0.002, scan.path.name
        if scan.view in CLOSE_UPS:
            continue
        patch = max(4, pixels.shape[0] // 25)
        for corner in (
            pixels[:patch, :patch],
            pixels[:patch, -patch:],
            pixels[-patch:, :patch],
            pixels[-patch:, -patch:],
        ):
            r, g, b = corner.reshape(-1, 3).mean(axis=0)
            assert max(r, g, b) - min(r, g, b) < 0.02, (scan.path.name, r, g, b)
            assert 0.15 < g < 0.85, (scan.path.name, g)


def test_image_sizes_are_4_3_at_the_requested_long_edge(collection: SampleCollection) -> None:
    for scan in collection.scans:
        height, width = read_pixels(scan).shape[:2]
        assert max(height, width) == SIZE
        assert min(height, width) == SIZE * 3 // 4


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_small(kind: str) -> None:
    size = frame_size(kind, 160)
    image = render_artefact(kind, size=size, view="front", rng=np.random.default_rng(1))
    assert image.dtype == np.float32
    assert image.shape == (size[1], size[0], 3)
    assert image.min() >= 0.0 and image.max() <= 1.0
    assert image.std() > 0.03


def test_views_of_one_object_differ() -> None:
    size = frame_size("vase", 200)
    front, back = (
        render_artefact("vase", size=size, view=view, rng=np.random.default_rng(3))
        for view in ("front", "back")
    )
    assert np.abs(front - back).mean() > 0.005


def test_render_refuses_unknown_kind_view_and_palette() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="kind"):
        render_artefact("teapot", size=(80, 60), view="front", rng=rng)
    with pytest.raises(ValueError, match="view"):
        render_artefact("vase", size=(60, 80), view="inside", rng=rng)
    with pytest.raises(ValueError, match="palette"):
        render_artefact("vase", size=(60, 80), view="front", rng=rng, palette="plastic")


def test_adobe_rgb_profile_opens_and_converts_like_adobe_rgb() -> None:
    data = make_adobe_rgb_profile()
    assert struct.unpack(">I", data[:4])[0] == len(data)
    assert data[8:12] == bytes([2, 0x10, 0, 0])
    assert data[12:24] == b"mntrRGB XYZ "
    assert data[36:40] == b"acsp"
    adobe = ImageCms.ImageCmsProfile(io.BytesIO(data))
    assert ImageCms.getProfileDescription(adobe).strip() == "Adobe RGB (1998)"
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))

    def convert(rgb: tuple[int, int, int]) -> tuple[int, ...]:
        converted = ImageCms.profileToProfile(Image.new("RGB", (1, 1), rgb), adobe, srgb)
        assert converted is not None
        return tuple(np.asarray(converted)[0, 0].tolist())

    r, g, b = convert((0, 255, 0))
    assert r <= 3 and g >= 252 and b <= 3
    grey = convert((128, 128, 128))
    assert max(grey) - min(grey) <= 2
    # Adobe's red is sRGB's red; a mid Adobe red is darker than its sRGB twin would be.
    assert convert((255, 0, 0))[0] >= 252


def test_adobe_rgb_colorants_match_the_published_profile() -> None:
    profile = ImageCms.ImageCmsProfile(io.BytesIO(make_adobe_rgb_profile())).profile
    expected = {
        "red_colorant": (0.6097, 0.3111, 0.0195),
        "green_colorant": (0.2053, 0.6257, 0.0609),
        "blue_colorant": (0.1492, 0.0632, 0.7446),
    }
    for name, xyz in expected.items():
        assert np.allclose(getattr(profile, name)[0], xyz, atol=5e-4), name


def test_make_rgb_profile_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="3 primaries"):
        make_rgb_profile("Two", ((0.64, 0.33), (0.3, 0.6)), (0.3127, 0.329), 2.2)
    with pytest.raises(ValueError, match="ASCII"):
        make_rgb_profile("Màu", ((0.64, 0.33), (0.3, 0.6), (0.15, 0.06)), (0.3127, 0.329), 2.2)


def test_adobe_encoding_agrees_with_littlecms_and_the_profile() -> None:
    rng = np.random.default_rng(11)
    srgb8 = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    srgb8[0, :4] = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]]
    adobe16 = encode_adobe_rgb16(srgb8 / 255.0)
    assert adobe16.dtype == np.uint16
    ours = np.round(adobe16 / 257).astype(int)
    adobe = ImageCms.ImageCmsProfile(io.BytesIO(make_adobe_rgb_profile()))
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    theirs = np.asarray(ImageCms.profileToProfile(Image.fromarray(srgb8), srgb, adobe)).astype(int)
    assert np.abs(ours - theirs).max() <= 1
    # sRGB's green is a mixture in Adobe RGB (about 144, 255, 60): its green is wider.
    red, green, blue = adobe16[0, 1] / 257
    assert 134 < red < 154 and green == 255 and 50 < blue < 70
    assert adobe16[0, 3].tolist() == [65535, 65535, 65535]


def test_srgb_profile_bytes_do_not_depend_on_the_clock() -> None:
    first = make_srgb_profile()
    assert first == make_srgb_profile()
    assert struct.unpack(">6H", first[24:36]) == (2025, 1, 1, 0, 0, 0)
    assert "sRGB" in profile_description(first)
