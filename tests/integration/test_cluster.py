"""The storage logic against a SeaweedFS cluster (master, two volume servers, filer, S3 gateway,
replication 001) instead of one `weed mini`: every test of the S3 adapter's contract and the
audit's storage-facing tests (listing, re-hashing, publishing again, putting a master back) run
here unchanged (imported, with `s3_server` pointed at the cluster); and every object is shown
to have a copy on both volume servers, and only the S3 gateway to serve bytes."""

from __future__ import annotations

import hashlib
import json
import os
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from pipeline.adapters.s3_store import S3Store
from tests.conftest import S3Server, make_settings, settings_env

# The same test bodies as against `weed mini`: whatever the adapter, ingest, publish and audit
# assume of S3 (write-once masters, server-side SHA-256, multipart, compare-and-swap on JSON,
# listing, reads of what was just written) must hold on the cluster too. Left out: the tests
# of what does not depend on storage's topology (the audit's sampling, the API, imaging).
from tests.integration.test_audit import (  # noqa: F401
    stored,
    test_a_changed_a_missing_and_a_stray_master_are_exactly_what_is_reported,
    test_a_changed_master_is_put_back_by_the_remedy_the_audit_prints,
    test_scans_without_a_record_are_reported_and_reindex_repair_publishes_them,
)
from tests.integration.test_s3_store import (  # noqa: F401
    store,
    test_a_large_master_goes_up_in_parts_and_is_verified,
    test_a_master_is_proven_by_the_servers_sha256_without_a_download,
    test_a_master_is_written_once_and_never_overwritten,
    test_a_master_stored_without_a_checksum_is_read_back_instead,
    test_a_multipart_master_is_read_back,
    test_concurrent_updates_of_one_json_object_lose_nothing,
    test_missing_objects_read_as_none,
    test_other_bytes_under_a_masters_key_are_reported_whichever_the_proof,
    test_readback_mode_downloads_every_master,
    test_the_lean_put_maps_refusals_to_the_projects_errors,
    test_the_lean_put_writes_what_boto3_reads_back,
    test_update_json_leaves_an_unchanged_object_alone,
    test_wrong_credentials_and_missing_buckets_are_configuration_errors,
)
from tests.support.cluster import ClusterServer, replica_nodes
from tests.support.stacks import run_cli_in_process

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def s3_server(seaweed_cluster: ClusterServer) -> S3Server:
    """Every fixture of this module that stores (`store`, `stored`) talks to the cluster."""
    return seaweed_cluster.s3


def test_the_cluster_is_separate_processes_on_their_own_folders(
    seaweed_cluster: ClusterServer,
) -> None:
    cluster = seaweed_cluster.cluster
    names = [p.name for p in cluster.processes()]
    assert names == ["s3", "filer", "volume-0", "volume-1", "master"]
    assert len({p.pid for p in cluster.processes()}) == 5
    folders = [cluster.home / f"volume-{i}" for i in range(2)]
    assert all((f / "vol_dir.uuid").exists() for f in folders), "each volume server's own folder"
    assert cluster.replication == "001"


def test_every_object_has_a_copy_on_each_volume_server(
    seaweed_cluster: ClusterServer, tmp_path: Path
) -> None:
    """Replication 001 is in force: every volume of the bucket (so every object in it) is held
    by both volume servers, and the objects read back whole."""
    settings = make_settings(seaweed_cluster.s3, "redis://127.0.0.1:1/0", tmp_path)
    bucket_store = S3Store.from_settings(settings)
    bucket_store.ensure_bucket(settings.bucket)
    written = {}
    for i in range(6):
        data = os.urandom(200_000 + i)
        sha = hashlib.sha256(data).hexdigest()
        key = f"masters/rep/{sha}.tif"
        assert bucket_store.store_master(key, data, sha256=sha, content_type="image/tiff",
                                  name=f"rep-{i}.tif").created  # fmt: skip
        written[key] = (sha, len(data))

    held = replica_nodes(seaweed_cluster.cluster.master_url, settings.bucket)
    servers = {f"127.0.0.1:{port}" for port in seaweed_cluster.cluster.ports.volumes}
    assert held, f"no volume of bucket {settings.bucket} is known to the master"
    assert all(nodes == servers for nodes in held.values()), held
    for key, expected in written.items():
        assert bucket_store.hash_object(key, bucket=bucket_store.masters_bucket) == expected


def test_services_buckets_creates_private_buckets_with_public_prefixes(
    seaweed_cluster: ClusterServer, tmp_path: Path
) -> None:
    """`sohoa services buckets`, as the production recipe runs it once against the cluster: the
    bucket and a masters bucket are created; anyone may GET iiif/, nobody unsigned reads a
    master; a second run creates nothing."""
    s3 = seaweed_cluster.s3
    bucket, masters = "d-" + uuid.uuid4().hex[:10], "m-" + uuid.uuid4().hex[:10]
    settings = make_settings(s3, "redis://127.0.0.1:1/0", tmp_path, bucket=bucket,
                             masters_bucket=masters)  # fmt: skip

    first = run_cli_in_process(["services", "buckets"], settings_env(settings), tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"{bucket}: created" in first.stdout and f"{masters}: created" in first.stdout
    client = S3Store.from_settings(settings).client
    client.put_object(Bucket=bucket, Key="iiif/x/info.json", Body=b"{}")
    client.put_object(Bucket=masters, Key="masters/x/y.tif", Body=b"master")

    def anonymous_get(path: str) -> int:
        try:
            with urllib.request.urlopen(f"{s3.endpoint}/{path}", timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    assert anonymous_get(f"{bucket}/iiif/x/info.json") == 200
    assert anonymous_get(f"{masters}/masters/x/y.tif") == 403
    again = run_cli_in_process(["services", "buckets"], settings_env(settings), tmp_path)
    assert again.returncode == 0 and f"{bucket}: already there" in again.stdout, again.stdout


def test_only_the_s3_gateway_serves_the_bytes(
    seaweed_cluster: ClusterServer, tmp_path: Path
) -> None:
    """The filer's and volume servers' own HTTP ports refuse requests without the cluster's
    JWT, and S3 refuses an unsigned read of a private key: credentials cannot be side-stepped."""
    settings = make_settings(seaweed_cluster.s3, "redis://127.0.0.1:1/0", tmp_path)
    client = S3Store.from_settings(settings).client
    client.create_bucket(Bucket=settings.bucket)
    client.put_object(Bucket=settings.bucket, Key="masters/x/y.tif", Body=b"private bytes")
    cluster = seaweed_cluster.cluster

    def status(url: str, method: str = "GET", body: bytes | None = None) -> int:
        request = urllib.request.Request(url, method=method, data=body)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    assert status(f"{cluster.filer.url}/buckets/{settings.bucket}/masters/x/y.tif") == 401
    assert status(f"{cluster.filer.url}/buckets/{settings.bucket}/z", "PUT", b"x") == 401
    with urllib.request.urlopen(f"{cluster.master_url}/dir/assign", timeout=10) as response:
        fid = json.load(response)
    assert status(f"http://{fid['url']}/{fid['fid']}", "PUT", b"x") == 401
    assert status(f"{cluster.endpoint}/{settings.bucket}/masters/x/y.tif") == 403
