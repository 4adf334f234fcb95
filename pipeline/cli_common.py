"""What every `sohoa` command module shares: the settings read once, failing with a sentence,
and the checks made before anything is queued; no command lives here."""

from __future__ import annotations

import re
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


# Credentials inside a URL (redis://:password@host, https://key:secret@host).
_URL_CREDENTIALS = re.compile(r"(?P<scheme>\b[a-z][a-z0-9+.-]*://)[^\s/@'\"]*@", re.IGNORECASE)
# pydantic quotes the raw input (every SOHOA_* value, secrets included) in its errors.
_PYDANTIC_INPUT = re.compile(r"input_value=.*?, input_type=\w+", re.DOTALL)


def mask_secrets(text: str) -> str:
    """`text` without URL credentials or the raw settings input pydantic quotes in errors."""
    text = _PYDANTIC_INPUT.sub("input_value=(hidden)", text)
    return _URL_CREDENTIALS.sub(r"\g<scheme>***@", text)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print the error (with any secret in it masked) and exit with `code`."""
    click.secho(f"error: {mask_secrets(message)}", fg="red", err=True)
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
