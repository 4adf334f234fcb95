"""The Celery app: configured from settings at an edge (worker start, CLI), never at import."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import Celery
from kombu import Queue

from config.settings import SohoaSettings

# kombu's Redis transport, but a rejected message goes back to the head of its queue.
REDELIVERY_TRANSPORT = "workers.redelivery:Transport"

# The wire name of the task the signal handlers watch (names never change: sohoa.…).
PROCESS_SCAN = "sohoa.process_scan"


def interactive_queue(settings: SohoaSettings) -> str:
    """Interactive drops (an archivist waiting): their own queue, so bulk cannot starve them."""
    return f"{settings.queue_prefix}.interactive"


def bulk_queue(settings: SohoaSettings) -> str:
    """Overnight and batch work."""
    return f"{settings.queue_prefix}.bulk"


# The tasks, and the modules that hook the worker's concerns to Celery's signals (as dramatiq's
# middleware): imported by a worker or beat at start, never by a producer.
app = Celery(
    "sohoa",
    include=["workers.tasks", "workers.containment", "workers.observability"],
)
app.conf.update(task_serializer="json", accept_content=["json"], result_serializer="json")


def _is_plain_redis(settings: SohoaSettings) -> bool:
    return settings.redis_url.startswith("redis://")


def celery_config(settings: SohoaSettings) -> dict[str, Any]:
    """Everything Celery needs, derived from settings (a pure function, tested on its own)."""
    return {
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
        # `sohoa beat`: the hot folder's backlog and the fixity sample, nightly, at times given
        # in SOHOA_SCHEDULE_TIMEZONE (crontab entries follow the app's time zone).
        "timezone": settings.schedule_timezone,
        "beat_schedule": beat_schedule(settings),
        "beat_schedule_filename": str(settings.var_dir / "celerybeat-schedule"),
    }


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
    return app


def settings_of(celery_app: Celery) -> SohoaSettings:
    settings = celery_app.conf.get("sohoa_settings")
    if not isinstance(settings, SohoaSettings):
        raise RuntimeError("the Celery app was not configured: call configure_app(settings)")
    return settings
