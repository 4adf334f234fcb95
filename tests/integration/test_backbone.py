"""A scan goes from a folder to a verified record in S3, through a real worker process."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import time
import unicodedata
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from PIL import Image

from pipeline.core.naming import to_object_slug
from schemas import load_schema
from tests.conftest import Stack
from tests.support.stacks import worker_idle
from tests.support.wait import wait_until
from tests.unit.images import gradient_rgb
from tests.unit.test_imaging import _png_with_size


def write_jpeg(path: Path, seed: int, size: tuple[int, int] = (640, 480)) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(gradient_rgb(*size, seed=seed)).save(buffer, "JPEG", quality=90)
    path.write_bytes(buffer.getvalue())
    return buffer.getvalue()


def record_of(stack: Stack, accession: str) -> dict:
    found = stack.store.read_json(f"records/{to_object_slug(accession)}.json")
    assert found is not None, f"no record for {accession}"
    return found[0]


def test_views_become_one_verified_record(stack: Stack, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    sources = {
        view: write_jpeg(drop / f"HM.12-A_{view}_1.jpg", seed=i)
        for i, view in enumerate(["front", "back", "detail"])
    }
    (drop / "inventory.csv").write_text(
        "accession_number,name_vi,name_en,material,period\n"
        "HM.12/A,Bình gốm men lam,Blue-and-white vase,gốm sứ,Minh Mạng (1820–1840)\n",
        "utf-8",
    )
    done = stack.sohoa("ingest", str(drop), "--inventory", str(drop / "inventory.csv"), "--wait")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 stored (3 new, 0 already there)" in done.stdout

    record = record_of(stack, "HM.12/A")
    jsonschema.Draft202012Validator(load_schema("record")).validate(record)
    assert record["accession_number"] == "HM.12/A"
    assert record["inventory"]["name_vi"] == "Bình gốm men lam"
    assert [v["view"] for v in record["views"]] == ["front", "back", "detail"]
    for view in record["views"]:
        source = sources[view["view"]]
        # The master is byte-identical: hashed again from what the server sends back.
        sha, size = stack.store.hash_object(view["master"]["key"], bucket=view["master"]["bucket"])
        assert (sha, size) == (hashlib.sha256(source).hexdigest(), len(source))
        assert view["scan_id"] == sha
        for name in ("access", "preview", "thumb"):
            ref = view["derivatives"][name]
            data, _ = stack.store.get_bytes(ref["key"])
            picture = Image.open(io.BytesIO(data))
            picture.load()
            assert picture.format == "JPEG"
            assert picture.size == (ref["width"], ref["height"])
            assert hashlib.sha256(data).hexdigest() == ref["sha256"]
        # Static IIIF level 0: info.json sized like the upright image, and the files it names.
        info = stack.store.read_json(f"{view['iiif']['base_key']}/info.json")[0]
        assert (info["width"], info["height"]) == (view["upright_width"], view["upright_height"])
        assert info["id"].endswith(f"/iiif/{view['scan_id']}")
        for size in info["sizes"]:
            key = f"{view['iiif']['base_key']}/full/{size['width']},{size['height']}/0/default.jpg"
            assert stack.store.head(key)["ContentType"] == "image/jpeg"
        assert stack.store.head(f"{view['iiif']['base_key']}/full/max/0/default.jpg") is not None

    # The worker indexes each published record: found without diacritics, no reindex needed.
    deadline = time.monotonic() + 30
    while True:
        found = stack.sohoa("search", "binh gom men lam", "--json")
        if found.returncode == 0 and json.loads(found.stdout)["total"] == 1:
            break
        assert time.monotonic() < deadline, found.stdout + found.stderr
        time.sleep(0.5)
    assert json.loads(found.stdout)["hits"][0]["accession_number"] == "HM.12/A"

    manifest = stack.store.read_json("manifests/hm.12-a.json")[0]
    assert manifest["type"] == "Manifest"
    assert manifest["label"]["vi"] == ["Bình gốm men lam"]
    canvases = manifest["items"]
    assert len(canvases) == 3
    assert [(c["width"], c["height"]) for c in canvases] == [
        (v["upright_width"], v["upright_height"]) for v in record["views"]
    ]


def test_ingesting_twice_changes_nothing(stack: Stack, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    for i in range(3):
        write_jpeg(drop / f"TWICE.{i}_front_1.jpg", seed=10 + i)
    first = stack.sohoa("ingest", str(drop), "--wait")
    assert first.returncode == 0, first.stdout + first.stderr
    # The scans' session scoring may republish their records after the command returns.
    wait_until(lambda: worker_idle(stack), "the worker to end the scans' tasks", timeout=60)
    before = {key: stack.store.get_bytes(key)[0] for key in stack.store.list_keys("")}

    again = stack.sohoa("ingest", str(drop), "--wait")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "3 stored (0 new, 3 already there)" in again.stdout
    wait_until(lambda: worker_idle(stack), "the worker to end the scans' tasks", timeout=60)
    after = {key: stack.store.get_bytes(key)[0] for key in stack.store.list_keys("")}
    assert after == before
    assert len([k for k in after if k.startswith("records/")]) == 3


def test_the_same_bytes_under_two_names_are_one_scan(stack: Stack, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    nfc = unicodedata.normalize("NFC", "BTCVH.ĐỒ.7_trước_1.jpg")
    nfd = unicodedata.normalize("NFD", nfc)
    data = write_jpeg(drop / nfc, seed=3)
    (drop / nfd).write_bytes(data)
    shutil.copyfile(drop / nfc, drop / "BTCVH.ĐỒ.7_front_1.jpg")
    assert len(list(drop.iterdir())) == 3  # three names on disk, one content

    done = stack.sohoa("ingest", str(drop), "--wait")
    assert done.returncode == 0, done.stdout + done.stderr
    sha = hashlib.sha256(data).hexdigest()
    masters = list(stack.store.list_keys("masters/"))
    assert masters == [f"masters/btcvh.do.7/{sha}.jpg"]
    record = record_of(stack, "BTCVH.ĐỒ.7")
    assert [v["scan_id"] for v in record["views"]] == [sha]
    scan = stack.store.read_json(f"scans/btcvh.do.7/{sha}.json")[0]
    assert sorted(scan["source_names"]) == sorted([nfc, nfd, "BTCVH.ĐỒ.7_front_1.jpg"])


def test_bad_files_are_quarantined_with_code_and_remedy(stack: Stack, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "BAD.1_front_1.jpg").write_bytes(b"")
    (drop / "BAD.2_front_1.jpg").write_text("this is a text file, not a photograph\n")
    good = write_jpeg(drop / "GOOD.1_front_1.jpg", seed=5)
    (drop / "BAD.3_front_1.jpg").write_bytes(good[: len(good) // 2])
    (drop / "BAD.4_front_1.png").write_bytes(_png_with_size(60_000, 60_000))

    done = stack.sohoa("ingest", str(drop), "--wait")
    assert done.returncode == 1, "any quarantined file makes the exit status 1"
    assert "1 stored" in done.stdout
    assert "quarantined: 4" in done.stdout

    expected = {
        "BAD.1_front_1.jpg": ("EMPTY_FILE", "is empty"),
        "BAD.2_front_1.jpg": ("NOT_AN_IMAGE", "is not an image"),
        "BAD.3_front_1.jpg": ("TRUNCATED", "truncated"),
        "BAD.4_front_1.png": ("PIXEL_LIMIT", "pixels"),
    }
    reasons = {
        p.name.removesuffix(".reason.json"): json.loads(p.read_text("utf-8"))
        for p in (tmp_path / "var" / "quarantine").rglob("*.reason.json")
    }
    assert set(reasons) == set(expected)
    validator = jsonschema.Draft202012Validator(load_schema("quarantine"))
    for name, (code, words) in expected.items():
        reason = reasons[name]
        validator.validate(reason)
        assert reason["code"] == code
        assert name in reason["message"] and words in reason["message"]
        assert f"{code}: File '{name}'" in done.stdout
        # The source stays where it was; the quarantine holds an identical copy.
        copy = next((tmp_path / "var" / "quarantine").rglob(name))
        assert copy.read_bytes() == (drop / name).read_bytes()
    # Nothing of the bad files reached the bucket, and the worker is still serving.
    good_sha = hashlib.sha256(good).hexdigest()
    allowed = ("masters/good", "derivatives/good", "scans/good", "records/good",
               "manifests/good", "names/good", "sessions/", f"iiif/{good_sha}/")  # fmt: skip
    assert all(k.startswith(allowed) for k in stack.store.list_keys(""))
    assert stack.worker.poll() is None
    assert stack.sohoa("ingest", str(drop / "GOOD.1_front_1.jpg"), "--wait").returncode == 0


@pytest.mark.slow
def test_many_views_of_one_artefact_at_once_are_all_listed(stack: Stack, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    stack.start_worker(concurrency=2)  # two worker processes, four children, one bucket
    for seq in range(1, 21):
        write_jpeg(drop / f"MANY.1_detail_{seq}.jpg", seed=100 + seq, size=(160, 120))
    done = stack.sohoa("ingest", str(drop), "--wait")
    assert done.returncode == 0, done.stdout + done.stderr
    record = record_of(stack, "MANY.1")
    assert [v["seq"] for v in record["views"]] == list(range(1, 21))


def test_a_16_bit_tiff_master_keeps_its_bits(stack: Stack, tmp_path: Path) -> None:
    import tifffile

    drop = tmp_path / "drop"
    drop.mkdir()
    samples = (np.random.default_rng(0).random((300, 400, 3)) * 65535).astype(np.uint16)
    path = drop / "DEEP.1_front_1.tif"
    tifffile.imwrite(path, samples, photometric="rgb")
    done = stack.sohoa("ingest", str(path), "--wait")
    assert done.returncode == 0, done.stdout + done.stderr
    view = record_of(stack, "DEEP.1")["views"][0]
    assert view["bit_depth"] == 16
    data, _ = stack.store.get_bytes(view["master"]["key"])
    assert np.array_equal(tifffile.imread(io.BytesIO(data)), samples)


@pytest.mark.slow
def test_the_sample_collection_is_stored_and_verified_per_object(
    stack: Stack, tmp_path: Path
) -> None:
    from pipeline.samples import generate_collection

    # Small scans: what is proven is the path of every file, not its pixels (the demo test
    # runs the collection at 400 px, where its colour sessions are scored).
    collection = generate_collection(tmp_path / "collection", size=240)
    done = stack.sohoa(
        "ingest", str(collection.root), "--inventory", str(collection.inventory_csv), "--wait"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "has no scans yet" in done.stdout  # the unphotographed inventory row is reported

    by_object: dict[str, list] = {}
    for scan in [*collection.scans, *collection.charts]:  # charts: sessions' reference shots
        by_object.setdefault(to_object_slug(scan.accession), []).append(scan)
    validator = jsonschema.Draft202012Validator(load_schema("record"))
    for slug, scans in by_object.items():
        record = stack.store.read_json(f"records/{slug}.json")[0]
        validator.validate(record)
        assert record["inventory"] is not None, f"{slug} lost its inventory row"
        expected = {hashlib.sha256(s.path.read_bytes()).hexdigest(): s for s in scans}
        assert {v["scan_id"] for v in record["views"]} == set(expected)
        for view in record["views"]:
            source = expected[view["scan_id"]]
            assert view["view"] == source.view
            assert view["bit_depth"] == source.bit_depth
            found = stack.store.hash_object(view["master"]["key"], bucket=view["master"]["bucket"])
            assert found == (view["scan_id"], source.path.stat().st_size)
            thumb, _ = stack.store.get_bytes(view["derivatives"]["thumb"]["key"])
            picture = Image.open(io.BytesIO(thumb))
            picture.load()
            # Upright: the thumbnail's long edge follows the orientation the camera recorded.
            rotated = source.exif_orientation in (5, 6, 7, 8)
            stored_landscape = view["width"] >= view["height"]
            assert (picture.width >= picture.height) == (stored_landscape != rotated)


def test_metadata_and_quality_reach_the_records_and_gps_stays_private(
    stack: Stack, tmp_path: Path
) -> None:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Phase One", "IQ4 150MP"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (16.0, 28.0, 3.6), 3: "E", 4: (107.0, 34.0, 46.8)})  # Huế citadel
    path = tmp_path / "GEO.1_front_1.jpg"
    Image.fromarray(gradient_rgb(640, 480, seed=9)).save(path, "JPEG", quality=90, exif=exif)

    done = stack.sohoa("ingest", str(path), "--wait")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "quality:" in done.stdout
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    scan = stack.store.read_json(f"scans/geo.1/{sha}.json")[0]
    assert abs(scan["metadata"]["restricted"]["gps"]["latitude"] - 16.4677) < 1e-3
    assert scan["quality"]["verdict"] in ("pass", "warn", "fail")

    record_bytes, _ = stack.store.get_bytes("records/geo.1.json")
    record = json.loads(record_bytes)
    view = record["views"][0]
    assert view["camera"] == "Phase One IQ4 150MP"
    assert view["quality"]["verdict"] == scan["quality"]["verdict"]
    # The public record and manifest never carry the position.
    manifest_bytes, _ = stack.store.get_bytes("manifests/geo.1.json")
    for public in (record_bytes, manifest_bytes):
        assert b"16.46" not in public and b"latitude" not in public and b"gps" not in public
