"""The `sohoa` command: parse arguments, read settings once, call services, render results."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from config.settings import SohoaSettings, load_settings
from pipeline import __version__, cli_batch, cli_export
from pipeline.cli_audit import audit
from pipeline.cli_common import (
    check_services,
    fail,
    load_inventory,
    publish_unscanned,
    settings_of,
)
from pipeline.cli_inspect import duplicates_command, inspect_command
from pipeline.cli_serve import serve
from pipeline.cli_workflows import report, watch
from pipeline.core.inventory import Inventory
from pipeline.core.layout import record_key
from pipeline.core.naming import to_object_slug
from pipeline.core.records import ArtefactRecord
from pipeline.errors import SohoaError


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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


# --- ingest --------------------------------------------------------------------------------------


@main.command()
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
    settings = settings_of(ctx)
    outcome = run_ingest(
        settings,
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
) -> Any:
    from pipeline.core.layout import is_valid_batch_id
    from pipeline.services.batch import collect_files, summarise
    from pipeline.services.context import Context
    from pipeline.services.models import ProcessScanTask
    from workers import client
    from workers.app import configure_app

    started = time.monotonic()
    started_at = datetime.now(UTC)
    batch_id = batch_id or time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
    if not is_valid_batch_id(batch_id):
        fail(
            f"batch id {batch_id!r} may hold only letters, digits, '.', '_' and '-' "
            "(at most 128 characters)."
        )
    selection = collect_files(paths)
    for path in selection.missing:
        click.secho(f"warning: {path} does not exist; skipped", fg="yellow", err=True)
    inventory_file = inventory_path.resolve() if inventory_path else None
    for path, why in selection.skipped:
        if path != inventory_file:
            click.echo(f"skipped {path.name}: {why}", err=True)
    check_services(settings)
    sctx = Context.from_settings(settings)
    configure_app(settings)

    inventory: Inventory | None = None
    changed_objects: list[str] = []
    if inventory_path is not None:
        inventory, changed_objects = load_inventory(sctx, inventory_path)

    if not selection.files:
        click.echo("No files to ingest.")
    ids = [
        client.send_scan(
            ProcessScanTask(path=str(path), batch_id=batch_id), interactive=interactive
        )
        for path in selection.files
    ]
    publish_unscanned(settings, changed_objects, selection.files)
    click.echo(f"Batch {batch_id}: {len(ids)} files queued.")
    if not wait:
        click.echo("Follow progress with the worker's log; `sohoa show ACCESSION` when done.")
        return None
    if not client.live_workers():
        click.secho(
            "warning: no worker answers; the files stay queued until one starts "
            "(`sohoa worker`, or `make run`).",
            fg="yellow",
            err=True,
        )
    results = client.wait_for(ids, on_progress=_progress, timeout=timeout)
    if sys.stderr.isatty():
        click.echo("", err=True)
    publish_ids = [r["publish_task_id"] for r in results.values() if r.get("publish_task_id")]
    client.wait_for(publish_ids, timeout=timeout)
    summary = summarise(list(results.values()))
    unfinished = len(ids) - len(results)
    _print_summary(summary, batch_id, time.monotonic() - started, unfinished, settings)
    if inventory is not None:
        _print_inventory_gaps(inventory, summary.objects)
    if report_dir is not None:
        _save_report(sctx, selection.files, ids, results, batch_id, started_at, paths, report_dir)
    if unfinished:
        summary.failed += unfinished
    return summary


def _save_report(
    sctx: Any,
    files: list[Path],
    ids: list[str],
    results: dict[str, dict[str, Any]],
    batch_id: str,
    started_at: datetime,
    inputs: list[Path],
    report_dir: Path,
) -> None:
    from pipeline.services.report import BatchInfo, save_batch_report, to_file_results

    rows = to_file_results(files, ids, results)
    batch = BatchInfo(batch_id, started_at, datetime.now(UTC), [str(p) for p in inputs])
    try:
        saved = save_batch_report(sctx.store, rows, batch, directory=report_dir)
    except SohoaError as exc:
        click.secho(f"warning: report not uploaded: {exc.message}", fg="yellow", err=True)
        return
    click.echo(f"  report:      {saved.paths[-1]}  (s3://{sctx.store.bucket}/{saved.keys[-1]})")


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
    summary: Any, batch_id: str, seconds: float, unfinished: int, settings: SohoaSettings
) -> None:
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
    if unfinished:
        click.secho(f"  unfinished:  {unfinished} (timed out; still queued)", fg="yellow")
    for problem in summary.problems:
        click.secho(f"  ✗ {problem.get('code')}: {problem.get('message')}", fg="red")
    if summary.quarantined:
        click.echo(f"  Rejected files and their reasons are in {settings.quarantine_path}/")


def _print_inventory_gaps(inventory: Inventory, scanned: set[str]) -> None:
    unscanned = sorted(slug for slug in inventory.rows if slug not in scanned)
    for slug in unscanned:
        click.echo(
            f"  note: inventory row {inventory.rows[slug].accession_number} has no scans yet"
        )
    for slug in sorted(scanned - set(inventory.rows)):
        click.echo(f"  note: object {slug} has scans but no inventory row")


# --- show ----------------------------------------------------------------------------------------


@main.command()
@click.argument("accession")
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON.")
@click.pass_context
def show(ctx: click.Context, accession: str, as_json: bool) -> None:
    """Show the catalogue record of one artefact, by accession number.

    \b
    Example:  sohoa show BTCVH.GS.0012
    """
    from pipeline.services.context import Context
    from pipeline.services.publish import read_record

    settings = settings_of(ctx)
    try:
        slug = to_object_slug(accession)
        record = read_record(Context.from_settings(settings), slug)
    except ValueError as exc:
        fail(str(exc))
    except SohoaError as exc:
        fail(exc.message)
    if record is None:
        fail(
            f"no record for {accession!r} (looked for {record_key(slug)} in bucket "
            f"{settings.bucket!r}); check the number, or ingest its scans first.",
            code=1,
        )
    if as_json:
        click.echo(json.dumps(record.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return
    render_record(record, settings)


def render_record(record: ArtefactRecord, settings: SohoaSettings) -> None:
    """A catalogue record for people: inventory data in vi and en, then every view."""
    inv = record.inventory
    click.secho(f"{record.accession_number}", bold=True)
    if inv is not None:
        for label, value in (
            ("Tên", inv.name_vi),
            ("Name", inv.name_en),
            ("Loại / type", inv.object_type),
            ("Chất liệu / material", inv.material),
            ("Niên đại / period", inv.period),
            ("Kích thước / size", inv.dimensions),
            ("Nguồn gốc / provenance", inv.provenance),
        ):
            if value:
                click.echo(f"  {label:<24} {value}")
    click.echo(f"  {'Views':<24} {len(record.views)}")
    for view in record.views:
        click.echo(
            f"    {view.view:<8} #{view.seq}  {view.width}×{view.height} {view.format} "
            f"{view.bit_depth}-bit  {view.source_name}"
        )
        click.echo(f"             master s3://{view.master.bucket}/{view.master.key}")
        if view.quality is not None:
            problems = view.quality.problems()
            click.echo(f"             quality {view.quality.verdict}" + (":" if problems else ""))
            for finding in problems:
                click.echo(f"               - {finding.message}")
    for warning in record.warnings:
        click.secho(f"  ! {warning}", fg="yellow")
    click.echo(f"  record: s3://{settings.bucket}/{record_key(record.object)}")


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out", "out", type=click.Path(file_okay=False, path_type=Path), required=True,
    help="Folder for the derivatives, IIIF tiles and scan.json.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def process(ctx: click.Context, file: Path, out: Path, as_json: bool) -> None:
    """Preview what the pipeline makes of one file, locally: no queue, no storage.

    Writes derivatives/{access,preview,thumb}.jpg, iiif/{scan}/… and scan.json (metadata,
    quality) under --out. A file ingest would quarantine prints its code and exits 1.
    """
    from config.profile import load_profile
    from pipeline.errors import PermanentError
    from pipeline.services.preview import preview_scan

    settings = settings_of(ctx)
    out.mkdir(parents=True, exist_ok=True)
    try:
        summary = preview_scan(
            file,
            out,
            profile=load_profile(settings.profile_path),
            public_base_url=settings.public_base_url,
        )
    except PermanentError as exc:
        fail(f"{exc.code}: {exc.message}", code=1)
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    click.echo(
        f"{file.name}: {summary['format']} {summary['width']}×{summary['height']} "
        f"{summary['bit_depth']}-bit, {summary['pages']} page(s), "
        f"profile {summary['icc_profile'] or 'none (treated as sRGB)'}"
    )
    quality = summary["quality"]
    click.echo(f"  quality {quality['verdict']}")
    for finding in quality["findings"]:
        if finding["status"] != "pass":
            click.echo(f"    - {finding['message']}")
    for warning in summary["warnings"]:
        click.secho(f"  ! {warning}", fg="yellow")
    click.echo(f"  wrote {summary['written']} files under {out}/ (and scan.json)")


# --- the catalogue ------------------------------------------------------------------------------


@main.command()
@click.pass_context
def reindex(ctx: click.Context) -> None:
    """Rebuild the catalogue index from the records in the bucket (the source of truth).

    Searches keep answering from the old index until the new one is swapped in. Exit status 1
    when a record could not be read or did not validate (each is listed with why).
    """
    from pipeline.adapters.sqlite_index import SqliteIndex
    from pipeline.services.catalogue import reindex as rebuild
    from pipeline.services.context import Context

    settings = settings_of(ctx)
    try:
        with SqliteIndex(settings.catalogue_index_path) as index:
            result = rebuild(Context.from_settings(settings), index)
    except SohoaError as exc:
        fail(exc.message)
    click.echo(
        f"Indexed {result.indexed} records in {result.seconds:.1f} s "
        f"into {settings.catalogue_index_path}."
    )
    for rejected in result.rejected:
        click.secho(f"  ✗ {rejected.key}: {rejected.reason}", fg="red")
    sys.exit(1 if result.rejected else 0)


@main.command()
@click.argument("query", nargs=-1)
@click.option("--material", multiple=True, help="Only this material (repeatable).")
@click.option("--period", multiple=True, help="Only this period or reign (repeatable).")
@click.option("--type", "object_type", multiple=True, help="Only this object type (repeatable).")
@click.option(
    "--qc", "qc_verdict", multiple=True, type=click.Choice(["pass", "warn", "fail"]),
    help="Only objects whose worst view has this QC verdict (repeatable).",
)  # fmt: skip
@click.option(
    "--tag", multiple=True, help="Only objects with this tag, e.g. colour:red (repeatable)."
)
@click.option(
    "--sort", type=click.Choice(["relevance", "accession", "name"]), default="relevance",
    show_default=True,
)  # fmt: skip
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--page-size", type=click.IntRange(1, 100), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def search(
    ctx: click.Context,
    query: tuple[str, ...],
    material: tuple[str, ...],
    period: tuple[str, ...],
    object_type: tuple[str, ...],
    qc_verdict: tuple[str, ...],
    tag: tuple[str, ...],
    sort: str,
    page: int,
    page_size: int,
    as_json: bool,
) -> None:
    """Search the catalogue: words with or without diacritics, or an accession number.

    \b
    Examples:
      sohoa search binh gom            finds "Bình gốm …"
      sohoa search hue --material "gốm sứ"
      sohoa search HM.1998.45/PL
    """
    from pydantic import ValidationError

    from pipeline.adapters.sqlite_index import SqliteIndex
    from pipeline.core.catalogue import SearchQuery

    settings = settings_of(ctx)
    filters = {
        name: list(values)
        for name, values in (
            ("material", material),
            ("period", period),
            ("object_type", object_type),
            ("qc_verdict", qc_verdict),
            ("tag", tag),
        )
        if values
    }
    try:
        request = SearchQuery(
            text=" ".join(query), filters=filters, sort=sort, page=page, page_size=page_size
        )
        with SqliteIndex(settings.catalogue_index_path) as index:
            if index.count() == 0:
                fail("the catalogue index is empty: run `sohoa reindex` first.", code=1)
            result = index.search(request)
    except ValidationError as exc:
        fail(f"invalid search: {exc.errors()[0]['msg']}")
    except SohoaError as exc:
        fail(exc.message)
    if as_json:
        click.echo(json.dumps(result.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return
    click.echo(f"{result.total} found (page {result.page} of {max(result.pages, 1)})")
    for hit in result.hits:
        click.echo(f"  {hit.accession_number:<18} {hit.name_vi or hit.name_en}")
        if hit.name_en and hit.name_vi:
            click.echo(f"  {'':<18} {hit.name_en}  ·  {hit.material}  ·  {hit.period}")
    for facet, counts in result.facets.items():
        shown = ", ".join(f"{c.value} ({c.count})" for c in counts[:6])
        if shown:
            click.echo(f"  {facet}: {shown}")


# --- services and the demo -----------------------------------------------------------------------


@main.group()
def services() -> None:
    """Embedded services for one machine: Redis (if none answers) and SeaweedFS's S3."""


