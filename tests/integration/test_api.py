"""The catalogue API against a real S3 server and a real index: TestClient, and real HTTP."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import httpx2 as httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image

from config.settings import SohoaSettings
from pipeline.adapters.sqlite_index import SqliteIndex
from pipeline.api.app import create_app
from pipeline.api.options import ApiOptions
from pipeline.core.inventory import InventoryRow
from pipeline.core.layout import record_key
from pipeline.core.naming import to_object_slug
from pipeline.core.records import (
    ArtefactRecord,
    DerivativeRef,
    IiifRef,
    StoredObject,
    ViewEntry,
)
from pipeline.services.catalogue import reindex
from pipeline.services.context import Context
from pipeline.services.publish import write_manifest
from pipeline.services.reader import is_signable
from tests.conftest import S3Server, make_settings, settings_env

pytestmark = pytest.mark.integration

UNUSED_REDIS = "redis://127.0.0.1:6379/13"  # settings need one; the API never talks to Redis

# accession, name_vi, name_en, object type, material, period, updated (day of March 2025), views
ARTEFACTS = [
    ("HM.1998.45/PL", "Đĩa pháp lam vẽ rồng", "Painted enamel dish", "đĩa", "pháp lam",
     "Minh Mạng", 1, 2),
    ("BTCVH.GS.0012", "Bình gốm men lam", "Blue-and-white vase", "bình", "gốm sứ",
     "Thiệu Trị", 2, 1),
    ("BTCVH.GS.0013", "Đồ gốm Huế", "Hue ceramic ware", "bát", "gốm sứ", "Tự Đức", 3, 0),
    ("BTCVH.ĐS.0031", "Lư hương đồng", "Bronze censer", "lư hương", "đồng", "Tự Đức", 10, 1),
    ("HM.2001.7", "Ấn vàng Thừa Thiên", "Gold seal", "ấn", "vàng", "Gia Long", 20, 0),
    # The material typed on a Mac (NFD) and capitalised: one set and one facet with gốm sứ.
    ("HM.2003.1", "Chén trà", "Tea cup", "chén", unicodedata.normalize("NFD", "Gốm Sứ"),
     "Khải Định", 25, 0),
]  # fmt: skip
UNNAMED = "X.9"  # a record without an inventory row
SHA = {a[0]: f"{i:x}" * 64 for i, a in enumerate(ARTEFACTS, start=1)}


def jpeg(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "JPEG", quality=80)
    return out.getvalue()


def make_view(ctx: Context, slug: str, sha: str, seq: int, *, tiles: bool) -> ViewEntry:
    """One view whose master and derivatives really are in the bucket, as ingest leaves them."""
    bucket = ctx.settings.bucket
    master_key = f"masters/{slug}/{sha}.tif"
    ctx.store.put_bytes(master_key, b"II*\x00master bytes", content_type="image/tiff")
    derivatives = {}
    for name, edge in (("thumb", 40), ("preview", 120), ("access", 300)):
        data = jpeg(edge, edge * 3 // 4, (180, 40 * seq, 30))
        key = f"derivatives/{slug}/{sha}/{name}.jpg"
        ctx.store.put_bytes(key, data, content_type="image/jpeg")
        derivatives[name] = DerivativeRef(
            bucket=bucket, key=key, sha256=sha, size=len(data), media_type="image/jpeg",
            width=edge, height=edge * 3 // 4,
        )  # fmt: skip
    return ViewEntry(
        scan_id=sha,
        view="front",
        seq=seq,
        source_name=f"{slug}_front_{seq}.tif",
        format="TIFF",
        width=3000,
        height=2250,
        bit_depth=8,
        pages=1,
        icc_profile=None,
        master=StoredObject(
            bucket=ctx.settings.masters_bucket_name,
            key=master_key,
            sha256=sha,
            size=17,
            media_type="image/tiff",
        ),
        derivatives=derivatives,
        iiif=IiifRef(bucket=bucket, base_key=f"iiif/{sha}", files=5, size=1000) if tiles else None,
        capture_datetime="2024:05:01 10:00:00+07:00",
        camera="Phase One IQ4",
    )


def write_record(ctx: Context, record: ArtefactRecord) -> None:
    """Store a record the way publish_record does: a compare-and-swap JSON update."""
    data = record.model_dump(mode="json")
    ctx.store.update_json(record_key(record.object), lambda current: data)


def populate(ctx: Context) -> list[ArtefactRecord]:
    records = []
    for accession, vi, en, kind, material, period, day, views in ARTEFACTS:
        slug = to_object_slug(accession)
        sha = SHA[accession]
        record = ArtefactRecord(
            object=slug,
            accession_number=accession,
            inventory=InventoryRow(
                accession_number=accession,
                name_vi=vi,
                name_en=en,
                object_type=kind,
                material=material,
                period=period,
                dimensions="Cao 20 cm",
                current_location="Kho 2, kệ 14",
                rights="CC BY 4.0",
            ),
            # The first artefact has IIIF tiles (so a manifest); the others only derivatives.
            views=[
                make_view(ctx, slug, sha[:-1] + str(seq), seq, tiles=accession == "HM.1998.45/PL")
                for seq in range(1, views + 1)
            ],
            profile="default",
            pipeline_version="0.1.0",
            updated_at=datetime(2025, 3, day, 8, 30, tzinfo=UTC),
        )
        write_record(ctx, record)
        records.append(record)
    unnamed = ArtefactRecord(
        object=to_object_slug(UNNAMED),
        accession_number=UNNAMED,
        inventory=None,
        views=[],
        profile="default",
        pipeline_version="0.1.0",
        updated_at=datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC),
    )
    write_record(ctx, unnamed)
    records.append(unnamed)
    assert write_manifest(ctx, "hm.1998.45-pl")
    return records


@dataclass
class Built:
    """A bucket with records, derivatives, masters and a manifest, and its index, built."""

    settings: SohoaSettings
    ctx: Context
    records: list[ArtefactRecord]
    home: Path


def build_catalogue(s3_server: S3Server, home: Path, **overrides: object) -> Built:
    settings = make_settings(s3_server, UNUSED_REDIS, home / "var", **overrides)
    ctx = Context.from_settings(settings)
    ctx.store.ensure_bucket(settings.bucket)
    records = populate(ctx)
    with SqliteIndex(settings.catalogue_index_path) as index:
        result = reindex(ctx, index)
    assert result.indexed == len(records) and not result.rejected
    return Built(settings, ctx, records, home)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(app: FastAPI) -> Iterator[str]:
    """The app under a real uvicorn on a free port, in a thread; stopped on exit."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def built(s3_server: S3Server, tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build_catalogue(s3_server, tmp_path_factory.mktemp("api"))


