"""Read the archivists' inventory sheet (CSV or XLSX) into rows, reporting every bad row; pure."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline.core.naming import to_nfc, to_object_slug

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class InventoryRow(BaseModel):
    """One row of the archivists' inventory (columns in schemas/inventory.schema.json)."""

    model_config = ConfigDict(extra="forbid")

    accession_number: str = Field(min_length=1, max_length=200)
    name_vi: str = ""
    name_en: str = ""
    object_type: str = ""
    material: str = ""
    period: str = ""
    date_range: str = ""
    dimensions: str = ""
    provenance: str = ""
    current_location: str = ""
    rights: str = ""
    notes: str = ""


@dataclass(frozen=True)
class InventoryProblem:
    """A row (or the header) that could not be used, with its line number and why."""

    line: int
    message: str


@dataclass
class Inventory:
    """The usable rows, keyed by object slug, and every problem found on the way."""

    rows: dict[str, InventoryRow] = field(default_factory=dict)
    problems: list[InventoryProblem] = field(default_factory=list)


def parse_inventory(data: bytes, *, columns: list[str]) -> Inventory:
    """Parse an inventory sheet, CSV or XLSX (told apart by its bytes, not its name)."""
    if data[:4] == b"PK\x03\x04":
        return parse_inventory_xlsx(data, columns=columns)
    return parse_inventory_csv(data, columns=columns)


def parse_inventory_csv(data: bytes, *, columns: list[str]) -> Inventory:
    """Parse a CSV inventory; good rows load even when others are bad."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        result = Inventory()
        result.problems.append(
            InventoryProblem(0, f"the sheet is not UTF-8 ({exc}); save it as 'CSV UTF-8'")
        )
        return result
    reader = csv.reader(io.StringIO(text, newline=""))
    return _parse_rows(((reader.line_num, row) for row in reader), columns=columns)


def parse_inventory_xlsx(data: bytes, *, columns: list[str]) -> Inventory:
    """Parse the first worksheet of an XLSX inventory (values, not formulas)."""
    # Imported here: openpyxl takes ~0.35 s to import, and every reader of records (API,
    # workers) imports this module for InventoryRow without ever reading a workbook.
    import openpyxl

    # openpyxl parses the workbook's XML through defusedxml when it is installed (it is).
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:
        result = Inventory()
        result.problems.append(
            InventoryProblem(0, f"the workbook cannot be read ({type(exc).__name__}); save it "
                             "again from the spreadsheet program, or export it as CSV UTF-8")
        )  # fmt: skip
        return result
    try:
        sheet = book.worksheets[0]
        rows = (
            (number, ["" if cell is None else _cell_text(cell) for cell in row])
            for number, row in enumerate(sheet.iter_rows(values_only=True), start=1)
        )
        return _parse_rows(rows, columns=columns)
    finally:
        book.close()


def _cell_text(value: object) -> str:
    # Whole numbers typed into a spreadsheet come back as floats; "1998.0" is not what was meant.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _parse_rows(rows: Iterator[tuple[int, list[str]]], *, columns: list[str]) -> Inventory:
    result = Inventory()
    first_row = next(rows, None)
    if first_row is None:
        result.problems.append(InventoryProblem(1, "the sheet is empty"))
        return result
    names = [_clean(h).lower().replace(" ", "_") for h in first_row[1]]
    if "accession_number" not in names:
        result.problems.append(
            InventoryProblem(1, f"no 'accession_number' column; expected columns: {columns}")
        )
        return result
    unknown = [h for h in names if h and h not in columns]
    if unknown:
        result.problems.append(InventoryProblem(1, f"unknown columns ignored: {unknown}"))
    first_line: dict[str, int] = {}
    for line, row in rows:
        if not any(cell.strip() for cell in row):
            continue
        values = {
            name: _clean(cell)
            for name, cell in zip(names, row, strict=False)
            if name in columns and cell.strip()
        }
        _add_row(result, values, line, first_line)
    return result


def _add_row(result: Inventory, values: dict[str, str], line: int, first: dict[str, int]) -> None:
    try:
        item = InventoryRow.model_validate(values)
        slug = to_object_slug(item.accession_number)
    except ValidationError as exc:
        why = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'row'}: {err['msg']}" for err in exc.errors()
        )
        result.problems.append(InventoryProblem(line, why))
        return
    except ValueError as exc:
        result.problems.append(InventoryProblem(line, str(exc)))
        return
    if slug in first:
        result.problems.append(
            InventoryProblem(
                line,
                f"accession number {item.accession_number!r} repeats line {first[slug]} "
                "(or differs only in case, accents or separators); keep one row per object",
            )
        )
        return
    first[slug] = line
    result.rows[slug] = item


def _clean(value: str) -> str:
    return to_nfc(_CONTROL.sub("", value)).strip()
