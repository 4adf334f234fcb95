"""The S3 adapter against a real SeaweedFS: write-once masters, verified reads, compare-and-swap."""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.adapters.s3_store import S3Store
from pipeline.errors import ConfigurationError
from tests.conftest import S3Server, make_settings

pytestmark = pytest.mark.integration


@pytest.fixture()
def store(s3_server: S3Server, tmp_path: Path) -> Iterator[S3Store]:
    settings = make_settings(s3_server, "redis://127.0.0.1:1/0", tmp_path, multipart_threshold_mb=5,
                             multipart_chunk_mb=5)  # fmt: skip
    built = S3Store.from_settings(settings)
    built.ensure_bucket(settings.bucket)
    yield built


def test_a_master_is_written_once_and_never_overwritten(store: S3Store) -> None:
    data = os.urandom(2048)
    sha = hashlib.sha256(data).hexdigest()
    first = store.store_master(f"masters/x/{sha}.tif", data, sha256=sha, content_type="image/tiff",
                               name="x.tif")  # fmt: skip
    again = store.store_master(f"masters/x/{sha}.tif", data, sha256=sha, content_type="image/tiff",
                               name="x.tif")  # fmt: skip
    assert (first.created, again.created) == (True, False)
    assert store.head(f"masters/x/{sha}.tif", bucket=store.masters_bucket)["Metadata"] == {
        "sha256": sha
    }


def test_a_large_master_goes_up_in_parts_and_is_verified(store: S3Store) -> None:
    data = os.urandom(12 * 1024 * 1024)  # above the 5 MB threshold: three parts
    sha = hashlib.sha256(data).hexdigest()
    key = f"masters/big/{sha}.tif"
    result = store.store_master(key, data, sha256=sha, content_type="image/tiff", name="big.tif")
    assert result.created
    assert store.hash_object(key, bucket=store.masters_bucket) == (sha, len(data))
    again = store.store_master(key, data, sha256=sha, content_type="image/tiff", name="big.tif")
    assert not again.created
    uploads = store.client.list_multipart_uploads(Bucket=store.masters_bucket).get("Uploads", [])
    assert uploads == [], "no multipart upload is left open"


def test_concurrent_updates_of_one_json_object_lose_nothing(store: S3Store) -> None:
    key = f"records/{uuid.uuid4().hex}.json"
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def add(item: int) -> None:
        try:
            barrier.wait()
            store.update_json(
                key, lambda cur: {"items": sorted({*(cur or {}).get("items", []), item})}
            )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert store.read_json(key)[0] == {"items": list(range(8))}


def test_update_json_leaves_an_unchanged_object_alone(store: S3Store) -> None:
    key = f"records/{uuid.uuid4().hex}.json"
    store.update_json(key, lambda cur: {"a": 1})
    etag = store.head(key)["ETag"]
    store.update_json(key, lambda cur: None if cur == {"a": 1} else {"a": 1})
    assert store.head(key)["ETag"] == etag


def test_missing_objects_read_as_none(store: S3Store) -> None:
    assert store.head("nope") is None
    assert store.get_bytes("nope") is None
    assert store.hash_object("nope") is None


def test_wrong_credentials_and_missing_buckets_are_configuration_errors(
    s3_server: S3Server, tmp_path: Path
) -> None:
    bad = S3Server(s3_server.endpoint, s3_server.access_key, "wrong-secret-value")
    settings = make_settings(bad, "redis://127.0.0.1:1/0", tmp_path)
    with pytest.raises(ConfigurationError) as info:
        S3Store.from_settings(settings).check_buckets()
    assert "SOHOA_S3_SECRET_KEY" in info.value.message
    assert "wrong-secret-value" not in info.value.message

    missing = make_settings(s3_server, "redis://127.0.0.1:1/0", tmp_path, bucket="no-such-bucket")
    with pytest.raises(ConfigurationError, match="does not exist"):
        S3Store.from_settings(missing).check_buckets()
