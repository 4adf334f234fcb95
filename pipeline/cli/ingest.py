"""`sohoa ingest`: parse the paths and options, hand them to the ingest service through the
producer, and render its progress and summary; the service sends and follows the scans."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from config.settings import SohoaSettings
from pipeline.cli.common import fail, settings_of
from pipeline.cli.preflight import check_services, load_inventory
from pipeline.core.inventory import Inventory
from pipeline.core.layout import is_valid_batch_id
from pipeline.core.naming import to_printable
from pipeline.core.session import SessionRecord
from pipeline.errors import SohoaError
from pipeline.services.context import Context
from pipeline.services.handoff import with_handoff
from pipeline.services.intake import IngestSummary, collect_files
from pipeline.services.submission import Ingest, IngestOutcome, new_batch_id
from workers.client import connect_producer


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--inventory",
    "inventory_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Inventory sheet (CSV in UTF-8, or XLSX): the objects, joined to their records.",
)
@click.option("--wait/--no-wait", default=False, help="Wait for every file and print a summary.")
@click.option("--interactive", is_flag=True, help="Use the interactive queue (ahead of bulk).")
@click.option("--batch-id", help="Name for this batch (default: a new id).")
@click.option("--timeout", type=float, default=None, help="With --wait: give up after N seconds.")
@click.option(
    "--report", "report_dir", type=click.Path(file_okay=False, path_type=Path),
    help="Write the batch report (JSON, CSV, HTML) here and to reports/ in the bucket; "
    "implies --wait.",
)  # fmt: skip
@click.pass_context
def ingest(
    ctx: click.Context,
    paths: tuple[Path, ...],
    inventory_path: Path | None,
    wait: bool,
    interactive: bool,
    batch_id: str | None,
    timeout: float | None,
    report_dir: Path | None,
) -> None:
    """Queue scans (files or folders) for processing.

    Each file becomes one task on the queue; workers store it (master, derivatives, scan
    record) or quarantine it with a reason, then publish its artefact's catalogue record.
    Exit status with --wait: 0 when every file was stored, 1 when any was quarantined or failed.

    \b
    Examples:
      sohoa ingest scans/ --inventory scans/inventory.csv --wait
      sohoa ingest BTCVH.GS.0012_front_1.tif --interactive
    """
    outcome = run_ingest(
        settings_of(ctx),
        list(paths),
        inventory_path=inventory_path,
        wait=wait or report_dir is not None,
        interactive=interactive,
        batch_id=batch_id,
        timeout=timeout,
        report_dir=report_dir,
    )
    sys.exit(0 if outcome is None or outcome.ok else 1)


def run_ingest(
    settings: SohoaSettings,
    paths: list[Path],
    *,
    inventory_path: Path | None,
    wait: bool,
    interactive: bool = False,
    batch_id: str | None = None,
    timeout: float | None = None,
    report_dir: Path | None = None,
) -> IngestOutcome | None:
    """An ingest as `sohoa ingest` shows it (the demo runs two); its outcome, None unless
    waited for."""
    started = time.monotonic()
    started_at = datetime.now(UTC)
    batch_id = batch_id or new_batch_id()
    if not is_valid_batch_id(batch_id):
        fail(
            f"batch id {batch_id!r} may hold only letters, digits, '.', '_' and '-' "
            "(at most 128 characters)."
        )
    selection = collect_files(paths)
    for path in selection.missing:
        click.secho(
            f"warning: {to_printable(str(path))} does not exist; skipped", fg="yellow", err=True
        )
    inventory_file = inventory_path.resolve() if inventory_path else None
    for path, why in selection.skipped:
        if path != inventory_file:
            click.echo(f"skipped {to_printable(path.name)}: {why}", err=True)
    check_services(settings)
    sctx = Context.from_settings(settings)
    sender = with_handoff(sctx, connect_producer(settings, interactive=interactive))

    inventory: Inventory | None = None
    changed_objects: list[str] = []
    if inventory_path is not None:
        inventory, changed_objects = load_inventory(sctx, inventory_path)

    if not selection.files:
        click.echo("No files to ingest.")
    run = Ingest(sctx, sender, batch_id, selection.files, paths, started_at=started_at)
    try:
        ids = run.send(changed_objects)
    except SohoaError as exc:
        fail(exc.message)
    click.echo(f"Batch {batch_id}: {len(ids)} files queued.")
    if not wait:
        click.echo("Follow progress with the worker's log; `sohoa show ACCESSION` when done.")
        return None
    if not sender.any_worker():
        click.secho(
            "warning: no worker answers; the files stay queued until one starts "
            "(`sohoa worker`, or `make run`).",
            fg="yellow",
            err=True,
        )
    try:
        outcome = run.wait(on_progress=_progress, timeout=timeout)
    except SohoaError as exc:
        fail(exc.message)
    if sys.stderr.isatty():
        click.echo("", err=True)
    _print_summary(outcome, batch_id, time.monotonic() - started, settings)
    if inventory is not None:
        _print_inventory_gaps(inventory, outcome.summary.objects)
    if report_dir is not None:
        try:
            saved = run.save_report(outcome, report_dir)
        except SohoaError as exc:
            click.secho(f"warning: report not uploaded: {exc.message}", fg="yellow", err=True)
        else:
            click.echo(
                f"  report:      {saved.paths[-1]}  (s3://{sctx.store.bucket}/{saved.keys[-1]})"
            )
    return outcome


def _progress(done: dict[str, dict[str, Any]], total: int) -> None:
    """One status line, redrawn in place on a terminal; in a log, only the final count."""
    interactive = sys.stderr.isatty()
    if not interactive and len(done) < total:
        return
    stored = sum(1 for r in done.values() if r.get("status") == "stored")
    rejected = sum(1 for r in done.values() if r.get("status") == "quarantined")
    failed = len(done) - stored - rejected
    line = f"  {len(done)}/{total} done: {stored} stored, {rejected} quarantined, {failed} failed"
    click.echo(("\r" + line) if interactive else line, nl=not interactive, err=True)


def _print_summary(
    outcome: IngestOutcome, batch_id: str, seconds: float, settings: SohoaSettings
) -> None:
    summary: IngestSummary = outcome.summary
    click.echo(f"\nBatch {batch_id} finished in {seconds:.1f} s")
    click.echo(f"  objects:     {len(summary.objects)}")
    click.echo(
        f"  scans:       {summary.stored} stored "
        f"({summary.stored - summary.already_stored} new, {summary.already_stored} already there)"
    )
    click.echo(f"  bytes:       {summary.bytes_stored / 2**20:,.1f} MiB written")
    if summary.qc:
        verdicts = ", ".join(
            f"{summary.qc[v]} {v}" for v in ("pass", "warn", "fail") if summary.qc[v]
        )
        click.echo(f"  quality:     {verdicts}  (details: sohoa show ACCESSION)")
    click.echo(f"  quarantined: {summary.quarantined}   failed: {summary.failed}")
    _print_sessions(outcome.sessions)
    if outcome.unfinished:
        click.secho(f"  unfinished:  {outcome.unfinished} (timed out; still queued)", fg="yellow")
    for problem in summary.problems:
        message, name = str(problem.get("message")), str(problem.get("name") or "")
        if name and repr(name) not in message:
            message = f"{to_printable(name)}: {message}"
        click.secho(f"  ✗ {problem.get('code')}: {message}", fg="red")
    if summary.quarantined:
        click.echo(f"  Rejected files and their reasons are in {settings.quarantine_path}/")


def _print_sessions(sessions: list[SessionRecord]) -> None:
    """Each capture session's colour score, as the batch report shows it."""
    if not sessions:
        return
    click.echo(f"  sessions:    {len(sessions)} (colour proven by the chart shot in each)")
    colours = {"pass": "green", "warn": "yellow", "fail": "red"}
    for s in sessions:
        stars = "–" * 4 if s.level is None else "★" * s.level + "☆" * (4 - s.level)
        where = (s.camera or "no camera data") + ("" if s.started else ", one folder")
        line = f"    {stars} {s.verdict:<4}  {where} · {s.scans} scans · "
        ref = s.reference
        if ref is None:
            line += s.finding
        else:
            line += f"mean ΔE2000 {ref.mean_delta_e:.1f}"
            if ref.mean_delta_e_corrected is not None and s.verdict != "pass":
                # The fit on the chart's own patches; an access image remade through the
                # matrix measures a little more (8-bit sRGB: colours outside sRGB stay clipped).
                line += (
                    f", {ref.mean_delta_e_corrected:.1f} on its patches once corrected "
                    "(session.correct)"
                )
        click.secho(line, fg=colours[s.verdict])


def _print_inventory_gaps(inventory: Inventory, scanned: set[str]) -> None:
    unscanned = sorted(slug for slug in inventory.rows if slug not in scanned)
    for slug in unscanned:
        click.echo(
            f"  note: inventory row {inventory.rows[slug].accession_number} has no scans yet"
        )
    for slug in sorted(scanned - set(inventory.rows)):
        click.echo(f"  note: object {slug} has scans but no inventory row")
