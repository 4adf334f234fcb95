"""What the Redis caches under the queue prefix share (batch progress, session marks): one
client, Redis errors made ours, and an owned lock that expires on its own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import redis
from redis.exceptions import RedisError

from pipeline.errors import BrokerUnavailableError

# Take the lock, or extend it when the caller already holds it (one round trip, atomic).
_ACQUIRE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class PrefixedRedis:
    """A cache's Redis client and key prefix; `_kept` ends its error message (what it holds)."""

    _kept = ""

    def __init__(self, url: str, *, prefix: str, timeout: float = 10.0) -> None:
        self._client = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, decode_responses=True
        )
        self.prefix = prefix

    def close(self) -> None:
        self._client.close()

    @contextmanager
    def _redis(self, action: str) -> Iterator[redis.Redis]:
        try:
            yield self._client
        except RedisError as exc:
            raise BrokerUnavailableError(
                f"Redis did not answer while trying to {action} ({type(exc).__name__}): check "
                f"that it runs (`sohoa services status`){self._kept}."
            ) from None

    def _acquire(self, key: str, owner: str, seconds: float, action: str) -> bool:
        """Take (or, when `owner` holds it, extend) the lock at `key` for `seconds`."""
        with self._redis(action) as client:
            return bool(client.eval(_ACQUIRE, 1, key, owner, max(1, round(seconds * 1000))))

    def _release(self, key: str, owner: str, action: str) -> None:
        """Give the lock at `key` back, only if `owner` still holds it."""
        with self._redis(action) as client:
            client.eval(_RELEASE, 1, key, owner)