@pytest.fixture(scope="module")
def client(built: Built) -> Iterator[TestClient]:
    app = create_app(built.settings, options=ApiOptions(presign_seconds=120))
    with TestClient(app) as test_client:
        yield test_client


def accessions(body: dict) -> list[str]:
    return [hit["accession_number"] for hit in body["hits"]]


def assert_error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    assert "Traceback" not in response.text and 'File "' not in response.text
    return body["error"]


# --- search -------------------------------------------------------------------------------------


def test_search_matches_vietnamese_with_or_without_diacritics(client):
    for text in ("hue", "Huế", "HUE", unicodedata.normalize("NFD", "huế")):
        body = client.get("/api/objects", params={"q": text}).json()
        assert accessions(body) == ["BTCVH.GS.0013"], text
    body = client.get("/api/objects", params={"q": "lu huong dong"}).json()
    assert body["hits"][0]["name_vi"] == "Lư hương đồng"
    assert body["total"] == 1


def test_search_returns_the_search_result_with_urls_for_each_hit(client, built):
    body = client.get("/api/objects", params={"sort": "accession"}).json()
    assert body["total"] == len(built.records)
    assert body["page"] == 1 and body["page_size"] == 20 and body["pages"] == 1
    assert body["sort"] == "accession"
    assert accessions(body) == [
        "BTCVH.ĐS.0031", "BTCVH.GS.0012", "BTCVH.GS.0013", "HM.1998.45/PL", "HM.2001.7",
        "HM.2003.1", "X.9",
    ]  # fmt: skip
    by_accession = {hit["accession_number"]: hit for hit in body["hits"]}
    dish = by_accession["HM.1998.45/PL"]
    assert dish["url"] == "http://testserver/api/objects/hm.1998.45-pl"
    assert dish["thumbnail"].startswith("derivatives/hm.1998.45-pl/")
    assert dish["thumbnail_url"].startswith(built.settings.s3_endpoint_url)
    assert by_accession["HM.2001.7"]["thumbnail_url"] is None  # no views, no thumbnail
    # The NFD, capitalised "Gốm Sứ" is counted with "gốm sứ", spelled as most records spell it.
    assert {c["value"]: c["count"] for c in body["facets"]["material"]} == {
        "gốm sứ": 3, "pháp lam": 1, "đồng": 1, "vàng": 1,
    }  # fmt: skip


