"""`sohoa audit`: parse options, run the fixity audit (or, with --repair, put masters back
from their original files) through the services, render it (`sohoa reindex --repair`
publishes what it finds unpublished)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

import click

from config.settings import SohoaSettings
from pipeline.cli.common import fail, settings_of
from pipeline.errors import SohoaError
from pipeline.services.audit import run_audit
from pipeline.services.context import Context
from pipeline.services.repair import repair_from_file


@click.command()
@click.option(
    "--sample",
    type=click.IntRange(min=1),
    help="Re-hash N masters chosen at random (presence is still checked for all).",
)
@click.option("--all", "everything", is_flag=True, help="Re-hash every master (the default).")
@click.option("--seed", type=int, help="Seed for --sample, to repeat the same choice.")
@click.option(
    "--report",
    "report_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write the findings to DIR/audit-<time>.json and .csv.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--repair",
    is_flag=True,
    help="Put back the CHANGED or MISSING masters of the FILES given (their originals): each "
    "is written only if its SHA-256 is the one the catalogue recorded, then read back.",
)
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def audit(
    ctx: click.Context,
    sample: int | None,
    everything: bool,
    seed: int | None,
    report_dir: Path | None,
    as_json: bool,
    repair: bool,
    files: tuple[Path, ...],
) -> None:
    """Check that every master in the bucket still has the bytes its record says (fixity).

    Re-hashes masters, streamed from the server, against the SHA-256 in their scan and
    artefact records, and reports masters that CHANGED, records whose master is MISSING,
    objects under masters/ that no record names (UNTRACKED), and artefacts with scans stored
    but no record listing them (UNPUBLISHED: scans without a record; `sohoa reindex --repair`
    publishes them). Nothing is ever repaired or deleted, except with --repair: then each FILE
    given, an original, puts back the master that has its SHA-256 if that master changed or is
    missing. Exit status: 0 all good, 1 something is wrong (or a FILE is no stored scan's
    original), 2 the audit could not run.

    \b
    Examples:
      sohoa audit                      # re-hash everything
      sohoa audit --sample 200         # a nightly spot check
      sohoa audit --report var/audit --json
      sohoa audit --repair /archive/HM.1_front_1.tif
    """
    if sample is not None and everything:
        fail("use either --sample N or --all, not both.")
    if bool(files) != repair:
        fail("--repair takes the original FILES whose masters to put back, and FILES need it.")
    settings = settings_of(ctx)
    if repair:
        _repair(settings, files, as_json)
    try:
        context = Context.from_settings(settings)
        context.store.check_buckets()
        report = run_audit(context, sample=sample, everything=everything, seed=seed)
    except SohoaError as exc:
        fail(exc.message)

    written: list[Path] = []
    if report_dir is not None:
        report_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        for suffix, text in ((".json", report.to_json()), (".csv", report.to_csv())):
            path = report_dir / f"audit-{stamp}{suffix}"
            path.write_text(text, "utf-8")
            written.append(path)

    if as_json:
        click.echo(report.to_json())
    else:
        scope = "a sample of" if report.sampled else "all"
        click.echo(
            f"Audit: {report.checked} master(s) re-hashed ({scope} {report.tracked} tracked): "
            f"{len(report.changed)} changed, {len(report.missing)} missing, "
            f"{len(report.untracked)} untracked"
            + (f", {len(report.unreadable)} unreadable record(s)" if report.unreadable else "")
        )
        click.echo(
            f"Catalogue: {len(report.unpublished)} artefact(s) with scans without a record"
            + (" (`sohoa reindex --repair` publishes them)" if report.unpublished else "")
        )
        for finding in report.findings:
            click.echo(f"  {finding.kind.upper()}: {finding.message}")
        if report.ok:
            click.echo("Every master checked matches its record; every stored scan is published.")
        for path in written:
            click.echo(f"report: {path}", err=True)
    sys.exit(0 if report.ok else 1)


def _repair(settings: SohoaSettings, files: tuple[Path, ...], as_json: bool) -> NoReturn:
    try:
        context = Context.from_settings(settings)
        context.store.check_buckets()
        results = [repair_from_file(context, path) for path in files]
    except SohoaError as exc:
        fail(exc.message)
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in results], ensure_ascii=False, indent=1))
    else:
        for result in results:
            click.echo(f"  {result.status.upper()}: {result.message}")
        if any(r.status == "restored" for r in results):
            click.echo("Run `sohoa audit` to confirm.")
    sys.exit(0 if all(r.status != "unknown" for r in results) else 1)
