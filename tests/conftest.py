"""Shared fixtures: real servers for integration tests, started here and stopped here."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from pipeline.adapters import embedded
from pipeline.errors import ConfigurationError
from tests.support.cluster import ClusterServer, running_cluster
from tests.support.stacks import (
    QUEUE_PREFIX,
    S3Server,
    Stack,
    make_settings,
    require_volume_slot,
    running_stack,
    settings_env,
    wait_for_worker,
)

# What the test modules import from here (they predate tests/support/stacks.py).
__all__ = [
    "QUEUE_PREFIX",
    "S3Server",
    "Stack",
    "make_settings",
    "require_volume_slot",
    "settings_env",
    "wait_for_worker",
]

ROOT = Path(__file__).resolve().parents[1]
MACHINE_REDIS = "redis://127.0.0.1:6379"
# A database of the machine's Redis that only these tests use; flushed before and after.
TEST_REDIS_DB = 13


# Modules whose tests start worker, server or `sohoa` processes of their own, because the
# process is what they prove (kills, limits, redelivery, start-up, serving, a worker's whole
# path); `make test-fast` runs the rest: the unit tests and the in-process integration tests.
PROCESS_MODULES = frozenset(
    {
        "test_backbone",
        "test_bad_inputs_worker",
        "test_batch",
        "test_cluster_fault",
        "test_containment",
        "test_duplicates",
        "test_embedded",
        "test_export",
        "test_finish_batches",
        "test_handoff",
        "test_input_faults",
        "test_installations",
        "test_live_index",
        "test_process_faults",
        "test_public_read",
        "test_s3_faults",
        "test_security",
        "test_session_worker",
        "test_status_metrics",
        "test_storage_outage",
        "test_watch",
        "test_worker_lost",
        "test_worker_startup",
        "test_demo",
        "test_web_browser",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
        if item.path.stem in PROCESS_MODULES:
            item.add_marker(pytest.mark.process)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadgroup`: each test goes to whichever xdist worker is free, except that a
    module with a module-scoped fixture (a catalogue, a stack, a browser) goes whole to one,
    so that fixture is still built once. (xdist's own loadgroup renames the items, which
    pytest 9 no longer lets it do: its xdist_group marks have no effect here.)

    The longest units go first (tests/support/durations.py), so that the run ends on short
    tests filling the gaps, not on one worker still busy with a 100 s test."""
    if config.getoption("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    from tests.support.durations import expected_seconds

    rootpath = config.rootpath
    shared: dict[str, bool] = {}

    class ModuleFixtureScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            if module not in shared:
                path = rootpath / module
                text = path.read_text("utf-8") if path.is_file() else ""
                shared[module] = 'scope="module"' in text
            return module if shared[module] else nodeid

        def _assign_work_unit(self, node: Any) -> None:
            if not getattr(self, "_longest_first", False):
                # Once, before the first unit is handed out: the queue only shrinks after.
                ordered = sorted(
                    self.workqueue.items(),
                    key=lambda unit: -sum(expected_seconds(n) for n in unit[1]),
                )
                self.workqueue.clear()
                self.workqueue.update(ordered)
                self._longest_first = True
            super()._assign_work_unit(node)

    return ModuleFixtureScheduling(config, log)


# (free, max) volume slots of the session's SeaweedFS as it stopped, for the run's summary;
# under xdist each worker has a SeaweedFS of its own and hands its figure to the controller.
_SLOTS_AT_END: list[tuple[int, int] | None] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for slots in _SLOTS_AT_END:
        if slots is not None:
            free, most = slots
            terminalreporter.write_line(
                f"test SeaweedFS: {most - free} of {most} volume slots used (one per bucket)"
            )


def pytest_testnodedown(node: Any, error: object) -> None:
    """xdist's controller: the slots a worker's SeaweedFS had used (see pytest_sessionfinish)."""
    _SLOTS_AT_END.extend(tuple(s) for s in node.workeroutput.get("seaweedfs_slots", []))


# trylast: after the session's fixtures (its SeaweedFS) are torn down.
@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under CI every test is required: a skip there (a missing tool, say) fails the run.

    Under xdist this decides on the controller, whose reporter holds every worker's reports;
    a worker only hands over what its SeaweedFS used."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["seaweedfs_slots"] = [s for s in _SLOTS_AT_END if s is not None]
        return
    if os.environ.get("CI") != "true" or exitstatus != 0:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped and reporter is not None:
        reporter.write_line(
            f"CI=true: {len(skipped)} test(s) skipped; every test is required here."
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# One bucket per test, each holding a volume of its own: 64 MB volumes give the session's
# server ~16 slots per free GB instead of mini's one (its volumes are 1 GB on a large disk).
TEST_VOLUME_MB = 64


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A private SeaweedFS on free ports, with credentials enforced: `weed mini`, or with
    TEST_STORAGE=cluster in the environment a cluster (master, two volume servers, filer, S3
    gateway, replication 001) for the whole run."""
    if os.environ.get("TEST_STORAGE") == "cluster":
        with running_cluster(tmp_path_factory.mktemp("cluster")) as cluster:
            yield cluster.s3
        return
    access_key, secret_key = "test-" + secrets.token_hex(6), secrets.token_urlsafe(24)
    for attempt in range(1, 4):
        # Free when chosen is not free when bound: xdist's workers start theirs at the same
        # moment, beside other runs on the machine. A port taken in between ends that start
        # (`bind: address already in use`); another set of ports, in a fresh folder, then.
        home = tmp_path_factory.mktemp("seaweedfs")
        ports = embedded.find_free_seaweed_ports()
        try:
            server = embedded.start_seaweedfs(
                home / "data",
                access_key=access_key,
                secret_key=secret_key,
                ports=ports,
                log_path=home / "weed.log",
                volume_size_mb=TEST_VOLUME_MB,
            )
            break
        except ConfigurationError:
            if attempt == 3 or "address already in use" not in (home / "weed.log").read_text(
                errors="replace"
            ):
                raise
    master_url = f"http://127.0.0.1:{ports.master}"
    try:
        yield S3Server(server.url, access_key, secret_key, master_url)
    finally:
        _SLOTS_AT_END.append(embedded.volume_slots(master_url))
        # Its data is thrown away: no need to wait long for a graceful stop.
        embedded.stop_process(
            server.pid, name_hint="weed", start_ticks=server.start_ticks, timeout=3
        )


@pytest.fixture(scope="module")
def seaweed_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterServer]:
    """A SeaweedFS cluster for one module: master, two volume servers on folders of their own,
    filer and S3 gateway as separate processes, replication 001, credentials enforced. A module
    runs its storage tests against it by overriding `s3_server` with `seaweed_cluster.s3`."""
    with running_cluster(tmp_path_factory.mktemp("cluster")) as server:
        yield server


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


@pytest.fixture()
def stack(s3_server: S3Server, clean_redis: str, tmp_path: Path) -> Iterator[Stack]:
    """A fresh bucket and Redis database, with one worker process running; its iiif/,
    derivatives/ and manifests/ publicly readable, as `sohoa services up` leaves the bucket."""
    with running_stack(s3_server, clean_redis, tmp_path, public_read=True) as built:
        yield built


@pytest.fixture(scope="module")
def module_stack(
    s3_server: S3Server, redis_base: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """One bucket and one worker process for a whole module, whose tests read what a module
    fixture stored once and touch only objects of their own (or put back what they change).
    This run's queues are emptied before it starts and after it stops, never while it runs."""
    client = redis.Redis.from_url(redis_base)

    def empty_our_queues() -> None:
        for key in client.scan_iter(match=f"*{QUEUE_PREFIX}*"):
            client.delete(key)

    empty_our_queues()
    home = tmp_path_factory.mktemp("stack")
    try:
        with running_stack(s3_server, redis_base, home, public_read=True) as built:
            yield built
    finally:
        empty_our_queues()
        client.close()
