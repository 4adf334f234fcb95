"""A SeaweedFS cluster for tests (master, two volume servers, filer, S3 gateway, replication
001) as an `S3Server` the stacks accept; started on free ports, stopped when the block ends."""

from __future__ import annotations

import json
import secrets
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pipeline.adapters.embedded import cluster as weed_cluster
from pipeline.errors import ConfigurationError
from tests.support.stacks import S3Server

# As the session's `weed mini` (tests/conftest.py): each bucket grows volumes of its own.
CLUSTER_VOLUME_MB = 64


@dataclass(frozen=True)
class ClusterServer:
    """The cluster's S3 gateway as tests reach it, and the cluster itself (to kill a part)."""

    s3: S3Server
    cluster: weed_cluster.SeaweedCluster


@contextmanager
def running_cluster(home: Path) -> Iterator[ClusterServer]:
    """A private cluster with credentials enforced; every server it started is stopped after."""
    access_key, secret_key = "test-" + secrets.token_hex(6), secrets.token_urlsafe(24)
    for attempt in range(1, 4):
        # Ports free when chosen can be taken before they are bound (xdist's processes start
        # servers at the same moment): another set, in a fresh folder, then.
        folder = home / f"cluster-{attempt}"
        try:
            cluster = weed_cluster.start_seaweed_cluster(
                folder,
                access_key=access_key,
                secret_key=secret_key,
                ports=weed_cluster.find_free_cluster_ports(),
                volume_size_mb=CLUSTER_VOLUME_MB,
            )
            break
        except ConfigurationError as exc:
            if attempt == 3 or "address already in use" not in str(exc):
                raise
    try:
        yield ClusterServer(
            S3Server(cluster.endpoint, access_key, secret_key, cluster.master_url), cluster
        )
    finally:
        # Its data is thrown away: no need to wait for a graceful stop (the filer's takes
        # 15 s or more, waiting on its own metadata subscription).
        weed_cluster.stop_seaweed_cluster(cluster, timeout=1)


def replica_nodes(master_url: str, collection: str) -> dict[int, set[str]]:
    """Volume id -> the live volume servers holding a copy, for one bucket (collection)."""
    with urllib.request.urlopen(f"{master_url}/vol/status", timeout=5) as response:
        status = json.load(response)
    held: dict[int, set[str]] = {}
    for racks in (status.get("Volumes", {}).get("DataCenters") or {}).values():
        for nodes in racks.values():
            for node, volumes in nodes.items():
                for volume in volumes or []:
                    if volume.get("Collection") == collection:
                        held.setdefault(int(volume["Id"]), set()).add(node)
    return held
