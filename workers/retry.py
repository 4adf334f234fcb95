"""The retry policy of every task: bounded retries with jittered backoff; no pipeline logic."""

from __future__ import annotations

import logging
import random

from celery import Task

from pipeline.errors import RetryableError
from workers.app import app, settings_of

log = logging.getLogger(__name__)


def backoff_seconds(retries: int, *, cap: int) -> float:
    """Exponential backoff with full jitter, so retries of many tasks do not arrive together."""
    return random.uniform(1.0, float(min(cap, 2 ** (retries + 1))))


def retry_or_give_up(task: Task, exc: RetryableError) -> None:
    """Raise Celery's Retry for `task` after a backoff; return once its retries are spent."""
    settings = settings_of(app)
    if task.request.retries >= settings.task_max_retries:
        return
    countdown = backoff_seconds(task.request.retries, cap=settings.retry_backoff_max)
    log.warning("retrying %s in %.1f s: %s", task.name, countdown, exc.message)
    raise task.retry(exc=exc, countdown=countdown, max_retries=settings.task_max_retries)
