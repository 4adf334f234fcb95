"""A worker refuses to start where it would lose scans, and says what to fix."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from pipeline.adapters import embedded
from tests.conftest import S3Server, make_settings, settings_env

pytestmark = pytest.mark.integration


def run_worker(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # Without the malloc tunables the test stacks' workers are given: start-up is the subject
    # here, so these workers take the whole path, re-executing themselves to set them.
    env = {k: v for k, v in env.items() if k != "GLIBC_TUNABLES"}
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "worker"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture()
def own_redis(tmp_path: Path) -> Iterator[str]:
    """A redis-server of our own: this test reconfigures it, never the machine's."""
    port = embedded.find_free_ports(1, grpc_twins=False)[0]
    server = embedded.start_redis(tmp_path / "redis", port=port, log_path=tmp_path / "redis.log")
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        embedded.stop_process(server.pid, name_hint="redis-server", start_ticks=server.start_ticks)


def test_a_redis_that_may_evict_keys_is_refused(
    own_redis: str, s3_server: S3Server, tmp_path: Path
) -> None:
    redis.Redis.from_url(own_redis).config_set("maxmemory-policy", "allkeys-lru")
    settings = make_settings(s3_server, own_redis, tmp_path / "var")
    done = run_worker(settings_env(settings), tmp_path)
    assert done.returncode == 2
    assert "maxmemory-policy 'allkeys-lru'" in done.stderr
    assert "noeviction" in done.stderr


def test_wrong_storage_credentials_are_refused_without_showing_them(
    clean_redis: str, s3_server: S3Server, tmp_path: Path
) -> None:
    bad = S3Server(s3_server.endpoint, s3_server.access_key, "not-the-secret-1234")
    settings = make_settings(bad, clean_redis, tmp_path / "var")
    done = run_worker(settings_env(settings), tmp_path)
    assert done.returncode == 2
    assert "SOHOA_S3_SECRET_KEY" in done.stderr
    assert "not-the-secret-1234" not in done.stdout + done.stderr


def test_a_time_limit_beyond_the_visibility_timeout_is_refused(
    clean_redis: str, s3_server: S3Server, tmp_path: Path
) -> None:
    settings = make_settings(s3_server, clean_redis, tmp_path / "var")
    env = settings_env(settings) | {
        "SOHOA_TASK_TIME_LIMIT": "7200",
        "SOHOA_VISIBILITY_TIMEOUT": "3600",
    }
    done = run_worker(env, tmp_path)
    assert done.returncode == 2
    assert "must be below the broker's visibility_timeout" in done.stderr
