"""Which capture sessions wait to be scored, and who scores one now, in Redis under the queue
prefix: a coordination cache, never a record (the session index in the bucket is)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import redis
from redis.exceptions import RedisError

from pipeline.adapters.redis_batch import _ACQUIRE, _RELEASE, _ms
from pipeline.errors import BrokerUnavailableError

# A group's marks outlive a stopped worker long enough for the next scan or the finishing
# round to score what they name.
_TTL_SECONDS = 30 * 24 * 3600


class SessionMarks:
    """Per session group: the scans stored since it was last scored (a set), and a lock held
    by whoever scores it, so that one scorer works on a group at a time and the last one to
    score has seen every scan indexed before it."""

    def __init__(self, url: str, *, prefix: str, timeout: float = 10.0) -> None:
        self._client = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, decode_responses=True
        )
        self.prefix = prefix

    def close(self) -> None:
        self._client.close()

    def _key(self, group: str, part: str) -> str:
        return f"{self.prefix}:session:{group}:{part}"

    @contextmanager
    def _redis(self, action: str) -> Iterator[redis.Redis]:
        try:
            yield self._client
        except RedisError as exc:
            raise BrokerUnavailableError(
                f"Redis did not answer while trying to {action} ({type(exc).__name__}): check "
                "that it runs (`sohoa services status`)."
            ) from None

    def mark(self, group: str, scan_ids: Iterable[str]) -> None:
        """Note scans the group's next scoring must cover."""
        ids = sorted(set(scan_ids))
        if not ids:
            return
        key = self._key(group, "pending")
        with self._redis("mark a session for scoring") as client, client.pipeline() as pipe:
            pipe.sadd(key, *ids)
            pipe.expire(key, _TTL_SECONDS)
            pipe.execute()

    def take(self, group: str) -> set[str]:
        """The marked scans, unmarked in the same step (a scan marked after it is kept)."""
        key = self._key(group, "pending")
        with self._redis("take a session's marks") as client, client.pipeline() as pipe:
            pipe.smembers(key)
            pipe.delete(key)
            found, _ = pipe.execute()
        return {str(s) for s in found}

    def is_marked(self, group: str) -> bool:
        with self._redis("read a session's marks") as client:
            return bool(client.exists(self._key(group, "pending")))

    def acquire(self, group: str, owner: str, seconds: float) -> bool:
        """Take (or, when `owner` holds it, extend) the group's scoring lock for `seconds`."""
        with self._redis("lock a session group") as client:
            return bool(client.eval(_ACQUIRE, 1, self._key(group, "lock"), owner, _ms(seconds)))

    def release(self, group: str, owner: str) -> None:
        with self._redis("unlock a session group") as client:
            client.eval(_RELEASE, 1, self._key(group, "lock"), owner)