@services.command("up")
@click.pass_context
def services_up_command(ctx: click.Context) -> None:
    """Start what is missing (idempotent) and create the buckets."""
    _bring_up(settings_of(ctx))


@services.command("down")
@click.pass_context
def services_down_command(ctx: click.Context) -> None:
    """Stop what `services up` and `demo` started, by PID (never a Redis that was not ours)."""
    from pipeline.services.local_stack import services_down

    stopped = services_down(settings_of(ctx))
    click.echo(f"Stopped: {', '.join(stopped)}." if stopped else "Nothing of ours was running.")


@services.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.pass_context
def services_status_command(ctx: click.Context, as_json: bool) -> None:
    """Show whether Redis, SeaweedFS and the demo worker run and answer."""
    from pipeline.services.local_stack import services_status, worker_running

    settings = settings_of(ctx)
    status = services_status(settings)
    status["worker"] = {"pid": worker_running(settings)}
    if as_json:
        click.echo(json.dumps(status, indent=2))
        return
    for name in ("redis", "seaweedfs"):
        item = status[name]
        state = "answering" if item["answering"] else "not answering"
        owner = f"ours, pid {item['pid']}" if item["ours"] and item["pid"] else "not started by us"
        click.echo(f"  {name:<10} {state:<14} {item['url']}  ({owner})")
    pid = status["worker"]["pid"]
    click.echo(
        f"  {'worker':<10} {'running' if pid else 'not running':<14} "
        + (f"pid {pid}" if pid else "")
    )


