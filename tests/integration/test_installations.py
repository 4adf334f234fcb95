"""Two installations on one Redis never mix: each has queues, workers and a store of its own, and
a worker refuses the other's task without touching its file. The stock `celery` tools reach an
installation's workers with its settings alone. Real Redis, SeaweedFS and worker processes."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from celery.result import AsyncResult

from config.settings import SohoaSettings
from pipeline.core.layout import MASTERS_PREFIX
from pipeline.services.models import ProcessScanTask
from tests.conftest import QUEUE_PREFIX, S3Server, Stack, make_settings
from tests.integration.test_backbone import write_jpeg
from tests.support.stacks import forget_broker_connections, own_redis, running_stack
from tests.support.wait import wait_until
from workers import client
from workers.app import INSTALLATION_HEADER, bulk_queue, configure_app
from workers.client import scan_signature

CELERY = str(Path(sys.executable).with_name("celery"))


@dataclass
class Pair:
    """Installation A, named by its store (bucket at endpoint, two workers), and installation B,
    named by SOHOA_INSTALLATION (one worker), on the same Redis database."""

    a: Stack
    b: Stack


@pytest.fixture(scope="module")
def pair(
    s3_server: S3Server, redis_base: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pair]:
    home = tmp_path_factory.mktemp("installations")
    (home / "a").mkdir()
    (home / "b").mkdir()
    with ExitStack() as stacks:
        # A sets no queue prefix: its queues derive from its store (a bucket of its own).
        a = stacks.enter_context(
            running_stack(s3_server, redis_base, home / "a", workers=2, concurrency=1,
                          queue_prefix="")
        )  # fmt: skip
        b = stacks.enter_context(
            running_stack(s3_server, redis_base, home / "b", workers=1, concurrency=1,
                          queue_prefix="", installation=f"{QUEUE_PREFIX}-b")
        )  # fmt: skip
        try:
            yield Pair(a, b)
        finally:
            forget_broker_connections()
    client = redis.Redis.from_url(redis_base)
    for key in client.scan_iter(match=f"*{a.settings.queue_prefix}*"):
        client.delete(key)
    client.close()


def _workers_of(stack: Stack) -> list[str]:
    return sorted(str(a.args[a.args.index("-n") + 1]) for a in stack.extra)  # type: ignore[union-attr]


def _masters(stack: Stack) -> list[str]:
    return sorted(stack.store.list_keys(MASTERS_PREFIX))


def test_queue_names_derive_from_the_installation(pair: Pair) -> None:
    a, b = pair.a.settings, pair.b.settings
    assert a.installation_id == f"{a.bucket}@{a.s3_endpoint_url}".lower()
    assert a.queue_prefix.startswith(f"sohoa-{a.bucket}-")
    assert b.installation_id == b.queue_prefix == f"{QUEUE_PREFIX}-b"
    assert bulk_queue(a) != bulk_queue(b)


def test_scans_ingested_by_each_land_only_in_its_own_bucket(pair: Pair, tmp_path: Path) -> None:
    sources: dict[str, dict[str, str]] = {"a": {}, "b": {}}
    for offset, name in enumerate(("a", "b")):
        drop = tmp_path / name
        drop.mkdir()
        for i in range(6):
            # Different bytes in each: a scan in the wrong bucket cannot pass for its own.
            data = write_jpeg(drop / f"INST.{name.upper()}.{i}_front_1.jpg", seed=100 * offset + i)
            sources[name][hashlib.sha256(data).hexdigest()] = f"INST.{name.upper()}.{i}"
    # Both at once, so that every worker of the Redis is offered the other's files.
    started = [
        subprocess.Popen(
            [sys.executable, "-m", "pipeline.cli", "ingest", str(tmp_path / name), "--wait"],
            env=stack.env,
            cwd=stack.home,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name, stack in (("a", pair.a), ("b", pair.b))
    ]
    for proc in started:
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out
        assert "6 stored (6 new, 0 already there)" in out, out
        assert "no worker answers" not in out

    for name, stack in (("a", pair.a), ("b", pair.b)):
        stored = {key.rsplit("/", 1)[-1].split(".")[0] for key in _masters(stack)}
        assert stored == set(sources[name]), f"installation {name}'s bucket holds {stored}"


def test_status_counts_only_its_own_workers(pair: Pair) -> None:
    for stack in (pair.a, pair.b):
        done = stack.sohoa("status", "--json")
        assert done.returncode == 0, done.stdout + done.stderr
        picture = json.loads(done.stdout)
        assert picture["workers"] == _workers_of(stack)
        assert sorted(picture["queues"]) == sorted(
            f"{stack.settings.queue_prefix}.{kind}" for kind in ("bulk", "interactive")
        )


def _send(settings: SohoaSettings, path: Path, queue: str) -> AsyncResult:
    """A task sent by hand from installation `settings` onto `queue` (another's)."""
    forget_broker_connections()
    configure_app(settings)
    task = ProcessScanTask(path=str(path), batch_id=None)
    return scan_signature(task, queue).apply_async()


def test_a_task_sent_to_the_other_installations_worker_goes_home(
    pair: Pair, tmp_path: Path
) -> None:
    source = tmp_path / "INST.HOME.1_front_1.jpg"
    data = write_jpeg(source, seed=77)
    before = (source.stat().st_mtime_ns, source.stat().st_size)

    sent = _send(pair.a.settings, source, bulk_queue(pair.b.settings))
    result = sent.get(timeout=120)

    assert result["status"] == "stored", result
    sha = hashlib.sha256(data).hexdigest()
    assert any(sha in key for key in _masters(pair.a))
    assert not any(sha in key for key in _masters(pair.b))
    assert source.read_bytes() == data
    assert (source.stat().st_mtime_ns, source.stat().st_size) == before
    log = pair.b.worker_log.read_text(errors="replace") if pair.b.worker_log else ""
    assert f"refused task sohoa.process_scan[{sent.id}] for 'INST.HOME.1_front_1.jpg'" in log
    assert f"belongs to installation {pair.a.settings.installation_id}" in log
    assert f"back on its own queue {bulk_queue(pair.a.settings)}" in log


def test_a_task_of_another_store_on_shared_queues_fails_with_configuration(
    pair: Pair, s3_server: S3Server, redis_base: str, tmp_path: Path
) -> None:
    """A third store misconfigured onto B's queues: B's worker cannot send the task anywhere
    better, so it ends failed with CONFIGURATION, the file untouched and not quarantined."""
    intruder = make_settings(
        s3_server, redis_base, tmp_path / "var", queue_prefix=pair.b.settings.queue_prefix
    )
    assert intruder.installation_id != pair.b.settings.installation_id
    source = tmp_path / "INST.LOST.1_front_1.jpg"
    data = write_jpeg(source, seed=78)

    result = _send(intruder, source, bulk_queue(pair.b.settings)).get(timeout=120)

    assert result["status"] == "failed", result
    assert result["code"] == "CONFIGURATION"
    message = result["message"]
    assert "'INST.LOST.1_front_1.jpg'" in message
    assert intruder.installation_id in message and "SOHOA_QUEUE_PREFIX" in message
    assert source.read_bytes() == data
    assert not pair.b.settings.quarantine_path.exists() or not any(
        pair.b.settings.quarantine_path.rglob("INST.LOST*")
    )
    sha = hashlib.sha256(data).hexdigest()
    assert not any(sha in key for key in _masters(pair.a) + _masters(pair.b))
    # B's worker answers a ping on these queues, but the intruder's producer does not count it:
    # its "no worker answers" is not hidden by a worker that would never take its files.
    (b_worker,) = _workers_of(pair.b)
    assert client.is_answering(b_worker, timeout=5)
    assert client.live_workers(timeout=5) == []
    # Nor by the check `sohoa ingest`, `batch` and `watch` make, which ends at a first answer.
    assert not client.ScanProducer(client.app).any_worker()


# --- the stock Celery tools ----------------------------------------------------------------------


def _stock_celery(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CELERY, "-A", "workers.app", *args],
        env=stack.env, cwd=stack.home, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_celery_inspect_ping_reaches_this_installations_workers_only(pair: Pair) -> None:
    for stack, other in ((pair.a, pair.b), (pair.b, pair.a)):
        done = _stock_celery(stack, "inspect", "ping", "--timeout", "5")
        assert done.returncode == 0, done.stdout + done.stderr
        for name in _workers_of(stack):
            assert f"{name}: OK" in done.stdout, done.stdout
        for name in _workers_of(other):
            assert name not in done.stdout

    asked = _stock_celery(pair.b, "inspect", "active_queues", "--timeout", "5")
    assert asked.returncode == 0, asked.stdout + asked.stderr
    assert f"'{bulk_queue(pair.b.settings)}'" in asked.stdout, asked.stdout
    assert bulk_queue(pair.a.settings) not in asked.stdout


def test_celery_events_shows_this_installations_workers(pair: Pair, tmp_path: Path) -> None:
    out = tmp_path / "events.txt"
    with out.open("w") as sink:
        proc = subprocess.Popen(
            [CELERY, "-A", "workers.app", "events", "--dump"],
            env={**pair.b.env, "PYTHONUNBUFFERED": "1"}, cwd=pair.b.home, stdout=sink,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    (name,) = _workers_of(pair.b)
    try:
        # A worker sends a heartbeat every two seconds: two of B's mean A's have had time too.
        wait_until(
            lambda: (
                out.read_text(errors="replace").count(f"{name} [") >= 2 or proc.poll() is not None
            ),
            f"two events of {name} in `celery events --dump`",
            timeout=120,
        )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    seen = out.read_text(errors="replace")
    assert seen.count(f"{name} [") >= 2, seen
    for other in _workers_of(pair.a):
        assert other not in seen


# --- upgrading from the days of one shared `sohoa` prefix ---------------------------------------


def test_tasks_queued_before_the_upgrade_are_pointed_at_and_taken(
    s3_server: S3Server, tmp_path: Path
) -> None:
    """A task an older Sohoa queued on `sohoa.bulk` (no installation header) waits there after
    the upgrade: the new worker and `sohoa status` say so, and `sohoa worker -Q sohoa.bulk,…`
    stores it. A Redis of its own: the old queue names are the same for every run."""
    with own_redis(tmp_path / "redis") as redis_url:
        before = make_settings(s3_server, redis_url, tmp_path / "old", queue_prefix="sohoa")
        source = tmp_path / "INST.OLD.1_front_1.jpg"
        data = write_jpeg(source, seed=79)
        sent = _send(before, source, "sohoa.bulk")
        client_redis = redis.Redis.from_url(redis_url)
        message = json.loads(client_redis.rpop("sohoa.bulk") or b"{}")
        del message["headers"][INSTALLATION_HEADER]  # as an older Sohoa sent it
        client_redis.lpush("sohoa.bulk", json.dumps(message))
        client_redis.close()

        (tmp_path / "new").mkdir()
        with running_stack(
            s3_server, redis_url, tmp_path / "new", bucket=before.bucket, queue_prefix=""
        ) as after:
            assert after.settings.queue_prefix != "sohoa"
            assert after.worker_log is not None
            wait_until(
                lambda: (
                    "1 task(s) queued before the upgrade wait in sohoa.bulk"
                    in after.worker_log.read_text(errors="replace")
                ),  # type: ignore[union-attr]
                "the upgraded worker to point at the old queue",
                log=after.worker_log,
            )
            shown = json.loads(after.sohoa("status", "--json").stdout)
            assert shown["old_queues"] == {"sohoa.bulk": 1}

            drain_log = tmp_path / "new" / "drain.log"
            drain = subprocess.Popen(
                [sys.executable, "-m", "pipeline.cli", "worker", "-c", "1",
                 "-Q", "sohoa.interactive,sohoa.bulk", "-n", f"{QUEUE_PREFIX}-drain@%h"],
                env=after.env, cwd=after.home, stdout=drain_log.open("wb"),
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
            after.extra.append(drain)
            forget_broker_connections()
            # The app, not current_app: another test in this process may have made its own.
            result = AsyncResult(sent.id, app=configure_app(after.settings)).get(timeout=120)
            assert result["status"] == "stored", result
            sha = hashlib.sha256(data).hexdigest()
            assert any(sha in key for key in _masters(after))
            assert json.loads(after.sohoa("status", "--json").stdout)["old_queues"] == {}
    forget_broker_connections()
