"""Shared fixtures: real servers for integration tests, started here and stopped here."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

from config.settings import SohoaSettings
from pipeline.adapters import embedded
from pipeline.adapters.s3_store import S3Store

ROOT = Path(__file__).resolve().parents[1]
MACHINE_REDIS = "redis://127.0.0.1:6379"
# A database of the machine's Redis that only these tests use; flushed before and after.
TEST_REDIS_DB = 13


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


# (free, max) volume slots of the session's SeaweedFS as it stopped, for the run's summary.
_SLOTS_AT_END: list[tuple[int, int] | None] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for slots in _SLOTS_AT_END:
        if slots is not None:
            free, most = slots
            terminalreporter.write_line(
                f"test SeaweedFS: {most - free} of {most} volume slots used (one per bucket)"
            )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under CI every test is required: a skip there (a missing tool, say) fails the run."""
    if os.environ.get("CI") != "true" or exitstatus != 0:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped and reporter is not None:
        reporter.write_line(
            f"CI=true: {len(skipped)} test(s) skipped; every test is required here."
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    access_key: str
    secret_key: str
    # The SeaweedFS master, to read how many volume slots are left (None: not SeaweedFS's).
    master_url: str | None = None


# One bucket per test, each holding a volume of its own: 64 MB volumes give the session's
# server ~16 slots per free GB instead of mini's one (its volumes are 1 GB on a large disk).
TEST_VOLUME_MB = 64


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A private SeaweedFS on free ports, with credentials enforced."""
    home = tmp_path_factory.mktemp("seaweedfs")
    access_key, secret_key = "test-" + secrets.token_hex(6), secrets.token_urlsafe(24)
    ports = embedded.find_free_seaweed_ports()
    server = embedded.start_seaweedfs(
        home / "data",
        access_key=access_key,
        secret_key=secret_key,
        ports=ports,
        log_path=home / "weed.log",
        volume_size_mb=TEST_VOLUME_MB,
    )
    master_url = f"http://127.0.0.1:{ports.master}"
    try:
        yield S3Server(server.url, access_key, secret_key, master_url)
    finally:
        _SLOTS_AT_END.append(embedded.volume_slots(master_url))
        # Its data is thrown away: no need to wait long for a graceful stop.
        embedded.stop_process(
            server.pid, name_hint="weed", start_ticks=server.start_ticks, timeout=3
        )


@pytest.fixture(scope="session")
def redis_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The machine's Redis if it answers (never restarted, never flushed whole), else our own."""
    if embedded.is_redis_up(MACHINE_REDIS):
        yield f"{MACHINE_REDIS}/{TEST_REDIS_DB}"
        return
    home = tmp_path_factory.mktemp("redis")
    port = embedded.find_free_ports(1, grpc_twins=False)[0]
    server = embedded.start_redis(home / "data", port=port, log_path=home / "redis.log")
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        embedded.stop_process(server.pid, name_hint="redis-server", start_ticks=server.start_ticks)


# Each test run has queues of its own: two runs sharing the machine's Redis (or a `make run`
# worker on it) never take each other's tasks, and no run flushes what another still needs.
QUEUE_PREFIX = "test-" + secrets.token_hex(4)


@pytest.fixture()
def clean_redis(redis_base: str) -> Iterator[str]:
    """The test database, with this run's queues emptied before and after the test."""
    client = redis.Redis.from_url(redis_base)

    def empty_our_queues() -> None:
        for key in client.scan_iter(match=f"*{QUEUE_PREFIX}*"):
            client.delete(key)

    empty_our_queues()
    try:
        yield redis_base
    finally:
        empty_our_queues()
        client.close()


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
    """The environment a subprocess needs to see the same settings (and nothing of ours)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOHOA_", "REDIS_URL", "AWS_"))}
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


@dataclass
class Stack:
    """Real Redis + SeaweedFS + one real worker process, with a bucket of its own."""

    settings: SohoaSettings
    env: dict[str, str]
    store: S3Store
    home: Path
    worker: subprocess.Popen[bytes] | None = None
    worker_log: Path | None = None
    worker_name: str | None = None
    extra: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def sohoa(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run the real `sohoa` command with this stack's settings."""
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
        for proc in self.extra:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)  # warm shutdown, as an operator would
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
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"worker exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        if app.control.ping(destination=[name], timeout=0.5):
            return
    raise RuntimeError(f"worker did not answer within 60 s:\n{log.read_text()[-3000:]}")


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


@pytest.fixture()
def stack(s3_server: S3Server, clean_redis: str, tmp_path: Path) -> Iterator[Stack]:
    """A fresh bucket and Redis database, with one worker process running."""
    require_volume_slot(s3_server)
    settings = make_settings(s3_server, clean_redis, tmp_path / "var")
    store = S3Store.from_settings(settings)
    store.ensure_bucket(settings.bucket)
    # As `sohoa services up` leaves the embedded bucket: iiif/, derivatives/, manifests/ public.
    embedded.allow_public_read(store.client, settings.bucket)
    built = Stack(settings=settings, env=settings_env(settings), store=store, home=tmp_path)
    try:
        built.start_worker()
        yield built
    finally:
        built.stop_workers()
