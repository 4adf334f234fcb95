"""The embedded servers against the real binaries: private ports and dirs, always stopped."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from botocore.exceptions import ClientError

from config.settings import SohoaSettings
from pipeline.adapters.embedded import (
    SeaweedPorts,
    ServerProcess,
    find_free_ports,
    find_free_seaweed_ports,
    is_port_free,
    is_process_alive,
    make_s3_client,
    read_start_ticks,
    start_redis,
    start_seaweedfs,
    stop_process,
    volume_slots,
)
from pipeline.adapters.redis_batch import BatchState
from pipeline.errors import ConfigurationError
from pipeline.services.local_stack import (
    env_file_path,
    read_state,
    refresh_settings,
    services_down,
    services_status,
    services_up,
)
from tests.conftest import TEST_VOLUME_MB, S3Server
from tests.support.stacks import run_cli_in_process
from tests.support.wait import wait_until

pytestmark = pytest.mark.integration


@dataclass
class Seaweed:
    server: ServerProcess
    ports: SeaweedPorts
    data_dir: Path
    access_key: str
    secret_key: str


def new_credentials() -> tuple[str, str]:
    return f"TEST{secrets.token_hex(8).upper()}", secrets.token_urlsafe(30)


def assert_stopped(pid: int, name_hint: str, ports: list[int]) -> None:
    assert not is_process_alive(pid, name_hint)
    assert not Path(f"/proc/{pid}").exists() or not Path(f"/proc/{pid}/cmdline").read_bytes()
    busy = [p for p in ports if not is_port_free(p)]
    assert busy == [], f"ports still taken after stop: {busy}"


def anonymous_get_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture
def seaweed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Seaweed]:
    # Keys in our own environment must not become extra identities of the server.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ENVKEYTHATMUSTNOTWORK")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret-that-must-not-work")
    access_key, secret_key = new_credentials()
    ports = find_free_seaweed_ports()
    data_dir = tmp_path / "seaweedfs"
    server = start_seaweedfs(
        data_dir,
        access_key=access_key,
        secret_key=secret_key,
        ports=ports,
        log_path=tmp_path / "seaweedfs.log",
    )
    try:
        yield Seaweed(server, ports, data_dir, access_key, secret_key)
    finally:
        stop_process(server.pid, name_hint="weed")


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[ServerProcess]:
    (port,) = find_free_ports(1, grpc_twins=False)
    server = start_redis(tmp_path / "redis", port=port, log_path=tmp_path / "redis.log")
    try:
        yield server
    finally:
        stop_process(server.pid, name_hint="redis-server")


def test_find_free_ports_gives_distinct_free_ports_with_free_grpc_twins() -> None:
    ports = find_free_ports(5)
    assert len(set(ports)) == 5
    every = ports + [p + 10_000 for p in ports]
    assert len(set(every)) == 10
    assert all(is_port_free(p) for p in every)


def test_seaweedfs_accepts_only_its_own_credentials(seaweed: Seaweed) -> None:
    assert seaweed.server.url == f"http://127.0.0.1:{seaweed.ports.s3}"
    assert all(not is_port_free(p) for p in seaweed.ports.all_ports())
    s3 = make_s3_client(seaweed.server.url, seaweed.access_key, seaweed.secret_key)
    s3.create_bucket(Bucket="probe")
    s3.put_object(Bucket="probe", Key="a/b.txt", Body=b"bytes")
    assert s3.get_object(Bucket="probe", Key="a/b.txt")["Body"].read() == b"bytes"

    wrong_secret = make_s3_client(seaweed.server.url, seaweed.access_key, "not-the-secret")
    with pytest.raises(ClientError) as caught:
        wrong_secret.list_buckets()
    assert caught.value.response["Error"]["Code"] == "SignatureDoesNotMatch"

    from_environment = make_s3_client(
        seaweed.server.url, "ENVKEYTHATMUSTNOTWORK", "env-secret-that-must-not-work"
    )
    with pytest.raises(ClientError) as caught:
        from_environment.list_buckets()
    assert caught.value.response["Error"]["Code"] == "InvalidAccessKeyId"

    assert anonymous_get_status(f"{seaweed.server.url}/probe/a/b.txt") == 403
    # The filer's own HTTP port must not hand out what S3 protects.
    filer_url = f"http://127.0.0.1:{seaweed.ports.filer}/buckets/probe/a/b.txt"
    assert anonymous_get_status(filer_url) == 401


def test_seaweedfs_keeps_secrets_out_of_its_log_and_files(seaweed: Seaweed) -> None:
    log_text = seaweed.server.log_path.read_text(errors="replace")
    assert "All enabled components are running" in log_text
    assert seaweed.secret_key not in log_text
    identities = seaweed.data_dir / "s3-identities.json"
    assert stat.S_IMODE(identities.stat().st_mode) == 0o600
    assert seaweed.secret_key not in (seaweed.data_dir / "mini.options").read_text()


def test_each_new_bucket_takes_a_volume_slot_and_test_volumes_leave_room_for_many(
    s3_server: S3Server, tmp_path: Path
) -> None:
    # mini's own choice here is 1 GB volumes, one per free GB: ~80 buckets, fewer than the
    # suite makes; past that, every write to a new bucket is an InternalError.
    assert s3_server.master_url is not None
    before = volume_slots(s3_server.master_url)
    assert before is not None
    free, most = before
    by_disk = shutil.disk_usage(tmp_path).free / (TEST_VOLUME_MB * 2**20)
    assert 0.9 * by_disk <= most <= 1.1 * by_disk + 50, (most, by_disk)
    s3 = make_s3_client(s3_server.endpoint, s3_server.access_key, s3_server.secret_key)
    bucket = "slots-" + secrets.token_hex(4)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"one small object")
    after = volume_slots(s3_server.master_url)
    assert after is not None and after[1] == most
    assert after[0] < free, "a new bucket's first write takes a volume slot of its own"


def test_stop_process_stops_seaweedfs_once(seaweed: Seaweed) -> None:
    pid = seaweed.server.pid
    assert is_process_alive(pid, "weed", seaweed.server.start_ticks)
    assert stop_process(pid, name_hint="weed") is True
    assert_stopped(pid, "weed", seaweed.ports.all_ports())
    assert stop_process(pid, name_hint="weed") is False


def test_seaweedfs_start_fails_clearly_when_a_port_is_taken(tmp_path: Path) -> None:
    access_key, secret_key = new_credentials()
    ports = find_free_seaweed_ports()
    with socket.socket() as blocker:
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        blocker.bind(("127.0.0.1", ports.s3))
        blocker.listen()
        with pytest.raises(ConfigurationError) as caught:
            start_seaweedfs(
                tmp_path / "data",
                access_key=access_key,
                secret_key=secret_key,
                ports=ports,
                log_path=tmp_path / "weed.log",
                timeout=30,
            )
    message = str(caught.value)
    assert str(ports.s3) in message
    assert "exited" in message
    assert secret_key not in message


def test_seaweedfs_too_slow_to_start_is_stopped_not_left_behind(tmp_path: Path) -> None:
    access_key, secret_key = new_credentials()
    ports = find_free_seaweed_ports()
    with pytest.raises(ConfigurationError) as caught:
        start_seaweedfs(
            tmp_path / "data",
            access_key=access_key,
            secret_key=secret_key,
            ports=ports,
            log_path=tmp_path / "weed.log",
            timeout=0.2,
        )
    assert "did not become ready within" in str(caught.value)
    assert secret_key not in str(caught.value)
    leftovers = [
        pid
        for pid in os.listdir("/proc")
        if pid.isdigit() and f"-dir={tmp_path / 'data'}".encode() in _cmdline(int(pid))
    ]
    assert leftovers == []
    assert all(is_port_free(p) for p in ports.all_ports())


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_is_process_alive_refuses_other_programs_and_reused_pids(
    redis_server: ServerProcess,
) -> None:
    assert is_process_alive(redis_server.pid, "redis-server")
    assert is_process_alive(redis_server.pid, "redis-server", redis_server.start_ticks)
    assert not is_process_alive(redis_server.pid, "weed")
    assert not is_process_alive(redis_server.pid, "redis")
    assert redis_server.start_ticks is not None
    assert not is_process_alive(redis_server.pid, "redis-server", redis_server.start_ticks + 1)
    assert not stop_process(
        redis_server.pid, name_hint="redis-server", start_ticks=redis_server.start_ticks + 1
    )
    assert is_process_alive(redis_server.pid, "redis-server")
    assert not is_process_alive(os.getpid(), "redis-server")
    assert read_start_ticks(os.getpid()) is not None


def test_redis_server_is_local_persistent_and_never_evicts(
    redis_server: ServerProcess, tmp_path: Path
) -> None:
    port = int(redis_server.url.rsplit(":", 1)[1].split("/")[0])
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    try:
        assert client.ping()
        assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        assert client.config_get("bind") == {"bind": "127.0.0.1"}
        assert client.info("server")["process_id"] == redis_server.pid
    finally:
        client.close()
    assert (tmp_path / "redis" / "appendonly.aof").exists()
    assert stop_process(redis_server.pid, name_hint="redis-server") is True
    assert_stopped(redis_server.pid, "redis-server", [port])


def test_redis_start_refuses_a_port_another_server_holds(
    redis_server: ServerProcess, tmp_path: Path
) -> None:
    port = int(redis_server.url.rsplit(":", 1)[1].split("/")[0])
    with pytest.raises(ConfigurationError) as caught:
        start_redis(tmp_path / "second", port=port, log_path=tmp_path / "second.log", timeout=10)
    assert "redis-server" in str(caught.value)
    assert is_process_alive(redis_server.pid, "redis-server")


def test_a_server_outlives_the_process_that_started_it(tmp_path: Path) -> None:
    (port,) = find_free_ports(1, grpc_twins=False)
    script = (
        "import sys; from pathlib import Path; from pipeline.adapters.embedded import start_redis;"
        f"s = start_redis(Path({str(tmp_path / 'r')!r}), port={port}, "
        f"log_path=Path({str(tmp_path / 'r.log')!r})); print(s.pid)"
    )
    starter = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    pid = int(starter.stdout.strip())
    try:
        assert is_process_alive(pid, "redis-server")
        assert os.getsid(pid) == pid  # its own session: a Ctrl-C of `make` does not reach it
        client = redis.Redis(port=port)
        try:
            assert client.ping()
        finally:
            client.close()
    finally:
        stop_process(pid, name_hint="redis-server")
    assert_stopped(pid, "redis-server", [port])


# --- services up / down / status --------------------------------------------------------------


def make_settings(var_dir: Path, redis_port: int, **overrides: object) -> SohoaSettings:
    # _env_file=None: a developer's var/sohoa.env in the checkout must not leak into the test.
    return SohoaSettings(
        _env_file=None,
        var_dir=var_dir,
        redis_url=f"redis://127.0.0.1:{redis_port}/0",
        bucket="sohoa-test",
        masters_bucket="sohoa-test-masters",
        **overrides,  # type: ignore[arg-type]
    )


@pytest.fixture
def var_dir(tmp_path: Path) -> Iterator[Path]:
    var = tmp_path / "var"
    try:
        yield var
    finally:
        # Stops whatever a failing test left behind, by the state file's PIDs.
        state = read_state(make_settings(var, 1))
        services_down(make_settings(var, 1))
        if state is not None:
            for pid, hint in ((state.seaweedfs_pid, "weed"), (state.redis_pid, "redis-server")):
                if pid is not None:
                    stop_process(pid, name_hint=hint)


def test_services_up_is_idempotent_and_down_leaves_nothing(var_dir: Path) -> None:
    (redis_port,) = find_free_ports(1, grpc_twins=False)
    settings = make_settings(var_dir, redis_port)

    first = services_up(settings, free_ports=True)
    assert first.started == ["redis", "seaweedfs"]
    assert first.redis_is_ours
    assert first.s3_endpoint_url == f"http://127.0.0.1:{first.seaweedfs_ports.s3}"
    assert first.seaweedfs_ports.s3 != 8333
    assert sorted(first.buckets_created) == ["sohoa-test", "sohoa-test-masters"]

    env_file = env_file_path(settings)
    assert env_file == var_dir / "sohoa.env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    fresh = refresh_settings(settings)
    assert fresh.s3_endpoint_url == first.s3_endpoint_url
    assert fresh.redis_url == settings.redis_url
    # Left at its default, the public URL follows the endpoint and the bucket's real name, so
    # IIIF ids point where the tiles are.
    assert fresh.public_base_url == f"{first.s3_endpoint_url}/sohoa-test"
    access_key = fresh.s3_access_key.get_secret_value()
    secret_key = fresh.s3_secret_key.get_secret_value()
    assert access_key and secret_key
    env_text = env_file.read_text()
    assert f"SOHOA_S3_SECRET_KEY='{secret_key}'" in env_text
    assert f"SOHOA_S3_ENDPOINT_URL='{first.s3_endpoint_url}'" in env_text
    assert secret_key not in (var_dir / "embedded" / "state.json").read_text()

    # What a worker started afterwards would see, reading the env file itself.
    from_file = SohoaSettings(_env_file=env_file)
    assert from_file.s3_secret_key.get_secret_value() == secret_key
    assert from_file.s3_endpoint_url == first.s3_endpoint_url

    s3 = make_s3_client(first.s3_endpoint_url, access_key, secret_key)
    assert {"sohoa-test", "sohoa-test-masters"} <= {b["Name"] for b in s3.list_buckets()["Buckets"]}
    acl = s3.get_bucket_acl(Bucket="sohoa-test")
    assert not [g for g in acl.get("Grants", []) if "URI" in g.get("Grantee", {})]
    assert anonymous_get_status(f"{first.s3_endpoint_url}/sohoa-test/") == 403

    second = services_up(settings, free_ports=True)
    assert second.started == []
    assert sorted(second.reused) == ["redis", "seaweedfs"]
    assert second.seaweedfs_pid == first.seaweedfs_pid
    assert second.redis_pid == first.redis_pid
    assert second.s3_endpoint_url == first.s3_endpoint_url
    assert second.buckets_created == []
    assert refresh_settings(settings).s3_secret_key.get_secret_value() == secret_key

    status = services_status(settings)
    assert status["seaweedfs"]["running"] and status["seaweedfs"]["answering"]
    assert status["seaweedfs"]["pid"] == first.seaweedfs_pid
    assert status["redis"] == {
        "ours": True,
        "running": True,
        "pid": first.redis_pid,
        "url": settings.redis_url,
        "answering": True,
    }

    assert first.seaweedfs_pid is not None and first.redis_pid is not None
    assert services_down(settings) == ["seaweedfs", "redis"]
    assert_stopped(first.seaweedfs_pid, "weed", first.seaweedfs_ports.all_ports())
    assert_stopped(first.redis_pid, "redis-server", [redis_port])
    assert read_state(settings) is None
    status = services_status(settings)
    assert not status["seaweedfs"]["running"] and not status["seaweedfs"]["answering"]
    assert not status["redis"]["running"] and not status["redis"]["answering"]
    assert services_down(settings) == []


def test_services_use_a_running_redis_and_never_stop_it(
    var_dir: Path, redis_server: ServerProcess
) -> None:
    redis_port = int(redis_server.url.rsplit(":", 1)[1].split("/")[0])
    settings = make_settings(var_dir, redis_port)
    state = services_up(settings, free_ports=True)
    assert state.started == ["seaweedfs"]
    assert not state.redis_is_ours
    assert services_status(settings)["redis"]["ours"] is False

    # New credentials in the settings: the running SeaweedFS is restarted with them.
    access_key, secret_key = new_credentials()
    rotated = make_settings(var_dir, redis_port, s3_access_key=access_key, s3_secret_key=secret_key)
    again = services_up(rotated, free_ports=True)
    assert again.started == ["seaweedfs"]
    assert again.seaweedfs_pid != state.seaweedfs_pid
    assert state.seaweedfs_pid is not None
    assert not is_process_alive(state.seaweedfs_pid, "weed")
    s3 = make_s3_client(again.s3_endpoint_url, access_key, secret_key)
    assert "sohoa-test" in {b["Name"] for b in s3.list_buckets()["Buckets"]}

    assert services_down(rotated) == ["seaweedfs"]
    assert is_process_alive(redis_server.pid, "redis-server")
    client = redis.Redis.from_url(redis_server.url)
    try:
        assert client.ping()
    finally:
        client.close()


def test_services_up_refuses_to_start_redis_for_a_remote_url(var_dir: Path) -> None:
    settings = make_settings(var_dir, 1).model_copy(
        update={"redis_url": "redis://:hunter2secret@192.0.2.1:6390/0"}
    )
    with pytest.raises(ConfigurationError) as caught:
        services_up(settings, free_ports=True)
    message = str(caught.value)
    assert "192.0.2.1:6390" in message
    assert "hunter2secret" not in message
    state = read_state(settings)
    assert state is None or (state.redis_pid is None and state.seaweedfs_pid is None)


def _hold_port(port: int) -> socket.socket:
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("127.0.0.1", port))
    holder.listen()
    return holder


def _crash(pid: int | None, ports: SeaweedPorts) -> None:
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    # Its ports stay taken for a moment after the kill (~0.4 s here): what `up` must wait for.
    wait_until(
        lambda: not is_process_alive(pid, "weed") and all(map(is_port_free, ports.all_ports())),
        timeout=10,
        what="weed to die and its ports to free",
    )


def test_a_crashed_seaweedfs_comes_back_where_it_was_or_says_why_not(var_dir: Path) -> None:
    """Fault: SeaweedFS, first started on free ports (a default one was busy), is SIGKILLed
    while workers and batches hold its endpoint, and one of its ports stays taken for a
    second; after a second crash, a port stays taken for good.
    Outcome: `sohoa services up` waits for the port and restarts it on the ports its state
    records (not the defaults), with its data: the endpoint in use stays right. When a port
    stays taken it starts nothing and exits 2 naming the port, the endpoint, the unfinished
    batches and both remedies; `--move-ports` then starts it on free ports with its data and
    names the address it left."""
    (redis_port,) = find_free_ports(1, grpc_twins=False)
    settings = make_settings(var_dir, redis_port)
    with socket.socket() as blocker:
        # Hold the default master port if nobody else does already: a first start moves.
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if is_port_free(SeaweedPorts().master):
            blocker.bind(("127.0.0.1", SeaweedPorts().master))
            blocker.listen()
        first = services_up(settings)
    assert first.ports_moved and first.moved_from is None
    assert first.seaweedfs_ports != SeaweedPorts()
    assert first.s3_endpoint_url == f"http://127.0.0.1:{first.seaweedfs_ports.s3}"
    assert services_status(settings)["seaweedfs"]["ports_moved"] is True
    fresh = refresh_settings(settings)
    keys = (fresh.s3_access_key.get_secret_value(), fresh.s3_secret_key.get_secret_value())
    make_s3_client(first.s3_endpoint_url, *keys).put_object(
        Bucket="sohoa-test", Key="k", Body=b"survives a crash"
    )

    _crash(first.seaweedfs_pid, first.seaweedfs_ports)
    holder = _hold_port(first.seaweedfs_ports.filer)
    threading.Timer(1.0, holder.close).start()
    # Back on the recorded ports, not the defaults (free again now) nor random ones.
    second = services_up(settings, free_ports=True)
    assert second.started == ["seaweedfs"] and second.moved_from is None
    assert second.seaweedfs_ports == first.seaweedfs_ports
    assert refresh_settings(settings).s3_endpoint_url == first.s3_endpoint_url
    s3 = make_s3_client(first.s3_endpoint_url, *keys)
    assert s3.get_object(Bucket="sohoa-test", Key="k")["Body"].read() == b"survives a crash"

    _crash(second.seaweedfs_pid, first.seaweedfs_ports)
    BatchState(settings.redis_url, prefix=settings.queue_prefix).save_meta(
        "night-7", {"batch_id": "night-7", "total": 3}
    )
    env = {
        "SOHOA_VAR_DIR": str(var_dir),
        "SOHOA_REDIS_URL": settings.redis_url,
        "SOHOA_BUCKET": "sohoa-test",
        "SOHOA_MASTERS_BUCKET": "sohoa-test-masters",
        "SOHOA_QUEUE_PREFIX": settings.queue_prefix,
    }
    busy = first.seaweedfs_ports.volume
    with _hold_port(busy):
        refused = run_cli_in_process(["services", "up", "--port-wait", "0.2"], env, var_dir.parent)
        state = read_state(settings)
        assert state is not None and state.seaweedfs_ports == first.seaweedfs_ports
        assert state.s3_endpoint_url == first.s3_endpoint_url
        assert not is_process_alive(state.seaweedfs_pid or 0, "weed")
        assert refused.returncode == 2, refused.stdout + refused.stderr
        for part in (str(busy), first.s3_endpoint_url, "--move-ports", "night-7", "restart"):
            assert part in refused.stderr, (part, refused.stderr)

        moved = run_cli_in_process(
            ["services", "up", "--move-ports", "--port-wait", "0"], env, var_dir.parent
        )
    assert moved.returncode == 0, moved.stdout + moved.stderr
    state = read_state(settings)
    assert state is not None and state.ports_moved
    assert state.seaweedfs_ports.s3 != first.seaweedfs_ports.s3
    assert f"left {first.s3_endpoint_url} for {state.s3_endpoint_url}" in moved.stdout
    assert "night-7" in moved.stdout
    # The real env file is named, wherever SOHOA_VAR_DIR puts it.
    assert f"credentials in {var_dir / 'sohoa.env'})" in moved.stdout
    assert refresh_settings(settings).s3_endpoint_url == state.s3_endpoint_url
    # mini.options must not replay the old ports over the new ones.
    options = (var_dir / "embedded" / "seaweedfs" / "mini.options").read_text()
    assert f"s3.port={state.seaweedfs_ports.s3}" in options
    s3 = make_s3_client(state.s3_endpoint_url, *keys)
    assert s3.get_object(Bucket="sohoa-test", Key="k")["Body"].read() == b"survives a crash"
    assert services_down(settings) == ["seaweedfs", "redis"]


def test_free_ports_taken_between_the_check_and_the_start_are_chosen_again(
    var_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Race: another program binds one of the free ports SeaweedFS was just given (two
    installations starting at once). Outcome: `services up` picks another free set and starts,
    instead of failing; recorded and default ports are never changed this way."""
    from pipeline.services import local_stack

    (redis_port,) = find_free_ports(1, grpc_twins=False)
    settings = make_settings(var_dir, redis_port)
    raced = find_free_seaweed_ports()
    picks = iter([raced])
    real = local_stack.find_free_seaweed_ports
    monkeypatch.setattr(local_stack, "find_free_seaweed_ports", lambda: next(picks, None) or real())
    with _hold_port(raced.s3):
        state = services_up(settings, free_ports=True)
    assert state.started == ["redis", "seaweedfs"]
    assert state.seaweedfs_ports.s3 != raced.s3
    fresh = refresh_settings(settings)
    keys = (fresh.s3_access_key.get_secret_value(), fresh.s3_secret_key.get_secret_value())
    make_s3_client(state.s3_endpoint_url, *keys).put_object(Bucket="sohoa-test", Key="k", Body=b"")
