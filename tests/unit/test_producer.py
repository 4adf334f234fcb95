"""The producer's messages leave the time limits to the worker that runs the task."""

from __future__ import annotations

from typing import Any

import pytest

import workers.tasks  # noqa: F401  (registered here, as in a beat or a test process)
from config.settings import SohoaSettings
from pipeline.services.models import ProcessScanTask, PublishRecordTask
from workers import client
from workers.app import app, configure_app


def test_a_sender_with_the_tasks_registered_stamps_no_time_limit_of_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Celery copies a registered task's limits (bound from the sender's settings) into every
    # message sent by its name, and the worker obeys the message: a worker configured with a
    # 2 s soft limit ran a scan for 6 s because its sender's settings said 45 s.
    settings = SohoaSettings(
        _env_file=None,  # type: ignore[call-arg]
        redis_url="redis://127.0.0.1:6379/13",
        task_time_limit=50,
        task_soft_time_limit=45,
        queue_prefix="producer-test",
    )
    configure_app(settings)
    # The tasks keep the limits of the settings they were first bound with (an earlier test's,
    # in this process): these are what Celery would stamp.
    for name in (client.PROCESS_SCAN, client.PUBLISH_RECORD):
        monkeypatch.setattr(app.tasks[name], "time_limit", 50)
        monkeypatch.setattr(app.tasks[name], "soft_time_limit", 45)
    stamped: list[Any] = []

    def capture(producer: Any, name: str, message: Any, **options: Any) -> None:
        stamped.append((name, message.headers["timelimit"]))  # captured instead of published

    monkeypatch.setattr(app.amqp, "send_task_message", capture)
    scan = ProcessScanTask(path="/drop/BTCVH.GS.0012_front_1.jpg", batch_id="b")
    client.scan_signature(scan, "producer-test.bulk").apply_async()
    client.publish_signature(PublishRecordTask(object="btcvh.gs.0012"), "q").apply_async()
    assert stamped == [
        (client.PROCESS_SCAN, [None, None]),
        (client.PUBLISH_RECORD, [None, None]),
    ]
