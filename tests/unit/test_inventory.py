import unicodedata

from pipeline.core.inventory import parse_inventory_csv
from schemas import inventory_columns

COLUMNS = inventory_columns()


def parse(text: str):
    return parse_inventory_csv(text.encode("utf-8"), columns=COLUMNS)


def test_good_rows_load_and_bad_rows_are_reported_with_their_line():
    inventory = parse(
        "accession_number,name_vi,material\n"
        "BTCVH.GS.0001,Bình gốm,gốm sứ\n"
        ",Không số,đồng\n"
        "BTCVH.GS.0002,Bát,gốm sứ\n"
        "btcvh.gs.0001,Trùng,đồng\n"
    )
    assert sorted(inventory.rows) == ["btcvh.gs.0001", "btcvh.gs.0002"]
    assert [p.line for p in inventory.problems] == [3, 5]
    assert "accession_number" in inventory.problems[0].message
    assert "repeats line 2" in inventory.problems[1].message


def test_text_is_nfc_and_control_characters_are_removed():
    nfd = unicodedata.normalize("NFD", "Lư hương đồng")
    inventory = parse(f"accession_number,name_vi\nA.1,{nfd}\x07\n")
    assert inventory.rows["a.1"].name_vi == "Lư hương đồng"


def test_a_bom_and_unknown_columns_are_tolerated_and_reported():
    inventory = parse_inventory_csv(
        "\ufeffAccession_Number,Name VI,colour\nA.1,Đĩa,xanh\n".encode(), columns=COLUMNS
    )
    assert inventory.rows["a.1"].name_vi == "Đĩa"
    assert "colour" in inventory.problems[0].message


def test_no_accession_column_is_one_clear_problem():
    inventory = parse("name_vi\nBình\n")
    assert not inventory.rows
    assert "accession_number" in inventory.problems[0].message


def test_not_utf8_says_how_to_save_it():
    inventory = parse_inventory_csv("accession_number\nĐ.1\n".encode("cp1258"), columns=COLUMNS)
    assert "CSV UTF-8" in inventory.problems[0].message
