"""What every `sohoa` command module shares: the settings read once and failing with a
sentence, secrets masked; light on purpose (the command group imports it), no command here."""

from __future__ import annotations

import re
import sys
from typing import NoReturn

import click

from config.settings import SohoaSettings, load_settings


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
