"""Hostile names, hostile metadata and secrets, through real workers, Redis and SeaweedFS."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import subprocess
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from pipeline.adapters import embedded
from pipeline.adapters.s3_store import S3Store
from pipeline.api.app import create_app
from pipeline.core.metadata import MAX_TEXT
from pipeline.services.models import ProcessScanTask
from tests.conftest import S3Server, Stack, make_settings, settings_env
from tests.support.stacks import published_record
from tests.support.wait import wait_until
from tests.unit.images import gradient_rgb
from tests.unit.metadata_writer import iim, make_exif, tiff_file, xmp_packet
from tests.unit.test_naming_keys import HOSTILE, SAFE_KEY, vietnamese_name
from workers import client

pytestmark = pytest.mark.integration

PATTERN = "{accession}_{view}_{seq}"


def write_jpeg(path: Path, seed: int) -> bytes:
    Image.fromarray(gradient_rgb(96, 64, seed=seed)).save(path, "JPEG", quality=90)
    return path.read_bytes()


def process(paths: list[Path], batch_id: str) -> list[dict]:
    ids = [client.send_scan(ProcessScanTask(path=str(p), batch_id=batch_id)) for p in paths]
    done = client.wait_for(ids, timeout=300, poll=0.2)
    assert set(done) == set(ids)
    return [done[i] for i in ids]


# --- (a) object keys ---------------------------------------------------------------------------


def test_hostile_file_names_are_stored_under_safe_keys_and_kept_exactly(
    stack: Stack, tmp_path: Path
) -> None:
    """Fault: file names holding # % + ? \\ { } ^ [ ] ~ < > | ", spaces at either end, a trailing
    dot, no extension, 255-byte Vietnamese names in NFC and in NFD.
    Outcome: every key is [a-z0-9./-] and at most 1,024 bytes; the exact name (NFD kept) is in
    the scan record and the public record, finds the very file again, and the master's bytes
    are the file's; NFC and NFD spellings of one accession are one object.
    """
    drop = tmp_path / "drop"
    drop.mkdir()
    names = [
        f"HM.1 {HOSTILE}_front_1.jpg",
        "  HM.2_front_1.jpg ",
        "HM.3_front_1.",
        "HM.4_front_1",
        vietnamese_name("NFC"),
        vietnamese_name("NFD"),
        # The same accession typed on another machine (NFC): the same object, another view.
        unicodedata.normalize("NFC", vietnamese_name("NFD")).replace("_front_1", "_back_1"),
    ]
    sources = {name: write_jpeg(drop / name, seed=i) for i, name in enumerate(names)}
    # The file system holds exactly these names (NFD stays NFD).
    assert sorted(p.name for p in drop.iterdir()) == sorted(names)

    results = process([drop / name for name in names], "keys")
    keys = list(stack.store.list_keys(""))
    for key in keys:
        assert SAFE_KEY.fullmatch(key) and len(key.encode()) <= 1024, key
    for name, result in zip(names, results, strict=True):
        assert result["status"] == "stored", result
        slug, scan_id = result["object"], result["scan_id"]
        assert scan_id == hashlib.sha256(sources[name]).hexdigest()
        scan = stack.store.read_json(f"scans/{slug}/{scan_id}.json")[0]
        # The exact name, byte for byte, and the master's bytes under the safe key.
        assert name in scan["source_names"]
        assert [n.encode() for n in scan["source_names"]] == [name.encode()]
        data, _ = stack.store.get_bytes(scan["master"]["key"], bucket=scan["master"]["bucket"])
        assert data == sources[name]
        # Round trip: the name in the record finds the very file it came from.
        assert (drop / scan["source_names"][0]).read_bytes() == data
    vietnamese = {r["object"] for r in results[-2:]}
    assert len(vietnamese) == 1  # NFC and NFD spellings of one accession are one object
    record = published_record(stack, vietnamese.pop(), timeout=60)
    assert {v["source_name"] for v in record["views"]} == set(names[-2:])


def test_a_name_that_is_only_hostile_characters_is_quarantined_under_its_own_name(
    stack: Stack, tmp_path: Path
) -> None:
    """Fault: a file name with no letters or digits, only characters unsafe in keys.
    Outcome: BAD_NAME with the remedy; the quarantined copy keeps the exact name; nothing in
    the bucket.
    """
    name = f"{HOSTILE} .jpg"
    path = tmp_path / name
    write_jpeg(path, seed=9)
    (result,) = process([path], "bad-names")
    assert result["status"] == "quarantined" and result["code"] == "BAD_NAME"
    assert repr(name) in result["message"] and "rename it" in result["message"]
    copy = Path(result["quarantine_path"])
    assert copy.name == name and copy.read_bytes() == path.read_bytes()
    assert json.loads(Path(str(copy) + ".reason.json").read_text("utf-8"))["name"] == name
    assert list(stack.store.list_keys("")) == []


# --- (b) embedded metadata ---------------------------------------------------------------------

LATITUDE, LONGITUDE = "16.470", "107.599"  # what make_exif() writes, in decimal degrees
SERIAL = "IQ4-SN-12345"
HTML = '<script>alert("x")</script><img src=x onerror=alert(1)>'
SQL = "'); DROP TABLE objects; --"
CONTROL = "\x00\x07\x1b[31m\u202e"


def test_hostile_metadata_is_capped_cleaned_and_gps_stays_private(
    stack: Stack, tmp_path: Path
) -> None:
    """Fault: EXIF, XMP and IPTC holding HTML, SQL, control characters and 1 MB strings, and
    GPS and a camera serial number.
    Outcome: text capped at 2,000 characters with a warning, control characters dropped, HTML
    never live markup in the catalogue's pages; GPS and serials only in the private scan
    record's restricted part, absent from the record, manifest, index, API, OAI and web pages.
    """
    huge = "Đồ gốm " * 150_000  # ~1 MB
    # XML cannot carry control characters at all: they go in through IPTC and EXIF.
    description = f"{HTML} {SQL} ".replace("&", "&amp;").replace("<", "&lt;")
    packet = xmp_packet(description=description + huge.replace("&", ""))
    block = iim([(1, 90, b"\x1b%G"), (2, 120, f"{HTML}{SQL}{CONTROL}".encode()), (2, 5, b"x")])
    # A TIFF: a JPEG segment cannot hold a megabyte.
    path = tmp_path / "HM.77_front_1.tif"
    path.write_bytes(
        tiff_file(exif=make_exif(), xmp=packet, iim_block=block, tags={270: HTML + CONTROL + huge})
    )
    (result,) = process([path], "metadata")
    assert result["status"] == "stored", result

    scan = stack.store.read_json(f"scans/hm.77/{result['scan_id']}.json")[0]
    meta = scan["metadata"]
    # Capped, with a warning saying so; no control characters; the text kept as text.
    assert len(meta["xmp"]["description"]) <= MAX_TEXT
    assert len(meta["exif"]["description"]) <= MAX_TEXT
    assert any("xmp.description" in w for w in meta["warnings"])
    assert any("exif.description" in w for w in meta["warnings"])
    assert meta["iptc"]["caption"].startswith(HTML + SQL)
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202e]", json.dumps(scan))
    assert len(json.dumps(scan).encode()) < 200_000
    # GPS and serial numbers: in the private scan record's restricted part only.
    assert meta["restricted"]["gps"]["latitude"] == pytest.approx(16.470094, abs=1e-5)
    assert meta["restricted"]["body_serial"] == SERIAL
    outside = json.dumps({k: v for k, v in meta.items() if k != "restricted"})
    assert LATITUDE not in outside and SERIAL not in outside

    record = published_record(stack, "hm.77", timeout=60)
    # The publish task writes the manifest just after the record.
    manifest = wait_until(
        lambda: stack.store.read_json("manifests/hm.77.json"), "the manifest", timeout=30
    )
    published = {
        "record": json.dumps(record),
        "manifest": json.dumps(manifest[0]),
    }
    # The catalogue index the worker keeps, and every public door of the API over it.
    index_path = stack.settings.catalogue_index_path
    deadline = time.monotonic() + 30
    api = TestClient(create_app(stack.settings))
    while api.get("/api/objects/HM.77").status_code != 200:
        assert time.monotonic() < deadline, "the record never reached the index"
        time.sleep(0.3)
    published["index"] = index_path.read_bytes().decode("utf-8", "replace")
    for url in (
        "/api/objects/HM.77",
        "/api/objects?q=HM.77",
        "/api/objects?q=gom",
        "/iiif/hm.77/manifest.json",
        "/oai?verb=ListRecords&metadataPrefix=oai_dc",
        "/oai?verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:sohoa:hm.77",
        "/objects/HM.77",
        "/",
    ):
        answer = api.get(url)
        assert answer.status_code == 200, url
        published[url] = answer.text
    for where, text in published.items():
        for private in (LATITUDE, LONGITUDE, SERIAL, '"gps"', "restricted"):
            assert private not in text, f"{private!r} found in {where}"
    # HTML from a file is never live markup in the catalogue's own pages.
    for url in ("/objects/HM.77",):
        assert "<script>alert" not in published[url]


# --- (c) secrets -------------------------------------------------------------------------------


@pytest.fixture()
def private_redis(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A redis-server of our own on a free port, with a password: (url, password)."""
    password = "rp-" + secrets.token_hex(16)
    port = embedded.find_free_ports(1, grpc_twins=False)[0]
    home = tmp_path / "redis"
    home.mkdir()
    proc = subprocess.Popen(
        [
            str(embedded.redis_server_binary()),
            *("--bind", "127.0.0.1", "--port", str(port), "--requirepass", password),
            *("--save", "", "--appendonly", "no", "--maxmemory-policy", "noeviction"),
            *("--dir", str(home)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://:{password}@127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 15
        while not embedded.is_redis_up(url):
            assert proc.poll() is None and time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.1)
        yield url, password
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def start_worker_without_ping(stack: Stack) -> Path:
    """A real worker on the stack's settings, ready once its log says so (this test process's
    own Celery app stays on the suite's Redis: it never talks to the private one)."""
    log_path = stack.home / "worker-private-redis.log"
    proc = subprocess.Popen(
        [*stack_cli(), "worker", "-c", "1", "-n", f"secrets-{secrets.token_hex(3)}@test"],
        env=stack.env,
        cwd=stack.home,
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    stack.extra.append(proc)
    deadline = time.monotonic() + 60
    while " ready." not in log_path.read_text("utf-8", "replace"):
        assert proc.poll() is None, log_path.read_text("utf-8", "replace")
        assert time.monotonic() < deadline, "the worker never became ready"
        time.sleep(0.2)
    return log_path


def test_secrets_appear_in_no_log_record_report_reason_or_message(
    s3_server: S3Server, private_redis: tuple[str, str], tmp_path: Path
) -> None:
    """Fault: a batch (a good, a truncated and a not-an-image file) run with a Redis password and
    S3 keys, then a missing bucket, wrong S3 credentials and a wrong Redis password.
    Outcome: none of the secrets (nor their URL-encoded forms) in the worker log, the CLI's
    output, reports, quarantine reasons, the index or any object in the bucket; each error
    names the setting to fix.
    """
    redis_url, password = private_redis
    settings = make_settings(s3_server, redis_url, tmp_path / "var")
    store = S3Store.from_settings(settings)
    store.ensure_bucket(settings.bucket)
    stack = Stack(settings=settings, env=settings_env(settings), store=store, home=tmp_path)
    outputs: dict[str, str] = {}
    drop = tmp_path / "drop"
    drop.mkdir()
    write_jpeg(drop / "SEC.1_front_1.jpg", seed=1)
    good = (drop / "SEC.1_front_1.jpg").read_bytes()
    (drop / "SEC.2_front_1.jpg").write_bytes(good[: len(good) // 2])  # truncated
    (drop / "notes_front_1.tif").write_text("not an image")
    try:
        start_worker_without_ping(stack)
        # Processes of their own: everything they print, their log lines too, is searched.
        done = stack.sohoa_process(
            "ingest", str(drop), "--wait", "--report", str(tmp_path / "reports")
        )
        outputs["ingest"] = done.stdout + done.stderr
        assert done.returncode == 1, outputs["ingest"]  # two files were quarantined
        assert "quarantined: 2" in done.stdout
        # Storage errors: a missing bucket, wrong credentials, a wrong Redis password.
        wrong = {
            "bucket": {"SOHOA_BUCKET": "no-such-bucket-" + secrets.token_hex(4)},
            "credentials": {"SOHOA_S3_SECRET_KEY": "wrong-" + secrets.token_hex(8)},
            "redis": {"SOHOA_REDIS_URL": redis_url.replace(password, "wrong-password")},
        }
        for what, env in wrong.items():
            failed = subprocess.run(
                [*stack_cli(), "ingest", str(drop), "--wait"],
                env={**stack.env, **env},
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=120,
            )
            said = outputs[f"ingest with a wrong {what}"] = failed.stdout + failed.stderr
            assert failed.returncode != 0, said
            assert next(iter(env)) in said, said  # the message names the setting to fix
        refused = subprocess.run(
            [*stack_cli(), "worker", "-c", "1", "-n", "wrong-bucket@test"],
            env={**stack.env, **wrong["bucket"]},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        outputs["worker with a wrong bucket"] = refused.stdout + refused.stderr
        assert refused.returncode != 0
        shown = stack.sohoa_process("show", "SEC.1", "--json")
        outputs["show"] = shown.stdout + shown.stderr
    finally:
        stack.stop_workers()

    for path in tmp_path.rglob("*"):
        if path.is_file() and "redis" not in path.parts and path.suffix not in (".jpg", ".tif"):
            outputs[str(path.relative_to(tmp_path))] = path.read_bytes().decode("utf-8", "replace")
    for key in store.list_keys(""):
        outputs[f"s3://{key}"] = store.get_bytes(key)[0].decode("utf-8", "replace")
    assert any("worker" in name and name.endswith(".log") for name in outputs)
    assert any(name.startswith("s3://reports/") for name in outputs)
    assert any(name.endswith(".reason.json") for name in outputs)

    secret_values = {
        "redis password": password,
        "S3 secret key": s3_server.secret_key,
        "S3 access key": s3_server.access_key,
    }
    leaks = [
        f"{label} in {where}"
        for label, value in secret_values.items()
        for form in {value, quote(value, safe="")}
        for where, text in outputs.items()
        if form in text
    ]
    assert leaks == []


def stack_cli() -> list[str]:
    import sys

    return [sys.executable, "-m", "pipeline.cli"]


def test_a_settings_error_names_the_setting_but_echoes_no_secret(tmp_path: Path) -> None:
    """Fault: invalid settings while secrets are set (pydantic quotes its raw input in errors).
    Outcome: exit 2 naming the setting; no part of any secret printed.
    """
    secret, password = "s3-" + secrets.token_hex(12), "rp-" + secrets.token_hex(12)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "SOHOA_VAR_DIR": str(tmp_path / "var"),
        "SOHOA_S3_SECRET_KEY": secret,
        "SOHOA_REDIS_URL": f"redis://:{password}@127.0.0.1:1/0",
        "SOHOA_TASK_TIME_LIMIT": "5000",  # above the visibility timeout: refused
    }
    done = subprocess.run(
        [*stack_cli(), "status"], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    said = done.stdout + done.stderr
    assert done.returncode == 2, said
    assert "SOHOA_TASK_TIME_LIMIT" in said
    # pydantic quotes its raw input (a prefix and a suffix of it): none of it may show.
    for value in (secret, password, secret[:8], secret[-8:], password[-8:]):
        assert value not in said, said


def test_masking_hides_url_credentials_and_quoted_input() -> None:
    from pipeline.cli.common import mask_secrets

    text = (
        "Redis at redis://:pw1@host:6379/0 (rediss://user:pw2@h/1), https://k:pw3@s3.example/b; "
        "[type=value_error, input_value={'s3_secret_key': 'pw4'}, input_type=dict]"
    )
    masked = mask_secrets(text)
    assert not any(f"pw{i}" in masked for i in range(1, 5)), masked
    assert "redis://***@host:6379/0" in masked and "value_error" in masked
    assert mask_secrets("http://127.0.0.1:8333/sohoa") == "http://127.0.0.1:8333/sohoa"
