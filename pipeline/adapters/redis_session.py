"""Which capture sessions wait to be scored, and who scores one now, in Redis under the queue
prefix: a coordination cache, never a record (the session index in the bucket is)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pipeline.adapters.redis_keys import PrefixedRedis

# A group's marks outlive a stopped worker long enough for the next scan or the finishing
# round to score what they name.
_TTL_SECONDS = 30 * 24 * 3600


class SessionMarks(PrefixedRedis):
    """Per session group: the scans stored since it was last scored (a set), a lock held by
    whoever scores it, so that one scorer works on a group at a time and the last one to
    score has seen every scan indexed before it, and the colour basis of each of its sessions
    as last scored (a hash), so that a scan joining a session is scored alone. Lost bases
    (an emptied Redis) cost one full scoring of the session, never a wrong colour."""

    def _key(self, group: str, part: str) -> str:
        return f"{self.prefix}:session:{group}:{part}"

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
        return self._acquire(self._key(group, "lock"), owner, seconds, "lock a session group")

    def release(self, group: str, owner: str) -> None:
        self._release(self._key(group, "lock"), owner, "unlock a session group")

    def bases(self, group: str) -> dict[str, str]:
        """Session id -> the colour basis every member of that session holds."""
        with self._redis("read a session group's bases") as client:
            found = client.hgetall(self._key(group, "bases"))
        return {_text(k): _text(v) for k, v in found.items()}

    def keep_bases(self, group: str, bases: Mapping[str, str]) -> None:
        """Replace the group's bases (a session no longer listed is forgotten)."""
        key = self._key(group, "bases")
        with self._redis("keep a session group's bases") as client, client.pipeline() as pipe:
            pipe.delete(key)
            if bases:
                pipe.hset(key, items=[part for pair in sorted(bases.items()) for part in pair])
                pipe.expire(key, _TTL_SECONDS)
            pipe.execute()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
