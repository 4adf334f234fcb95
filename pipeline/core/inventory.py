"""Read the archivists' inventory sheet (CSV) into rows, reporting every bad row; pure."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from pydantic import ValidationError

from pipeline.core.naming import to_nfc, to_object_slug
from pipeline.core.records import InventoryRow

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


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


def parse_inventory_csv(data: bytes, *, columns: list[str]) -> Inventory:
    """Parse a CSV inventory; good rows load even when others are bad."""
    result = Inventory()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        result.problems.append(
            InventoryProblem(0, f"the sheet is not UTF-8 ({exc}); save it as 'CSV UTF-8'")
        )
        return result
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        result.problems.append(InventoryProblem(1, "the sheet is empty"))
        return result
    names = [_clean(h).lower().replace(" ", "_") for h in header]
    if "accession_number" not in names:
        result.problems.append(
            InventoryProblem(1, f"no 'accession_number' column; expected columns: {columns}")
        )
        return result
    unknown = [h for h in names if h and h not in columns]
    if unknown:
        result.problems.append(InventoryProblem(1, f"unknown columns ignored: {unknown}"))
    first_line: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
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
