"""`sohoa watch`: parse options, run the hot-folder service with the producer on the
interactive queue until Ctrl-C or SIGTERM, render what it did; no file handling here."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType

import click

from pipeline.cli.common import fail, settings_of
from pipeline.cli.preflight import check_services
from pipeline.core.layout import is_valid_batch_id
from pipeline.services.context import Context
from pipeline.services.handoff import with_handoff
from pipeline.services.watch import HotFolder, WatchOptions
from workers.client import connect_producer


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
    .DS_Store, Thumbs.db, hidden files) are left alone; links, FIFOs and other entries that are
    not regular files are skipped with a line and never opened. Stop with Ctrl-C or SIGTERM;
    files not finished are picked up on the next start.

    \b
    Examples:
      sohoa watch /srv/scans/drop
      sohoa watch /mnt/share/drop --poll --done /mnt/share/archived
    """
    if delete and done_dir is not None:
        fail("--done and --delete exclude each other: choose where stored files go.")
    if batch_id is not None and not is_valid_batch_id(batch_id):
        # It names a folder under the quarantine directory: no slashes, no '..'.
        fail(f"--batch-id {batch_id!r}: use letters, digits, '.', '_' and '-'.")
    settings = settings_of(ctx)
    check_services(settings)
    sender = with_handoff(
        Context.from_settings(settings),
        connect_producer(settings, interactive=True, then="the watcher tries again"),
    )
    if not sender.any_worker():
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
    hot = HotFolder(options, sender, say=click.echo)
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
