"""`sohoa inspect` on generated files: what ingest would learn, stored nowhere; and rendering."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result
from PIL import Image

from config.profile import load_profile
from config.settings import DEFAULT_PROFILE, SohoaSettings
from pipeline.cli.inspect import inspect_command, render_duplicates
from pipeline.core.profile import ProcessingProfile
from pipeline.samples.render import frame_size, render_artefact
from pipeline.services.inspect import (
    DuplicatePair,
    DuplicatesResult,
    ScanRef,
    SkippedScan,
    inspect_scan,
)
from pipeline.services.read_ahead import ReadAhead, read_and_hash
from tests.unit.metadata_writer import (
    IIM_UTF8,
    iptc_segment,
    make_exif,
    with_segments,
    xmp_packet,
    xmp_segment,
)

pytestmark = pytest.mark.filterwarnings("ignore:.*(EXIF|Truncated|Tag data).*:UserWarning")

PROFILE = load_profile(DEFAULT_PROFILE)


def photograph_jpeg(kind: str = "lacquer_box", *, metadata: bool = True) -> bytes:
    """A rendered studio photograph as a camera JPEG with EXIF (and GPS), XMP and IPTC."""
    rendered = render_artefact(
        kind, size=frame_size(kind, 640), view="front", rng=np.random.default_rng(5)
    )
    buffer = io.BytesIO()
    image = Image.fromarray((rendered * 255 + 0.5).astype(np.uint8))
    if not metadata:
        image.save(buffer, "JPEG", quality=90)
        return buffer.getvalue()
    exif = make_exif()
    exif[0x0112] = 1  # upright as stored
    image.save(buffer, "JPEG", quality=90, exif=exif)
    packet = xmp_packet(subjects=("hộp", "Tự Đức"))
    return with_segments(buffer.getvalue(), xmp_segment(packet), iptc_segment(IIM_UTF8))


@pytest.fixture(scope="module")
def good_jpeg() -> bytes:
    return photograph_jpeg()


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def run(tmp_path: Path, command, *args: str, profile: str | None = None) -> Result:
    options: dict[str, object] = {"var_dir": tmp_path / "var"}
    if profile is not None:
        options["profile_path"] = write(tmp_path, "profile.toml", profile.encode())
    settings = SohoaSettings(_env_file=None, **options)  # type: ignore[arg-type]
    return CliRunner().invoke(command, list(args), obj={"settings": settings})


# --- the service -------------------------------------------------------------------------------


def test_a_good_scan_is_described_and_tagged(tmp_path, good_jpeg):
    path = write(tmp_path, "BTCVH.GG.0008_front_1.jpg", good_jpeg)
    result = inspect_scan(path, PROFILE)
    assert result.would_store and result.problems == []
    assert result.file.size == len(good_jpeg) and result.file.sha256 is not None
    assert result.name is not None and result.name.object == "btcvh.gg.0008"
    assert result.image is not None and result.image.format == "JPEG"
    assert (result.image.width, result.image.height) == (640, 480)
    assert result.metadata is not None and result.metadata.exif.make == "Phase One"
    assert result.metadata.restricted.gps is not None
    assert result.quality is not None and result.quality.phash
    tags = [tag.value for tag in result.tags]
    assert tags[0] == "view:front"
    assert "colour:do" in tags  # a red-lacquered box
    assert {"keyword:hop", "keyword:tu-duc", "keyword:porcelain"} <= set(tags)
    assert "orientation:ngang" in tags


def test_inventory_rows_add_their_tags(tmp_path, good_jpeg):
    from pipeline.core.inventory import InventoryRow

    path = write(tmp_path, "BTCVH.GG.0008_front_1.jpg", good_jpeg)
    row = InventoryRow(
        accession_number="BTCVH.GG.0008", material="gỗ sơn son thếp vàng", period="Tự Đức",
        object_type="hộp",
    )  # fmt: skip
    result = inspect_scan(path, PROFILE, inventory={"btcvh.gg.0008": row})
    sources = {tag.value: tag.source for tag in result.tags}
    assert sources["material:go-son-son-thep-vang"] == "inventory"
    assert sources["period:tu-duc"] == "inventory"
    other = inspect_scan(path, PROFILE, inventory={"another": row})
    assert "No inventory row for 'BTCVH.GG.0008'" in other.tag_notes[0]


def test_a_bad_name_is_reported_but_the_pixels_are_still_examined(tmp_path, good_jpeg):
    result = inspect_scan(write(tmp_path, "IMG_1234.jpg", good_jpeg), PROFILE)
    assert [problem.code for problem in result.problems] == ["BAD_NAME"]
    assert "IMG_1234.jpg" in result.problems[0].message
    assert result.quality is not None and result.name is None
    assert not any(tag.value.startswith("view:") for tag in result.tags)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "EMPTY_FILE"),
        (b"%PDF-1.7\n1 0 obj\n", "UNSUPPORTED_FORMAT"),
        ("Đây không phải là ảnh.\n".encode(), "NOT_AN_IMAGE"),
    ],
)
def test_files_ingest_would_quarantine_get_its_code(tmp_path, data, code):
    result = inspect_scan(write(tmp_path, "HM.1_front_1.jpg", data), PROFILE)
    assert [problem.code for problem in result.problems] == [code]
    assert result.image is None and result.quality is None and result.tags == []


def test_a_file_over_the_size_limit_is_not_even_read(tmp_path, good_jpeg):
    profile = ProcessingProfile.model_validate({"limits": {"max_file_mb": 1}})
    path = write(tmp_path, "HM.1_front_1.jpg", good_jpeg + b"\0" * (1024 * 1024))
    result = inspect_scan(path, profile)
    assert [problem.code for problem in result.problems] == ["FILE_TOO_LARGE"]
    assert result.file.sha256 is None


# --- the command -------------------------------------------------------------------------------


def test_the_report_shows_metadata_tags_quality_and_restricted_gps(tmp_path, good_jpeg):
    path = write(tmp_path, "BTCVH.GG.0008_front_1.jpg", good_jpeg)
    done = run(tmp_path, inspect_command, str(path))
    assert done.exit_code == 0, done.output
    out = done.output
    assert "Phase One IQ4 150MP" in out and "1/125 s · f/8 · ISO 100 · 80 mm" in out
    assert "Bình hoa lam" in out  # XMP title
    assert "Nguyễn Văn A" in out  # IPTC by-line
    gps = next(line for line in out.splitlines() if "GPS" in line)
    assert "16.47" in gps and "107.59" in gps and "restricted: never published" in gps
    serial = next(line for line in out.splitlines() if "Body serial" in line)
    assert "IQ4-SN-12345" in serial and "restricted" in serial
    assert "Mặt trước / Front" in out and "analysis:naming@1" in out
    assert "Quality" in out and "Long edge is 640 px" in out
    assert "Ingest would store this file" in out


def test_json_output_is_the_whole_result(tmp_path, good_jpeg):
    path = write(tmp_path, "BTCVH.GG.0008_front_1.jpg", good_jpeg)
    done = run(tmp_path, inspect_command, str(path), "--json")
    assert done.exit_code == 0, done.output
    data = json.loads(done.output)
    assert data["file"]["name"] == "BTCVH.GG.0008_front_1.jpg"
    assert data["quality"]["verdict"] in ("pass", "warn", "fail")
    assert data["metadata"]["restricted"]["gps"]["latitude"] == pytest.approx(16.47, abs=0.01)
    assert data["problems"] == []
    # Read and hashed on another thread, in one pass: the same digests as hashlib's.
    assert data["file"]["sha256"] == hashlib.sha256(good_jpeg).hexdigest()
    assert data["file"]["md5"] == hashlib.md5(good_jpeg).hexdigest()
    assert data["file"]["size"] == len(good_jpeg)


def test_digests_of_a_file_larger_than_one_hashing_piece(tmp_path):
    data = bytes(range(256)) * (20 * 1024 * 1024 // 256) + b"tail"  # 5 pieces, a short last
    read = read_and_hash(write(tmp_path, "big.bin", data))
    assert read.data == data and read.size == len(data)
    assert read.sha256 == hashlib.sha256(data).hexdigest()
    assert read.md5 == hashlib.md5(data).hexdigest()
    assert read_and_hash(tmp_path / "big.bin", md5=False).md5 is None
    assert read_and_hash(tmp_path / "big.bin", limit=len(data) - 1).data is None


def test_a_missing_file_read_ahead_raises_its_os_error(tmp_path):
    ahead = ReadAhead(tmp_path / "gone.jpg")
    with pytest.raises(FileNotFoundError):
        ahead.result()


def test_the_text_report_hashes_no_md5_it_does_not_show(tmp_path, good_jpeg):
    path = write(tmp_path, "BTCVH.GG.0008_front_1.jpg", good_jpeg)
    done = run(tmp_path, inspect_command, str(path))
    assert done.exit_code == 0, done.output
    assert hashlib.sha256(good_jpeg).hexdigest() in done.output
    assert hashlib.md5(good_jpeg).hexdigest() not in done.output
    assert inspect_scan(path, PROFILE, md5=False).file.md5 is None


def test_inspect_loads_no_storage_broker_web_or_tiff_module(tmp_path, good_jpeg):
    # What a photographer waits for before a session: a fresh `sohoa inspect` of a JPEG imports
    # only what inspecting needs (boto3, Celery, Redis, FastAPI: ~1 CPU-s; tifffile: 0.05).
    path = write(tmp_path, "BTCVH.GG.0008_front_1.jpg", good_jpeg)
    code = (
        "import sys\n"
        "from pipeline.cli import main\n"
        "try:\n"
        f"    main(['inspect', {str(path)!r}])\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
        "heavy = ('boto3', 'botocore', 'celery', 'kombu', 'redis', 'fastapi', 'starlette', "
        "'uvicorn', 'watchdog', 'openpyxl', 'tifffile', 'workers', 'pipeline.adapters', "
        "'pipeline.services.preview')\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in heavy or m.startswith(heavy)]\n"
        "print('loaded:', ','.join(sorted(loaded)))\n"
    )
    env = {**os.environ, "SOHOA_VAR_DIR": str(tmp_path / "var")}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert "Ingest would store this file" in done.stdout
    assert done.stdout.splitlines()[-1] == "loaded: "


def test_the_profiles_quality_thresholds_are_used(tmp_path, good_jpeg):
    path = write(tmp_path, "BTCVH.GG.0008_front_1.jpg", good_jpeg)

    def long_edge_status(profile: str | None) -> str:
        done = run(tmp_path, inspect_command, str(path), "--json", profile=profile)
        findings = json.loads(done.output)["quality"]["findings"]
        return next(f["status"] for f in findings if f["check"] == "long_edge")

    assert long_edge_status(None) == "fail"  # 640 px < the default 1,000
    lenient = 'name = "lenient"\n[quality]\nmin_long_edge_warn = 600\nmin_long_edge_fail = 500\n'
    assert long_edge_status(lenient) == "pass"


def test_a_bad_file_prints_the_quarantine_code_and_exits_1(tmp_path, good_jpeg):
    path = write(tmp_path, "HM.1_front_1.jpg", good_jpeg[: len(good_jpeg) // 3])
    done = run(tmp_path, inspect_command, str(path))
    assert done.exit_code == 1
    assert "Ingest would quarantine this file: TRUNCATED" in done.output
    assert "HM.1_front_1.jpg" in done.output
    as_json = run(tmp_path, inspect_command, str(path), "--json")
    assert as_json.exit_code == 1
    assert json.loads(as_json.output)["problems"][0]["code"] == "TRUNCATED"


def test_the_inventory_option_reads_the_sheet(tmp_path, good_jpeg):
    path = write(tmp_path, "BTCVH.GG.0008_front_1.jpg", good_jpeg)
    sheet = write(
        tmp_path,
        "inventory.csv",
        "accession_number,material,period,object_type\nBTCVH.GG.0008,gỗ sơn son thếp vàng,"
        "Tự Đức (1848–1883),hộp\n".encode(),
    )
    done = run(tmp_path, inspect_command, str(path), "--inventory", str(sheet))
    assert done.exit_code == 0, done.output
    assert "Gỗ sơn son thếp vàng / Red-lacquered gilded wood" in done.output


def test_control_characters_in_names_are_not_sent_to_the_terminal(tmp_path, good_jpeg):
    path = write(tmp_path, "HM.1_front_1\x1b[2J.jpg", good_jpeg)
    done = run(tmp_path, inspect_command, str(path))
    assert "\x1b" not in done.output


def test_a_missing_profile_is_an_error_not_a_traceback(tmp_path, good_jpeg):
    path = write(tmp_path, "HM.1_front_1.jpg", good_jpeg)
    settings = SohoaSettings(_env_file=None, profile_path=tmp_path / "nope.toml")
    done = CliRunner().invoke(inspect_command, [str(path)], obj={"settings": settings})
    assert done.exit_code == 2
    assert "processing profile" in done.output


# --- duplicates, rendered ----------------------------------------------------------------------


def ref(obj: str, view: str, name: str) -> ScanRef:
    return ScanRef(key=f"scans/{obj}/{'a' * 64}.json", object=obj, scan_id="a" * 64, view=view,
                   seq=1, source_names=[name])  # fmt: skip


def test_duplicate_pairs_are_listed_with_objects_views_and_names(capsys):
    result = DuplicatesResult(
        scanned=3,
        max_distance=6,
        scope="all",
        pairs=[
            DuplicatePair(
                distance=2,
                same_object=False,
                a=ref("hm.1", "front", "HM.1_front_1.tif"),
                b=ref("hm.2", "back", "HM.2_back_1.jpg"),
            ),
        ],
        skipped=[SkippedScan(key="scans/hm.3/x.json", reason="blank frame")],
        seconds=0.1,
    )
    render_duplicates(result)
    out = capsys.readouterr().out
    assert "Compared 3 scans" in out and "1 pair within 6 bits" in out
    assert "2 bits" in out and "HM.1_front_1.tif" in out and "HM.2_back_1.jpg" in out
    assert "hm.1" in out and "back" in out
    assert "blank frame" in out
