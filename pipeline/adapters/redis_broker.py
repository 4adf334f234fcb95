"""The Redis broker as Sohoa needs it: reachable and never evicting keys (Celery would lose
messages); it checks, it does not queue (Celery does)."""

from __future__ import annotations

import logging

import redis
from redis.exceptions import RedisError, ResponseError

from pipeline.errors import BrokerUnavailableError, ConfigurationError

log = logging.getLogger(__name__)


def redact_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"


def broker_unavailable(exc: Exception, action: str, then: str) -> BrokerUnavailableError:
    """A failure of the broker's client (kombu, redis-py and socket errors share no base class)
    as the project's retryable error, naming what was being done and what happens next."""
    return BrokerUnavailableError(
        f"The broker did not answer while trying to {action} ({type(exc).__name__}): check "
        f"that Redis is running (`make status`); {then}."
    )


def check_broker(url: str, *, timeout: float = 3.0) -> None:
    """Raise unless Redis answers at `url` with maxmemory-policy noeviction."""
    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        client.ping()
        try:
            policy = client.config_get("maxmemory-policy").get("maxmemory-policy")
        except ResponseError:
            # Managed Redis services often forbid CONFIG; we cannot check, so we say so.
            log.warning(
                "cannot read maxmemory-policy of %s; make sure it is noeviction", redact_url(url)
            )
            policy = None
    except RedisError as exc:
        raise BrokerUnavailableError(
            f"Redis at {redact_url(url)} does not answer ({type(exc).__name__}): start it "
            "(`sohoa services up` starts one locally) or set SOHOA_REDIS_URL."
        ) from None
    finally:
        client.close()
    if policy is not None and policy != "noeviction":
        raise ConfigurationError(
            f"Redis at {redact_url(url)} uses maxmemory-policy {policy!r}, so it may evict "
            "queued tasks and lose scans: set `maxmemory-policy noeviction` in its configuration "
            "(CONFIG SET maxmemory-policy noeviction) and start the worker again."
        )


class DeliveryCounter:
    """How many times each task attempt was handed to a worker. Redis and Celery keep no such
    count, so a message whose file kills its worker would otherwise come back forever."""

    def __init__(self, url: str, *, prefix: str, ttl_seconds: int = 7 * 24 * 3600) -> None:
        self._client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._prefix = prefix
        self._ttl = ttl_seconds

    def _key(self, task_id: str, attempt: int) -> str:
        return f"{self._prefix}:deliveries:{task_id}:{attempt}"

    def count(self, task_id: str, attempt: int) -> int:
        """Record one more delivery of this attempt; return how many there have been."""
        key = self._key(task_id, attempt)
        try:
            with self._client.pipeline() as pipe:
                pipe.incr(key)
                pipe.expire(key, self._ttl)
                delivered, _ = pipe.execute()
        except RedisError as exc:
            raise BrokerUnavailableError(
                f"Redis did not answer while counting deliveries ({type(exc).__name__})."
            ) from None
        return int(delivered)

    def forget(self, task_id: str, attempt: int) -> None:
        try:
            self._client.delete(self._key(task_id, attempt))
        except RedisError:
            log.warning("could not clear the delivery count of task %s", task_id)
