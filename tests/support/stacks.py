"""The one factory of test stacks (settings, bucket, worker processes); starts no server itself."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from click.testing import CliRunner

from config.settings import SohoaSettings
from pipeline.adapters import embedded
from pipeline.adapters.s3_store import S3Store
from pipeline.sandbox import with_worker_malloc
from tests.support.s3_proxy import FaultProxy, running_proxy
from tests.support.wait import wait_until

# Each test process has queues of its own (under xdist, each xdist worker imports this anew):
# two runs sharing the machine's Redis (or a `make run` worker on it) never take each other's
# tasks, and no run flushes what another still needs.
QUEUE_PREFIX = "test-" + secrets.token_hex(4)


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    access_key: str
    secret_key: str
    # The SeaweedFS master, to read how many volume slots are left (None: not SeaweedFS's).
    master_url: str | None = None


def make_settings(
    s3: S3Server, redis_url: str, var_dir: Path, **overrides: object
) -> SohoaSettings:
    values: dict[str, object] = {
        "redis_url": redis_url,
        "s3_endpoint_url": s3.endpoint,
        "s3_access_key": s3.access_key,
        "s3_secret_key": s3.secret_key,
        "bucket": "t-" + uuid.uuid4().hex[:12],
        "var_dir": var_dir,
        # Short broker timeouts: a message of a killed worker comes back in seconds, not an hour.
        "visibility_timeout": 60,
        "task_time_limit": 50,
        "task_soft_time_limit": 45,
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
        "worker_concurrency": 2,
        "queue_prefix": QUEUE_PREFIX,
        "task_max_retries": 2,
        "retry_backoff_max": 2,
        # Test workers serve no /metrics unless a test asks (a fixed port would clash).
        "metrics_port": 0,
    }
    values.update(overrides)
    return SohoaSettings(_env_file=None, **values)  # type: ignore[arg-type]


def settings_env(settings: SohoaSettings) -> dict[str, str]:
    """The environment a subprocess needs to see the same settings (and nothing of ours).

    It carries the worker's malloc tunables already, so `sohoa worker` starts once instead of
    re-executing itself to set them (pipeline/sandbox.py): the same tunables, half the start-up.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOHOA_", "REDIS_URL", "AWS_"))}
    env = with_worker_malloc(env) or env
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        secret = getattr(settings, name)
        if hasattr(secret, "get_secret_value"):
            text = secret.get_secret_value()
        elif isinstance(value, list | dict):
            text = json.dumps(value)  # how pydantic-settings reads complex values
        else:
            text = str(value)
        env[f"SOHOA_{name.upper()}"] = text
    return env


