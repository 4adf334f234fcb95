"""A SeaweedFS volume server is lost in the middle of a batch processed by real worker
processes: the cluster (replication 001) keeps every scan, serves reads from the surviving
copy, and nothing is stored twice."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from pipeline.adapters import embedded
from pipeline.adapters.embedded import cluster as weed_cluster
from tests.integration.test_batch import assert_catalogue_complete, make_scans, start_batch
from tests.support.cluster import ClusterServer, replica_nodes
from tests.support.s3_proxy import Rule
from tests.support.stacks import proxied_stack
from tests.support.wait import wait_until

pytestmark = pytest.mark.integration


def cannot_write(server: ClusterServer, bucket: str) -> bool:
    """Whether a new object fails to be written within 2 s (no volume can take two copies)."""
    s3 = server.s3
    client = embedded.make_s3_client(s3.endpoint, s3.access_key, s3.secret_key, timeout=2)
    try:
        # Outside masters/: the audit does not count it, and it may land once writes resume.
        client.put_object(Bucket=bucket, Key="probe/outage", Body=b"probe")
    except (BotoCoreError, ClientError):
        return True
    return False


@pytest.mark.slow
def test_a_volume_server_killed_mid_batch_loses_no_scan(
    seaweed_cluster: ClusterServer, clean_redis: str, tmp_path: Path
) -> None:
    """Fault: one of the cluster's two volume servers is SIGKILLed in the middle of a batch
    processed by a real worker (replication 001: every object has a copy on each); with one
    server left no volume can take two copies, so writes wait; a replacement volume server
    (a new machine, empty disk) joins, the killed one never comes back.
    Outcome: the batch ends with every scan stored and verified, each master created once
    (PUTs counted), every record current; `sohoa audit --all` re-hashes every master clean
    with the killed server still down (the scans stored before the kill are read from their
    surviving copy); volumes grown after the loss have two copies on the live servers."""
    count = 16
    folder = tmp_path / "scans"
    make_scans(folder, count)
    cluster = seaweed_cluster.cluster
    survivor, lost = (f"127.0.0.1:{port}" for port in cluster.ports.volumes)
    killed = cluster.volumes[1]
    with proxied_stack(
        seaweed_cluster.s3, clean_redis, tmp_path, concurrency=2, batch_stall_seconds=2.0
    ) as built:
        stack, proxy = built.stack, built.proxy
        bucket = stack.settings.bucket
        # A little slower uploads, so that the kill lands in the middle of the batch.
        proxy.add(Rule("PUT", "masters/", "delay", times=count, seconds=0.2))
        follower = start_batch(stack, str(folder), "--batch-id", "cluster-1")
        wait_until(
            lambda: len(list(stack.store.list_keys("scans/"))) >= 4 or follower.poll() is not None,
            "4 scans stored",
            timeout=120,
        )
        before_kill = replica_nodes(cluster.master_url, bucket)
        os.kill(killed.pid, signal.SIGKILL)
        stored_before = len(list(stack.store.list_keys("scans/")))
        assert follower.poll() is None and stored_before < count, "the batch ended before the kill"
        # Everything stored so far has its second copy on the server just lost.
        assert before_kill and all(n == {lost, survivor} for n in before_kill.values())
        wait_until(
            lambda: weed_cluster.volume_servers(cluster.master_url) == {survivor},
            "the master to drop the killed volume server",
            timeout=60,
        )
        assert cannot_write(seaweed_cluster, bucket), "one volume server took a write with 001"

        weed_cluster.add_volume_server(cluster)
        replacement = f"127.0.0.1:{cluster.ports.volumes[-1]}"
        output, _ = follower.communicate(timeout=240)

        assert follower.returncode == 0, output
        assert "records:     4 of 4 current" in output, output
        report = json.loads(stack.store.get_bytes("reports/cluster-1.json")[0])  # type: ignore[index]
        summary = report["summary"]
        assert (summary["files"], summary["stored"], summary["failed"]) == (count, count, 0)
        # Nothing stored twice: one successful master PUT per scan, no key twice.
        created = [
            s.key
            for s in proxy.seen
            if s.method == "PUT" and s.key.startswith("masters/") and s.status == 200
        ]
        assert len(created) == count == len(set(created)), sorted(created)
        masters = sorted(stack.store.list_keys("masters/"))
        assert masters == sorted(created)
        assert len(list(stack.store.list_keys("scans/"))) == count
        assert_catalogue_complete(stack, {f"batch.{i:03d}": 4 for i in range(count // 4)})

        # The killed server is still down: every master is re-hashed from what survives.
        assert not embedded.is_process_alive(killed.pid, "weed", killed.start_ticks)
        audit = stack.sohoa("audit", "--all")
        assert audit.returncode == 0, audit.stdout + audit.stderr
        clean = f"{count} master(s) re-hashed (all {count} tracked): 0 changed, 0 missing"
        assert f"Audit: {clean}, 0 untracked" in audit.stdout, audit.stdout
        after = replica_nodes(cluster.master_url, bucket)
        grown = {vid: nodes for vid, nodes in after.items() if vid not in before_kill}
        assert grown and all(n == {survivor, replacement} for n in grown.values()), after
        assert all(after[vid] == {survivor} for vid in before_kill), after
