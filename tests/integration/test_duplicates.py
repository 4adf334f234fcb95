"""Near-duplicate scans found among records a real worker stored in a real S3 server."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from pipeline.cli.inspect import duplicates_command
from pipeline.samples.render import frame_size, render_artefact
from pipeline.services.inspect import find_duplicate_scans
from tests.conftest import Stack

pytestmark = pytest.mark.integration


def photograph(kind: str, seed: int) -> Image.Image:
    rendered = render_artefact(
        kind, size=frame_size(kind, 800), view="front", rng=np.random.default_rng(seed)
    )
    return Image.fromarray((rendered * 255 + 0.5).astype(np.uint8))


def jpeg(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def blank_frame(seed: int) -> bytes:
    noise = np.random.default_rng(seed).normal(0, 1, (600, 800))
    return jpeg(Image.fromarray(np.clip(120 + noise, 0, 255).astype(np.uint8)).convert("RGB"))


def test_copies_are_paired_and_different_objects_are_not(stack: Stack, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    vase = photograph("vase", seed=1)
    original = jpeg(vase)
    files = {
        "DUP.1_front_1.jpg": original,
        # The same photograph resized and recompressed, filed under another accession.
        "DUP.2_front_1.jpg": jpeg(vase.resize((300, 400), Image.Resampling.LANCZOS), 60),
        "DUP.3_front_1.jpg": jpeg(photograph("lacquer_box", seed=2)),
        # The very same bytes under a third accession: one scan id, two scan records.
        "DUP.6_front_1.jpg": original,
        # Lens-cap shots all hash alike: they must not be reported as duplicates.
        "DUP.4_front_1.jpg": blank_frame(4),
        "DUP.5_front_1.jpg": blank_frame(5),
    }
    for name, data in files.items():
        (drop / name).write_bytes(data)
    done = stack.sohoa("ingest", str(drop), "--wait")
    assert done.returncode == 0, done.stdout + done.stderr
    stack.store.put_bytes("scans/dup.9/broken.json", b"{not json", content_type="application/json")

    result = find_duplicate_scans(stack.store)
    assert result.scanned == 4
    assert sorted(item.key.split("/")[1] for item in result.skipped) == ["dup.4", "dup.5", "dup.9"]
    assert any("not JSON" in item.reason for item in result.skipped)
    distances = {(p.a.object, p.b.object): p.distance for p in result.pairs}
    assert set(distances) == {("dup.1", "dup.2"), ("dup.1", "dup.6"), ("dup.2", "dup.6")}
    assert distances["dup.1", "dup.6"] == 0
    assert distances["dup.1", "dup.2"] == distances["dup.2", "dup.6"] <= 6
    assert [p.distance for p in result.pairs] == sorted(distances.values())
    assert not any(p.same_object for p in result.pairs)
    same = next(p for p in result.pairs if (p.a.object, p.b.object) == ("dup.1", "dup.6"))
    assert same.a.source_names == ["DUP.1_front_1.jpg"] and same.a.view == "front"
    assert same.a.scan_id == same.b.scan_id

    exact = find_duplicate_scans(stack.store, max_distance=0).pairs
    assert exact == [p for p in result.pairs if p.distance == 0]

    runner = CliRunner()
    shown = runner.invoke(duplicates_command, [], obj={"settings": stack.settings})
    assert shown.exit_code == 0, shown.output
    assert "Compared 4 scans" in shown.output and "3 pairs within 6 bits" in shown.output
    assert "DUP.2_front_1.jpg" in shown.output and "blank frame" in shown.output
    as_json = runner.invoke(duplicates_command, ["--json"], obj={"settings": stack.settings})
    assert len(json.loads(as_json.output)["pairs"]) == 3
