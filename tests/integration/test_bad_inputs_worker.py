"""The generated bad-input suite through a real worker: one batch, every file accounted for."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from pipeline.core.naming import parse_scan_name
from pipeline.services.models import ProcessScanTask
from schemas import load_schema
from tests.conftest import Stack
from tests.integration.test_containment import pool_pids
from tests.unit.test_bad_inputs import ACCEPTED, CASES, REJECTED, Case, expected_remedy
from workers import client

pytestmark = pytest.mark.integration

PATTERN = "{accession}_{view}_{seq}"


@pytest.fixture()
def outcomes(stack: Stack, tmp_path: Path) -> dict[str, tuple[Case, dict]]:
    """Every case written to one folder and sent as one batch to the stack's one worker."""
    drop = tmp_path / "drop"
    drop.mkdir()
    pids = pool_pids(stack)
    sent: dict[str, Case] = {}
    for case in CASES:
        path = drop / case.name
        path.write_bytes(case.make())
        sent[client.send_scan(ProcessScanTask(path=str(path), batch_id="bad-inputs"))] = case
    done = client.wait_for(list(sent), timeout=600, poll=0.3)
    assert set(done) == set(sent), "some files were never finished"
    # The pool is alive and whole: the worker answers and no child had to be replaced.
    assert stack.worker is not None and stack.worker.poll() is None
    assert client.is_answering(stack.worker_name or "")
    assert sorted(pool_pids(stack)) == sorted(pids)
    return {case.id: (case, done[task_id]) for task_id, case in sent.items()}


def test_every_bad_file_is_quarantined_and_every_sound_one_stored(
    stack: Stack, outcomes: dict[str, tuple[Case, dict]]
) -> None:
    """All of tests/unit/test_bad_inputs.py's CASES, written by the test, in one batch through
    one real worker; after it the worker answers and none of its children was replaced.

    Fault: a zero-byte file; text or random bytes named .jpg or .tif.
    Outcome: EMPTY_FILE, NOT_AN_IMAGE; message names the file and the remedy.
    Fault: a PNG named .jpg.
    Outcome: accepted; the format comes from the bytes (stored as PNG).
    Fault: JPEG, PNG and TIFF (plain, tiled, LZW) cut at several offsets, including a tiled TIFF
    that Pillow decodes without an error.
    Outcome: TRUNCATED (or CORRUPT when the header itself is gone), never stored.
    Fault: a PNG whose image data fails its CRC.
    Outcome: CORRUPT.
    Fault: decompression bombs: PNG, JPEG and TIFF of a few hundred bytes declaring up to 10
    gigapixels; PNG zTXt and iTXt chunks inflating to 200 MB.
    Outcome: PIXEL_LIMIT from the header, before any pixel is decoded; a text bomb is CORRUPT
    once Pillow's 1 MB text-chunk limit is reached, never inflated further.
    Fault: a two-page TIFF whose second page's data is garbled.
    Outcome: CORRUPT: every page is decoded, not only the first.
    Fault: EPS (also named .tif), PDF and PSD files.
    Outcome: UNSUPPORTED_FORMAT with what to export instead, refused from their first bytes
    before any decoder (or Ghostscript) runs.
    Fault: CMYK JPEG and TIFF, 16-bit grey PNG, 16-bit RGB TIFF, 32-bit float TIFF, a sound
    two-page TIFF.
    Outcome: accepted and stored, with 8-bit sRGB derivatives.
    Fault: broken EXIF, XMP, IPTC and ICC blocks in otherwise sound JPEGs.
    Outcome: accepted and stored, each with a warning on its scan record.
    """
    schema = jsonschema.Draft202012Validator(load_schema("quarantine"))
    problems: list[str] = []
    for case in REJECTED:
        _, result = outcomes[case.id]
        if result.get("status") != "quarantined" or result.get("code") not in case.codes:
            problems.append(f"{case.id}: {result.get('status')} {result.get('code')}")
            continue
        message = result["message"]
        if case.name not in message or expected_remedy(case, result["code"]) not in message:
            problems.append(f"{case.id}: message lacks the name or the remedy: {message}")
        reason_path = Path(result["quarantine_path"] + ".reason.json")
        reason = json.loads(reason_path.read_text("utf-8"))
        schema.validate(reason)
        assert reason["code"] == result["code"] and reason["name"] == case.name
        assert Path(result["quarantine_path"]).read_bytes() == Path(result["path"]).read_bytes()
    for case in ACCEPTED:
        _, result = outcomes[case.id]
        if result.get("status") != "stored":
            problems.append(f"{case.id}: {result.get('status')} {result.get('message')}")
            continue
        slug = parse_scan_name(case.name, PATTERN).object_slug
        found = stack.store.read_json(f"scans/{slug}/{result['scan_id']}.json")
        assert found is not None, case.id
        record = found[0]
        if case.format:
            assert record["format"] == case.format, case.id
        if case.warning:
            warnings = record["warnings"] + record["metadata"]["warnings"]
            if not any(case.warning in w for w in warnings):
                problems.append(f"{case.id}: no {case.warning} warning in {warnings}")
    assert problems == []
    # Nothing of a rejected file reached the bucket.
    stored = {key.split("/")[1] for key in stack.store.list_keys("masters/")}
    assert not any(slug.startswith("bad.") for slug in stored), stored
