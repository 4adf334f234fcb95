"""The public contract: JSON Schemas (2020-12) of records, scan records and inventory rows."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def load_schema(name: str) -> dict[str, Any]:
    """Return the schema `schemas/{name}.schema.json` as a dict."""
    text = resources.files(__package__).joinpath(f"{name}.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def inventory_columns() -> list[str]:
    """The inventory sheet's columns, in template order (defined once, in the schema)."""
    return list(load_schema("inventory")["properties"])
