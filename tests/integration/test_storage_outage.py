"""Storage goes away mid-run: retried, then reported failed; never quarantined, never lost."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from pipeline.adapters import embedded
from pipeline.adapters.s3_store import S3Store
from pipeline.services.models import ProcessScanTask
from tests.conftest import S3Server, Stack, make_settings, settings_env
from tests.integration.test_backbone import write_jpeg
from workers import client

pytestmark = pytest.mark.integration


@pytest.mark.slow
def test_an_outage_fails_the_file_softly_and_a_rerun_stores_it(
    clean_redis: str, tmp_path: Path
) -> None:
    home = tmp_path / "seaweedfs"
    keys = {"access_key": "k-" + secrets.token_hex(4), "secret_key": secrets.token_urlsafe(16)}
    ports = embedded.find_free_seaweed_ports()

    def start() -> embedded.ServerProcess:
        return embedded.start_seaweedfs(
            home / "data", ports=ports, log_path=home / "weed.log", **keys
        )

    server = start()
    stack: Stack | None = None
    try:
        s3 = S3Server(server.url, keys["access_key"], keys["secret_key"])
        settings = make_settings(s3, clean_redis, tmp_path / "var")
        store = S3Store.from_settings(settings)
        store.ensure_bucket(settings.bucket)
        stack = Stack(settings=settings, env=settings_env(settings), store=store, home=tmp_path)
        stack.start_worker()
        source = tmp_path / "OUT.1_front_1.jpg"
        data = write_jpeg(source, seed=1)

        embedded.stop_process(server.pid, name_hint="weed", start_ticks=server.start_ticks)
        # Storage dies after the ingest was accepted: the task is already on the queue.
        task_id = client.send_scan(ProcessScanTask(path=str(source), batch_id="outage"))
        result = client.wait_for([task_id], timeout=120)[task_id]
        assert result["status"] == "failed"
        assert result["code"] == "STORAGE_UNAVAILABLE"
        assert "the source file is untouched" in result["message"]
        assert source.read_bytes() == data
        assert not (tmp_path / "var" / "quarantine").exists(), "an outage is not the file's fault"
        assert stack.worker is not None and stack.worker.poll() is None
        log = stack.worker_log.read_text() if stack.worker_log else ""
        assert log.count("retrying sohoa.process_scan") == settings.task_max_retries

        server = start()  # same data directory, same ports: the bucket is still there
        again = stack.sohoa("ingest", str(source), "--wait", "--timeout", "120")
        assert again.returncode == 0, again.stdout + again.stderr
        assert "1 stored (1 new" in again.stdout
    finally:
        if stack is not None:
            stack.stop_workers()
        embedded.stop_process(server.pid, name_hint="weed", start_ticks=server.start_ticks)
