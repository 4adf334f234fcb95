"""Batch progress and daily counts in Redis, under the queue prefix: a shared cache of where a
batch stands, never its record (the bucket is). It does not queue (Celery does); it only gives
a dead worker's unacknowledged messages back to their queue, as kombu's own restore does."""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from pipeline.adapters.redis_keys import PrefixedRedis

log = logging.getLogger(__name__)

# kombu's Redis transport: a queue with priorities is several lists, `name` and
# `name\x06\x16{3,6,9}`; messages taken and not yet acknowledged wait in the `unacked` hash.
_PRIORITY_SEP = "\x06\x16"
_PRIORITIES = ("3", "6", "9")
_UNACKED = "unacked"
# Batch keys outlive their batch long enough for the morning after a long weekend.
_TTL_SECONDS = 30 * 24 * 3600
_DAILY_TTL_SECONDS = 8 * 24 * 3600
_CHUNK = 500


def _today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


class BatchState(PrefixedRedis):
    """Per-batch keys: meta, files (path -> entry), results (path -> ScanResult dict) and the
    order results arrived in (a list, read incrementally by whoever follows the batch)."""

    _kept = "; batch progress is kept in it"

    # --- keys ----------------------------------------------------------------------------------

    def _key(self, batch_id: str, part: str) -> str:
        return f"{self.prefix}:batch:{batch_id}:{part}"

    @property
    def _batches(self) -> str:
        return f"{self.prefix}:batches"

    def _daily(self, day: str) -> str:
        return f"{self.prefix}:daily:{day}"

    # --- meta ----------------------------------------------------------------------------------

    def save_meta(self, batch_id: str, meta: dict[str, Any]) -> None:
        with self._redis("save a batch") as client, client.pipeline() as pipe:
            now = datetime.now(UTC).timestamp()
            pipe.set(self._key(batch_id, "meta"), json.dumps(meta), ex=_TTL_SECONDS)
            pipe.zadd(self._batches, {batch_id: now})
            # An entry not saved for the meta's lifetime points at an expired meta: drop it,
            # or every finisher round would look it up again, for ever.
            pipe.zremrangebyscore(self._batches, "-inf", now - _TTL_SECONDS)
            pipe.execute()

    def read_meta(self, batch_id: str) -> dict[str, Any] | None:
        with self._redis("read a batch") as client:
            raw = client.get(self._key(batch_id, "meta"))
        return json.loads(raw) if raw else None

    def recent_batches(self, limit: int = 5) -> list[str]:
        with self._redis("list batches") as client:
            return [str(b) for b in client.zrevrange(self._batches, 0, limit - 1)]

    def all_batches(self) -> list[str]:
        """Every batch of the index, oldest first (its meta may have expired since)."""
        with self._redis("list batches") as client:
            return [str(b) for b in client.zrange(self._batches, 0, -1)]

    # --- one finisher at a time ------------------------------------------------------------------

    def acquire_lock(self, batch_id: str, owner: str, seconds: float) -> bool:
        """Take (or, when `owner` holds it, extend) the batch's lock for `seconds`.

        Whoever reconciles, re-sends or writes the report holds it: two finishers (two beats,
        or the task and a foreground `sohoa batch`) never send a file twice or write two
        reports. It expires on its own, so a holder that died only delays the others.
        """
        return self._acquire(self._key(batch_id, "lock"), owner, seconds, "lock a batch")

    def release_lock(self, batch_id: str, owner: str) -> None:
        """Give the lock back, only if `owner` still holds it."""
        self._release(self._key(batch_id, "lock"), owner, "unlock a batch")

    def lock_holder(self, batch_id: str) -> str | None:
        with self._redis("read a batch's lock") as client:
            holder = client.get(self._key(batch_id, "lock"))
        return str(holder) if holder is not None else None

    # --- files whose message looked lost (two looks, shared by every finisher) -------------------

    def save_suspects(self, batch_id: str, suspects: dict[str, Any]) -> None:
        with self._redis("save a batch's suspects") as client:
            client.set(self._key(batch_id, "suspects"), json.dumps(suspects), ex=_TTL_SECONDS)

    def read_suspects(self, batch_id: str) -> dict[str, Any]:
        with self._redis("read a batch's suspects") as client:
            raw = client.get(self._key(batch_id, "suspects"))
        found = json.loads(raw) if raw else {}
        return found if isinstance(found, dict) else {}

    # --- tasks held by no live worker, by task id: when first seen so ---------------------------

    def save_orphans(self, batch_id: str, orphans: dict[str, float]) -> None:
        with self._redis("save a batch's orphans") as client:
            client.set(self._key(batch_id, "orphans"), json.dumps(orphans), ex=_TTL_SECONDS)

    def read_orphans(self, batch_id: str) -> dict[str, float]:
        with self._redis("read a batch's orphans") as client:
            raw = client.get(self._key(batch_id, "orphans"))
        found = json.loads(raw) if raw else {}
        return found if isinstance(found, dict) else {}

    # --- the last fixity sample (its report is in the bucket) ------------------------------------

    def save_fixity(self, summary: dict[str, Any]) -> None:
        with self._redis("save the fixity summary") as client:
            client.set(f"{self.prefix}:fixity:last", json.dumps(summary), ex=_TTL_SECONDS)

    def last_fixity(self) -> dict[str, Any] | None:
        with self._redis("read the fixity summary") as client:
            raw = client.get(f"{self.prefix}:fixity:last")
        return json.loads(raw) if raw else None

    # --- files ---------------------------------------------------------------------------------

    def save_files(self, batch_id: str, entries: dict[str, dict[str, Any]]) -> None:
        key = self._key(batch_id, "files")
        items = list(entries.items())
        with self._redis("save a batch's files") as client:
            for start in range(0, len(items), _CHUNK):
                chunk = dict(items[start : start + _CHUNK])
                with client.pipeline() as pipe:
                    pipe.hset(key, mapping={p: json.dumps(e) for p, e in chunk.items()})
                    pipe.expire(key, _TTL_SECONDS)
                    pipe.execute()

    def read_files(self, batch_id: str) -> dict[str, dict[str, Any]]:
        with self._redis("read a batch's files") as client:
            raw = client.hgetall(self._key(batch_id, "files"))
        return {str(path): json.loads(entry) for path, entry in raw.items()}

    def read_file_entries(self, batch_id: str, paths: list[str]) -> dict[str, dict[str, Any]]:
        """The entries of these files only (as another finisher may have changed them)."""
        key = self._key(batch_id, "files")
        found: dict[str, dict[str, Any]] = {}
        with self._redis("read a batch's files") as client:
            for start in range(0, len(paths), _CHUNK):
                chunk = paths[start : start + _CHUNK]
                for path, value in zip(chunk, client.hmget(key, chunk), strict=True):
                    if value is not None:
                        found[path] = json.loads(value)
        return found

    # --- results -------------------------------------------------------------------------------

    def record_result(self, batch_id: str | None, result: dict[str, Any]) -> None:
        """What a worker does once a file is settled: the batch's result, and today's count."""
        status = str(result.get("status") or "failed")
        with self._redis("record a result") as client, client.pipeline() as pipe:
            if batch_id:
                path = str(result.get("path") or "")
                pipe.hset(self._key(batch_id, "results"), path, json.dumps(result))
                pipe.rpush(self._key(batch_id, "arrivals"), path)
                pipe.expire(self._key(batch_id, "results"), _TTL_SECONDS)
                pipe.expire(self._key(batch_id, "arrivals"), _TTL_SECONDS)
            daily = self._daily(_today())
            # "stored" counts new scans; a file whose bytes were stored already is counted apart.
            if status == "stored" and result.get("already_stored"):
                status = "already_stored"
            pipe.hincrby(daily, status, 1)
            pipe.expire(daily, _DAILY_TTL_SECONDS)
            pipe.execute()

    def forget_results(self, batch_id: str, paths: Iterable[str]) -> None:
        """Drop earlier results of files about to be sent again, so only the new one counts."""
        paths = list(paths)
        with self._redis("reset results") as client:
            for start in range(0, len(paths), _CHUNK):
                client.hdel(self._key(batch_id, "results"), *paths[start : start + _CHUNK])

    def read_results(self, batch_id: str, paths: list[str] | None = None) -> dict[str, Any]:
        key = self._key(batch_id, "results")
        with self._redis("read results") as client:
            if paths is None:
                raw = client.hgetall(key)
                return {str(p): json.loads(r) for p, r in raw.items()}
            found: dict[str, Any] = {}
            for start in range(0, len(paths), _CHUNK):
                chunk = paths[start : start + _CHUNK]
                for path, value in zip(chunk, client.hmget(key, chunk), strict=True):
                    if value is not None:
                        found[path] = json.loads(value)
            return found

    def arrivals(self, batch_id: str, start: int) -> list[str]:
        """Paths whose result arrived, from position `start` of the arrival list on."""
        with self._redis("read results") as client:
            return [str(p) for p in client.lrange(self._key(batch_id, "arrivals"), start, -1)]

    def arrival_count(self, batch_id: str) -> int:
        with self._redis("read results") as client:
            return int(client.llen(self._key(batch_id, "arrivals")))

    def daily_counts(self, day: str | None = None) -> dict[str, int]:
        with self._redis("read today's counts") as client:
            raw = client.hgetall(self._daily(day or _today()))
        return {str(status): int(count) for status, count in raw.items()}

    # --- the queues (kombu's keys, read only) ---------------------------------------------------

    def queue_depths(self, queues: list[str]) -> dict[str, int]:
        with self._redis("read queue depths") as client, client.pipeline() as pipe:
            for queue in queues:
                for key in _queue_keys(queue):
                    pipe.llen(key)
            sizes = [int(n) for n in pipe.execute()]
        per_queue = len(_PRIORITIES) + 1
        return {
            queue: sum(sizes[i * per_queue : (i + 1) * per_queue]) for i, queue in enumerate(queues)
        }

    def unacked_task_ids(self, queues: list[str]) -> set[str]:
        """Tasks of these queues taken by a worker and not yet acknowledged (in progress)."""
        return set(self._unacked(queues))

    def _unacked(self, queues: list[str]) -> dict[str, dict[str, Any] | None]:
        wanted = set(queues)
        found: dict[str, dict[str, Any] | None] = {}
        with self._redis("read unacknowledged tasks") as client:
            for _, raw in client.hscan_iter(_UNACKED, count=_CHUNK):
                try:
                    message, _exchange, routing_key = json.loads(raw)
                except (ValueError, TypeError):
                    continue
                if routing_key in wanted:
                    parsed = _parse(message)
                    if parsed is not None:
                        found[parsed[0]] = parsed[1]
        return found

    def unacked_since(self, queues: list[str]) -> dict[str, float]:
        """Tasks of these queues taken by a worker and not yet acknowledged, with when they were
        taken (kombu's `unacked_index`, wall-clock seconds)."""
        wanted = set(queues)
        with self._redis("read unacknowledged tasks") as client:
            scored: Any = client.zrange(f"{_UNACKED}_index", 0, -1, withscores=True)
            taken_at = {str(tag): float(score) for tag, score in scored}
            return {
                task: float(taken_at.get(tag, 0.0))
                for tag, raw in client.hscan_iter(_UNACKED, count=_CHUNK)
                if (task := _unacked_task(raw, wanted)) is not None
            }

    def requeue_unacked(self, task_ids: list[str], queues: list[str]) -> list[str]:
        """Give the unacknowledged messages of these tasks back to their queue, at the end
        workers take from next, as kombu restores them after the visibility timeout (the same
        message: its task id, headers and body kept, marked redelivered). Each move is one
        transaction watching `unacked`: a message acknowledged meanwhile is left alone.
        Returns the task ids given back."""
        wanted, wanted_queues = set(task_ids), set(queues)
        given_back: list[str] = []
        with self._redis("give back unacknowledged tasks") as client:
            tags = {
                tag: task
                for tag, raw in client.hscan_iter(_UNACKED, count=_CHUNK)
                if (task := _unacked_task(raw, wanted_queues)) in wanted
            }
            for tag, task in tags.items():
                restore: Any = partial(_restore, tag)
                if client.transaction(restore, _UNACKED, value_from_callable=True):
                    given_back.append(task)
        return given_back

    def queued_tasks(self, queues: list[str]) -> dict[str, dict[str, Any] | None]:
        """Every task still waiting in these queues or held unacknowledged by a worker: its id
        and its payload (the `payload` keyword of a Sohoa task), None when unreadable."""
        found = self._unacked(queues)
        with self._redis("read the queues") as client:
            for queue in queues:
                for key in _queue_keys(queue):
                    length = int(client.llen(key))
                    for start in range(0, length, _CHUNK):
                        for raw in client.lrange(key, start, start + _CHUNK - 1):
                            try:
                                parsed = _parse(json.loads(raw))
                            except (ValueError, TypeError):
                                continue
                            if parsed is not None:
                                found[parsed[0]] = parsed[1]
        return found

    def queued_task_ids(self, queues: list[str]) -> set[str]:
        return set(self.queued_tasks(queues))


