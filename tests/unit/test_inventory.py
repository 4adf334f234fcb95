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


def xlsx(rows: list[list[object]]) -> bytes:
    import io

    import openpyxl

    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_an_xlsx_inventory_loads_like_the_csv_and_is_told_apart_by_its_bytes():
    from pipeline.core.inventory import parse_inventory

    data = xlsx(
        [
            ["accession_number", "name_vi", "date_range", "notes"],
            ["HM.1998.45/PL", "Bình pháp lam", 1830, None],
            [None, "Không số", None, None],
            ["HM.2", "Ấn ngọc", None, "=1+1 is kept as text"],
        ]
    )
    inventory = parse_inventory(data, columns=COLUMNS)
    assert sorted(inventory.rows) == ["hm.1998.45-pl", "hm.2"]
    assert inventory.rows["hm.1998.45-pl"].date_range == "1830"  # not "1830.0"
    assert [p.line for p in inventory.problems] == [3]
    assert parse_inventory(b"accession_number\nA.1\n", columns=COLUMNS).rows["a.1"]


def test_a_damaged_workbook_is_one_clear_problem():
    from pipeline.core.inventory import parse_inventory

    inventory = parse_inventory(b"PK\x03\x04" + b"\x00" * 100, columns=COLUMNS)
    assert not inventory.rows
    assert "export it as CSV UTF-8" in inventory.problems[0].message
