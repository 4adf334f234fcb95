"""`sohoa watch` and `sohoa report`: parse options, build the dependencies, call the services."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import click

from pipeline.cli_common import check_services, fail, settings_of
from pipeline.errors import BrokerUnavailableError, SohoaError
from pipeline.services.models import ProcessScanTask


class CeleryScanQueue:
    """The hot folder's queue: the interactive Celery queue, broker failures made retryable."""

    def send(self, task: ProcessScanTask) -> str:
        from workers import client

        try:
            return client.send_scan(task, interactive=True)
        except Exception as exc:  # kombu, redis-py and socket errors share no base class
            raise _broker_error(exc, "queue a file") from None

    def poll(self, task_ids: list[str]) -> dict[str, dict[str, Any]]:
        from workers import client

        try:
            # timeout=0: one look at every task, no waiting; the watcher comes back next tick.
            return client.wait_for(task_ids, timeout=0)
        except Exception as exc:
            raise _broker_error(exc, "read results") from None


def _broker_error(exc: Exception, action: str) -> BrokerUnavailableError:
    return BrokerUnavailableError(
        f"The broker did not answer while trying to {action} ({type(exc).__name__}): check "
        "that Redis is running (`make status`); the watcher tries again."
    )


# --- watch ---------------------------------------------------------------------------------------


@click.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--done",
    "done_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Move stored files here (default: FOLDER/done).",
)
@click.option("--delete", is_flag=True, help="Delete stored files instead of moving them.")
@click.option(
    "--stable-seconds",
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    help="A file is complete once its size and time stay unchanged this long.",
)
@click.option(
    "--poll",
    is_flag=True,
    help="Look for changes by listing the folder (network shares, where inotify is silent).",
)
@click.option(
    "--poll-seconds",
    type=click.FloatRange(min=0.1),
    default=2.0,
    show_default=True,
    help="With --poll: how often to list the folder.",
)
@click.option("--batch-id", help="Batch name for the files (default: watch-YYYYMMDD).")
@click.pass_context
def watch(
    ctx: click.Context,
    folder: Path,
    done_dir: Path | None,
    delete: bool,
    stable_seconds: float,
    poll: bool,
    poll_seconds: float,
    batch_id: str | None,
) -> None:
    """Watch a hot folder: process each file dropped into it, once it is complete.

    A stored file (its master verified in the bucket) moves to FOLDER/done/; a rejected one
    moves to FOLDER/quarantine/ beside NAME.reason.json. A file that failed for a passing reason
    (storage away) stays and is tried again later. Temporary and system files (*.part, ~$*,
    .DS_Store, Thumbs.db, hidden files) are left alone. Stop with Ctrl-C or SIGTERM; files not
    finished are picked up on the next start.

    \b
    Examples:
      sohoa watch /srv/scans/drop
      sohoa watch /mnt/share/drop --poll --done /mnt/share/archived
    """
    from pipeline.core.layout import is_valid_batch_id
    from pipeline.services.watch import HotFolder, WatchOptions
    from workers import client
    from workers.app import configure_app

    if delete and done_dir is not None:
        fail("--done and --delete exclude each other: choose where stored files go.")
    if batch_id is not None and not is_valid_batch_id(batch_id):
        # It names a folder under the quarantine directory: no slashes, no '..'.
        fail(f"--batch-id {batch_id!r}: use letters, digits, '.', '_' and '-'.")
    settings = settings_of(ctx)
    check_services(settings)
    configure_app(settings)
    if not client.live_workers():
        click.secho(
            "warning: no worker answers; files wait in the queue until one starts "
            "(`sohoa worker`, or `make run`).",
            fg="yellow",
            err=True,
        )
    options = WatchOptions(
        folder=folder,
        done_dir=done_dir,
        delete=delete,
        stable_seconds=stable_seconds,
        poll=poll,
        poll_seconds=poll_seconds,
        batch_id=batch_id,
    )
    hot = HotFolder(options, CeleryScanQueue(), say=click.echo)
    how = f"polling every {poll_seconds:g} s" if poll else "file-system events"
    click.echo(f"Watching {hot.options.folder} ({how}); Ctrl-C to stop.")
    stop = threading.Event()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def ask_to_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in previous:
        signal.signal(sig, ask_to_stop)
    try:
        hot.run(stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    counts = hot.counts
    click.echo(
        f"Stopped: {counts.taken} taken, {counts.stored} stored, {counts.quarantined} "
        f"quarantined; {hot.pending} left in the folder for the next start."
    )


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
    from pipeline.adapters.s3_store import S3Store
    from pipeline.core.layout import REPORTS_PREFIX, is_valid_batch_id
    from pipeline.services.report import download_report, find_report

    settings = settings_of(ctx)
    if not is_valid_batch_id(batch_id):
        fail(f"{batch_id!r} is not a batch id (letters, digits, '.', '_' and '-').")
    store = S3Store.from_settings(settings)
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
