"""A real stack whose worker reaches S3 through the fault-injecting proxy (tests only)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.adapters import embedded
from pipeline.adapters.s3_store import S3Store
from tests.conftest import S3Server, Stack, make_settings, settings_env
from tests.support.s3_proxy import FaultProxy, running_proxy


@dataclass
class ProxiedStack:
    """`stack.store` talks to SeaweedFS directly; the worker talks through `proxy`."""

    stack: Stack
    proxy: FaultProxy


@contextmanager
def proxied_stack(
    s3: S3Server, redis_url: str, home: Path, *, concurrency: int = 1, **overrides: object
) -> Iterator[ProxiedStack]:
    with running_proxy(s3.endpoint) as proxy:
        through = S3Server(proxy.url, s3.access_key, s3.secret_key)
        settings = make_settings(through, redis_url, home / "var", **overrides)
        direct = S3Store.from_settings(settings.model_copy(update={"s3_endpoint_url": s3.endpoint}))
        direct.ensure_bucket(settings.bucket)
        stack = Stack(settings=settings, env=settings_env(settings), store=direct, home=home)
        try:
            stack.start_worker(concurrency=concurrency)
            proxy.clear()  # the worker's start-up checks are not part of any test's count
            yield ProxiedStack(stack, proxy)
        finally:
            stack.stop_workers()


@contextmanager
def own_redis(home: Path) -> Iterator[str]:
    """A redis-server of our own on a free port: for tests that age or lose broker state, which
    must not touch other runs' messages in the machine's Redis (its unacked index is shared)."""
    port = embedded.find_free_ports(1, grpc_twins=False)[0]
    server = embedded.start_redis(home / "redis", port=port, log_path=home / "redis.log")
    forget_broker_connections()
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        forget_broker_connections()
        embedded.stop_process(server.pid, name_hint="redis-server", start_ticks=server.start_ticks)


def forget_broker_connections() -> None:
    """Make this process's Celery app connect afresh: it caches its broker pool and result
    backend, which would keep talking to the previous test's Redis when the URL changes."""
    from kombu import pools

    from workers.app import app

    # kombu keeps one pool per connection URL for the whole process: closing only the app's
    # would leave a closed pool there, handed back the next time that URL is used.
    pools.reset()
    app._pool = None
    if "amqp" in app.__dict__:
        app.__dict__["amqp"]._producer_pool = None
    app._backend_cache = None
    app._local.backend = None


def published_record(stack: Stack, slug: str, timeout: float = 30) -> dict[str, Any]:
    """The artefact's record, once the publish task the scan's task queued has written it."""
    deadline = time.monotonic() + timeout
    while (found := stack.store.read_json(f"records/{slug}.json")) is None:
        assert time.monotonic() < deadline, f"records/{slug}.json not written in {timeout} s"
        time.sleep(0.1)
    record: dict[str, Any] = found[0]
    return record
