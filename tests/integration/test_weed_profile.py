"""`make bench-e2e --weed-profile`: the real `weed` writes a CPU profile the bench can read."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from pathlib import Path

import pytest

from pipeline.adapters.embedded import (
    find_free_seaweed_ports,
    make_s3_client,
    start_seaweedfs,
    stop_process,
)
from tests.bench.e2e_pprof import read_profile, summarise
from tests.conftest import TEST_VOLUME_MB

pytestmark = [pytest.mark.integration, pytest.mark.process]


def test_weed_writes_a_cpu_profile_that_names_its_handlers_and_hashing(tmp_path: Path) -> None:
    profile = tmp_path / "weed.prof"
    access, secret = "prof-" + secrets.token_hex(4), secrets.token_urlsafe(24)
    server = start_seaweedfs(
        tmp_path / "weed",
        access_key=access,
        secret_key=secret,
        ports=find_free_seaweed_ports(),
        log_path=tmp_path / "weed.log",
        volume_size_mb=TEST_VOLUME_MB,
        extra_args=[f"-cpuprofile={profile}"],
    )
    try:
        client = make_s3_client(server.url, access, secret, timeout=60)
        client.create_bucket(Bucket="profiled")
        body = os.urandom(32 * 2**20)  # ~0.3 CPU-s of SeaweedFS: ~30 samples at 100 Hz
        client.put_object(
            Bucket="profiled",
            Key="master.tif",
            Body=body,
            ChecksumSHA256=base64.b64encode(hashlib.sha256(body).digest()).decode(),
        )
    finally:
        # The profile is written as weed stops: give it the time to stop cleanly.
        stop_process(server.pid, name_hint="weed", start_ticks=server.start_ticks, timeout=30)
    samples, total = read_profile(profile)
    frames = {frame for stack, _ in samples for frame in stack}
    assert total > 0
    assert any("S3ApiServer).PutObjectHandler" in frame for frame in frames)
    assert "crypto/md5.block" in frames  # SeaweedFS's own MD5 passes over the bytes
    assert "S3 PutObject" in summarise(profile)
