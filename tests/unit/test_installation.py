"""An installation's identity and the names derived from it (settings, Celery's configuration,
the message header); the worker's refusal itself is proven in tests/integration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import SohoaSettings
from workers.app import (
    INSTALLATION_HEADER,
    _stamp_installation,
    celery_config,
    configure_app,
    installation_header,
    old_queues,
)
from workers.installation import foreign_home

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _no_settings_from_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests name every setting they use: a SOHOA_QUEUE_PREFIX exported in the shell
    (as each engineer sharing the machine's Redis does) must not answer for them."""
    for name in [n for n in os.environ if n.startswith("SOHOA_")]:
        monkeypatch.delenv(name)


def settings(**values: object) -> SohoaSettings:
    return SohoaSettings(_env_file=None, **values)  # type: ignore[arg-type]


def test_the_default_queue_prefix_is_the_store_s_own() -> None:
    first = settings(bucket="museum", s3_endpoint_url="http://127.0.0.1:8333")
    assert first.installation_id == "museum@http://127.0.0.1:8333"
    assert first.queue_prefix.startswith("sohoa-museum-")
    # The same store however the endpoint is written (case, a trailing slash): the same queues.
    same = settings(bucket="museum", s3_endpoint_url="HTTP://127.0.0.1:8333/")
    assert same.queue_prefix == first.queue_prefix
    other_bucket = settings(bucket="museum-test", s3_endpoint_url="http://127.0.0.1:8333")
    other_server = settings(bucket="museum", s3_endpoint_url="http://127.0.0.1:8334")
    prefixes = {first.queue_prefix, other_bucket.queue_prefix, other_server.queue_prefix}
    assert len(prefixes) == 3


def test_a_named_installation_names_its_queues() -> None:
    named = settings(installation="hue-archive", bucket="museum")
    assert named.installation_id == named.queue_prefix == "hue-archive"
    kept = settings(installation="hue-archive", queue_prefix="sohoa")
    assert (kept.installation_id, kept.queue_prefix) == ("hue-archive", "sohoa")


def test_control_and_events_are_the_installation_s_own() -> None:
    conf = celery_config(settings(installation="hue-archive"), schedule=False)
    assert conf["control_exchange"] == "hue-archive"
    assert conf["event_exchange"] == "hue-archive.events"
    assert conf["task_default_queue"] == "hue-archive.bulk"
    assert "beat_schedule" not in conf


def test_old_queues_are_named_only_when_the_installation_left_them() -> None:
    assert old_queues(settings(queue_prefix="sohoa")) == []
    assert old_queues(settings(bucket="museum")) == ["sohoa.interactive", "sohoa.bulk"]


def test_every_message_is_stamped_with_its_installation_once() -> None:
    mine = settings(installation="hue-archive")
    configure_app(mine)
    headers: dict[str, object] = {"id": "t1"}
    _stamp_installation(headers=headers)
    assert headers[INSTALLATION_HEADER] == {"id": "hue-archive", "queues": "hue-archive"}
    # A message passed on keeps the installation that sent it.
    passed_on = {INSTALLATION_HEADER: {"id": "other", "queues": "other"}}
    _stamp_installation(headers=passed_on)
    assert passed_on[INSTALLATION_HEADER] == {"id": "other", "queues": "other"}


def test_a_worker_knows_a_foreign_message_by_its_header() -> None:
    mine = settings(installation="hue-archive")
    ours = {INSTALLATION_HEADER: installation_header(mine)}
    theirs = {INSTALLATION_HEADER: installation_header(settings(bucket="other"))}
    assert foreign_home(ours, mine) is None
    assert foreign_home({}, mine) is None  # queued by a Sohoa before installations
    assert foreign_home(None, mine) is None
    home = foreign_home(theirs, mine)
    assert home is not None and home["id"].startswith("other@")


def test_importing_the_app_configures_it_from_the_environment_cheaply() -> None:
    """What `celery -A workers.app …` gets: the installation's broker and queues, with neither
    the beat schedule's modules nor the image libraries imported."""
    probe = (
        "import json, sys, workers.app as w; c = w.app.conf; "
        "print(json.dumps([c.broker_url, c.task_default_queue, c.control_exchange, "
        "[m for m in ('pipeline.services.schedule', 'cv2', 'PIL') if m in sys.modules]]))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOHOA_", "REDIS_URL"))}
    env.update(SOHOA_REDIS_URL="redis://127.0.0.1:6399/7", SOHOA_INSTALLATION="probe-inst")
    env["SOHOA_VAR_DIR"] = str(ROOT / "var-none")  # no env file of a local stack
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, cwd=ROOT, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [
        "redis://127.0.0.1:6399/7", "probe-inst.bulk", "probe-inst", []
    ]  # fmt: skip


def test_a_copy_pointed_at_another_store_derives_its_queues_again() -> None:
    """`services up` moves the endpoint (refresh_settings copies the settings): the command's
    queues must be those its worker derives from the env file, not the old endpoint's."""
    first = settings(bucket="museum", s3_endpoint_url="http://127.0.0.1:8333")
    moved = first.model_copy(update={"s3_endpoint_url": "http://127.0.0.1:18333"})
    fresh = settings(bucket="museum", s3_endpoint_url="http://127.0.0.1:18333")
    assert moved.queue_prefix == fresh.queue_prefix != first.queue_prefix
    # A prefix that was given stays as given.
    given = settings(queue_prefix="sohoa", s3_endpoint_url="http://127.0.0.1:8333")
    assert given.model_copy(update={"s3_endpoint_url": "http://x:1"}).queue_prefix == "sohoa"
    assert first.model_copy(update={"queue_prefix": "sohoa"}).queue_prefix == "sohoa"
