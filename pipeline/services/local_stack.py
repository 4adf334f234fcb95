"""`sohoa services up|down|status`: one machine's Redis and SeaweedFS; never touches others'."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import secrets
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from dotenv import dotenv_values
from pydantic import SecretStr

from config.settings import SohoaSettings
from pipeline.adapters.embedded.bucket import create_buckets
from pipeline.adapters.embedded.port import (
    SeaweedPorts,
    find_free_seaweed_ports,
    is_port_free,
    wait_for_free_ports,
)
from pipeline.adapters.embedded.process import (
    is_process_alive,
    start_worker,
    stop_process,
    write_private_file,
)
from pipeline.adapters.embedded.redis_server import is_redis_up, start_redis
from pipeline.adapters.embedded.seaweedfs import is_s3_up, start_seaweedfs
from pipeline.adapters.redis_broker import redact_url
from pipeline.errors import ConfigurationError, PortsBusyError

logger = logging.getLogger(__name__)

ENV_FILE_NAME = "sohoa.env"
ACCESS_KEY_VAR = "SOHOA_S3_ACCESS_KEY"
SECRET_KEY_VAR = "SOHOA_S3_SECRET_KEY"
ENDPOINT_VAR = "SOHOA_S3_ENDPOINT_URL"
REDIS_URL_VAR = "SOHOA_REDIS_URL"
PUBLIC_BASE_URL_VAR = "SOHOA_PUBLIC_BASE_URL"

_WEED = "weed"
_REDIS = "redis-server"
_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
# How long `services up` waits for a dead SeaweedFS's recorded ports to free by default.
PORT_WAIT_SECONDS = 30.0


@dataclass
class EmbeddedState:
    """What `services up` started or found; persisted (no secrets) at var/embedded/state.json."""

    s3_endpoint_url: str
    seaweedfs_ports: SeaweedPorts
    seaweedfs_pid: int | None = None
    seaweedfs_start_ticks: int | None = None
    # The broker's URL without its password; redis_pid is None when the Redis is not ours.
    redis_url: str = ""
    redis_pid: int | None = None
    redis_start_ticks: int | None = None
    # True when a default SeaweedFS port was taken by someone else and free ones were used.
    ports_moved: bool = False
    # The endpoint SeaweedFS left for new ports in this call (asked for with move_ports), so
    # the CLI can name who still uses it; not persisted.
    moved_from: str | None = None
    # What this call did, for the CLI to report; not persisted.
    started: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    buckets_created: list[str] = field(default_factory=list)

    @property
    def redis_is_ours(self) -> bool:
        return self.redis_pid is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "s3_endpoint_url": self.s3_endpoint_url,
            "seaweedfs_ports": self.seaweedfs_ports.to_dict(),
            "seaweedfs_pid": self.seaweedfs_pid,
            "seaweedfs_start_ticks": self.seaweedfs_start_ticks,
            "redis_url": self.redis_url,
            "redis_pid": self.redis_pid,
            "redis_start_ticks": self.redis_start_ticks,
            "ports_moved": self.ports_moved,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EmbeddedState:
        return cls(
            s3_endpoint_url=str(data["s3_endpoint_url"]),
            seaweedfs_ports=SeaweedPorts.from_dict(data["seaweedfs_ports"]),
            seaweedfs_pid=data.get("seaweedfs_pid"),
            seaweedfs_start_ticks=data.get("seaweedfs_start_ticks"),
            redis_url=str(data.get("redis_url", "")),
            redis_pid=data.get("redis_pid"),
            redis_start_ticks=data.get("redis_start_ticks"),
            ports_moved=bool(data.get("ports_moved", False)),
        )


def embedded_dir(settings: SohoaSettings) -> Path:
    """Where the embedded servers keep their data, logs and state."""
    return settings.var_dir / "embedded"


def env_file_path(settings: SohoaSettings) -> Path:
    """The env file `services up` writes; SohoaSettings reads var/sohoa.env from the cwd."""
    return settings.var_dir / ENV_FILE_NAME


def services_up(
    settings: SohoaSettings,
    *,
    free_ports: bool = False,
    port_wait: float = PORT_WAIT_SECONDS,
    move_ports: bool = False,
) -> EmbeddedState:
    """Start (or reuse) Redis and SeaweedFS and create the buckets; idempotent.

    Redis: the one at settings.redis_url if it answers, else a redis-server started on that
    URL's port (local URLs only). SeaweedFS, first start: on its default ports, or free ones
    when a default is taken by another program or when `free_ports` is set (tests, a second
    checkout). After that it comes back on the ports its state records (workers and batches
    hold that endpoint), waiting up to `port_wait` s for them to free; if they stay taken it
    raises PortsBusyError, unless `move_ports` allows free ones (`state.moved_from` then
    names the endpoint left behind).
    The S3 credentials are the settings' if both are set, else the ones an earlier call
    generated, else new random ones; endpoint, credentials and Redis URL are written to
    var/sohoa.env (mode 0600). `settings` itself is not changed: pass it to
    `refresh_settings` to get settings that point at the services.
    """
    home = embedded_dir(settings)
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    env_path = env_file_path(settings)
    with _locked(home):
        previous = read_state(settings)
        access_key, secret_key = _resolve_credentials(settings, env_path)
        # Written before anything starts, so a failed start never loses generated keys.
        _update_env_file(env_path, {ACCESS_KEY_VAR: access_key, SECRET_KEY_VAR: secret_key})

        state = EmbeddedState(s3_endpoint_url="", seaweedfs_ports=SeaweedPorts())
        _bring_up_redis(settings, previous, state)
        if previous is not None:
            # Carry SeaweedFS over while it starts, so a failure still lets `down` find Redis
            # and the next `up` still knows the ports it must come back on.
            state.seaweedfs_pid = previous.seaweedfs_pid
            state.seaweedfs_start_ticks = previous.seaweedfs_start_ticks
            state.s3_endpoint_url = previous.s3_endpoint_url
            state.seaweedfs_ports = previous.seaweedfs_ports
            state.ports_moved = previous.ports_moved
        _write_state(settings, state)
        _bring_up_seaweedfs(
            settings, previous, state, (access_key, secret_key), free_ports, port_wait, move_ports
        )
        _write_state(settings, state)

        updates = {ENDPOINT_VAR: state.s3_endpoint_url, REDIS_URL_VAR: settings.redis_url}
        public = _follow_endpoint(settings.public_base_url, state.s3_endpoint_url, settings.bucket)
        if public is not None:
            updates[PUBLIC_BASE_URL_VAR] = public
        _update_env_file(env_path, updates)

        state.buckets_created = create_buckets(
            state.s3_endpoint_url,
            access_key=access_key,
            secret_key=secret_key,
            names=[settings.bucket, settings.masters_bucket_name],
            region=settings.s3_region,
        )
    return state


def refresh_settings(settings: SohoaSettings) -> SohoaSettings:
    """Settings that point at the embedded services, from the env file `services_up` wrote.

    The endpoint, S3 credentials, Redis URL and (local) public base URL in var/sohoa.env
    replace the given values; everything else is kept. A process started afterwards gets the
    same by reading var/sohoa.env, unless real environment variables override it.
    """
    values = _read_env_file(env_file_path(settings))
    update: dict[str, Any] = {}
    if values.get(ENDPOINT_VAR):
        update["s3_endpoint_url"] = values[ENDPOINT_VAR]
    if values.get(ACCESS_KEY_VAR) and values.get(SECRET_KEY_VAR):
        update["s3_access_key"] = SecretStr(values[ACCESS_KEY_VAR])
        update["s3_secret_key"] = SecretStr(values[SECRET_KEY_VAR])
    if values.get(REDIS_URL_VAR):
        update["redis_url"] = values[REDIS_URL_VAR]
    if values.get(PUBLIC_BASE_URL_VAR):
        update["public_base_url"] = values[PUBLIC_BASE_URL_VAR]
    return settings.model_copy(update=update)


def services_down(settings: SohoaSettings) -> list[str]:
    """Stop what `services_up` started, by PID; never a Redis we did not start."""
    home = embedded_dir(settings)
    if not home.is_dir():
        return []
    stopped = ["worker"] if worker_down(settings) else []
    with _locked(home):
        state = read_state(settings)
        if state is None:
            return stopped
        if state.seaweedfs_pid is not None and stop_process(
            state.seaweedfs_pid, name_hint=_WEED, start_ticks=state.seaweedfs_start_ticks
        ):
            stopped.append("seaweedfs")
        if state.redis_pid is not None and stop_process(
            state.redis_pid, name_hint=_REDIS, start_ticks=state.redis_start_ticks
        ):
            stopped.append("redis")
        _state_path(settings).unlink(missing_ok=True)
    logger.info("stopped: %s", ", ".join(stopped) or "nothing was running")
    return stopped


def services_status(settings: SohoaSettings) -> dict[str, Any]:
    """For Redis and SeaweedFS: ours?, running?, pid, url, answering? (no secrets)."""
    state = read_state(settings)
    access_key, secret_key = _known_credentials(settings, env_file_path(settings))

    s3_pid = state.seaweedfs_pid if state else None
    s3_url = state.s3_endpoint_url if state else settings.s3_endpoint_url
    s3_running = s3_pid is not None and is_process_alive(
        s3_pid, _WEED, state.seaweedfs_start_ticks if state else None
    )
    s3_answering = bool(s3_url and access_key and is_s3_up(s3_url, access_key, secret_key))

    redis_url = settings.redis_url
    redis_pid = state.redis_pid if state else None
    redis_answering = is_redis_up(redis_url)
    redis_running = (
        is_process_alive(redis_pid, _REDIS, state.redis_start_ticks if state else None)
        if redis_pid is not None
        else redis_answering
    )
    return {
        "seaweedfs": {
            "ours": s3_pid is not None,
            "running": s3_running,
            "pid": s3_pid if s3_running else None,
            "url": s3_url,
            "answering": s3_answering,
            "ports_moved": bool(state and state.ports_moved),
        },
        "redis": {
            "ours": redis_pid is not None,
            "running": redis_running,
            "pid": redis_pid if redis_pid is not None and redis_running else None,
            "url": redact_url(redis_url),
            "answering": redis_answering,
        },
        "env_file": str(env_file_path(settings)),
    }


def read_state(settings: SohoaSettings) -> EmbeddedState | None:
    """The state `services_up` left, or None if there is none (or it is unreadable)."""
    path = _state_path(settings)
    try:
        return EmbeddedState.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        # A broken state file must not block `up`; what it named is then treated as not ours.
        logger.warning("ignoring unreadable %s (%s)", path, type(exc).__name__)
        return None


# --- Redis ------------------------------------------------------------------------------------


def _bring_up_redis(
    settings: SohoaSettings, previous: EmbeddedState | None, state: EmbeddedState
) -> None:
    url = settings.redis_url
    state.redis_url = redact_url(url)
    if previous is not None and previous.redis_pid is not None:
        ours_alive = is_process_alive(previous.redis_pid, _REDIS, previous.redis_start_ticks)
        if ours_alive and previous.redis_url == state.redis_url and is_redis_up(url):
            state.redis_pid = previous.redis_pid
            state.redis_start_ticks = previous.redis_start_ticks
            state.reused.append("redis")
            return
        if ours_alive:
            # Ours, but no longer the configured broker (the URL changed) or not answering.
            stop_process(
                previous.redis_pid, name_hint=_REDIS, start_ticks=previous.redis_start_ticks
            )
    if is_redis_up(url):
        logger.info("using the Redis already answering at %s", redact_url(url))
        state.reused.append("redis")
        return
    parts = urlsplit(url)
    if parts.scheme != "redis" or parts.hostname not in _LOCAL_HOSTS:
        raise ConfigurationError(
            f"Redis at {redact_url(url)} does not answer, and Sohoa starts one only for a "
            "redis:// URL on this machine: start that Redis, or set SOHOA_REDIS_URL to "
            "redis://127.0.0.1:6379/0."
        )
    if parts.password is not None or parts.username:
        raise ConfigurationError(
            f"Redis at {redact_url(url)} does not answer, and Sohoa's embedded redis-server "
            "has no password: start that Redis yourself, or drop the credentials from "
            "SOHOA_REDIS_URL."
        )
    home = embedded_dir(settings)
    server = start_redis(home / "redis", port=parts.port or 6379, log_path=home / "redis.log")
    state.redis_pid = server.pid
    state.redis_start_ticks = server.start_ticks
    state.started.append("redis")


# --- SeaweedFS --------------------------------------------------------------------------------


# How `weed` says a port it was given is taken: found before binding, or when binding.
_PORT_TAKEN_SIGNS = ("is not available on", "address already in use")


def _bring_up_seaweedfs(
    settings: SohoaSettings,
    previous: EmbeddedState | None,
    state: EmbeddedState,
    credentials: tuple[str, str],
    free_ports: bool,
    port_wait: float,
    move_ports: bool,
) -> None:
    access_key, secret_key = credentials
    if previous is not None and previous.seaweedfs_pid is not None:
        pid, ticks = previous.seaweedfs_pid, previous.seaweedfs_start_ticks
        if is_process_alive(pid, _WEED, ticks):
            if is_s3_up(previous.s3_endpoint_url, access_key, secret_key):
                state.s3_endpoint_url = previous.s3_endpoint_url
                state.seaweedfs_ports = previous.seaweedfs_ports
                state.seaweedfs_pid, state.seaweedfs_start_ticks = pid, ticks
                state.ports_moved = previous.ports_moved
                state.reused.append("seaweedfs")
                return
            # Ours, but it refuses these credentials (they changed) or hangs: restart it.
            logger.info("restarting SeaweedFS (pid %d): it does not accept the credentials", pid)
            stop_process(pid, name_hint=_WEED, start_ticks=ticks)
    state.seaweedfs_pid = state.seaweedfs_start_ticks = None
    ports = SeaweedPorts()
    if previous is not None and previous.s3_endpoint_url:
        ports = _recorded_ports(previous, state, port_wait, move_ports)
    elif free_ports:
        ports = find_free_seaweed_ports()
    else:
        busy = [p for p in ports.all_ports() if not is_port_free(p)]
        if busy:
            ports = find_free_seaweed_ports()
            state.ports_moved = True
            logger.warning(
                "default SeaweedFS ports %s are taken by another program; using S3 port %d "
                "(master %d, volume %d, filer %d, admin %d) instead",
                ", ".join(map(str, busy)),
                ports.s3,
                ports.master,
                ports.volume,
                ports.filer,
                ports.admin,
            )
    home = embedded_dir(settings)
    # Ports chosen at random here may be taken by another program between the check and the
    # bind; such ports are nobody's address yet, so another free set is tried (recorded or
    # default ports are never changed on their own).
    chosen = ports != SeaweedPorts() and (
        previous is None or not previous.s3_endpoint_url or state.moved_from is not None
    )
    for attempt in range(1, 4):
        try:
            server = start_seaweedfs(
                home / "seaweedfs",
                access_key=access_key,
                secret_key=secret_key,
                ports=ports,
                log_path=home / "seaweedfs.log",
            )
            break
        except ConfigurationError as exc:
            taken = any(sign in exc.message for sign in _PORT_TAKEN_SIGNS)
            if not chosen or attempt == 3 or not taken:
                raise
            logger.warning("a port SeaweedFS was given was taken meanwhile; trying other ports")
            ports = find_free_seaweed_ports()
    state.s3_endpoint_url = server.url
    state.seaweedfs_ports = ports
    state.seaweedfs_pid = server.pid
    state.seaweedfs_start_ticks = server.start_ticks
    state.started.append("seaweedfs")


def _recorded_ports(
    previous: EmbeddedState, state: EmbeddedState, port_wait: float, move_ports: bool
) -> SeaweedPorts:
    """The ports SeaweedFS had, once free; other ones only when the caller allows it."""
    ports = previous.seaweedfs_ports
    busy = wait_for_free_ports(ports.all_ports(), port_wait)
    if not busy:
        state.ports_moved = previous.ports_moved
        return ports
    endpoint = previous.s3_endpoint_url
    if not move_ports:
        listed = ", ".join(map(str, busy))
        raise PortsBusyError(
            f"SeaweedFS cannot come back at {endpoint}: its port(s) {listed} are still taken "
            f"after {port_wait:.0f} s. Running workers and batches use that address, so it is "
            f"not moved on its own: stop what holds the port(s) (`ss -ltnp | grep {busy[0]}`) "
            "and run `sohoa services up` again, or run `sohoa services up --move-ports` and "
            "then restart every worker and batch that uses the old address.",
            endpoint=endpoint,
            busy=busy,
        )
    moved = find_free_seaweed_ports()
    state.ports_moved = True
    state.moved_from = endpoint
    logger.warning(
        "SeaweedFS's ports %s are still taken; moving it from %s to S3 port %d as asked",
        ", ".join(map(str, busy)),
        endpoint,
        moved.s3,
    )
    return moved


def _follow_endpoint(public_base_url: str, endpoint: str, bucket: str) -> str | None:
    """A public base URL on this machine follows the embedded endpoint; others stay as set.

    Left at its default, the URL also follows the bucket's name (path-style: /{bucket}), so
    IIIF ids point at the bucket the tiles are really in.
    """
    parts = urlsplit(public_base_url)
    if parts.hostname not in _LOCAL_HOSTS:
        return None
    target = urlsplit(endpoint)
    default = SohoaSettings.model_fields["public_base_url"].default
    path = f"/{bucket}" if public_base_url == default else parts.path
    return urlunsplit((target.scheme, target.netloc, path, parts.query, parts.fragment))


# --- credentials, env file, state -------------------------------------------------------------


def _known_credentials(settings: SohoaSettings, env_path: Path) -> tuple[str, str]:
    access = settings.s3_access_key.get_secret_value()
    secret = settings.s3_secret_key.get_secret_value()
    if access and secret:
        return access, secret
    values = _read_env_file(env_path)
    return values.get(ACCESS_KEY_VAR, ""), values.get(SECRET_KEY_VAR, "")


def _resolve_credentials(settings: SohoaSettings, env_path: Path) -> tuple[str, str]:
    access, secret = _known_credentials(settings, env_path)
    if access and secret:
        return access, secret
    logger.info("generating S3 credentials for the embedded SeaweedFS into %s", env_path)
    return f"SOHOA{secrets.token_hex(8).upper()}", secrets.token_urlsafe(30)


def _read_env_file(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def _update_env_file(path: Path, updates: dict[str, str]) -> None:
    """Set these variables in the env file, keeping any other line's variable."""
    values = _read_env_file(path)
    values.update(updates)
    lines = [
        "# Written by `sohoa services up` for the embedded services; real environment",
        "# variables override it. Keep it private: it holds the S3 secret key.",
    ]
    for key, value in values.items():
        # Single quotes: dotenv takes the value literally, whatever a password contains.
        escaped = value.replace("\\", "\\\\").replace("'", "\\'")
        lines.append(f"{key}='{escaped}'")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private_file(path, "\n".join(lines) + "\n")


