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
