"""The bucket's layout: each key pinned to the bytes stored today, and spelled in one module."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from pipeline.core import layout

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("pipeline", "workers", "config", "schemas")
LAYOUT_MODULE = ROOT / "pipeline" / "core" / "layout.py"
SLUG = "hm.1998.45-pl"
SCAN = "ab" * 32


def test_every_key_is_the_key_stored_today() -> None:
    # Changing one of these moves objects already in museums' buckets: never do it silently.
    assert layout.master_key(SLUG, SCAN, "tif") == f"masters/{SLUG}/{SCAN}.tif"
    assert layout.derivative_key(SLUG, SCAN, "thumb") == f"derivatives/{SLUG}/{SCAN}/thumb.jpg"
    assert layout.scans_prefix(SLUG) == f"scans/{SLUG}/"
    assert layout.scan_record_key(SLUG, SCAN) == f"scans/{SLUG}/{SCAN}.json"
    assert layout.iiif_base_key(SCAN) == f"iiif/{SCAN}"
    assert layout.iiif_base_url("https://x.org/b/") == "https://x.org/b/iiif"
    assert layout.record_key(SLUG) == f"records/{SLUG}.json"
    assert layout.inventory_key(SLUG) == f"inventory/{SLUG}.json"
    assert layout.manifest_key(SLUG) == f"manifests/{SLUG}.json"
    assert layout.view_claims_key(SLUG) == f"names/{SLUG}.json"
    assert layout.report_key("20250301-a1b2c3", "csv") == "reports/20250301-a1b2c3.csv"
    hue = datetime(2026, 11, 28, 3, 30, tzinfo=timezone(timedelta(hours=7)))
    assert layout.fixity_report_keys(hue) == [
        "reports/fixity/20261127.json",
        "reports/fixity/20261127.csv",
    ]
    assert layout.fixity_report_keys(datetime(2026, 1, 2, tzinfo=UTC))[0].endswith("20260102.json")
    assert layout.session_key("c0123", "0123456789abcdef") == "sessions/c0123/0123456789abcdef.json"
    shot = datetime(2026, 3, 4, 9, 12, 5)
    key = layout.session_index_key("c0123", shot, SLUG, SCAN, reference=True)
    assert key == f"sessions/index/c0123/20260304t091205/{SLUG}/{SCAN}.r"
    assert layout.from_session_index_key(key) == ("c0123", shot, SLUG, SCAN, True)
    folder = layout.session_index_key("f9", None, SLUG, SCAN, reference=False)
    assert layout.from_session_index_key(folder) == ("f9", None, SLUG, SCAN, False)
    assert layout.from_session_index_key(layout.record_key(SLUG)) is None


def test_prefixes_are_the_ones_stored_today() -> None:
    assert layout.ALL_PREFIXES == (
        "masters/",
        "derivatives/",
        "iiif/",
        "scans/",
        "records/",
        "inventory/",
        "manifests/",
        "reports/",
        "names/",
        "sessions/",
        "incoming/",
    )
    assert layout.PUBLIC_PREFIXES == ("iiif/", "derivatives/", "manifests/")
    assert layout.SIGNABLE_PREFIXES == ("derivatives/",)
    # Private stays private: no prefix holding masters, GPS, shelf locations or reports is public.
    private_prefixes = ("masters/", "scans/", "records/", "inventory/", "reports/", "names/")
    for private in (*private_prefixes, "sessions/"):
        assert private not in layout.PUBLIC_PREFIXES
        assert private not in layout.SIGNABLE_PREFIXES


def test_a_record_key_gives_back_its_object_and_nothing_else_does() -> None:
    assert layout.to_object_slug_of(layout.record_key(SLUG)) == SLUG
    for key in ("records/.json", "records/a/b.json", "records/a.txt", "scans/a.json", "a.json"):
        assert layout.to_object_slug_of(key) is None


def test_a_scan_record_key_gives_back_its_object_and_scan_and_nothing_else_does() -> None:
    assert layout.to_scan_of(layout.scan_record_key(SLUG, SCAN)) == (SLUG, SCAN)
    for key in ("scans/a.json", "scans//b.json", "scans/a/b/c.json", "scans/a/.json", "x/a/b.json"):
        assert layout.to_scan_of(key) is None


@pytest.mark.parametrize("batch_id", ["../etc/passwd", "", ".hidden", "a b", "x" * 129])
def test_a_report_key_refuses_a_batch_id_that_is_not_key_safe(batch_id: str) -> None:
    assert not layout.is_valid_batch_id(batch_id)
    with pytest.raises(ValueError, match="cannot name a report"):
        layout.report_key(batch_id, "json")


def _spelled_prefixes(path: Path, base: Path = ROOT) -> list[str]:
    """Each string literal (f-string pieces too, docstrings not) that starts with a prefix."""
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        f"{path.relative_to(base)}:{node.lineno}: {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
        and node.value.startswith(layout.ALL_PREFIXES)
    ]


def test_only_the_layout_module_spells_the_buckets_prefixes() -> None:
    found = [
        where
        for folder in SOURCE_DIRS
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path != LAYOUT_MODULE
        for where in _spelled_prefixes(path)
    ]
    assert not found, "ask pipeline.core.layout for keys and prefixes:\n" + "\n".join(found)


def test_the_spelling_check_finds_a_spelled_prefix(tmp_path: Path) -> None:
    # The check above passes on an empty result: prove it would see a key spelled elsewhere.
    probe = tmp_path / "probe.py"
    probe.write_text(
        '"""records/ in a docstring is fine."""\n'
        'KEY = f"records/{1}.json"\n'
        'PREFIX = ("scans/", "data/masters/")\n'
    )
    assert _spelled_prefixes(probe, tmp_path) == ["probe.py:2: 'records/'", "probe.py:3: 'scans/'"]