def test_filters_are_repeatable_and_combine_with_text_sort_and_pages(client):
    both = client.get("/api/objects", params=[("material", "gốm sứ"), ("material", "đồng")])
    assert both.json()["total"] == 4  # the NFD spelling is the same material
    period = client.get("/api/objects", params={"period": "tu duc", "type": "lư hương"}).json()
    assert accessions(period) == ["BTCVH.ĐS.0031"]
    by_name = client.get(
        "/api/objects", params={"material": "gom su", "sort": "name", "page_size": 2, "page": 2}
    ).json()
    assert by_name["pages"] == 2 and by_name["page"] == 2
    assert [h["name_vi"] for h in by_name["hits"]] == ["Đồ gốm Huế"]
    assert client.get("/api/objects", params={"page": 50}).json()["hits"] == []


def test_the_thumbnail_url_is_a_short_lived_signed_url_that_serves_the_jpeg(client, built):
    hit = client.get("/api/objects", params={"q": "HM.1998.45/PL"}).json()["hits"][0]
    url = hit["thumbnail_url"]
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Expires"] == ["120"]
    assert "X-Amz-Signature" in query
    fetched = httpx.get(url)
    assert fetched.status_code == 200
    assert fetched.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(fetched.content)).size == (40, 30)
    # Without the signature the bucket refuses: the signed URL is what grants access.
    assert httpx.get(url.split("?")[0]).status_code in (401, 403)


def test_a_signed_url_is_reused_for_a_fifth_of_its_life_then_signed_again(built):
    app = create_app(built.settings, options=ApiOptions(presign_seconds=100))
    catalogue = app.state.catalogue
    now = [1_000_000.0]
    catalogue.clock = lambda: now[0]
    key = built.records[0].views[0].derivatives["thumb"].key
    first = catalogue.sign_url(key)
    now[0] += 19
    assert catalogue.sign_url(key) == first  # a browser may cache the thumbnail meanwhile
    time.sleep(1.1)  # botocore dates signatures to the second
    now[0] += 1
    renewed = catalogue.sign_url(key)
    assert renewed != first and "X-Amz-Expires=100" in renewed
    assert httpx.get(renewed).status_code == 200
    catalogue.close()


@pytest.mark.parametrize(
    "key",
    [
        "masters/hm.1998.45-pl/abc.tif",
        "derivatives/../masters/hm.1998.45-pl/abc.tif",
        "derivatives/x/masters/abc.tif",
        "records/hm.1998.45-pl.json",
        "iiif/abc/info.json",
        "",
    ],
)
def test_nothing_but_a_derivative_is_ever_signed(client, key):
    catalogue = client.app.state.catalogue
    assert not is_signable(key)
    assert catalogue.sign_url(key) is None


def test_a_derivative_in_another_bucket_is_not_signed(client):
    catalogue = client.app.state.catalogue
    key = "derivatives/hm.1998.45-pl/x/thumb.jpg"
    assert catalogue.sign_url(key, bucket="private-masters") is None
    assert catalogue.sign_url(key, bucket=catalogue.ctx.store.bucket) is not None


def test_facets_list_every_value_with_counts(client):
    body = client.get("/api/facets").json()
    assert body["total"] == 7
    periods = {c["value"]: c["count"] for c in body["facets"]["period"]}
    assert periods["Tự Đức"] == 2
    assert sum(c["count"] for c in body["facets"]["object_type"]) == 6
    filtered = client.get("/api/facets", params={"q": "gom"}).json()
    assert filtered["total"] == 3


# --- one object ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "identifier",
    ["HM.1998.45/PL", "hm.1998.45-pl", quote("HM.1998.45/PL", safe=""), "hm.1998.45/pl"],
)
def test_an_object_is_found_by_accession_number_or_slug(client, identifier):
    response = client.get(f"/api/objects/{identifier}")
    assert response.status_code == 200, response.text
    record = response.json()
    assert record["object"] == "hm.1998.45-pl"
    assert record["accession_number"] == "HM.1998.45/PL"
    assert record["inventory"]["name_vi"] == "Đĩa pháp lam vẽ rồng"
    assert record["links"]["manifest"] == "http://testserver/iiif/hm.1998.45-pl/manifest.json"
    assert len(record["views"]) == 2


