"""The warnings of a command that follows a batch while storage or Redis is away."""

from __future__ import annotations

from pipeline.cli.outage import OutageNotice
from pipeline.errors import BrokerUnavailableError, StorageUnavailableError


def test_an_outage_says_what_to_do_once_then_less_and_less_often_then_that_it_is_over() -> None:
    now = [0.0]
    lines: list[str] = []
    notice = OutageNotice(echo=lines.append, clock=lambda: now[0])
    storage = StorageUnavailableError("Storage at http://127.0.0.1:8333 does not answer.")
    for _ in range(8 * 60 // 10):  # eight minutes of polls, one every 10 s
        notice.failed(storage)
        now[0] += 10
    assert lines[0] == f"warning: {storage.message}"
    assert "sohoa services up" in lines[1] and "storage answers" in lines[1]
    reminders = lines[2:]
    # At 1, 3 and 7 minutes: the gap doubles, never a line per poll.
    assert [line.split(": Storage")[0] for line in reminders] == [
        "warning: still waiting after 1 min 00 s",
        "warning: still waiting after 3 min 00 s",
        "warning: still waiting after 7 min 00 s",
    ]
    assert all(storage.message in line for line in reminders)

    # Another service failing is news at once; the end of the outage is said once.
    notice.failed(BrokerUnavailableError("Redis at redis://127.0.0.1:6379/0 does not answer."))
    assert "Redis at" in lines[-1]
    notice.answered()
    notice.answered()
    assert lines[-1] == "  back after 8 min 00 s; carrying on"
    assert sum("back after" in line for line in lines) == 1

    # A new outage starts the cycle again, remedy included.
    count = len(lines)
    notice.failed(storage)
    assert len(lines) == count + 2 and "sohoa services up" in lines[-1]
