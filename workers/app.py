"""The Celery app: configured from settings at an edge (worker start, CLI), or lazily from the
environment when Celery first reads its configuration (`celery -A workers.app inspect ping`)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from celery import Celery
from celery.signals import before_task_publish
from kombu import Queue

from config.settings import SohoaSettings, load_settings

log = logging.getLogger(__name__)

# kombu's Redis transport, but a rejected message goes back to the head of its queue.
REDELIVERY_TRANSPORT = "workers.redelivery:Transport"

# The wire name of the task the signal handlers watch (names never change: sohoa.…).
PROCESS_SCAN = "sohoa.process_scan"

# Every message says which installation sent it, and where its queues are (workers/installation.py
# refuses another's): one header, stamped on publishing, whoever builds the message.
INSTALLATION_HEADER = "sohoa_installation"

# The queue prefix of every installation before installations had names of their own: what an
# upgraded worker looks into for tasks queued before the upgrade.
LEGACY_QUEUE_PREFIX = "sohoa"


def interactive_queue(settings: SohoaSettings) -> str:
    """Interactive drops (an archivist waiting): their own queue, so bulk cannot starve them."""
    return f"{settings.queue_prefix}.interactive"


def bulk_queue(settings: SohoaSettings) -> str:
    """Overnight and batch work."""
    return f"{settings.queue_prefix}.bulk"


def old_queues(settings: SohoaSettings) -> list[str]:
    """The default queues of before installations had names, when this one no longer uses them:
    tasks queued there before an upgrade wait for a worker told to take them (README)."""
    if settings.queue_prefix == LEGACY_QUEUE_PREFIX:
        return []
    return [f"{LEGACY_QUEUE_PREFIX}.interactive", f"{LEGACY_QUEUE_PREFIX}.bulk"]


# The tasks, and the modules that hook the worker's concerns to Celery's signals (as dramatiq's
# middleware): imported by a worker or beat at start, never by a producer.
app = Celery(
    "sohoa",
    include=[
        "workers.tasks",
        "workers.containment",
        "workers.observability",
        "workers.installation",
    ],
)
app.conf.update(task_serializer="json", accept_content=["json"], result_serializer="json")


def _is_plain_redis(settings: SohoaSettings) -> bool:
    return settings.redis_url.startswith("redis://")


def celery_config(settings: SohoaSettings, *, schedule: bool = True) -> dict[str, Any]:
    """Everything Celery needs, derived from settings (a pure function, tested on its own);
    without `schedule`, no beat entries (their module is slow to import, and only beat needs
    them)."""
    config: dict[str, Any] = {
        "broker_url": settings.redis_url,
        # A killed child's message back at the head of its queue (workers/redelivery.py); a
        # rediss:// or sentinel broker keeps kombu's own transport.
        **({"broker_transport": REDELIVERY_TRANSPORT} if _is_plain_redis(settings) else {}),
        "result_backend": settings.redis_url,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {
            "visibility_timeout": settings.visibility_timeout,
            "unacked_restore_interval": settings.unacked_restore_interval,
            "unacked_restore_throttle": settings.unacked_restore_throttle,
        },
        "result_backend_transport_options": {"visibility_timeout": settings.visibility_timeout},
        "result_expires": 7 * 24 * 3600,
        "result_extended": True,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        # A task is acknowledged only once done, and given back if its worker dies: safe because
        # every task is idempotent (identity comes from content).
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_time_limit": settings.task_time_limit,
        "task_soft_time_limit": settings.task_soft_time_limit,
        "task_track_started": True,
        "task_default_queue": bulk_queue(settings),
        "task_queues": [Queue(interactive_queue(settings)), Queue(bulk_queue(settings))],
        "task_routes": {
            "sohoa.publish_record": {"queue": interactive_queue(settings)},
            "sohoa.index_record": {"queue": interactive_queue(settings)},
            "sohoa.settle_session": {"queue": interactive_queue(settings)},
        },
        "worker_concurrency": settings.worker_concurrency,
        "worker_hijack_root_logger": False,
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "enable_utc": True,
        # Remote control (ping, inspect, `sohoa status`) and events reach this installation's
        # workers only: another's on the same Redis neither answers nor is counted.
        "control_exchange": settings.queue_prefix,
        "event_exchange": f"{settings.queue_prefix}.events",
        # `sohoa beat`: the hot folder's backlog and the fixity sample, nightly, at times given
        # in SOHOA_SCHEDULE_TIMEZONE (crontab entries follow the app's time zone).
        "timezone": settings.schedule_timezone,
        "beat_schedule_filename": str(settings.var_dir / "celerybeat-schedule"),
    }
    if schedule:
        config["beat_schedule"] = beat_schedule(settings)
    return config


def beat_schedule(settings: SohoaSettings) -> dict[str, Any]:
    """Celery beat's entries for the nightly jobs (pipeline/services/schedule.py says which)."""
    from celery.schedules import crontab

    from pipeline.services.schedule import nightly_jobs, periodic_jobs

    entries: dict[str, Any] = {
        job.name: {
            "task": job.task,
            "schedule": crontab(hour=job.hour, minute=job.minute),
            "options": {"queue": bulk_queue(settings)},
        }
        for job in nightly_jobs(settings)
    }
    for periodic in periodic_jobs(settings):
        # On the interactive queue: behind ten thousand bulk scans it would never run; and it
        # expires with its period, so that rounds missed while workers were down do not pile up.
        entries[periodic.name] = {
            "task": periodic.task,
            "schedule": timedelta(minutes=periodic.minutes),
            "options": {"queue": interactive_queue(settings), "expires": periodic.minutes * 60},
        }
    return entries


