import unicodedata

import pytest

from pipeline.core.naming import (
    compile_pattern,
    fold_diacritics,
    is_ignored_name,
    parse_scan_name,
    to_object_slug,
)
from pipeline.errors import BadNameError

PATTERN = "{accession}_{view}_{seq}"


def test_fold_diacritics_handles_d_with_stroke():
    assert fold_diacritics("Đồ gốm Huế đẹp") == "Do gom Hue dep"


@pytest.mark.parametrize(
    ("accession", "slug"),
    [
        ("BTCVH.GS.0012", "btcvh.gs.0012"),
        ("HM.1998.45/PL", "hm.1998.45-pl"),
        ("HM.1998.45-PL", "hm.1998.45-pl"),
        ("BTCVH.ĐS.0031", "btcvh.ds.0031"),
        ("  hm 12 / a  ", "hm-12-a"),
    ],
)
def test_object_slug_is_key_safe_and_matches_inventory_and_file_forms(accession, slug):
    assert to_object_slug(accession) == slug


def test_object_slug_is_the_same_for_nfc_and_nfd():
    nfc = "BTCVH.ĐỒ.1"
    assert to_object_slug(unicodedata.normalize("NFD", nfc)) == to_object_slug(nfc)


def test_object_slug_refuses_a_name_without_letters_or_digits():
    with pytest.raises(ValueError, match="no letters or digits"):
        to_object_slug("/// ")


def test_parse_keeps_underscores_in_the_accession_and_reads_view_and_seq():
    parsed = parse_scan_name("BTCVH_GS.0012_back_3.tif", PATTERN)
    assert (parsed.accession, parsed.view, parsed.seq) == ("BTCVH_GS.0012", "back", 3)
    assert parsed.object_slug == "btcvh-gs.0012"


def test_parse_recognises_vietnamese_views_in_nfd():
    name = unicodedata.normalize("NFD", "BTCVH.GS.0001_trước_1.jpg")
    parsed = parse_scan_name(name, PATTERN)
    assert parsed.view == "front"
    assert parsed.view_known


def test_parse_keeps_unknown_views_and_says_so():
    parsed = parse_scan_name("A.1_inside_2.tif", PATTERN)
    assert parsed.view == "inside"
    assert not parsed.view_known


def test_a_name_off_the_pattern_is_a_bad_name_with_a_remedy():
    with pytest.raises(BadNameError) as info:
        parse_scan_name("IMG0001.jpg", PATTERN)
    assert info.value.code == "BAD_NAME"
    assert "IMG0001.jpg" in info.value.message
    assert "rename it" in info.value.message


def test_custom_pattern_with_other_separators():
    regex = compile_pattern("{accession}-{view}-{seq}")
    assert regex.match("HM.12-front-1").groupdict() == {
        "accession": "HM.12",
        "view": "front",
        "seq": "1",
    }


@pytest.mark.parametrize(
    "name", [".DS_Store", "Thumbs.db", "~$inventory.xlsx", "scan.tif.part", ".hidden.tif", "a.csv"]
)
def test_system_temporary_and_hidden_files_are_ignored(name):
    assert is_ignored_name(name)


@pytest.mark.parametrize("name", ["A.1_front_1.tif", "notes.txt", "A.1_front_1.jpg.json"])
def test_other_files_are_tried(name):
    assert not is_ignored_name(name)
