"""An API replica's index follows the bucket live: a Redis stream, and a catch-up for the rest."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2 as httpx
import pytest
import redis

from config.settings import SohoaSettings
from pipeline.adapters.redis_notify import RecordStream, stream_key
from pipeline.adapters.sqlite_index import SqliteIndex
from pipeline.core.catalogue import SearchQuery
from pipeline.services.catalogue import catch_up
from pipeline.services.context import Context
from pipeline.services.notify import IndexFollower
from tests.conftest import S3Server, Stack, make_settings
from tests.integration.test_backbone import write_jpeg
from tests.support.stacks import worker_idle
from tests.support.wait import wait_until

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
# Waiting for something that happens in another process: generous, and never a measurement.
PATIENCE = 90.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serving(stack: Stack, index_path: Path, name: str, **env: str) -> Iterator[str]:
    """`sohoa serve` as a real process with an index of its own; its base URL."""
    port = free_port()
    log_path = stack.home / f"{name}.log"
    environment = {
        **stack.env,
        "SOHOA_CATALOGUE_PATH": str(index_path),
        "PYTHONPATH": str(ROOT),
        **env,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=environment,
        cwd=stack.home,
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"

    def is_up() -> bool:
        assert proc.poll() is None, log_path.read_text()
        try:
            return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(is_up, "sohoa serve answering", timeout=PATIENCE, interval=0.2, log=log_path)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def search(base: str, text: str) -> list[str]:
    found = httpx.get(f"{base}/api/objects", params={"q": text}, timeout=10).json()
    return [hit["accession_number"] for hit in found["hits"]]


def copy_record(stack: Stack, source_slug: str, accession: str, name_vi: str) -> str:
    """A new object's record written straight to the bucket: no worker, no notification."""
    data, _ = stack.store.read_json(f"records/{source_slug}.json")
    slug = accession.lower().replace("/", "-")
    data.update(object=slug, accession_number=accession)
    data["inventory"].update(accession_number=accession, name_vi=name_vi)
    body = json.dumps(data, ensure_ascii=False).encode()
    stack.store.put_bytes(f"records/{slug}.json", body, content_type="application/json")
    return slug