def _bring_up(settings: SohoaSettings) -> SohoaSettings:
    from pipeline.services.local_stack import refresh_settings, services_up

    try:
        state = services_up(settings)
    except SohoaError as exc:
        fail(exc.message)
    for name in state.started:
        click.echo(f"  started {name}")
    for name in state.reused:
        click.echo(f"  reusing {name}")
    if state.ports_moved:
        click.secho("  note: a default SeaweedFS port was busy; moved to free ports", fg="yellow")
    for bucket in state.buckets_created:
        click.echo(f"  created bucket {bucket}")
    click.echo(f"  S3 endpoint {state.s3_endpoint_url} (credentials in var/sohoa.env)")
    return refresh_settings(settings)


@main.command()
@click.option("--size", default=1600, show_default=True, help="Long edge of the sample scans (px).")
@click.option(
    "--serve",
    "then_serve",
    is_flag=True,
    help="Then serve the catalogue's web page in the foreground (Ctrl-C stops it), as `make run`.",
)
@click.option("--port", type=int, default=None, help="With --serve: the port [default: 8000].")
@click.pass_context
def demo(ctx: click.Context, size: int, then_serve: bool, port: int | None) -> None:
    """What `make run` does: services up, a worker, a generated sample collection, ingested,
    and (with --serve) the catalogue's web page served.

    Running it again reuses everything and adds no duplicates.
    """
    from pipeline.services.local_stack import worker_up
    from workers import client
    from workers.app import configure_app

    settings = settings_of(ctx)
    click.secho("1. Services", bold=True)
    settings = _bring_up(settings)
    configure_app(settings)
    try:
        pid, started = worker_up(settings, is_ready=lambda node: client.is_answering(node))
    except SohoaError as exc:
        fail(exc.message)
    click.echo(
        f"  {'started' if started else 'reusing'} worker (pid {pid}), log var/embedded/worker.log"
    )

    click.secho("2. Sample collection", bold=True)
    collection, problems = _demo_inputs(settings.var_dir / "demo", size)
    objects = sorted({scan.accession for scan in collection.scans})
    click.echo(f"  {len(collection.scans)} scans of {len(objects)} artefacts in {collection.root}")

    click.secho("3. Ingest (through the queue, waiting for the worker)", bold=True)
    summary = run_ingest(
        settings,
        [collection.root],
        inventory_path=collection.inventory_csv,
        wait=True,
        batch_id="demo-collection",
    )
    click.secho("4. Bad input, on purpose: these must be quarantined, not stored", bold=True)
    rejected = run_ingest(
        settings, [problems], inventory_path=None, wait=True, batch_id="demo-problems"
    )

    ok = summary.ok and rejected.quarantined == len(list(problems.iterdir()))
    example = _show_example(settings, objects)
    _search_example(settings)
    ok = _fixity_and_export_example(settings, example) and ok
    click.secho("\nDone." if ok else "\nThe demo did not end as expected.", bold=True,
                fg="green" if ok else "red")  # fmt: skip
    steps = [
        (f"sohoa show {example}", "one artefact's record (add --json for the stored JSON)"),
        ("sohoa search lu huong dong", "search, diacritics optional (finds Lư hương đồng)"),
        ("sohoa batch DIR --inventory CSV", "your own scans: progress, resumable, a report"),
        ("sohoa status", "workers, queues, today's figures, recent batches"),
        ("sohoa watch DROP_FOLDER", "a hot folder: files are taken once complete"),
        (f"sohoa export {example} --lido -", "the record as LIDO XML (--bagit DIR: a BagIt bag)"),
        ("make serve", "the web page, the API (/docs) and OAI-PMH (/oai) on 127.0.0.1:8000"),
        (f"ls {settings.quarantine_path}/demo-problems", "rejected files with a .reason.json each"),
        ("make status   /   make stop", "the services, and stopping them"),
    ]
    click.echo("Try next (the `sohoa` command is .venv/bin/sohoa):")
    for command, what in steps:
        click.echo(f"  {command:<44} {what}")
    if ok and then_serve:
        from pipeline.cli_serve import run_server

        click.secho("\n8. The catalogue's web page (search, objects, deep zoom)", bold=True)
        run_server(settings, port=port)
    sys.exit(0 if ok else 1)


