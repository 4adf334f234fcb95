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


def to_indexed_accession(settings: SohoaSettings, typed: str) -> str:
    """The accession number of the object `typed` names in any form ('btcvhgs0012',
    'BTCVH.GS.12', 'btcvh gs 0012'), as the index knows it; what was typed when the index does
    not know it (the bucket then decides, by the slug)."""
    from pipeline.adapters.sqlite_index import SqliteIndex
    from pipeline.errors import SohoaError

    try:
        with SqliteIndex(settings.catalogue_index_path) as index:
            hit = index.find_accession(typed)
    except SohoaError:
        return typed  # no index here: the slug of what was typed is all there is
    return hit.accession_number if hit is not None else typed
