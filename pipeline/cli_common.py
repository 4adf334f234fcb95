"""What every `sohoa` command module shares: the settings read once, failing with a sentence,
and the checks made before anything is queued; no command lives here."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from config.settings import SohoaSettings, load_settings
from pipeline.errors import SohoaError

if TYPE_CHECKING:
    from pipeline.core.inventory import Inventory
    from pipeline.services.context import Context


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


def load_inventory(sctx: Context, inventory_path: Path) -> tuple[Inventory, list[str]]:
    """Read an inventory sheet (CSV or XLSX), print each bad row with its line, and register
    the good rows in the bucket; the inventory and the objects whose row is new or changed."""
    from pipeline.core.inventory import parse_inventory
    from pipeline.services.publish import register_inventory
    from schemas import inventory_columns

    try:
        inventory = parse_inventory(inventory_path.read_bytes(), columns=inventory_columns())
        for problem in inventory.problems:
            click.secho(
                f"inventory {inventory_path.name}, line {problem.line}: {problem.message}",
                fg="yellow",
                err=True,
            )
        changed = register_inventory(sctx, inventory)
    except SohoaError as exc:
        fail(exc.message)
    except OSError as exc:
        fail(f"cannot read the inventory {inventory_path}: {exc.strerror or exc}")
    click.echo(
        f"Inventory: {len(inventory.rows)} rows loaded, {len(inventory.problems)} problems, "
        f"{len(changed)} new or changed."
    )
    return inventory, list(changed)


def publish_unscanned(settings: SohoaSettings, changed: list[str], files: list[Path]) -> None:
    """Objects whose inventory row changed get their record rebuilt even with no new scan."""
    if not changed:
        return
    from config.profile import load_profile
    from pipeline.core.naming import parse_scan_name
    from pipeline.services.models import PublishRecordTask
    from workers import client

    pattern = load_profile(settings.profile_path).naming.pattern
    scanned = set()
    for path in files:
        try:
            scanned.add(parse_scan_name(path.name, pattern).object_slug)
        except SohoaError:
            continue
    for slug in sorted(set(changed) - scanned):
        client.send_publish(PublishRecordTask(object=slug))