def _show_example(settings: SohoaSettings, accessions: list[str]) -> str:
    """Print the record of the artefact with the most views; return its accession number."""
    from pipeline.services.context import Context
    from pipeline.services.publish import read_record

    sctx = Context.from_settings(settings)
    records = [r for r in (read_record(sctx, to_object_slug(a)) for a in accessions) if r]
    best = max(records, key=lambda r: (len(r.views), r.inventory is not None))
    click.secho("5. One record, as `sohoa show` prints it", bold=True)
    render_record(best, settings)
    return best.accession_number


def _search_example(settings: SohoaSettings) -> None:
    """Rebuild the index from the bucket and search it without diacritics, as visitors type."""
    from pipeline.adapters.sqlite_index import SqliteIndex
    from pipeline.core.catalogue import SearchQuery
    from pipeline.services.catalogue import reindex as rebuild
    from pipeline.services.context import Context

    click.secho("6. The catalogue index, rebuilt from the bucket, and a search", bold=True)
    with SqliteIndex(settings.catalogue_index_path) as index:
        result = rebuild(Context.from_settings(settings), index)
        click.echo(f"  indexed {result.indexed} records in {result.seconds:.1f} s")
        found = index.search(SearchQuery(text="binh gom"))
    click.echo(f"  `sohoa search binh gom` finds {found.total}:")
    for hit in found.hits[:5]:
        click.echo(f"    {hit.accession_number:<18} {hit.name_vi}")


