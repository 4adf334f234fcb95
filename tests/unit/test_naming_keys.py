"""Object keys are safe whatever the file name; the exact name is what the record keeps."""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pytest

from pipeline.core.layout import derivative_key, iiif_base_key, master_key, scan_record_key
from pipeline.core.naming import parse_scan_name, split_extension, to_object_slug
from pipeline.errors import BadNameError
from pipeline.services.quarantine import to_folder_name

PATTERN = "{accession}_{view}_{seq}"
SCAN_ID = "ab" * 32
HOSTILE = '#%+?\\{}^[]~<>|"'
# What a key may hold: the characters every S3 implementation and URL treat literally.
SAFE_KEY = re.compile(r"^[a-z0-9./-]+$")
SAFE_SEGMENT = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$")


def vietnamese_name(form: str, size: int = 255) -> str:
    """A file name of exactly `size` UTF-8 bytes, its accession written in Vietnamese."""
    suffix = "_front_1.tif"
    text = unicodedata.normalize(form, "Bình gốm men lam vẽ rồng thời Minh Mạng Đồng Khánh " * 20)
    head = text.encode()[: size - len(suffix)].decode("utf-8", "ignore").rstrip()
    head += "x" * (size - len(suffix) - len(head.encode()))
    name = head + suffix
    assert len(name.encode()) == size
    return name


def all_keys(slug: str, extension: str = "tif") -> list[str]:
    return [
        master_key(slug, SCAN_ID, extension),
        derivative_key(slug, SCAN_ID, "access"),
        scan_record_key(slug, SCAN_ID),
        f"records/{slug}.json",
        f"manifests/{slug}.json",
        iiif_base_key(SCAN_ID) + "/full/max/0/default.jpg",
    ]


def assert_safe(slug: str) -> None:
    assert SAFE_SEGMENT.fullmatch(slug), slug
    assert ".." not in slug and len(slug) <= 200
    for key in all_keys(slug):
        assert SAFE_KEY.fullmatch(key), key
        assert len(key.encode()) <= 1024


NAMES = [
    f"HM.1 {HOSTILE}_front_1.jpg",
    *[f"HM.1{ch}2_front_1.jpg" for ch in HOSTILE],
    "  HM.2_front_1.jpg",
    "HM.2_front_1.jpg  ",
    " HM.2_front_1.jpg. ",
    "HM.3_front_1.",
    "HM.3_front_1",
    "HM.1998.45-PL_trước_2",
    vietnamese_name("NFC"),
    vietnamese_name("NFD"),
]


@pytest.mark.parametrize("name", NAMES)
def test_any_file_name_gives_a_safe_key(name: str) -> None:
    parsed = parse_scan_name(name, PATTERN)
    assert_safe(parsed.object_slug)
    assert parsed.view in ("front", "back")


@pytest.mark.parametrize("char", list(HOSTILE))
def test_hostile_characters_never_reach_the_key(char: str) -> None:
    parsed = parse_scan_name(f"BTCVH{char}GS.0012_front_1.tif", PATTERN)
    assert parsed.object_slug == "btcvh-gs.0012"
    assert char in parsed.accession  # the accession as written is kept for the record


def test_spaces_trailing_dots_and_missing_extensions_are_not_fields() -> None:
    for name in ("  HM.2_front_1.jpg", "HM.2_front_1.jpg  ", " HM.2_front_1.jpg. "):
        parsed = parse_scan_name(name, PATTERN)
        assert (parsed.accession, parsed.object_slug, parsed.seq) == ("HM.2", "hm.2", 1)
    # No extension: the accession's own dots are not mistaken for one.
    for name in ("HM.3_front_1", "HM.3_front_1."):
        parsed = parse_scan_name(name, PATTERN)
        assert (parsed.accession, parsed.view, parsed.seq) == ("HM.3", "front", 1)
    assert split_extension("HM.3_front_1") == ("HM.3_front_1", "")
    assert split_extension("HM.3_front_1.TIFF") == ("HM.3_front_1", "TIFF")


def test_a_255_byte_vietnamese_name_in_nfc_and_nfd_gives_one_key() -> None:
    nfc, nfd = vietnamese_name("NFC"), vietnamese_name("NFD")
    assert nfc != nfd
    nfc_slug = parse_scan_name(nfc, PATTERN).object_slug
    assert nfc_slug.startswith("binh-gom-men-lam-ve-rong-thoi-minh-mang-dong-khanh")
    assert_safe(nfc_slug)
    # NFD (as macOS writes names) and NFC of one name are one object.
    nfd_slug = parse_scan_name(nfd, PATTERN).object_slug
    assert nfd_slug == parse_scan_name(unicodedata.normalize("NFC", nfd), PATTERN).object_slug
    assert nfd_slug.startswith("binh-gom-men-lam")
    assert_safe(parse_scan_name(nfd, PATTERN).object_slug)


def test_names_without_letters_or_the_pattern_are_refused_by_name() -> None:
    for name in (f"{HOSTILE}.jpg", f"{HOSTILE}_front_1.jpg", "   .jpg", "..", "_front_1"):
        with pytest.raises(BadNameError) as info:
            parse_scan_name(name, PATTERN)
        assert repr(name) in info.value.message
        assert "rename it" in info.value.message


def test_random_names_never_give_an_unsafe_key() -> None:
    rng = np.random.default_rng(2026)
    alphabet = list(HOSTILE + " ._-/abcXYZ019ăâđêôơưĐẤỳ\u0301\u0323\u200b\t")
    accepted = 0
    for _ in range(2000):
        accession = "".join(rng.choice(alphabet, size=int(rng.integers(1, 60))))
        name = f"{accession}_front_{int(rng.integers(1, 99))}.jpg".replace("/", "-")
        try:
            parsed = parse_scan_name(name, PATTERN)
        except BadNameError:
            continue
        accepted += 1
        assert_safe(parsed.object_slug)
    assert accepted > 1000


def test_long_slugs_are_cut_without_a_trailing_separator() -> None:
    slug = to_object_slug("A" * 199 + "-" + "B" * 50)
    assert len(slug) <= 200 and not slug.endswith(("-", "."))
    assert to_object_slug("x" * 199 + ".y") == "x" * 199


@pytest.mark.parametrize(
    ("batch_id", "folder"),
    [
        (None, "unbatched"),
        ("20260101-120000-abc123", "20260101-120000-abc123"),
        ("../../etc", "etc"),
        ("/abs/path", "abs-path"),
        ("..", "unbatched"),
        ("lô 1", "l-1"),
    ],
)
def test_quarantine_folders_stay_inside_the_quarantine(batch_id: str | None, folder: str) -> None:
    assert to_folder_name(batch_id) == folder