def test_a_record_shows_each_master_as_fixity_only_and_derivatives_as_signed_urls(client):
    record = client.get("/api/objects/BTCVH.ĐS.0031").json()
    view = record["views"][0]
    assert view["master"] == {"sha256": SHA["BTCVH.ĐS.0031"][:-1] + "1", "size": 17,
                              "media_type": "image/tiff"}  # fmt: skip
    for name in ("thumb", "preview", "access"):
        fetched = httpx.get(view["derivatives"][name]["url"])
        assert fetched.status_code == 200 and fetched.headers["content-type"] == "image/jpeg"
    assert "manifest" not in record["links"]  # derivatives but no tiles: no manifest


def test_an_object_not_in_the_index_is_still_read_from_the_bucket(client, built):
    late = built.records[0].model_copy(
        update={"object": "late.1", "accession_number": "LATE.1", "inventory": None}
    )
    write_record(built.ctx, late)
    try:
        assert client.get("/api/objects/LATE.1").json()["accession_number"] == "LATE.1"
    finally:
        built.ctx.store.delete(record_key("late.1"))


@pytest.mark.parametrize("identifier", ["NOPE.1", "...", "masters", "..%2Frecords%2Fx.9", "%00"])
def test_an_unknown_object_is_a_404_json_error(client, identifier):
    error = assert_error(client.get(f"/api/objects/{identifier}"), 404, "NOT_FOUND")
    assert "accession number" in error["message"]


# --- IIIF ---------------------------------------------------------------------------------------


def test_the_manifest_is_served_from_the_bucket_with_cors(client):
    response = client.get(
        "/iiif/hm.1998.45-pl/manifest.json", headers={"Origin": "https://viewer.example"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/ld+json")
    assert response.headers["access-control-allow-origin"] == "*"
    manifest = response.json()
    assert manifest["type"] == "Manifest"
    assert manifest["label"] == {"vi": ["Đĩa pháp lam vẽ rồng"], "en": ["Painted enamel dish"]}
    assert len(manifest["items"]) == 2


def test_a_missing_manifest_is_a_404_json_error(client):
    assert_error(client.get("/iiif/btcvh.gs.0012/manifest.json"), 404, "NOT_FOUND")
    assert_error(client.get("/iiif/nope/manifest.json"), 404, "NOT_FOUND")


# --- errors, docs, health, CORS -----------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"page_size": 1000},
        {"page_size": 0},
        {"page": 0},
        {"page": "two"},
        {"sort": "price"},
        {"q": "x" * 1001},
    ],
)
def test_bad_parameters_are_a_422_json_error_naming_the_parameter(client, params):
    error = assert_error(client.get("/api/objects", params=params), 422, "INVALID_PARAMETER")
    assert next(iter(params)) in error["message"]


def test_unknown_routes_and_other_methods_are_json_errors(client):
    assert_error(client.get("/api/nothing"), 404, "NOT_FOUND")
    assert_error(client.post("/api/objects", json={}), 405, "METHOD_NOT_ALLOWED")
    assert_error(client.delete("/api/objects/HM.2001.7"), 405, "METHOD_NOT_ALLOWED")


def test_an_unexpected_exception_is_a_500_json_error_without_a_traceback(built):
    app = create_app(built.settings)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret detail: s3://bucket/masters/x")

    store = built.ctx.store
    store.put_bytes("records/broken.json", b"{not json", content_type="application/json")
    # Valid JSON that is not a record: the server's fault (500), never the client's (422).
    store.put_bytes("records/odd.json", b'{"object": "odd"}', content_type="application/json")
    with TestClient(app, raise_server_exceptions=False) as test_client:
        for path in ("/boom", "/api/objects/broken", "/api/objects/odd"):
            response = test_client.get(path)
            error = assert_error(response, 500, "INTERNAL")
            assert "secret" not in response.text and "masters/" not in response.text
            assert error["message"] == "An unexpected error occurred; it has been logged."
    store.delete("records/broken.json")
    store.delete("records/odd.json")


def test_storage_that_does_not_answer_is_a_503_with_retry_after(built):
    settings = built.settings.model_copy(
        update={"s3_endpoint_url": f"http://127.0.0.1:{free_port()}"}
    )
    with TestClient(create_app(settings)) as test_client:
        response = test_client.get("/api/objects/HM.2001.7")
        error = assert_error(response, 503, "STORAGE_UNAVAILABLE")
        assert response.headers["retry-after"] == "5"
        assert "127.0.0.1" not in error["message"]  # the configuration stays in the log
        health = test_client.get("/healthz")
        assert health.status_code == 503
        assert health.json()["bucket"] == {
            "ok": False, "name": built.settings.bucket, "error": "STORAGE_UNAVAILABLE"
        }  # fmt: skip
        # The index still answers searches while storage is away.
        assert test_client.get("/api/objects", params={"q": "hue"}).json()["total"] == 1


