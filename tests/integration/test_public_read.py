"""Anonymous reads of the bucket: IIIF, derivatives and manifests public; the rest private."""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipeline.adapters import embedded
from pipeline.core.naming import to_object_slug
from tests.conftest import S3Server, Stack

pytestmark = pytest.mark.integration

ORIGIN = "http://127.0.0.1:8000"  # the catalogue page, another origin than S3


def anonymous_get(url: str) -> tuple[int, bytes, dict[str, str]]:
    """GET without credentials, as a browser on the catalogue page would."""
    request = urllib.request.Request(url, headers={"Origin": ORIGIN})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def write_scan(path: Path) -> None:
    rng = np.random.default_rng(7)
    ramp = np.linspace(0, 255, 1400, dtype=np.float32)
    pixels = np.stack([np.add.outer(ramp[:1000] * 0.3, ramp * 0.7)] * 3, axis=-1)
    pixels += rng.normal(0, 6, pixels.shape)
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path, "JPEG", quality=90)


def test_anonymous_get_reaches_public_prefixes_only(stack: Stack, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    write_scan(drop / "PUB.1_front_1.jpg")
    (drop / "inventory.csv").write_text(
        'accession_number,name_vi,name_en,current_location\nPUB.1,Bình gốm,Vase,"Kho A, kệ 3"\n',
        "utf-8",
    )
    done = stack.sohoa("ingest", str(drop), "--inventory", str(drop / "inventory.csv"), "--wait")
    assert done.returncode == 0, done.stdout + done.stderr

    slug = to_object_slug("PUB.1")
    record, _ = stack.store.read_json(f"records/{slug}.json")
    view = record["views"][0]
    sha = view["scan_id"]
    base = f"{stack.settings.s3_endpoint_url}/{stack.settings.bucket}"
    tiles = [k for k in stack.store.list_keys(f"iiif/{sha}/") if k.endswith(".jpg")]
    assert tiles, "no IIIF tiles were written"

    public = {
        "info.json": f"iiif/{sha}/info.json",
        "tile": tiles[0],
        "derivative": view["derivatives"]["thumb"]["key"],
        "manifest": f"manifests/{slug}.json",
    }
    for what, key in public.items():
        status, body, headers = anonymous_get(f"{base}/{key}")
        assert status == 200, f"anonymous GET of the {what} {key}: {status} {body[:200]!r}"
        # A page on another origin may read it (CORS).
        assert headers.get("Access-Control-Allow-Origin") in ("*", ORIGIN), (what, headers)
    status, body, _ = anonymous_get(f"{base}/{public['info.json']}")
    assert json.loads(body)["type"] == "ImageService3"
    status, body, _ = anonymous_get(f"{base}/{public['tile']}")
    assert Image.open(io.BytesIO(body)).format == "JPEG"

    private = {
        "master": view["master"]["key"],
        "scan record": f"scans/{slug}/{sha}.json",
        "record": f"records/{slug}.json",
        "inventory row": f"inventory/{slug}.json",
    }
    for what, key in private.items():
        assert stack.store.head(key) is not None, f"{key} should exist for this test to mean much"
        status, body, _ = anonymous_get(f"{base}/{key}")
        assert status == 403, f"anonymous GET of the {what} {key} answered {status}"
        assert b"Kho A" not in body and b"AccessDenied" in body
    # Nor may anyone list the bucket, even under a public prefix.
    status, _, _ = anonymous_get(f"{base}/?list-type=2&prefix=iiif/")
    assert status == 403
    # Nor write to it.
    put = urllib.request.Request(f"{base}/iiif/{sha}/info.json", data=b"{}", method="PUT")
    with pytest.raises(urllib.error.HTTPError) as denied:
        urllib.request.urlopen(put, timeout=10)
    assert denied.value.code == 403


def test_services_up_buckets_get_the_same_access(s3_server: S3Server) -> None:
    """`create_buckets` (what `sohoa services up` calls) makes the same split, also on a bucket
    that already existed before public read was introduced."""
    name = "pub-" + uuid.uuid4().hex[:10]
    client = embedded.make_s3_client(s3_server.endpoint, s3_server.access_key, s3_server.secret_key)
    client.create_bucket(Bucket=name)  # an older, fully private bucket
    keys = {
        "iiif/abc/info.json": 200,
        "derivatives/x/abc/thumb.jpg": 200,
        "manifests/x.json": 200,
        "masters/x/abc.tif": 403,
        "scans/x/abc.json": 403,
        "records/x.json": 403,
        "inventory/x.json": 403,
        "reports/b.json": 403,
        "iiifx/not-public.json": 403,
    }
    for key in keys:
        client.put_object(Bucket=name, Key=key, Body=b"{}")
    assert anonymous_get(f"{s3_server.endpoint}/{name}/iiif/abc/info.json")[0] == 403

    created = embedded.create_buckets(
        s3_server.endpoint,
        access_key=s3_server.access_key,
        secret_key=s3_server.secret_key,
        names=[name],
    )
    assert created == []
    found = {key: anonymous_get(f"{s3_server.endpoint}/{name}/{key}")[0] for key in keys}
    assert found == keys
