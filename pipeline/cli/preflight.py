"""What a command that queues work does first: check the services and read the inventory
sheet, saying what is wrong in a sentence; the checks themselves are services."""

from __future__ import annotations

from pathlib import Path

import click

from config.settings import SohoaSettings
from pipeline.cli.common import fail
from pipeline.core.inventory import Inventory
from pipeline.errors import SohoaError
from pipeline.services.context import Context
from pipeline.services.submission import check_ready, read_inventory


def check_services(settings: SohoaSettings) -> None:
    """Redis answers without evicting keys and the buckets are there, or fail saying which."""
    try:
        check_ready(Context.from_settings(settings))
    except SohoaError as exc:
        fail(exc.message)


def load_inventory(ctx: Context, inventory_path: Path) -> tuple[Inventory, list[str]]:
    """Read an inventory sheet (CSV or XLSX), print each bad row with its line, and register
    the good rows in the bucket; the inventory and the objects whose row is new or changed."""
    try:
        inventory, changed = read_inventory(ctx, inventory_path)
    except SohoaError as exc:
        fail(exc.message)
    except OSError as exc:
        fail(f"cannot read the inventory {inventory_path}: {exc.strerror or exc}")
    for problem in inventory.problems:
        click.secho(
            f"inventory {inventory_path.name}, line {problem.line}: {problem.message}",
            fg="yellow",
            err=True,
        )
    click.echo(
        f"Inventory: {len(inventory.rows)} rows loaded, {len(inventory.problems)} problems, "
        f"{len(changed)} new or changed."
    )
    return inventory, changed
