"""`sohoa batch`, `sohoa status`, `sohoa beat` and `sohoa report`: parse options, call the
batch, status, schedule and report services through the producer, render progress; no
pipeline logic here."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from config.settings import SohoaSettings
from pipeline.adapters.redis_batch import BatchState
from pipeline.cli.common import fail, settings_of
from pipeline.cli.outage import OutageNotice
from pipeline.cli.preflight import check_services, load_inventory
from pipeline.cli.render import ProgressLine, human_seconds, render_progress
from pipeline.core.layout import REPORTS_PREFIX, is_valid_batch_id
from pipeline.core.naming import to_printable
from pipeline.errors import RetryableError, SohoaError
from pipeline.services.assembly import open_batch_state, open_store
from pipeline.services.batch import BatchRun, default_batch_id
from pipeline.services.context import Context
from pipeline.services.handoff import with_handoff
from pipeline.services.intake import collect_files, summarise
from pipeline.services.report import (
    FinishedBatch,
    download_report,
    find_report,
    finish_batch,
)
from pipeline.services.schedule import (
    FINISH_BATCHES,
    FIXITY_SAMPLE,
    NIGHTLY_BACKLOG,
    lock_owner,
    nightly_jobs,
    periodic_jobs,
)
from pipeline.services.status import collect_status, describe_batch
from pipeline.services.submission import publish_unscanned
from workers.app import bulk_queue, configure_app, interactive_queue, old_queues
from workers.client import connect_producer, held_tasks, live_workers

_POLL_SECONDS = 0.5


def queues_of(settings: SohoaSettings) -> list[str]:
    return [interactive_queue(settings), bulk_queue(settings)]


# --- batch ---------------------------------------------------------------------------------------


@click.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--inventory", "inventory_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Inventory sheet (CSV in UTF-8, or XLSX) of the objects.",
)  # fmt: skip
@click.option(
    "--report", "report_dir", type=click.Path(file_okay=False, path_type=Path),
    help="Also write the report (JSON, CSV, HTML) here; it always goes to reports/ in the bucket.",
)  # fmt: skip
@click.option(
    "--batch-id",
    help="Name of the batch (default: from the folder, so running it again resumes it).",
)
@click.option("--detach", is_flag=True, help="Queue the files and return at once.")
@click.pass_context
def batch(
    ctx: click.Context,
    folder: Path,
    inventory_path: Path | None,
    report_dir: Path | None,
    batch_id: str | None,
    detach: bool,
) -> None:
    """Process every scan under FOLDER on the bulk queue, with a live progress bar.

    Resumable: running the same command again (after Ctrl-C, a reboot, a worker crash) skips
    the scans already stored and verified in the bucket, without sending them again, and
    finishes the rest. At the end every file is either stored (checked in the bucket) or
    quarantined; a file whose task was lost (Redis restarted empty, say) is sent again. The
    report goes to reports/BATCH.{json,csv,html} in the bucket (and to --report).

    With --detach (or if this command is interrupted), `sohoa beat`'s finish-batches round
    (every SOHOA_FINISH_BATCHES_MINUTES) reconciles the batch and writes its report once it is
    done; only one of them ever writes it.

    At the end every artefact touched has a record listing all its stored scans: a record whose
    publish was lost (Redis restarted, storage away) is published again once missing for
    SOHOA_BATCH_STALL_SECONDS. A task taken by a worker that died is given back to the queue
    within SOHOA_BATCH_STALL_SECONDS, not after the broker's visibility timeout.

    Exit status: 0 when every file is stored and every artefact's record is current, 1 when any
    file was quarantined or failed or a record is still missing (each named), 130 when
    interrupted (the queued files keep being processed: run the command again to follow them).

    \b
    Examples:
      sohoa batch /srv/scans/2025-03 --inventory /srv/scans/2025-03/inventory.csv
      sohoa batch /srv/scans/2025-03 --detach      then: sohoa status BATCH
    """
    settings = settings_of(ctx)
    batch_id = batch_id or default_batch_id(folder)
    if not is_valid_batch_id(batch_id):
        fail(f"--batch-id {batch_id!r}: use letters, digits, '.', '_' and '-' (at most 128).")
    # The one folder named here is followed even through a link; no link inside it is.
    selection = collect_files([folder.resolve()])
    inventory_file = inventory_path.resolve() if inventory_path else None
    for path, why in selection.skipped:
        if path != inventory_file:
            click.echo(f"skipped {to_printable(path.name)}: {why}", err=True)
    check_services(settings)
    sctx = Context.from_settings(settings)
    sender = with_handoff(sctx, connect_producer(settings))
    changed = load_inventory(sctx, inventory_path)[1] if inventory_path else []
    state = open_batch_state(settings)
    run = BatchRun(
        sctx,
        state,
        batch_id,
        selection.files,
        send=sender.send,
        queues=queues_of(settings),
        inputs=[str(folder.resolve())],
        stall_seconds=settings.batch_stall_seconds,
        lookup=sender.lookup,
        lock_owner=lock_owner("sohoa batch"),
        send_publish=sender.send_publish,
        held=sender.held,
    )
    shown = ProgressLine()
    try:
        previous = state.read_meta(batch_id)
        click.echo(
            f"Batch {batch_id}: {len(selection.files)} files"
            + (f" (resuming; run {int(previous.get('runs') or 1) + 1})" if previous else "")
        )
        holder = state.lock_holder(batch_id)
        if holder is not None:
            click.echo(f"  waiting for {holder} to let go of the batch")
        run.start(
            on_prepared=lambda n, total: (
                shown.show(f"checking and queueing {n}/{total}")
                if n % 50 == 0 or n == total
                else None
            )
        )
        if shown.tty:
            click.echo("")
        first = run.progress()
        adopted = sum(1 for e in run.entries.values() if e.get("adopted"))
        click.echo(
            f"  queued {len(run.pending) - adopted}, already stored {first.skipped}, "
            f"still queued from before {adopted}, settled before {first.done - first.skipped}"
        )
        publish_unscanned(sctx, sender, changed, selection.files)
        if detach:
            click.echo(f"Detached. Progress: sohoa status {batch_id}")
            return
        if run.pending and not sender.any_worker():
            click.secho(
                "warning: no worker answers; the files wait in the queue until one starts "
                "(`sohoa worker`).",
                fg="yellow",
                err=True,
            )
        _follow(run, shown)
        ended = finish_batch(run, directory=report_dir)
    except KeyboardInterrupt:
        click.echo("")
        click.secho(
            f"Interrupted. Queued files keep being processed; run the same command again to "
            f"follow and finish batch {batch_id} (nothing stored is sent twice).",
            fg="yellow",
        )
        sys.exit(130)
    except SohoaError as exc:
        fail(exc.message)
    ok = _print_outcome(run, ended.results, settings)
    _print_report(ended)
    sys.exit(0 if ok else 1)


def _follow(run: BatchRun, shown: ProgressLine) -> None:
    """Until every file is settled and the bucket agrees; a broker outage only pauses this."""
    outage = OutageNotice(echo=lambda line: click.secho(f"\n{line}", fg="yellow", err=True))
    while True:
        try:
            progress = run.poll()
            outage.answered()
            shown.show(render_progress(progress))
            if not run.pending:
                if run.verify_stored():
                    click.echo(f"\n  {len(run.pending)} files not found in the bucket: sent again")
                elif run.check_records():
                    break
        except RetryableError as exc:
            outage.failed(exc)
            time.sleep(5)
        time.sleep(_POLL_SECONDS)
    shown.show(render_progress(run.progress()), final=True)


def _print_outcome(run: BatchRun, results: list[dict[str, Any]], settings: SohoaSettings) -> bool:
    summary = summarise(results)
    # This run's own work: a file found stored keeps an earlier run's figures for the report,
    # but what this run wrote is only what its workers did.
    fresh = summarise(
        [r for r in results if not run.entries.get(str(r.get("path")), {}).get("skipped")]
    )
    new = fresh.stored - fresh.already_stored
    progress = run.progress()
    click.echo(f"Batch {run.batch_id} finished in {human_seconds(progress.elapsed)}")
    click.echo(
        f"  scans:       {summary.stored} stored ({new} new, {summary.stored - new} already "
        f"there; {progress.skipped} not sent again)"
    )
    click.echo(f"  objects:     {len(summary.objects)}")
    click.echo(f"  bytes:       {fresh.bytes_stored / 2**20:,.1f} MiB written by this run")
    click.echo(f"  quarantined: {summary.quarantined}   failed: {summary.failed}")
    if run.resent:
        click.echo(f"  sent again:  {run.resent} (their tasks were lost)")
    if run.requeued:
        click.echo(f"  given back:  {run.requeued} (taken by a worker that is gone)")
    touched = run.touched_objects()
    click.echo(
        f"  records:     {len(touched) - len(run.record_gaps)} of {len(touched)} current"
        + (f" ({len(run.republished)} published again: their publish was lost)"
           if run.republished else "")
    )  # fmt: skip
    for gap in run.record_gaps[:50]:
        click.secho(f"  ✗ {gap.message}", fg="red")
    for problem in summary.problems[:50]:
        click.secho(f"  ✗ {problem.get('code')}: {problem.get('message')}", fg="red")
    if len(summary.problems) > 50:
        click.echo(f"  … and {len(summary.problems) - 50} more in the report")
    if summary.quarantined:
        click.echo(f"  Rejected files and their reasons are in {settings.quarantine_path}/")
    return summary.ok and summary.files == len(run.files) and not run.record_gaps


def _print_report(ended: FinishedBatch) -> None:
    for path in ended.paths:
        click.echo(f"  report:      {path}")
    if ended.error is not None:
        click.secho(
            f"warning: report not uploaded: {ended.error} (the batch stays open: beat's "
            "finish-batches round, or running this command again, writes it)",
            fg="yellow",
            err=True,
        )
        return
    html = next((k for k in ended.keys if k.endswith(".html")), None)
    if html is not None:
        click.echo(f"  report:      s3://{ended.bucket}/{html}")
    if not ended.written:
        click.echo("  (written by another finisher of this batch; kept as it was)")


# --- status --------------------------------------------------------------------------------------


@click.command()
@click.argument("batch_id", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.pass_context
def status(ctx: click.Context, batch_id: str | None, as_json: bool) -> None:
    """Show workers alive, queue depths, scans in progress, today's figures, the last batches
    (a finished one with its report's location) and the last fixity sample; with BATCH, that
    batch's progress (as `sohoa batch` shows it).

    \b
    Examples:
      sohoa status
      sohoa status scans-2025-03-1a2b3c4d --json
    """
    settings = settings_of(ctx)
    configure_app(settings)
    state = open_batch_state(settings)
    try:
        if batch_id is not None:
            described = describe_batch(state, batch_id)
            if described is None:
                fail(
                    f"Redis knows no batch {batch_id!r} (under prefix {settings.queue_prefix!r}): "
                    "check the id in `sohoa status`; a finished batch's report stays in the "
                    f"bucket: `sohoa report {batch_id}`.",
                    code=1,
                )
            _add_report(state, described)
            if as_json:
                click.echo(json.dumps(described, indent=2))
                return
            _render_batch(described)
            return
        picture = collect_status(
            state, queues=queues_of(settings), workers=live_workers(), held=held_tasks
        )
        for item in picture["batches"]:
            _add_report(state, item)
        picture["fixity"] = state.last_fixity()
        old = state.queue_depths(old_queues(settings)) if old_queues(settings) else {}
        picture["old_queues"] = {name: depth for name, depth in old.items() if depth}
    except RetryableError as exc:
        fail(exc.message)
    if as_json:
        click.echo(json.dumps(picture, indent=2))
        return
    workers = picture["workers"]
    click.echo(
        f"Workers:     {len(workers)} alive" + (": " + ", ".join(workers) if workers else "")
    )
    for queue, depth in picture["queues"].items():
        click.echo(f"Queue        {queue}: {depth} waiting")
    for queue, depth in picture["old_queues"].items():
        click.secho(
            f"Old queue    {queue}: {depth} waiting since before the upgrade; if they are this "
            f"installation's, take them with `sohoa worker -Q {','.join(picture['old_queues'])}`",
            fg="yellow",
        )
    click.echo(f"In progress: {picture['in_progress']}")
    if picture["orphaned"]:
        click.secho(
            f"Orphaned:    {picture['orphaned']} taken by a worker that is gone: `sohoa batch` "
            "(or beat's finish-batches round) gives them back to the queue within "
            f"SOHOA_BATCH_STALL_SECONDS ({settings.batch_stall_seconds:g} s), else the broker "
            f"does after SOHOA_VISIBILITY_TIMEOUT ({settings.visibility_timeout} s)",
            fg="yellow",
        )
    today = picture["today"]
    click.echo(
        f"Today (UTC): {today['stored']} new scans stored, "
        f"{today.get('already_stored', 0)} already there, {today['quarantined']} quarantined, "
        f"{today['failed']} failed"
    )
    if picture["batches"]:
        click.echo("Last batches:")
    for item in picture["batches"]:
        click.echo(
            f"  {item['batch_id']:<40} {item['state']:<9} "
            f"{item['total'] - item['remaining']}/{item['total']} done, {item['stored']} stored, "
            f"{item['quarantined']} quarantined, {item['failed']} failed"
            + (f"  {item['report']}" if item.get("report") else "")
        )
    fixity = picture["fixity"]
    if fixity is None:
        click.echo("Fixity:      no sample checked yet (`sohoa beat --now fixity`)")
        return
    counts = fixity.get("counts") or {}
    keys = (fixity.get("report") or {}).get("keys") or []
    bucket = (fixity.get("report") or {}).get("bucket")
    click.echo(
        f"Fixity:      {fixity.get('checked_at')}: {fixity.get('checked')} checked, "
        f"{counts.get('changed', 0)} changed, {counts.get('missing', 0)} missing, "
        f"{counts.get('untracked', 0)} untracked" + (f"  s3://{bucket}/{keys[0]}" if keys else "")
    )


def _add_report(state: BatchState, item: dict[str, Any]) -> None:
    """Where a finished batch's report is (s3://bucket/reports/BATCH.json), None before."""
    report = (state.read_meta(item["batch_id"]) or {}).get("report") or {}
    json_key = next((k for k in report.get("keys") or [] if k.endswith(".json")), None)
    item["report"] = f"s3://{report.get('bucket')}/{json_key}" if json_key else None


def _render_batch(item: dict[str, Any]) -> None:
    click.echo(f"Batch {item['batch_id']} ({item['state']}, started {item['started_at']})")
    for source in item["inputs"]:
        click.echo(f"  input        {source}")
    rate = f"{item['per_hour']:,.0f} files/h" if item["per_hour"] else "–"
    click.echo(
        f"  {item['total'] - item['remaining']}/{item['total']} done: {item['stored']} stored "
        f"({item['skipped']} already before), {item['quarantined']} quarantined, "
        f"{item['failed']} failed, {item['remaining']} remaining"
    )
    click.echo(f"  rate         {rate}   ETA {human_seconds(item['eta_seconds'])}")
    if item["finished_at"]:
        click.echo(
            f"  finished     {item['finished_at']}  (report: sohoa report {item['batch_id']})"
        )
    if item.get("report"):
        click.echo(f"  report       {item['report']}")


# --- beat ----------------------------------------------------------------------------------------


@click.command()
@click.option("--list", "list_only", is_flag=True, help="Print the schedule and exit.")
@click.option(
    "--now", "run_now", type=click.Choice(["backlog", "fixity", "finish"]),
    help="Queue one job at once (a worker runs it) and exit; finish: one finish-batches round.",
)  # fmt: skip
@click.option("--loglevel", default="INFO", show_default=True)
@click.pass_context
def beat(ctx: click.Context, list_only: bool, run_now: str | None, loglevel: str) -> None:
    """Run the schedule (Celery beat): the hot folder's backlog and a fixity sample nightly, and
    every few minutes a round that finishes unattended batches.

    Times come from SOHOA_NIGHTLY_AT and SOHOA_FIXITY_AT (HH:MM in SOHOA_SCHEDULE_TIMEZONE,
    UTC by default); the backlog runs only
    when SOHOA_HOT_FOLDER is set, the fixity sample re-hashes SOHOA_FIXITY_SAMPLE random masters
    (0: never) and writes reports/fixity/YYYYMMDD.json and .csv. Every
    SOHOA_FINISH_BATCHES_MINUTES (0: never) the finish-batches round reconciles each batch no one
    follows (`sohoa batch --detach`, the nightly backlog) and, once it is done, writes its report
    to reports/BATCH.* and marks it finished. Run one beat per deployment, beside the workers.
    """
    settings = settings_of(ctx)
    jobs = nightly_jobs(settings)
    periodic = periodic_jobs(settings)
    if list_only or run_now is None:
        if not jobs and not periodic:
            click.echo(
                "Nothing scheduled: set SOHOA_HOT_FOLDER, SOHOA_FIXITY_SAMPLE and/or "
                "SOHOA_FINISH_BATCHES_MINUTES."
            )
        for job in jobs:
            click.echo(
                f"  {job.hour:02d}:{job.minute:02d} {settings.schedule_timezone}  "
                f"{job.name:<16} {job.task}"
            )
        for every in periodic:
            click.echo(f"  every {every.minutes} min  {every.name:<16} {every.task}")
    if list_only:
        return
    check_services(settings)
    app = configure_app(settings)
    if run_now is not None:
        task = {"backlog": NIGHTLY_BACKLOG, "fixity": FIXITY_SAMPLE}.get(run_now, FINISH_BATCHES)
        queue = interactive_queue(settings) if task == FINISH_BATCHES else bulk_queue(settings)
        sent = app.send_task(task, queue=queue)
        click.echo(f"Queued {task} (task {sent.id}).")
        return
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    app.Beat(loglevel=loglevel, schedule=str(settings.var_dir / "celerybeat-schedule")).run()


# --- report --------------------------------------------------------------------------------------


@click.command()
@click.argument("batch_id")
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also download the report's files into this folder.",
)
@click.pass_context
def report(ctx: click.Context, batch_id: str, output: Path | None) -> None:
    """Say where a batch's report is (JSON, CSV, HTML in the bucket) and its main figures.

    \b
    Example:  sohoa report 20250301-220000-a1b2c3 --output reports/
    """
    settings = settings_of(ctx)
    if not is_valid_batch_id(batch_id):
        fail(f"{batch_id!r} is not a batch id (letters, digits, '.', '_' and '-').")
    store = open_store(settings)
    try:
        found = find_report(store, batch_id)
    except SohoaError as exc:
        fail(exc.message)
    if found is None:
        fail(
            f"no report for batch {batch_id!r} (looked for {REPORTS_PREFIX}{batch_id}.* in bucket "
            f"{settings.bucket!r}); check the id in the ingest's output.",
            code=1,
        )
    base = settings.public_base_url.rstrip("/")
    click.echo(f"Report of batch {batch_id}:")
    for fmt, key in found.keys.items():
        click.echo(f"  {fmt:<5} s3://{found.bucket}/{key}")
    if "html" in found.keys:
        click.echo(f"  view  {base}/{found.keys['html']}  (if the bucket is public)")
    if found.summary is not None:
        s = found.summary
        click.echo(
            f"  {s.files} files: {s.stored} stored ({s.new} new), {s.quarantined} quarantined, "
            f"{s.failed} failed; QC {s.qc['pass']} pass, {s.qc['warn']} warn, {s.qc['fail']} fail"
        )
    if output is not None:
        try:
            paths = download_report(store, found, output)
        except SohoaError as exc:
            fail(exc.message)
        for path in paths:
            click.echo(f"  saved {path}")
