"""`make run`'s own command, end to end: services up, a worker, the sample collection, twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from pipeline.adapters.embedded import is_process_alive
from tests.conftest import QUEUE_PREFIX

pytestmark = pytest.mark.integration


def sohoa(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_demo_runs_twice_without_duplicates_and_stops_cleanly(
    clean_redis: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOHOA_", "REDIS_URL", "AWS_"))}
    env.update(
        SOHOA_VAR_DIR=str(tmp_path / "var"),
        SOHOA_REDIS_URL=clean_redis,
        SOHOA_BUCKET="demo-" + uuid.uuid4().hex[:8],
        SOHOA_QUEUE_PREFIX=QUEUE_PREFIX,
    )
    try:
        first = sohoa(env, tmp_path, "demo", "--size", "400")
        assert first.returncode == 0, first.stdout + first.stderr
        assert "39 stored (39 new, 0 already there)" in first.stdout
        assert "quarantined: 3" in first.stdout
        assert "Done." in first.stdout
        # The env file holds generated credentials, readable by its owner only.
        env_file = tmp_path / "var" / "sohoa.env"
        assert env_file.stat().st_mode & 0o077 == 0

        second = sohoa(env, tmp_path, "demo", "--size", "400")
        assert second.returncode == 0, second.stdout + second.stderr
        assert "39 stored (0 new, 39 already there)" in second.stdout
        assert "reusing worker" in second.stdout

        shown = sohoa(env, tmp_path, "show", "BTCVH.GS.0012", "--json")
        assert shown.returncode == 0, shown.stderr
        record = json.loads(shown.stdout)
        assert len(record["views"]) == 4
        assert record["inventory"]["name_vi"].startswith("Bình")
    finally:
        state = tmp_path / "var" / "embedded"
        worker = (
            json.loads((state / "worker.json").read_text())
            if (state / "worker.json").exists()
            else None
        )
        servers = (
            json.loads((state / "state.json").read_text())
            if (state / "state.json").exists()
            else {}
        )
        down = sohoa(env, tmp_path, "services", "down")
    assert down.returncode == 0, down.stderr
    assert "worker" in down.stdout and "seaweedfs" in down.stdout
    if worker:
        assert not is_process_alive(
            worker["pid"], os.path.basename(sys.executable), worker["start_ticks"]
        )
    if servers.get("seaweedfs_pid"):
        assert not is_process_alive(
            servers["seaweedfs_pid"], "weed", servers["seaweedfs_start_ticks"]
        )
