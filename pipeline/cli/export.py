"""`sohoa export`: one artefact as LIDO XML and/or a BagIt package; parses options, no logic."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pipeline.cli.common import settings_of, to_indexed_accession
from pipeline.errors import SohoaError
from pipeline.services.context import Context
from pipeline.services.export import ExportError, export_bag, read_record_bytes, to_lido_xml


@click.command("export")
@click.argument("accession")
@click.option(
    "--lido",
    "lido_path",
    type=click.Path(dir_okay=False, writable=True, allow_dash=True, path_type=Path),
    help="Write the object's LIDO 1.0 XML to this file ('-' for standard output).",
)
@click.option(
    "--bagit",
    "bag_path",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write a BagIt package (masters, record, IIIF manifest, LIDO, Dublin Core) here.",
)
@click.option("--force", is_flag=True, help="Replace what the --bagit directory holds.")
@click.pass_context
def export(
    ctx: click.Context, accession: str, lido_path: Path | None, bag_path: Path | None, force: bool
) -> None:
    """Export the artefact ACCESSION (any spelling: HM.1998.45/PL, hm.1998.45-pl, hm199845pl).

    \b
      sohoa export HM.1998.45/PL --lido dish.lido.xml
      sohoa export HM.1998.45/PL --bagit exports/hm.1998.45-pl
      sohoa export HM.1998.45/PL --lido - | xmllint --format -

    The bag (BagIt 1.0, sha256 and sha512 manifests) holds the untouched masters, each
    checked against the SHA-256 in the record while it is copied, the record as stored,
    the IIIF manifest, LIDO and Dublin Core; bag-info names SOHOA_MUSEUM_NAME as
    Source-Organization and the accession number as External-Identifier. It is built
    beside DIR and moved into place only when complete; DIR must be empty or new unless
    --force. Check it later with `python -m bagit --validate DIR`.

    Exits 1 when the object is unknown, the directory is not empty or a master is
    missing or damaged; 2 when the storage cannot be reached.
    """
    if lido_path is None and bag_path is None:
        raise click.UsageError("say what to export: --lido FILE, --bagit DIR, or both.")
    settings = settings_of(ctx)
    accession = to_indexed_accession(settings, accession)
    try:
        context = Context.from_settings(settings)
        if lido_path is not None:
            record, _ = read_record_bytes(context, accession)
            body = to_lido_xml(settings, record)
            if str(lido_path) == "-":
                sys.stdout.buffer.write(body)
                sys.stdout.flush()
            else:
                lido_path.parent.mkdir(parents=True, exist_ok=True)
                lido_path.write_bytes(body)
                click.echo(f"LIDO of {record.accession_number} written to {lido_path}", err=True)
        if bag_path is not None:
            result = export_bag(context, accession, bag_path, force=force)
            click.echo(
                f"Bag of {result.accession_number} written to {result.path}: "
                f"{len(result.files)} files ({result.masters} masters), "
                f"{result.bytes:,} bytes, sha256 + sha512 manifests.",
                err=True,
            )
    except ExportError as exc:
        click.secho(f"error: {exc.message}", fg="red", err=True)
        sys.exit(1)
    except SohoaError as exc:
        # An integrity failure is the data's problem (1); storage away is the setup's (2).
        click.secho(f"error: {exc.message}", fg="red", err=True)
        sys.exit(1 if exc.code == "INTEGRITY" else 2)
    except OSError as exc:
        click.secho(f"error: cannot write {exc.filename or ''}: {exc.strerror}", fg="red", err=True)
        sys.exit(2)
