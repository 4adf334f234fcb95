"""A SeaweedFS cluster on 127.0.0.1 as separate processes (master, volume servers, filer, S3
gateway), as config/deploy/ runs it on machines; starts and stops them, sets no bucket policy."""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from pipeline.adapters.embedded.port import GRPC_OFFSET, are_listening, find_free_ports
from pipeline.adapters.embedded.process import (
    CHILD_ENV_BASE,
    ServerProcess,
    read_start_ticks,
    spawn,
    stop_process,
    wait_until_ready,
    write_private_file,
)
from pipeline.adapters.embedded.seaweedfs import (
    is_s3_up,
    master_topology,
    s3_identities,
    weed_binary,
)
from pipeline.errors import ConfigurationError

logger = logging.getLogger(__name__)

# Every object written twice, on two volume servers of the same rack: one server (or its disk)
# can be lost without losing an object or a read.
DEFAULT_REPLICATION = "001"


@dataclass(frozen=True)
class ClusterPorts:
    """HTTP ports of a cluster's servers; each gRPC port is its twin +10000."""

    master: int
    volumes: tuple[int, ...]
    filer: int
    s3: int


def find_free_cluster_ports(volume_servers: int = 2) -> ClusterPorts:
    """Free ports (and gRPC twins) for a master, `volume_servers` volume servers, filer and S3."""
    master, filer, s3, *volumes = find_free_ports(3 + volume_servers)
    return ClusterPorts(master=master, volumes=tuple(volumes), filer=filer, s3=s3)


@dataclass
class SeaweedCluster:
    """The processes of one running cluster, and what a volume server added later needs."""

    home: Path
    ports: ClusterPorts
    replication: str
    master: ServerProcess
    volumes: list[ServerProcess]
    filer: ServerProcess
    s3: ServerProcess
    # The JWT keys every server of the cluster shares (never logged, never in argv).
    env: dict[str, str] = field(repr=False, default_factory=dict)

    @property
    def endpoint(self) -> str:
        return self.s3.url

    @property
    def master_url(self) -> str:
        return self.master.url

    def processes(self) -> list[ServerProcess]:
        return [self.s3, self.filer, *self.volumes, self.master]


def start_seaweed_cluster(
    home: Path,
    *,
    access_key: str,
    secret_key: str,
    ports: ClusterPorts,
    replication: str = DEFAULT_REPLICATION,
    volume_size_mb: int | None = None,
    timeout: float = 60,
) -> SeaweedCluster:
    """Start master, volume servers (one data folder each), filer and S3 gateway on 127.0.0.1,
    with one S3 identity enforced; wait until S3 accepts it and every volume server is known.

    On failure, whatever was started is stopped again before the error is raised.
    """
    home = home.resolve()
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    # The filer and volume servers serve objects on their HTTP ports without S3's
    # credentials; JWT keys shared by the cluster (fresh each start, passed by environment so
    # `ps` does not show them) make them refuse requests that do not come from SeaweedFS.
    env = dict(CHILD_ENV_BASE)
    for name in ("SIGNING_KEY", "SIGNING_READ_KEY", "FILER_SIGNING_KEY", "FILER_SIGNING_READ_KEY"):
        env[f"WEED_JWT_{name}"] = secrets.token_urlsafe(32)
    started: list[ServerProcess] = []
    try:
        master = _start(
            "master",
            home,
            _master_argv(home, ports, replication, volume_size_mb),
            env,
            lambda: are_listening([ports.master, ports.master + GRPC_OFFSET]),
            timeout,
        )
        started.append(master)
        volumes = []
        for index in range(len(ports.volumes)):
            volumes.append(start_volume_server(home, ports, index, env, timeout=timeout))
            started.append(volumes[-1])
        _wait_for_volume_servers(master, {f"127.0.0.1:{p}" for p in ports.volumes}, timeout)
        filer = _start(
            "filer",
            home,
            _filer_argv(home, ports, replication),
            env,
            lambda: are_listening([ports.filer, ports.filer + GRPC_OFFSET]),
            timeout,
        )
        started.append(filer)
        identities = home / "s3-identities.json"
        write_private_file(identities, json.dumps(s3_identities(access_key, secret_key)))
        endpoint = f"http://127.0.0.1:{ports.s3}"
        s3 = _start(
            "s3",
            home,
            _s3_argv(home, ports, identities),
            env,
            lambda: (
                are_listening([ports.s3, ports.s3 + GRPC_OFFSET])
                and is_s3_up(endpoint, access_key, secret_key)
            ),
            timeout,
            hidden=(access_key, secret_key),
        )
        started.append(s3)
    except BaseException:
        for process in reversed(started):
            stop_server(process, timeout=3)
        raise
    return SeaweedCluster(
        home=home,
        ports=ports,
        replication=replication,
        master=master,
        volumes=volumes,
        filer=filer,
        s3=s3,
        env=env,
    )


def start_volume_server(
    home: Path, ports: ClusterPorts, index: int, env: dict[str, str], *, timeout: float = 60
) -> ServerProcess:
    """Start volume server `index` on its own data folder (ports[index])."""
    port = ports.volumes[index]
    return _start(
        f"volume-{index}",
        home,
        _volume_argv(home, ports, index),
        env,
        lambda: are_listening([port, port + GRPC_OFFSET]),
        timeout,
    )