def _state_path(settings: SohoaSettings) -> Path:
    return embedded_dir(settings) / "state.json"


def _write_state(settings: SohoaSettings, state: EmbeddedState) -> None:
    write_private_file(_state_path(settings), json.dumps(state.to_dict(), indent=2) + "\n")


@contextmanager
def _locked(home: Path) -> Iterator[None]:
    # Two `make run`s at once would both find nothing running and start servers twice.
    with open(home / "lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- the demo's worker ----------------------------------------------------------------------

# The worker runs as `python -m pipeline.cli worker`, whatever the interpreter's name; the
# recorded start time tells it apart from any other process that reused the PID.
_WORKER = "pipeline.cli"


def worker_up(settings: SohoaSettings, *, is_ready: Callable[[str], bool]) -> tuple[int, bool]:
    """Start one background worker for `make run` unless ours is alive; (pid, started now).

    It inherits this process's environment and working directory, so it reads the same
    settings (var/sohoa.env included) as the command that started it. `is_ready(node_name)`
    says whether that worker, and no other, answers.
    """
    home = embedded_dir(settings)
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = home / "worker.json"
    with _locked(home):
        known = _read_json(path)
        if known and is_process_alive(known["pid"], _WORKER, known.get("start_ticks")):
            return int(known["pid"]), False
        node = f"sohoa-demo-{secrets.token_hex(3)}@{socket.gethostname()}"
        process = start_worker(
            [sys.executable, "-m", _WORKER, "worker", "--hostname", node],
            name_hint=_WORKER,
            cwd=Path.cwd(),
            env=dict(os.environ),
            log_path=home / "worker.log",
            is_ready=lambda: is_ready(node),
        )
        write_private_file(
            path, json.dumps({"pid": process.pid, "start_ticks": process.start_ticks}) + "\n"
        )
        return process.pid, True


def worker_down(settings: SohoaSettings) -> bool:
    """Stop the background worker, letting its current tasks finish (SIGTERM = warm shutdown)."""
    path = embedded_dir(settings) / "worker.json"
    known = _read_json(path)
    if not known:
        return False
    stopped = stop_process(
        int(known["pid"]), name_hint=_WORKER, timeout=60, start_ticks=known.get("start_ticks")
    )
    path.unlink(missing_ok=True)
    return stopped


def worker_running(settings: SohoaSettings) -> int | None:
    known = _read_json(embedded_dir(settings) / "worker.json")
    if known and is_process_alive(int(known["pid"]), _WORKER, known.get("start_ticks")):
        return int(known["pid"])
    return None


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
