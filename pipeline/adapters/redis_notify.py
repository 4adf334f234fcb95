"""'A record changed' notifications on a Redis Stream; the only Redis code of the live index.

A stream, not pub/sub: a pub/sub message reaches only the subscribers connected at that
instant, so an API replica that was reconnecting or restarting loses it silently. A stream
keeps the last entries, and each reader asks for what came after the last id it applied,
so a reconnect resumes where it stopped. No consumer group: every replica must see every
entry (a group would share them out). The bucket stays the truth: an entry carries only
the object's slug, and a reader that fell too far behind reconciles with the bucket.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import redis
from redis.exceptions import RedisError

from pipeline.adapters.redis_broker import redact_url
from pipeline.errors import BrokerUnavailableError

# Roughly how many entries the stream keeps (XADD MAXLEN ~): a few days of publishing at the
# museum's pace; a reader further behind than that catches up from the bucket.
DEFAULT_MAX_ENTRIES: Final = 100_000
START: Final = "0-0"


def stream_key(prefix: str) -> str:
    """The stream of one deployment, beside its queues: '{prefix}.records'."""
    return f"{prefix}.records"


@dataclass(frozen=True)
class RecordChanged:
    """One entry: the record of `object` was written (or deleted) at stream id `id`."""

    id: str
    object: str


class RecordStream:
    """Append and read 'record changed' entries; every failure is BrokerUnavailableError."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        block_seconds: float = 2.0,
    ) -> None:
        self.url = url
        self.key = stream_key(prefix)
        self.max_entries = max_entries
        self.block_seconds = block_seconds
        # The socket must outwait a blocking read, or every quiet read would look like a failure.
        self._client = redis.Redis.from_url(
            url, socket_timeout=block_seconds + 5, socket_connect_timeout=5
        )

    def _unavailable(self, exc: Exception, action: str) -> BrokerUnavailableError:
        return BrokerUnavailableError(
            f"Redis at {redact_url(self.url)} did not answer while trying to {action} the "
            f"stream {self.key} ({type(exc).__name__}); the index catches up from the bucket."
        )

    def publish(self, object_slug: str) -> str:
        """Append 'the record of `object_slug` changed'; the entry's id."""
        try:
            entry_id: Any = self._client.xadd(
                self.key, {"object": object_slug}, maxlen=self.max_entries, approximate=True
            )
        except RedisError as exc:
            raise self._unavailable(exc, "append to") from None
        return _as_id(entry_id)

    def last_id(self) -> str:
        """The id of the newest entry ('0-0' when there is none): read after it to get news."""
        try:
            newest: Any = self._client.xrevrange(self.key, count=1)
        except RedisError as exc:
            raise self._unavailable(exc, "read") from None
        if not newest:
            return START
        entry_id = newest[0][0]
        return _as_id(entry_id)

    def first_id(self) -> str | None:
        """The id of the oldest entry kept; None when the stream is empty."""
        try:
            oldest: Any = self._client.xrange(self.key, count=1)
        except RedisError as exc:
            raise self._unavailable(exc, "read") from None
        if not oldest:
            return None
        entry_id = oldest[0][0]
        return _as_id(entry_id)

    def read(self, after: str, *, count: int = 500, block: bool = True) -> list[RecordChanged]:
        """Entries after id `after`, oldest first; waits up to block_seconds for one."""
        try:
            found: Any = self._client.xread(
                {self.key: after},
                count=count,
                block=int(self.block_seconds * 1000) if block else None,
            )
        except RedisError as exc:
            raise self._unavailable(exc, "read") from None
        entries: list[RecordChanged] = []
        for _stream, items in found or []:
            for entry_id, fields in items:
                slug = fields.get(b"object", b"").decode("utf-8", "replace")
                entries.append(RecordChanged(_as_id(entry_id), slug))
        return entries

    def close(self) -> None:
        self._client.close()


def is_after(entry_id: str, other: str) -> bool:
    """Stream ids compare as (milliseconds, sequence), not as text."""
    a, _, b = entry_id.partition("-")
    c, _, d = other.partition("-")
    return (int(a), int(b or 0)) > (int(c), int(d or 0))


def _as_id(entry_id: Any) -> str:
    """A stream entry id as text (redis-py gives bytes unless decode_responses is set)."""
    return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
