"""`sohoa process`: the same work as ingest, written to a folder instead of the bucket."""

import io
import json
import subprocess
import sys
from pathlib import Path

from PIL import Image

from tests.unit.images import gradient_rgb


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_process_writes_derivatives_tiles_and_a_summary(tmp_path: Path) -> None:
    source = tmp_path / "HM.5_back_1.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(gradient_rgb(1200, 800)).save(source, "JPEG", exif=exif.tobytes())
    done = run("process", str(source), "--out", str(tmp_path / "out"), "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["upright_width"], summary["upright_height"]) == (800, 1200)
    assert summary["view"] == "back"
    thumb = Image.open(io.BytesIO((tmp_path / "out/derivatives/thumb.jpg").read_bytes()))
    assert thumb.size == (267, 400)
    info = json.loads((tmp_path / "out/iiif" / summary["scan_id"] / "info.json").read_text())
    assert (info["width"], info["height"]) == (800, 1200)
    assert summary["iiif_files"] == len(list((tmp_path / "out/iiif").rglob("*.*")))
    assert json.loads((tmp_path / "out/scan.json").read_text())["scan_id"] == summary["scan_id"]


def test_a_file_ingest_would_quarantine_says_why_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "HM.5_front_1.tif"
    bad.write_bytes(b"II*\x00" + b"\x00" * 10)
    done = run("process", str(bad), "--out", str(tmp_path / "out"))
    assert done.returncode == 1
    assert "HM.5_front_1.tif" in done.stderr
    assert "CORRUPT" in done.stderr or "TRUNCATED" in done.stderr
