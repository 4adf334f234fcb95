"""The S3 adapter against a real SeaweedFS: write-once masters, verified reads, compare-and-swap."""

from __future__ import annotations

import hashlib
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from pipeline.adapters.s3_put import LeanPutter
from pipeline.adapters.s3_store import S3Store
from pipeline.core.fixity import sha256_base64
from pipeline.errors import ConfigurationError, IntegrityError, StorageUnavailableError
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


def _master(store: S3Store, data: bytes) -> tuple[str, str]:
    sha = hashlib.sha256(data).hexdigest()
    return f"masters/v/{sha}.tif", sha


def test_a_master_is_proven_by_the_servers_sha256_without_a_download(store: S3Store) -> None:
    data = os.urandom(4096)
    key, sha = _master(store, data)
    result = store.store_master(key, data, sha256=sha, content_type="image/tiff", name="v.tif")
    assert (result.created, result.verified_by) == (True, "storage-sha256")
    again = store.store_master(key, data, sha256=sha, content_type="image/tiff", name="v.tif")
    assert (again.created, again.verified_by) == (False, "storage-sha256")


def test_a_master_stored_without_a_checksum_is_read_back_instead(store: S3Store) -> None:
    """An object another tool wrote (no stored SHA-256) cannot be proven by HEAD: read back."""
    data = os.urandom(4096)
    key, sha = _master(store, data)
    store.client.put_object(Bucket=store.masters_bucket, Key=key, Body=data)
    result = store.store_master(key, data, sha256=sha, content_type="image/tiff", name="v.tif")
    assert (result.created, result.verified_by) == (False, "read-back")


def test_other_bytes_under_a_masters_key_are_reported_whichever_the_proof(store: S3Store) -> None:
    data = os.urandom(4096)
    key, sha = _master(store, data)
    other = os.urandom(4096)
    store.client.put_object(
        Bucket=store.masters_bucket, Key=key, Body=other, ChecksumSHA256=sha256_base64(
            hashlib.sha256(other).hexdigest())
    )  # fmt: skip
    with pytest.raises(IntegrityError, match=r"does not match the source.*by storage-sha256"):
        store.store_master(key, data, sha256=sha, content_type="image/tiff", name="v.tif")
    store.master_verify = "readback"
    with pytest.raises(IntegrityError, match=r"does not match the source.*by read-back"):
        store.store_master(key, data, sha256=sha, content_type="image/tiff", name="v.tif")
    # Not ours to delete: the object was there before.
    assert store.get_bytes(key, bucket=store.masters_bucket)[0] == other


def test_readback_mode_downloads_every_master(store: S3Store) -> None:
    store.master_verify = "readback"
    data = os.urandom(4096)
    key, sha = _master(store, data)
    result = store.store_master(key, data, sha256=sha, content_type="image/tiff", name="v.tif")
    assert (result.created, result.verified_by) == (True, "read-back")


def test_a_multipart_master_is_read_back(store: S3Store) -> None:
    data = os.urandom(6 * 1024 * 1024)  # above the 5 MB threshold
    key, sha = _master(store, data)
    result = store.store_master(key, data, sha256=sha, content_type="image/tiff", name="big.tif")
    assert (result.created, result.verified_by) == (True, "read-back")


def test_the_lean_put_writes_what_boto3_reads_back(store: S3Store) -> None:
    assert store.lean is not None, "static keys and no proxy: the lean path is on"
    body = os.urandom(70_000)
    key = "iiif/lean/Đĩa men lam/0,0,512,512/512,/0/default.jpg"
    store.put_small(key, body, content_type="image/jpeg")
    assert store.get_bytes(key) is not None and store.get_bytes(key)[0] == body
    head = store.head(key)
    assert head is not None and head["ContentType"] == "image/jpeg"


def test_the_lean_put_maps_refusals_to_the_projects_errors(
    s3_server: S3Server, store: S3Store, tmp_path: Path
) -> None:
    assert store.lean is not None
    with pytest.raises(ConfigurationError, match="check that the bucket exists"):
        store.lean.put("no-such-bucket-here", "iiif/x.jpg", b"x", content_type="image/jpeg")
    wrong = make_settings(s3_server, "redis://127.0.0.1:1/0", tmp_path,
                          s3_secret_key=SecretStr("not-the-secret"))  # fmt: skip
    lean = LeanPutter.from_settings(wrong)
    assert lean is not None
    with pytest.raises(ConfigurationError, match="SOHOA_S3_SECRET_KEY"):
        lean.put(store.bucket, "iiif/x.jpg", b"x", content_type="image/jpeg")
    gone = LeanPutter("http://127.0.0.1:9", access_key="a", secret_key="b", region="us-east-1")
    with pytest.raises(StorageUnavailableError, match=r"did not answer.*check that it is running"):
        gone.put(store.bucket, "iiif/x.jpg", b"x", content_type="image/jpeg")
