"""`make run`'s own command, end to end: services up, a worker, the sample collection, twice."""

from __future__ import annotations

import html
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from pipeline.adapters.embedded import find_free_ports, is_process_alive
from tests.conftest import QUEUE_PREFIX
from tests.support.stacks import run_cli_in_process

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


def demo_then_serve(env: dict[str, str], cwd: Path) -> str:
    """`sohoa demo --serve`: the page answers, tiles are public, Ctrl-C ends it; its output."""
    port = find_free_ports(1, grpc_twins=False)[0]
    log = cwd / "demo-serve.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "demo", "--size", "400", "--serve", "--port",
         str(port)],
        env=env, cwd=cwd, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 600
        while f"open {url}" not in log.read_text("utf-8", "replace"):
            assert proc.poll() is None, log.read_text("utf-8", "replace")
            assert time.monotonic() < deadline, log.read_text("utf-8", "replace")
            time.sleep(0.5)
        page = fetch(url + "?q=binh+gom", deadline)
        assert "Bình gốm men lam vẽ rồng" in page
        obj = fetch(url + "objects/BTCVH.GS.0012", deadline)
        info = re.search(r'data-info="([^"]+/info\.json)"', obj)
        assert info, obj
        # The embedded bucket lets anyone read the tiles (a viewer needs it), not the records.
        described = json.loads(fetch(html.unescape(info.group(1)), deadline))
        assert described["type"] == "ImageService3"
        public_base = described["id"].split("/iiif/")[0]
        endpoint = re.search(
            r"^SOHOA_S3_ENDPOINT_URL='?([^'\s]+)'?$", (cwd / "var" / "sohoa.env").read_text(), re.M
        )
        assert endpoint, "var/sohoa.env names no S3 endpoint"
        assert public_base == f"{endpoint.group(1)}/{env['SOHOA_BUCKET']}"
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(f"{public_base}/records/btcvh.gs.0012.json", timeout=10)
        assert denied.value.code == 403
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        code = proc.wait(timeout=60)
    text = log.read_text("utf-8", "replace")
    assert code == 0, text
    return text


def fetch(url: str, deadline: float) -> str:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return str(response.read().decode("utf-8"))
        except urllib.error.HTTPError:
            raise  # the server answered: no point asking again
        except urllib.error.URLError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@pytest.mark.slow
def test_demo_runs_twice_without_duplicates_and_stops_cleanly(
    clean_redis: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOHOA_", "REDIS_URL", "AWS_"))}
    bucket = "demo-" + uuid.uuid4().hex[:8]
    env.update(
        SOHOA_VAR_DIR=str(tmp_path / "var"),
        SOHOA_REDIS_URL=clean_redis,
        SOHOA_BUCKET=bucket,
        # No SOHOA_PUBLIC_BASE_URL: left at its default, `services up` points it at the bucket
        # on the endpoint SeaweedFS really runs on (another test may hold the default ports).
        SOHOA_QUEUE_PREFIX=QUEUE_PREFIX,
    )
    try:
        first = sohoa(env, tmp_path, "demo", "--size", "400")
        assert first.returncode == 0, first.stdout + first.stderr
        # 39 scans and two more beside a colour chart, the references of two capture sessions.
        assert "41 stored (41 new, 0 already there)" in first.stdout
        assert "sessions:    2 (colour proven" in first.stdout
        # The Phase One's session (its chart under accurate light) and the Canon's (a warm lamp).
        assert "★★★★ pass  Phase One IQ4 150MP, one folder" in first.stdout
        assert "★☆☆☆ fail  Canon EOS 5D Mark IV · 17 scans · mean ΔE2000 " in first.stdout
        assert " once corrected (session.correct)" in first.stdout
        # ...and what its correction delivers, measured again in the corrected access image.
        assert "the 17 scans of the Canon EOS 5D Mark IV session" in first.stdout
        figures = re.search(
            r"corrected access image: mean ΔE2000 ([0-9.]+) → ([0-9.]+)", first.stdout
        )
        assert figures is not None, first.stdout
        before, after = float(figures[1]), float(figures[2])
        assert after < before / 2, figures[0]
        assert "quarantined: 3" in first.stdout
        assert "Done." in first.stdout
        assert (
            "masters re-hashed from the bucket" in first.stdout
            and "every one as recorded" in first.stdout
        )
        # The env file holds generated credentials, readable by its owner only.
        env_file = tmp_path / "var" / "sohoa.env"
        assert env_file.stat().st_mode & 0o077 == 0

        # `make run` ends serving the web page in the foreground until Ctrl-C.
        second = demo_then_serve(env, tmp_path)
        assert "41 stored (0 new, 41 already there)" in second
        assert "reusing worker" in second

        # The command, not the interpreter, is the subject here: run in this process.
        shown = run_cli_in_process(["show", "BTCVH.GS.0012", "--json"], env, tmp_path)
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
        down = run_cli_in_process(["services", "down"], env, tmp_path)
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