def add_volume_server(cluster: SeaweedCluster, *, timeout: float = 60) -> ServerProcess:
    """Start one more volume server on free ports and a new data folder, as a replacement
    machine joins; wait until the master knows it."""
    (port,) = find_free_ports(1)
    cluster.ports = replace(cluster.ports, volumes=(*cluster.ports.volumes, port))
    index = len(cluster.ports.volumes) - 1
    cluster.volumes.append(
        start_volume_server(cluster.home, cluster.ports, index, cluster.env, timeout=timeout)
    )
    _wait_for_volume_servers(cluster.master, {f"127.0.0.1:{port}"}, timeout)
    return cluster.volumes[-1]


def stop_seaweed_cluster(cluster: SeaweedCluster, *, timeout: float = 10) -> list[str]:
    """Stop every server of the cluster still running (front to back); the names stopped."""
    return [p.name for p in cluster.processes() if stop_server(p, timeout=timeout)]


def stop_server(process: ServerProcess, *, timeout: float = 10) -> bool:
    return stop_process(
        process.pid, name_hint="weed", start_ticks=process.start_ticks, timeout=timeout
    )


def volume_servers(master_url: str) -> set[str]:
    """The volume servers (host:port) the master counts alive now (none when it does not
    answer)."""
    topology = master_topology(master_url) or {}
    return {
        str(node.get("Url"))
        for dc in topology.get("DataCenters") or []
        for rack in dc.get("Racks") or []
        for node in rack.get("DataNodes") or []
    }


def _master_argv(
    home: Path, ports: ClusterPorts, replication: str, volume_size_mb: int | None
) -> list[str]:
    argv = [
        "master",
        f"-mdir={_folder(home, 'master')}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-port={ports.master}",
        f"-port.grpc={ports.master + GRPC_OFFSET}",
        f"-defaultReplication={replication}",
        "-telemetry=false",
        # One master: no election to wait for.
        "-peers=none",
    ]
    if volume_size_mb is not None:
        argv.append(f"-volumeSizeLimitMB={volume_size_mb}")
    return argv


def _volume_argv(home: Path, ports: ClusterPorts, index: int) -> list[str]:
    port = ports.volumes[index]
    return [
        "volume",
        f"-dir={_folder(home, f'volume-{index}')}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-port={port}",
        f"-port.grpc={port + GRPC_OFFSET}",
        f"-master=127.0.0.1:{ports.master}",
        # As many volumes as the disk holds (each bucket is a collection with volumes of its
        # own; the default of 8 is used up by the first bucket's growth with two copies).
        "-max=0",
        # Killed or stopped, it is gone at once (no 10 s goodbye during which it takes writes).
        "-preStopSeconds=0",
    ]


def _filer_argv(home: Path, ports: ClusterPorts, replication: str) -> list[str]:
    folder = _folder(home, "filer")
    argv = [
        "filer",
        f"-defaultStoreDir={folder}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-port={ports.filer}",
        f"-port.grpc={ports.filer + GRPC_OFFSET}",
        f"-master=127.0.0.1:{ports.master}",
        f"-defaultReplicaPlacement={replication}",
        "-webdav=false",
    ]
    socket = folder / "filer.sock"
    # The default socket lives in /tmp and outlives the server; a Unix socket path must stay
    # under 108 bytes, so a deep folder keeps the default.
    if len(str(socket).encode()) < 100:
        argv.append(f"-localSocket={socket}")
    return argv


def _s3_argv(home: Path, ports: ClusterPorts, identities: Path) -> list[str]:
    folder = _folder(home, "s3")
    argv = [
        "s3",
        "-ip.bind=127.0.0.1",
        f"-port={ports.s3}",
        f"-port.grpc={ports.s3 + GRPC_OFFSET}",
        f"-filer=127.0.0.1:{ports.filer}",
        f"-config={identities}",
        "-autoCreateBucket=false",
        "-port.iceberg=0",
        "-port.lance=0",
    ]
    socket = folder / "s3.sock"
    if len(str(socket).encode()) < 100:
        argv.append(f"-localSocket={socket}")
    return argv


def _folder(home: Path, name: str) -> Path:
    folder = home / name
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    # A `*.options` file replays an earlier start's flags over ours.
    for sticky in folder.glob("*.options"):
        sticky.unlink(missing_ok=True)
    return folder


def _start(
    name: str,
    home: Path,
    args: list[str],
    env: dict[str, str],
    is_ready: Callable[[], bool],
    timeout: float,
    *,
    hidden: tuple[str, ...] = (),
) -> ServerProcess:
    log_path = home / f"{name}.log"
    argv = [str(weed_binary()), "-logtostderr", *args]
    begun = time.monotonic()
    proc, offset = spawn(argv, log_path=log_path, cwd=_folder(home, name), env=env)
    wait_until_ready(
        proc,
        f"SeaweedFS {name}",
        "weed",
        is_ready,
        timeout,
        log_path,
        offset,
        (*hidden, *env.values()),
    )
    port = next(a.split("=", 1)[1] for a in args if a.startswith("-port="))
    elapsed = time.monotonic() - begun
    logger.info("SeaweedFS %s started (pid %d) on port %s in %.1f s", name, proc.pid, port, elapsed)
    return ServerProcess(
        name=name,
        pid=proc.pid,
        url=f"http://127.0.0.1:{port}",
        log_path=log_path,
        start_ticks=read_start_ticks(proc.pid),
        startup_seconds=elapsed,
    )


def _wait_for_volume_servers(master: ServerProcess, expected: set[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while missing := expected - volume_servers(master.url):
        if time.monotonic() > deadline:
            raise ConfigurationError(
                f"The SeaweedFS master at {master.url} does not know the volume server(s) "
                f"{', '.join(sorted(missing))} after {timeout:.0f} s; see the volume-*.log "
                f"files beside {master.log_path}."
            )
        time.sleep(0.1)
