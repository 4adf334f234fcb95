"""What every `sohoa` command module shares: the settings read once, failing with a sentence,
and the checks made before anything is queued; no command lives here."""

from __future__ import annotations

import sys
from typing import NoReturn

import click

from config.settings import SohoaSettings, load_settings
from pipeline.errors import SohoaError


def settings_of(ctx: click.Context) -> SohoaSettings:
    """The settings `sohoa` read once; a command run on its own (python -m) reads them here."""
    if ctx.obj and "settings" in ctx.obj:
        settings: SohoaSettings = ctx.obj["settings"]
        return settings
    return load_settings()


def fail(message: str, code: int = 2) -> NoReturn:
    click.secho(f"error: {message}", fg="red", err=True)
    sys.exit(code)


def check_services(settings: SohoaSettings) -> None:
    """Redis answers without evicting keys and the buckets are there, or fail saying which."""
    from pipeline.adapters.redis_broker import check_broker
    from pipeline.services.context import Context

    try:
        check_broker(settings.redis_url)
        Context.from_settings(settings).store.check_buckets()
    except SohoaError as exc:
        fail(exc.message)
