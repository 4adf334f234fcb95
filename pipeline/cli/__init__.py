"""The `sohoa` command group: read the settings once and hand over to the command's module,
loaded only when that command runs; no command, and no service, lives here."""

from __future__ import annotations

import importlib
import logging

import click

from config.settings import load_settings
from pipeline import __version__
from pipeline.cli.common import fail

# name -> (module, attribute, the first paragraph of its help). A command's module imports the
# services it calls at its top, and they load boto3, redis, Celery, watchdog and openpyxl: all
# of them for `sohoa --help` cost about 1.1 s of CPU more than the help itself (measured on
# this 2-core machine), so the commands are listed here and each module is imported only when
# its command runs. tests/unit/test_cli.py checks these lines against the commands' own.
_COMMANDS: dict[str, tuple[str, str, str]] = {
    "audit": (
        "pipeline.cli.audit", "audit",
        "Check that every master in the bucket still has the bytes its record says (fixity).",
    ),
    "batch": (
        "pipeline.cli.batch", "batch",
        "Process every scan under FOLDER on the bulk queue, with a live progress bar.",
    ),
    "beat": (
        "pipeline.cli.batch", "beat",
        "Run the schedule (Celery beat): the hot folder's backlog and a fixity sample nightly, "
        "and every few minutes a round that finishes unattended batches.",
    ),
    "demo": (
        "pipeline.cli.services", "demo",
        "What `make run` does: services up, a worker, a generated sample collection, ingested, "
        "and (with --serve) the catalogue's web page served.",
    ),
    "duplicates": (
        "pipeline.cli.inspect", "duplicates_command",
        "List pairs of stored scans that look alike (perceptual hash), closest first.",
    ),
    "export": (
        "pipeline.cli.export", "export",
        "Export the artefact ACCESSION (any spelling: HM.1998.45/PL, hm.1998.45-pl, hm199845pl).",
    ),
    "ingest": ("pipeline.cli.ingest", "ingest", "Queue scans (files or folders) for processing."),
    "inspect": (
        "pipeline.cli.inspect", "inspect_command",
        "Show what ingest would make of FILE, storing nothing.",
    ),
    "process": (
        "pipeline.cli.inspect", "process",
        "Preview what the pipeline makes of one file, locally: no queue, no storage.",
    ),
    "reindex": (
        "pipeline.cli.catalogue", "reindex",
        "Rebuild the catalogue index from the records in the bucket (the source of truth).",
    ),
    "report": (
        "pipeline.cli.batch", "report",
        "Say where a batch's report is (JSON, CSV, HTML in the bucket) and its main figures.",
    ),
    "search": (
        "pipeline.cli.catalogue", "search",
        "Search the catalogue: words with or without diacritics, or an accession number.",
    ),
    "serve": (
        "pipeline.cli.catalogue", "serve",
        "Serve the catalogue over HTTP: the web page (search, objects, deep-zoom viewer) at /, "
        "the search API, records, IIIF manifests and OAI-PMH (read-only). Ctrl-C stops it.",
    ),
    "services": (
        "pipeline.cli.services", "services",
        "Embedded services for one machine: Redis (if none answers) and SeaweedFS's S3.",
    ),
    "show": (
        "pipeline.cli.catalogue", "show",
        "Show the catalogue record of one artefact, by accession number in any form (case,\n"
        "separators or none, zero padding: btcvhgs12 finds BTCVH.GS.0012).",
    ),
    "status": (
        "pipeline.cli.batch", "status",
        "Show workers alive, queue depths, scans in progress, today's figures, the last batches "
        "(a finished one with its report's location) and the last fixity sample; with BATCH, "
        "that batch's progress (as `sohoa batch` shows it).",
    ),
    "watch": (
        "pipeline.cli.watch", "watch",
        "Watch a hot folder: process each file dropped into it, once it is complete.",
    ),
    "worker": (
        "pipeline.cli.services", "worker",
        "Run a Celery worker that processes scans (stop it with Ctrl-C or SIGTERM).",
    ),
}  # fmt: skip


def load_command(name: str) -> click.Command:
    """The command itself, its module imported."""
    module, attribute, _ = _COMMANDS[name]
    command: click.Command = getattr(importlib.import_module(module), attribute)
    return command


class _LazyGroup(click.Group):
    """A group whose commands are imported when run; its help lists them from `_COMMANDS`."""

    _listing = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in _COMMANDS:
            return self.commands.get(cmd_name)
        if self._listing:
            return click.Command(cmd_name, help=_COMMANDS[cmd_name][2])
        command = load_command(cmd_name)
        self.add_command(command, cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_commands(ctx, formatter)
        finally:
            self._listing = False


@click.group(
    cls=_LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="sohoa")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.pass_context
def main(ctx: click.Context, verbose: int) -> None:
    """Sohoa (số hóa): turn museum scans into a verified catalogue in S3-compatible storage.

    Settings come from SOHOA_* environment variables (and var/sohoa.env, written by
    `sohoa services up`); see the README for the list.
    """
    logging.basicConfig(
        level=[logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)],
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        ctx.obj = {"settings": load_settings()}
    except Exception as exc:
        fail(f"invalid settings: {exc}")
