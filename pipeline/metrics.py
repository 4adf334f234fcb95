"""Prometheus metrics of workers and the API: counted in every process, summed across Celery's
prefork children by prometheus_client's multiprocess mode; no pipeline logic here."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from config.settings import SohoaSettings

log = logging.getLogger(__name__)

# prometheus_client reads this variable, in every process that counts, to find its files.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Stage durations of one scan: tiny test scans take milliseconds, 100 MP TIFFs tens of seconds.
_STAGE_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
STAGES = ("read", "decode", "upload")


@dataclass
class _Metrics:
    scans: Any
    stage_seconds: Any
    bytes_uploaded: Any


_metrics: _Metrics | None = None
_enabled = False


def enable(directory: Path | None) -> None:
    """Count from now on in this process (and its children, forked after this call).

    With a directory, every process writes its own files there and a scrape sums them: the
    only correct way with prefork children. It must run before prometheus_client is imported
    (it chooses its value class then), so this module imports it lazily.
    """
    global _enabled
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            # Files of a previous run would add its counts to ours.
            stale.unlink()
        os.environ[MULTIPROC_ENV] = str(directory)
        if "prometheus_client.values" in sys.modules:
            from prometheus_client import values

            values.ValueClass = values.get_value_class()
    _enabled = True


def is_enabled() -> bool:
    return _enabled


def _get() -> _Metrics | None:
    global _metrics
    if not _enabled:
        return None
    if _metrics is None:
        from prometheus_client import Counter, Histogram

        _metrics = _Metrics(
            scans=Counter(
                "sohoa_scans",
                "Scans settled by workers, by outcome (stored, quarantined, failed) and code.",
                ["status", "code"],
                registry=None,
            ),
            stage_seconds=Histogram(
                "sohoa_stage_seconds",
                "Seconds per scan in each stage: read (read + hash), decode (decode, "
                "derivatives, tiles, quality) and upload (everything written to storage).",
                ["stage"],
                buckets=_STAGE_BUCKETS,
                registry=None,
            ),
            bytes_uploaded=Counter(
                "sohoa_uploaded_bytes",
                "Bytes written to storage (masters, derivatives, tiles).",
                registry=None,
            ),
        )
    return _metrics


def observe_stage(stage: str, seconds: float) -> None:
    """Record one scan's time in a stage; a no-op where metrics are not enabled."""
    metrics = _get()
    if metrics is not None:
        metrics.stage_seconds.labels(stage).observe(seconds)


def count_scan(result: dict[str, Any]) -> None:
    """Count one settled scan from its ScanResult dict."""
    metrics = _get()
    if metrics is None:
        return
    status = str(result.get("status") or "failed")
    metrics.scans.labels(status, str(result.get("code") or "")).inc()
    uploaded = int(result.get("bytes_stored") or 0)
    if uploaded:
        metrics.bytes_uploaded.inc(uploaded)


def forget_process(pid: int) -> None:
    """A prefork child has exited: drop its live gauges (its counters stay counted)."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


class _QueueDepth:
    """Queue depths read from Redis at scrape time (a gauge nobody has to keep up to date)."""

    def __init__(self, read: Callable[[], dict[str, int]]) -> None:
        self._read = read

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        family = GaugeMetricFamily(
            "sohoa_queue_depth", "Messages waiting in each Sohoa queue.", labels=["queue"]
        )
        try:
            depths = self._read()
        except Exception as exc:  # a scrape must answer even while Redis is away
            log.warning("queue depth unavailable for /metrics: %s", exc)
            depths = {}
        for queue, depth in sorted(depths.items()):
            family.add_metric([queue], depth)
        yield family


def make_registry(queue_depths: Callable[[], dict[str, int]] | None = None) -> Any:
    """What a scrape shows: every process's counters (multiprocess) or this one's, and the
    queue depths."""
    from prometheus_client import (
        CollectorRegistry,
        PlatformCollector,
        ProcessCollector,
        multiprocess,
    )

    directory = os.environ.get(MULTIPROC_ENV)
    if directory:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)
    else:
        registry = CollectorRegistry()
        metrics = _get()
        if metrics is not None:
            for metric in (metrics.scans, metrics.stage_seconds, metrics.bytes_uploaded):
                registry.register(metric)
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
    if queue_depths is not None:
        registry.register(_QueueDepth(queue_depths))
    return registry


# A second or third worker on one machine takes the next port: 9540, 9541, ...
PORT_TRIES = 10


def serve(host: str, port: int, registry: Any) -> Any | None:
    """Serve /metrics over HTTP from a background thread, on `port` or, when another worker
    on the machine has it, on the first free one of the next PORT_TRIES - 1 (logged, so it
    can be scraped). Returns the server (its `server_port` is the port), or None with a
    warning when all are taken: the worker still runs, only without its own endpoint."""
    from prometheus_client import start_http_server

    problem: OSError | None = None
    for candidate in range(port, min(port + PORT_TRIES, 65536)):
        try:
            server, _thread = start_http_server(candidate, addr=host, registry=registry)
        except OSError as exc:
            problem = exc
            continue
        if candidate != port:
            log.warning(
                "metrics on http://%s:%s/metrics: port %s was taken (another worker here?)",
                host,
                candidate,
                port,
            )
        else:
            log.info("metrics on http://%s:%s/metrics", host, candidate)
        return server
    log.warning(
        "metrics not served: ports %s-%s on %s are taken (%s); set SOHOA_METRICS_PORT to a "
        "free port, or 0",
        port,
        port + PORT_TRIES - 1,
        host,
        (problem.strerror or problem) if problem else "no port",
    )
    return None


def asgi_app(queue_depths: Callable[[], dict[str, int]] | None = None) -> Any:
    """The /metrics endpoint as an ASGI app, for the API to mount."""
    from prometheus_client import make_asgi_app

    enable(None)
    return make_asgi_app(make_registry(queue_depths))


def api_metrics_app(settings: SohoaSettings) -> Any:
    """/metrics for `sohoa serve` (mounted by the API): this process's figures and the queues."""
    from pipeline.adapters.redis_batch import BatchState

    state = BatchState(settings.redis_url, prefix=settings.queue_prefix, timeout=2)
    queues = [f"{settings.queue_prefix}.interactive", f"{settings.queue_prefix}.bulk"]
    return asgi_app(lambda: state.queue_depths(queues))
