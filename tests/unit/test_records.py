import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema

from pipeline.core.inventory import InventoryRow
from pipeline.core.records import (
    ArtefactRecord,
    DerivativeRef,
    ScanRecord,
    StoredObject,
    build_record,
    json_schemas,
)
from pipeline.core.session.framing import MeasuredSize
from schemas import inventory_columns, load_schema

SCHEMAS = Path(__file__).parents[2] / "schemas"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
T1 = datetime(2026, 1, 2, tzinfo=UTC)


def scan(view: str, seq: int, digit: str) -> ScanRecord:
    sha = digit * 64
    ref = DerivativeRef(
        bucket="b", key=f"d/{sha}", sha256=sha, size=1, media_type="image/jpeg", width=1, height=1
    )
    return ScanRecord(
        scan_id=sha,
        object="a.1",
        accession="A.1",
        view=view,
        seq=seq,
        source_names=[f"A.1_{view}_{seq}.tif"],
        format="TIFF",
        media_type="image/tiff",
        width=10,
        height=10,
        upright_width=10,
        upright_height=10,
        mode="RGB",
        bit_depth=8,
        pages=1,
        icc_profile=None,
        orientation=None,
        file_size=100,
        md5="0" * 32,
        master=StoredObject(bucket="b", key=f"m/{sha}", sha256=sha, size=100, media_type="x"),
        derivatives={"thumb": ref},
        profile="default",
        pipeline_version="0",
        processed_at=T0,
    )


def build(scans, inventory=None, previous=None, now=T0):
    return build_record(
        "a.1", scans, inventory, previous=previous, profile="default", pipeline_version="0", now=now
    )


def test_views_are_ordered_front_back_then_detail_whatever_the_arrival_order():
    record = build([scan("detail", 1, "c"), scan("back", 1, "b"), scan("front", 2, "e"),
                    scan("front", 1, "a")])  # fmt: skip
    assert [(v.view, v.seq) for v in record.views] == [
        ("front", 1), ("front", 2), ("back", 1), ("detail", 1)
    ]  # fmt: skip


def test_missing_inventory_and_view_clashes_are_warnings_on_the_record():
    record = build([scan("front", 1, "a"), scan("front", 1, "b")])
    assert any("No inventory row" in w for w in record.warnings)
    assert any("view front #1" in w for w in record.warnings)


def test_accession_comes_from_the_inventory_when_there_is_one():
    row = InventoryRow(accession_number="A/1", name_vi="Bình")
    assert build([scan("front", 1, "a")], row).accession_number == "A/1"


def test_an_unchanged_record_keeps_its_time_stamp_and_a_changed_one_moves():
    first = build([scan("front", 1, "a")])
    again = build([scan("front", 1, "a")], previous=first, now=T1)
    assert again is first
    changed = build([scan("front", 1, "a"), scan("back", 1, "b")], previous=first, now=T1)
    assert changed.updated_at == T1


def test_committed_schemas_match_the_models():
    for name, schema in json_schemas().items():
        committed = json.loads((SCHEMAS / f"{name}.schema.json").read_text("utf-8"))
        assert committed == schema, f"schemas/{name}.schema.json is stale: run `make schemas`"


def test_built_records_validate_against_the_committed_schema():
    record = build([scan("front", 1, "a")], InventoryRow(accession_number="A.1"))
    data = record.model_dump(mode="json")
    jsonschema.Draft202012Validator(load_schema("record")).validate(data)
    broken = {**data, "views": [{"scan_id": "nope"}]}
    assert list(jsonschema.Draft202012Validator(load_schema("record")).iter_errors(broken))


def test_inventory_model_and_schema_have_the_same_columns():
    assert list(InventoryRow.model_fields) == inventory_columns()
    assert ArtefactRecord.model_fields["inventory"] is not None


def test_accession_numbers_that_only_share_a_slug_are_reported_not_merged_silently():
    in_file = scan("front", 1, "a").model_copy(update={"accession": "HM-1"})  # "/" in a name
    same = build([in_file], InventoryRow(accession_number="hm/1"))
    assert not any("share this record" in w for w in same.warnings)
    other = scan("back", 1, "b").model_copy(update={"accession": "Ä.1"})
    clash = build([scan("front", 1, "a"), other])
    assert any("A.1, Ä.1" in w for w in clash.warnings)


def test_a_size_measured_against_the_chart_is_checked_against_the_inventory():
    measured = MeasuredSize(width_mm=140.0, height_mm=420.0, pixels_per_mm=5.0)
    charted = scan("front", 1, "1").model_copy(update={"measured_size": measured})
    agrees = InventoryRow(accession_number="HM.1998.45/PL", dimensions="Cao 41 cm; ĐK 14 cm")
    assert not [w for w in build([charted], agrees).warnings if "dimensions" in w]
    differs = InventoryRow(accession_number="HM.1998.45/PL", dimensions="Cao 30 cm")
    (warning,) = [w for w in build([charted], differs).warnings if "dimensions" in w]
    assert "height 42.0 cm measured, 30.0 cm listed" in warning
    assert build([charted], differs).views[0].measured_size == measured