def run_cli_in_process(
    args: list[str], env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """`sohoa ARGS` run by click in this process, shaped like the subprocess it replaces:
    the same command, settings read from the same environment, exit code, stdout and stderr;
    an exception the command let escape is a traceback on stderr and code 1, as Python's."""
    from pipeline.cli import main

    runner = CliRunner(env=env)
    # As a new process would: no broker pool or result backend kept from another Redis URL
    # (a test's private Redis, say), before the command or after it.
    forget_broker_connections()
    try:
        with contextlib.chdir(cwd):
            result = runner.invoke(main, args, catch_exceptions=True)
    finally:
        forget_broker_connections()
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    return subprocess.CompletedProcess(["sohoa", *args], result.exit_code, result.stdout, stderr)


@dataclass
class Stack:
    """Real Redis + SeaweedFS + real worker processes, with a bucket of its own."""

    settings: SohoaSettings
    env: dict[str, str]
    store: S3Store
    home: Path
    worker: subprocess.Popen[bytes] | None = None
    worker_log: Path | None = None
    worker_name: str | None = None
    extra: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def sohoa(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run the real `sohoa` command with this stack's settings, in this process (click's
        runner): the command is the subject here, not the interpreter starting it."""
        del timeout  # pytest-timeout bounds an in-process command
        return run_cli_in_process(list(args), self.env, self.home)

    def sohoa_process(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run `sohoa` as a process of its own: for tests whose subject is the process."""
        return subprocess.run(
            [sys.executable, "-m", "pipeline.cli", *args],
            env=self.env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start_worker(self, concurrency: int = 2) -> subprocess.Popen[bytes]:
        log_path = self.home / f"worker-{len(self.extra)}.log"
        # A name of its own, so that the readiness ping cannot be answered by another worker.
        name = f"{QUEUE_PREFIX}-{len(self.extra)}-{secrets.token_hex(3)}@{socket.gethostname()}"
        proc = subprocess.Popen(
            [sys.executable, "-m", "pipeline.cli", "worker", "-c", str(concurrency), "-n", name],
            env=self.env,
            cwd=self.home,
            stdout=log_path.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.extra.append(proc)
        self.worker, self.worker_log, self.worker_name = proc, log_path, name
        wait_for_worker(self.settings, proc, log_path, name)
        return proc

    def stop_workers(self) -> None:
        running = [proc for proc in self.extra if proc.poll() is None]
        for proc in running:  # all at once: their warm shutdowns overlap
            proc.send_signal(signal.SIGTERM)  # warm shutdown, as an operator would
        for proc in running:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def wait_for_worker(
    settings: SohoaSettings, proc: subprocess.Popen[bytes], log: Path, name: str
) -> None:
    from workers.app import configure_app

    app = configure_app(settings)

    def answers() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"worker exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        return bool(app.control.ping(destination=[name], timeout=0.5))

    wait_until(answers, f"worker {name} to answer a ping", timeout=60, interval=0, log=log)


def worker_idle(stack: Stack) -> bool:
    """Nothing queued for the stack's worker, and nothing running, reserved or waiting for a
    retry's countdown in it: every task it was given has ended."""
    from workers.app import bulk_queue, configure_app, interactive_queue

    app = configure_app(stack.settings)
    inspect = app.control.inspect(destination=[str(stack.worker_name)], timeout=1.0)
    held = [inspect.active(), inspect.reserved(), inspect.scheduled()]
    if any(not replies for replies in held):
        return False  # the worker did not answer: not known to be idle
    broker = redis.Redis.from_url(stack.settings.redis_url)
    try:
        queued = sum(
            broker.llen(queue)
            for queue in (bulk_queue(stack.settings), interactive_queue(stack.settings))
        )
    finally:
        broker.close()
    return queued == 0 and not any(tasks for replies in held for tasks in replies.values())


def require_volume_slot(s3: S3Server) -> None:
    """Fail with the cause, not a timeout later, when SeaweedFS has no room for a new bucket."""
    if s3.master_url is None:
        return
    slots = embedded.volume_slots(s3.master_url)
    if slots is not None and slots[0] < 1:
        pytest.fail(
            f"the test SeaweedFS has no free volume slot left of {slots[1]} (one per bucket): "
            f"every write to a new bucket would fail; free disk space or lower TEST_VOLUME_MB.",
            pytrace=False,
        )


@contextmanager
def running_stack(
    s3: S3Server,
    redis_url: str,
    home: Path,
    *,
    workers: int = 1,
    concurrency: int = 2,
    public_read: bool = False,
    **overrides: object,
) -> Iterator[Stack]:
    """A bucket of its own on `s3` (public prefixes readable, if asked, as `sohoa services up`
    leaves the embedded bucket), settings with `overrides`, and `workers` worker processes;
    the workers are stopped (warm shutdown) when the block ends."""
    require_volume_slot(s3)
    settings = make_settings(s3, redis_url, home / "var", **overrides)
    store = S3Store.from_settings(settings)
    store.ensure_bucket(settings.bucket)
    if public_read:
        embedded.allow_public_read(store.client, settings.bucket)
    stack = Stack(settings=settings, env=settings_env(settings), store=store, home=home)
    try:
        for _ in range(workers):
            stack.start_worker(concurrency=concurrency)
        yield stack
    finally:
        stack.stop_workers()


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
    found = wait_until(
        lambda: stack.store.read_json(f"records/{slug}.json"),
        f"records/{slug}.json to be written",
        timeout=timeout,
    )
    record: dict[str, Any] = found[0]
    return record