def _fixity_and_export_example(settings: SohoaSettings, accession: str) -> bool:
    """Re-hash every master against its record, and bag one artefact for preservation."""
    from pipeline.services.audit import run_audit
    from pipeline.services.context import Context
    from pipeline.services.export import export_bag

    click.secho("7. Fixity and a preservation package", bold=True)
    sctx = Context.from_settings(settings)
    started = time.monotonic()
    audit = run_audit(sctx, everything=True)
    verdict = "every one as recorded" if audit.ok else f"{len(audit.findings)} problem(s)"
    click.echo(
        f"  `sohoa audit --all`: {audit.checked} masters re-hashed from the bucket in "
        f"{time.monotonic() - started:.1f} s: {verdict}"
    )
    target = settings.var_dir / "demo" / "exports" / f"{to_object_slug(accession)}-bag"
    bag = export_bag(sctx, accession, target, force=True)
    click.echo(
        f"  `sohoa export {accession} --bagit`: {bag.masters} masters, record, IIIF manifest, "
        f"LIDO and Dublin Core in {bag.path} (sha256 + sha512 manifests)"
    )
    return audit.ok


def _demo_inputs(home: Path, size: int) -> tuple[Any, Path]:
    from pipeline.samples import generate_collection

    started = time.monotonic()
    collection = generate_collection(home / "collection", size=size)
    click.echo(
        f"  generated in {time.monotonic() - started:.1f} s (deterministic: same bytes each run)"
    )
    problems = home / "problems"
    problems.mkdir(parents=True, exist_ok=True)
    first = collection.scans[0].path.read_bytes()
    (problems / "DEMO.LOI.1_front_1.jpg").write_bytes(first[: len(first) // 3])
    (problems / "DEMO.LOI.2_front_1.jpg").write_text("Đây không phải là ảnh (not an image).\n")
    (problems / "DEMO.LOI.3_front_1.tif").write_bytes(b"")
    return collection, problems


# --- worker --------------------------------------------------------------------------------------


@main.command()
@click.option("-c", "--concurrency", type=int, help="Worker processes (default: CPU cores).")
@click.option(
    "-Q",
    "--queues",
    default=None,
    help="Queues to consume, comma-separated (default: {prefix}.interactive,{prefix}.bulk).",
)
@click.option("--loglevel", default="INFO", show_default=True)
@click.option(
    "-n", "--hostname", default=None,
    help="Node name, e.g. scans-1@%h (default: sohoa-<random>@<host>).",
)  # fmt: skip
@click.pass_context
def worker(
    ctx: click.Context,
    concurrency: int | None,
    queues: str | None,
    loglevel: str,
    hostname: str | None,
) -> None:
    """Run a Celery worker that processes scans (stop it with Ctrl-C or SIGTERM)."""
    from pipeline.sandbox import with_worker_malloc
    from workers.app import bulk_queue, configure_app, interactive_queue

    # glibc reads its tunables at start-up only: start again, same PID, with malloc set for
    # big buffers reused from scan to scan (pipeline/sandbox.py).
    environment = with_worker_malloc(os.environ)
    if environment is not None and sys.platform.startswith("linux"):
        os.execve(
            sys.executable, [sys.executable, "-m", "pipeline.cli", *sys.argv[1:]], environment
        )

    settings = settings_of(ctx)
    if concurrency:
        settings = settings.model_copy(update={"worker_concurrency": concurrency})
    check_services(settings)
    app = configure_app(settings)
    queues = queues or f"{interactive_queue(settings)},{bulk_queue(settings)}"
    app.worker_main(
        [
            "worker",
            f"--loglevel={loglevel}",
            f"--queues={queues}",
            f"--concurrency={settings.worker_concurrency}",
            f"--hostname={hostname or f'sohoa-{uuid.uuid4().hex[:8]}@%h'}",
            "--without-gossip",
            "--without-mingle",
        ]
    )


main.add_command(inspect_command)
main.add_command(duplicates_command)
main.add_command(watch)
main.add_command(report)
main.add_command(serve)
main.add_command(cli_batch.batch)
main.add_command(cli_batch.status)
main.add_command(cli_batch.beat)
main.add_command(audit)
main.add_command(cli_export.export)

if __name__ == "__main__":
    main()