def configure_app(settings: SohoaSettings) -> Celery:
    """Apply settings to the app; the settings travel with it to the worker's children."""
    app.conf.update(celery_config(settings))
    # The object itself (secrets included) reaches the prefork children through fork.
    app.conf.sohoa_settings = settings
    # The remote-control client keeps the exchange it was built with: another installation's
    # settings (a test's, a second stack's) need a client of their own.
    control = app.__dict__.get("control")
    if control is not None and control.mailbox.namespace != settings.queue_prefix:
        del app.__dict__["control"]
    return app


def _settings_from_environment() -> dict[str, Any]:
    """The app's defaults, read from the environment (and var/sohoa.env) the first time Celery
    reads its configuration: so the stock `celery -A workers.app inspect ping` (or `events`,
    Flower) reaches this installation's workers. An edge's configure_app overrides them."""
    try:
        settings = load_settings()
    except Exception as exc:  # invalid settings: the edge that configures the app says so
        log.warning("Sohoa's settings are not valid, the Celery app keeps its defaults: %s", exc)
        return {}
    return {**celery_config(settings, schedule=False), "sohoa_settings": settings}


app.add_defaults(_settings_from_environment)


def installation_header(settings: SohoaSettings) -> dict[str, str]:
    """What a message carries of its installation: who (the store) and where (its queues)."""
    return {"id": settings.installation_id, "queues": settings.queue_prefix}


@before_task_publish.connect
def _stamp_installation(headers: dict[str, Any] | None = None, **_: Any) -> None:
    # A message passed on (a refused one sent to its own queues) keeps the installation it has.
    settings = app.conf.get("sohoa_settings")
    if headers is None or INSTALLATION_HEADER in headers:
        return
    if isinstance(settings, SohoaSettings):
        headers[INSTALLATION_HEADER] = installation_header(settings)


def settings_of(celery_app: Celery) -> SohoaSettings:
    settings = celery_app.conf.get("sohoa_settings")
    if not isinstance(settings, SohoaSettings):
        raise RuntimeError("the Celery app was not configured: call configure_app(settings)")
    return settings