def ingest_one(stack: Stack, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    write_jpeg(drop / "HM.77-B_front_1.jpg", seed=7)
    (drop / "inventory.csv").write_text(
        "accession_number,name_vi,name_en,material,period\n"
        "HM.77/B,Bình pháp lam Thừa Thiên,Enamel vase,pháp lam,Tự Đức\n",
        "utf-8",
    )
    done = stack.sohoa("ingest", str(drop), "--inventory", str(drop / "inventory.csv"), "--wait")
    assert done.returncode == 0, done.stdout + done.stderr
    # The scan's session scoring may still republish its record (one more announcement) after
    # the command returns: the tests count announcements, so it ends first.
    wait_until(lambda: worker_idle(stack), "the worker to end the scan's tasks", timeout=60)


def test_a_running_api_finds_new_records_live_and_missed_ones_after_a_catch_up(
    stack: Stack, tmp_path: Path
) -> None:
    index_path = tmp_path / "replica" / "catalogue.sqlite3"
    # No periodic catch-up in the first part: only the stream can bring the record.
    with serving(stack, index_path, "serve-live", SOHOA_INDEX_CATCHUP_SECONDS="3600") as base:
        assert search(base, "binh phap lam") == []
        ingest_one(stack, tmp_path)
        wait_until(
            lambda: search(base, "binh phap lam") == ["HM.77/B"],
            "the published record found",
            timeout=PATIENCE,
        )
        # "thua thien" finds "Thừa Thiên"; the replica's index is its own, not the worker's.
        assert search(base, "thua thien") == ["HM.77/B"]
    client = redis.Redis.from_url(stack.settings.redis_url)
    entries = client.xrange(stream_key(stack.settings.queue_prefix))
    client.close()
    assert {fields[b"object"] for _, fields in entries} == {b"hm.77-b"}

    # Written while no replica listened, and never announced: the start-up catch-up finds it.
    copy_record(stack, "hm.77-b", "HM.78/C", "Ấn vàng triều Nguyễn")
    with serving(stack, index_path, "serve-catch-up", SOHOA_INDEX_CATCHUP_SECONDS="5") as base:
        wait_until(
            lambda: search(base, "an vang") == ["HM.78/C"],
            "the missed record found",
            timeout=PATIENCE,
        )
        # Written while it runs, never announced: the periodic catch-up finds it...
        copy_record(stack, "hm.77-b", "HM.79/D", "Đĩa sứ men lam")
        wait_until(
            lambda: search(base, "dia su") == ["HM.79/D"],
            "the unannounced record",
            timeout=PATIENCE,
        )
        # ...and forgets a record deleted from the bucket.
        stack.store.delete("records/hm.78-c.json")
        wait_until(
            lambda: search(base, "an vang") == [], "the deleted record forgotten", timeout=PATIENCE
        )
        assert search(base, "binh phap lam") == ["HM.77/B"]


@pytest.fixture()
def follower(stack: Stack, tmp_path: Path) -> Iterator[IndexFollower]:
    ctx = Context.from_settings(stack.settings)
    index = SqliteIndex(tmp_path / "follower.sqlite3")
    stream = RecordStream(stack.settings.redis_url, prefix=stack.settings.queue_prefix)
    built = IndexFollower(ctx, index, stream, catchup_seconds=3600)
    try:
        yield built
    finally:
        built.stop()
        index.close()


def test_the_follower_reads_only_what_changed_and_survives_bad_records(
    stack: Stack, tmp_path: Path, follower: IndexFollower
) -> None:
    ingest_one(stack, tmp_path)
    follower.step()  # finds its place in the stream, then catches up with the bucket
    assert follower.last_catch_up is not None and follower.last_catch_up.indexed == 1
    index = follower.index
    assert [h.accession_number for h in index.search(SearchQuery(text="tu duc")).hits] == [
        "HM.77/B"
    ]
    # Nothing changed: a catch-up lists the bucket and reads no record.
    again = catch_up(follower.ctx, index)
    assert (again.listed, again.indexed, again.removed) == (1, 0, 0)

    # A changed record, announced: applied from the stream without any catch-up.
    slug = copy_record(stack, "hm.77-b", "HM.80/E", "Chén ngọc")
    follower.stream.publish(slug)
    follower.stream.publish("no-such-object")  # announced, but not in the bucket: no harm
    assert follower.apply_news() == 2
    assert index.find_accession("HM.80/E") is not None
    assert index.find_accession("no-such-object") is None

    # A record that is not valid: left out, reported once per version, the follower lives on.
    stack.store.put_bytes("records/bad.json", b"{not json", content_type="application/json")
    follower.stream.publish("bad")
    assert follower.apply_news() == 1
    first = follower.catch_up_now()
    assert first is not None and [r.key for r in first.rejected] == ["records/bad.json"]
    second = follower.catch_up_now()
    assert second is not None and second.rejected == [] and second.indexed == 0
    assert index.count() == 2


def test_the_follower_keeps_going_when_redis_does_not_answer(stack: Stack, tmp_path: Path) -> None:
    settings = make_settings_for_dead_redis(stack)
    ctx = Context.from_settings(settings)
    index = SqliteIndex(tmp_path / "alone.sqlite3")
    stream = RecordStream(settings.redis_url, prefix=settings.queue_prefix, block_seconds=0.2)
    follower = IndexFollower(ctx, index, stream, catchup_seconds=3600)
    try:
        ingest_one(stack, tmp_path)  # the bucket answers; only this follower's Redis is away
        follower.step()  # no place in the stream, yet the bucket is reconciled
        assert follower.last_id is None
        assert index.find_accession("HM.77/B") is not None
    finally:
        follower.stop()
        index.close()


def make_settings_for_dead_redis(stack: Stack) -> SohoaSettings:
    s3 = S3Server(
        stack.settings.s3_endpoint_url or "",
        stack.settings.s3_access_key.get_secret_value(),
        stack.settings.s3_secret_key.get_secret_value(),
    )
    # Nothing listens on this port: every Redis call fails fast.
    return make_settings(
        s3,
        f"redis://127.0.0.1:{free_port()}/0",
        stack.home / "var-alone",
        bucket=stack.settings.bucket,
    )
