"""Output shared by several commands: a record for people, a batch's progress line and its
pace; it prints, it reads and decides nothing."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime

import click

from config.settings import SohoaSettings
from pipeline.core.layout import record_key
from pipeline.core.records import ArtefactRecord
from pipeline.services.batch import BatchProgress

# Without a terminal (a log file overnight), one line at most this often, and on every end.
_LOG_LINE_SECONDS = 10.0


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
        if view.session is not None:
            click.echo(f"             colour  {view.session.finding}")
        if view.measured_size is not None:
            size = view.measured_size
            click.echo(
                f"             size    {size.width_mm / 10:.1f} × {size.height_mm / 10:.1f} cm "
                "(measured against the chart)"
            )
    for warning in record.warnings:
        click.secho(f"  ! {warning}", fg="yellow")
    click.echo(f"  record: s3://{settings.bucket}/{record_key(record.object)}")


def human_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


def render_progress(progress: BatchProgress, *, width: int = 24) -> str:
    """One line: a bar, done / total, the outcomes, what remains, the rate and the ETA."""
    total = max(progress.total, 1)
    filled = round(width * progress.done / total)
    rate = f"{progress.per_hour:,.0f}/h" if progress.per_hour else "–/h"
    return (
        f"[{'#' * filled}{'.' * (width - filled)}] {progress.done}/{progress.total} done: "
        f"{progress.stored} stored, {progress.quarantined} quarantined, {progress.failed} failed, "
        f"{progress.remaining} remaining · {rate} · ETA {human_seconds(progress.eta_seconds)}"
    )


class ProgressLine:
    """Redraw one line on a terminal; otherwise print a line when something changed, at most
    every few seconds, so that an overnight log stays readable."""

    def __init__(self) -> None:
        self.tty = sys.stdout.isatty()
        self.last_line = ""
        self.last_at = 0.0

    def show(self, line: str, *, final: bool = False) -> None:
        if self.tty:
            click.echo("\r" + line.ljust(len(self.last_line)), nl=final)
            self.last_line = line
            return
        now = time.monotonic()
        if line != self.last_line and (final or now - self.last_at >= _LOG_LINE_SECONDS):
            click.echo(f"{datetime.now(UTC):%H:%M:%S} {line}")
            self.last_line, self.last_at = line, now
