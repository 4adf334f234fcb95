"""kombu's Redis transport with one change: a message given back by a worker (its child was
killed: `task_reject_on_worker_lost`) goes to the front of its queue, not the back."""

from __future__ import annotations

from typing import Any

from kombu.transport import redis


class FrontQoS(redis.QoS):
    """Requeues a rejected message where the next fetch takes it.

    kombu publishes with LPUSH and consumes with BRPOP (the right end is the head), and
    restores a rejected message with LPUSH ("leftmost"): behind every message waiting, so a
    scan whose child was killed waited for the whole backlog (≈15 s behind a batch). Messages
    restored from a dead worker's unacknowledged set already go to the head (RPUSH), as
    RabbitMQ requeues a rejected message at its place; this makes a reject do the same.
    """

    def restore_by_tag(self, tag: Any, client: Any = None, leftmost: bool = False) -> None:
        super().restore_by_tag(tag, client=client, leftmost=False)


class Channel(redis.Channel):
    QoS = FrontQoS


class Transport(redis.Transport):
    Channel = Channel
