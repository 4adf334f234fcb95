import unicodedata

import pytest

from pipeline.core.search_text import (
    MAX_QUERY_WORDS,
    has_diacritics,
    parse_query,
    split_words,
    to_accession_key,
    to_exact_text,
    to_facet_key,
    to_facet_value,
    to_folded_text,
    to_sort_key,
)


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Đồ gốm Huế", "do gom hue"),
        ("ĐẠI NỘI", "dai noi"),
        ("Thừa Thiên", "thua thien"),
        ("đường dương đương", "duong duong duong"),
        ("Ngọc Ấn Tự Đức", "ngoc an tu duc"),
    ],
)
def test_folded_text_drops_diacritics_and_case_and_folds_d_with_stroke(text, folded):
    assert to_folded_text(text) == folded


def test_folded_and_exact_text_are_the_same_for_nfc_and_nfd():
    text = "Bình gốm men lam Đồng Khánh"
    assert to_folded_text(nfd(text)) == to_folded_text(text) == "binh gom men lam dong khanh"
    assert to_exact_text(nfd(text)) == to_exact_text(text) == "bình gốm men lam đồng khánh"
    assert unicodedata.is_normalized("NFC", to_exact_text(nfd(text)))


def test_exact_text_keeps_diacritics_and_lowers_d_with_stroke():
    assert to_exact_text("ĐƯỜNG Huế") == "đường huế"


def test_split_words_cuts_at_punctuation_and_drops_query_syntax():
    assert split_words('HM.1998.45/PL "gốm"* (NEAR) -sứ') == [
        "HM", "1998", "45", "PL", "gốm", "NEAR", "sứ",
    ]  # fmt: skip


def test_split_words_keeps_a_decomposed_word_whole():
    assert split_words(nfd("Huế, Thừa Thiên")) == [nfd("Huế"), nfd("Thừa"), nfd("Thiên")]


def test_has_diacritics_counts_d_with_stroke():
    assert has_diacritics("đo")
    assert has_diacritics("Huế")
    assert not has_diacritics("Hue")


@pytest.mark.parametrize(
    "typed", ["hm.1998.45/pl", "HM.1998.45-PL", " HM.1998.45 / PL ", "HM.1998.45/PL"]
)
def test_accession_forms_normalise_to_one_key(typed):
    assert to_accession_key(typed) == "hm.1998.45-pl"


def test_accession_key_folds_vietnamese_letters_and_nfd():
    assert to_accession_key(nfd("BTCVH.ĐS.0031")) == "btcvh.ds.0031"


def test_accession_key_of_punctuation_alone_is_none():
    assert to_accession_key("./-") is None


def test_facet_key_merges_case_spacing_and_diacritics_but_value_keeps_them():
    assert to_facet_key(" Gốm   sứ ") == to_facet_key("gom su") == "gom su"
    assert to_facet_value(nfd(" Gốm   sứ ")) == "Gốm sứ"


def test_sort_key_orders_numbers_by_value_and_ignores_diacritics():
    keys = ["HM.10", "HM.2", "hm.1", "Đĩa", "Bình", "HM.002a"]
    assert sorted(keys, key=to_sort_key) == ["Bình", "Đĩa", "hm.1", "HM.2", "HM.002a", "HM.10"]


def test_parse_query_folds_words_and_keeps_exact_forms_only_for_diacritic_words():
    query = parse_query(nfd("Đường  hue"))
    assert [w.folded for w in query.words] == ["duong", "hue"]
    assert [w.exact for w in query.words] == ["đường", None]
    assert [w.exact for w in query.exact] == ["đường"]
    assert query.accession_key == "duong-hue"


def test_parse_query_of_syntax_alone_is_empty():
    for text in ['"', "()", "*", " - ", "", "\u0301"]:
        query = parse_query(text)
        assert query.is_empty, text
        assert query.accession_key is None


def test_parse_query_marks_only_the_last_word_as_a_prefix_while_typing():
    typing = parse_query("bình gố", prefix_last=True)
    assert [w.prefix for w in typing.words] == [False, True]
    finished = parse_query("bình gốm ", prefix_last=True)
    assert [w.prefix for w in finished.words] == [False, False]
    assert [w.prefix for w in parse_query("bình gố").words] == [False, False]


def test_parse_query_bounds_the_number_of_words():
    assert len(parse_query("gốm " * 100).words) == MAX_QUERY_WORDS