def _unacked_task(raw: Any, queues: set[str]) -> str | None:
    """The task id of an entry of kombu's `unacked` hash, if it was routed to one of `queues`."""
    try:
        message, _exchange, routing_key = json.loads(raw)
    except (ValueError, TypeError):
        return None
    parsed = _parse(message) if routing_key in queues else None
    return parsed[0] if parsed else None


def _restore(tag: str, pipe: Any) -> bool:
    """Inside a transaction watching `unacked`: move one message back to its queue."""
    raw = pipe.hget(_UNACKED, tag)
    pipe.multi()
    pipe.zrem(f"{_UNACKED}_index", tag)
    pipe.hdel(_UNACKED, tag)
    if not raw:
        return False
    message, _exchange, routing_key = json.loads(raw)
    message.setdefault("headers", {})["redelivered"] = True
    info = message.setdefault("properties", {}).setdefault("delivery_info", {})
    info["redelivered"] = True
    pipe.rpush(_queue_for(routing_key, message), json.dumps(message))
    return True


def _queue_for(queue: str, message: dict[str, Any]) -> str:
    """The list of `queue` holding the message's priority, as kombu names it (0: the queue)."""
    try:
        priority = min(max(int(message["properties"]["priority"]), 0), 9)
    except (KeyError, TypeError, ValueError):
        priority = 0
    step = max(p for p in (0, *map(int, _PRIORITIES)) if p <= priority)
    return f"{queue}{_PRIORITY_SEP}{step}" if step else queue


def _queue_keys(queue: str) -> list[str]:
    return [queue, *(f"{queue}{_PRIORITY_SEP}{p}" for p in _PRIORITIES)]


def _parse(message: Any) -> tuple[str, dict[str, Any] | None] | None:
    """(task id, payload) of a kombu message as Celery's protocol 2 writes it in JSON."""
    try:
        task_id = str(message["headers"]["id"])
    except (KeyError, TypeError):
        return None
    try:
        body = message["body"]
        if message.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        _args, kwargs, _embed = json.loads(body)
        payload = kwargs.get("payload")
        return task_id, payload if isinstance(payload, dict) else None
    except (KeyError, TypeError, ValueError, binascii.Error):
        return task_id, None