def test_health_reports_the_index_count_and_the_bucket(client, built):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "index": {"ok": True, "count": len(built.records)},
        "bucket": {"ok": True, "name": built.settings.bucket},
    }


def test_health_is_503_when_the_bucket_does_not_exist(built):
    settings = built.settings.model_copy(update={"bucket": "t-missing-bucket"})
    with TestClient(create_app(settings)) as test_client:
        response = test_client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["bucket"]["error"] == "CONFIGURATION"


def test_openapi_docs_describe_every_route(client):
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/objects", "/api/objects/{identifier}", "/api/facets", "/healthz", "/oai",
            "/iiif/{identifier}/manifest.json"} <= set(paths)  # fmt: skip
    params = {p["name"] for p in paths["/api/objects"]["get"]["parameters"]}
    assert params == {
        "q",
        "material",
        "period",
        "type",
        "qc",
        "colour_level",
        "tag",
        "sort",
        "page",
        "page_size",
    }
    assert "/api/objects/{identifier}/lido.xml" in paths
    # A QC verdict that does not exist is the client's mistake, said as such.
    assert client.get("/api/objects", params={"qc": "excellent"}).status_code == 422


def test_cors_allows_any_origin_to_get_and_nothing_else(client):
    preflight = {"Origin": "https://museum.example", "Access-Control-Request-Method": "GET"}
    allowed = client.options("/api/objects", headers=preflight)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "*"
    refused = client.options(
        "/api/objects", headers={**preflight, "Access-Control-Request-Method": "DELETE"}
    )
    assert refused.status_code == 400


def test_no_response_ever_names_a_master(client, built):
    paths = ["/api/objects", "/api/objects?page_size=100&sort=name", "/api/facets", "/healthz",
             "/iiif/hm.1998.45-pl/manifest.json", "/oai?verb=ListRecords&metadataPrefix=oai_dc",
             "/openapi.json", "/"]  # fmt: skip
    paths += [f"/api/objects/{quote(r.accession_number, safe='')}" for r in built.records]
    paths += [f"/oai?verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:sohoa:{r.object}"
              for r in built.records]  # fmt: skip
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        assert "masters/" not in response.text, path
        # Nor where an object is stored: the shelf of a gold seal is for staff only.
        assert "Kho 2" not in response.text, path


# --- over real HTTP -----------------------------------------------------------------------------


def test_the_app_under_uvicorn_answers_over_http(built):
    app = create_app(built.settings, options=ApiOptions(public_url="https://catalogue.example"))
    with running_server(app) as base:
        body = httpx.get(f"{base}/api/objects", params={"q": "hue"}).json()
        assert accessions(body) == ["BTCVH.GS.0013"]
        record = httpx.get(f"{base}/api/objects/HM.1998.45%2FPL").json()
        assert record["links"]["self"] == "https://catalogue.example/api/objects/hm.1998.45-pl"
        thumb = httpx.get(record["views"][0]["derivatives"]["thumb"]["url"])
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"


@pytest.mark.process
def test_sohoa_serve_runs_the_api_in_its_own_process(built):
    port = free_port()
    env = {**settings_env(built.settings), "PYTHONPATH": str(Path(__file__).parents[2])}
    log_path = built.home / "serve.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=built.home,
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, log_path.read_text()
            try:
                health = httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.1)
        assert health.json()["index"]["count"] == len(built.records)
        hit = httpx.get(f"{base}/api/objects", params={"q": "phap lam"}).json()["hits"][0]
        assert hit["url"] == f"{base}/api/objects/hm.1998.45-pl"
        thumb = httpx.get(hit["thumbnail_url"])
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
        identify = httpx.get(f"{base}/oai", params={"verb": "Identify"})
        assert f"<baseURL>{base}/oai</baseURL>" in identify.text
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
    log_text = log_path.read_text()
    # uvicorn finishes its requests, then re-raises SIGTERM so the exit status tells why it ended.
    assert proc.returncode in (0, -signal.SIGTERM), log_text
    assert "Application shutdown complete" in log_text
    assert f"Serving {len(built.records)} objects" in log_text
