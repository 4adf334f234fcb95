"""Fixtures the unit modules of the catalogue index share; nothing here starts a service."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.adapters.sqlite_index import SqliteIndex


@pytest.fixture()
def index(tmp_path: Path) -> Iterator[SqliteIndex]:
    opened = SqliteIndex(tmp_path / "catalogue.sqlite3")
    try:
        yield opened
    finally:
        opened.close()
