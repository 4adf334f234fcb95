"""`sohoa show`, `search`, `reindex` and `serve`: parse, call the catalogue services (or
start the API), render; the index is a read model and nothing here writes to the bucket."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

from pipeline.cli.common import fail, settings_of, to_indexed_accession
from pipeline.errors import SohoaError

if TYPE_CHECKING:
    from config.settings import SohoaSettings
    from pipeline.services.context import Context

# Each command imports what it needs when it runs: `sohoa search` is typed by people waiting
# for an answer, and the record, storage and worker modules take most of a second to import.


@click.command()
@click.argument("accession")
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON.")
@click.pass_context
def show(ctx: click.Context, accession: str, as_json: bool) -> None:
    """Show the catalogue record of one artefact, by accession number in any form (case,
    separators or none, zero padding: btcvhgs12 finds BTCVH.GS.0012).

    \b
    Example:  sohoa show BTCVH.GS.0012
    """
    from pipeline.cli.render import render_record
    from pipeline.core.layout import record_key
    from pipeline.core.naming import to_object_slug
    from pipeline.services.context import Context
    from pipeline.services.publish import read_record

    settings = settings_of(ctx)
    try:
        slug = to_object_slug(to_indexed_accession(settings, accession))
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


@click.command()
@click.option(
    "--repair", is_flag=True,
    help="First publish the record of every artefact whose stored scans it does not list "
    "(`sohoa audit`'s scans without a record).",
)  # fmt: skip
@click.pass_context
def reindex(ctx: click.Context, repair: bool) -> None:
    """Rebuild the catalogue index from the records in the bucket (the source of truth).

    Searches keep answering from the old index until the new one is swapped in. With --repair,
    artefacts whose scans are stored but missing from their record (a publish that was lost)
    are published first, then indexed with the rest. Exit status 1 when a record could not be
    read, did not validate or could not be published (each is listed with why).
    """
    from pipeline.services.assembly import open_index
    from pipeline.services.catalogue import reindex as rebuild
    from pipeline.services.context import Context

    settings = settings_of(ctx)
    failed: dict[str, str] = {}
    try:
        context = Context.from_settings(settings)
        if repair:
            failed = _repair_records(context, settings)
        with open_index(settings) as index:
            result = rebuild(context, index)
    except SohoaError as exc:
        fail(exc.message)
    click.echo(
        f"Indexed {result.indexed} records in {result.seconds:.1f} s "
        f"into {settings.catalogue_index_path}."
    )
    for rejected in result.rejected:
        click.secho(f"  ✗ {rejected.key}: {rejected.reason}", fg="red")
    sys.exit(1 if result.rejected or failed else 0)


def _repair_records(context: Context, settings: SohoaSettings) -> dict[str, str]:
    """Publish every record that misses stored scans; what could not be published, and why."""
    from pipeline.core.layout import record_key
    from pipeline.services.assembly import open_record_stream
    from pipeline.services.completeness import find_record_gaps, republish
    from pipeline.services.notify import notify_record_changed

    gaps = find_record_gaps(context)
    stream = open_record_stream(settings)
    try:
        repaired = republish(context, gaps, lambda slug: notify_record_changed(stream, slug))
    finally:
        stream.close()
    click.echo(
        f"Repair: {len(gaps)} artefact(s) with scans without a record; "
        f"{len(repaired.published)} published."
    )
    for slug in repaired.published:
        click.echo(f"  published {record_key(slug)}")
    for slug, why in repaired.failed.items():
        click.secho(f"  ✗ {record_key(slug)} not published: {why}", fg="red")
    return repaired.failed


@click.command()
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

    # The index alone: services.assembly would import the storage and broker clients too.
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
    if result.message:
        fail(result.message, code=1)
    if result.did_you_mean:
        click.echo(f"did you mean: {result.did_you_mean}")
    partial = " matching some of the words (none has them all)" if result.partial else ""
    click.echo(f"{result.total} found{partial} (page {result.page} of {max(result.pages, 1)})")
    for hit in result.hits:
        click.echo(f"  {hit.accession_number:<18} {hit.name_vi or hit.name_en}")
        if hit.name_en and hit.name_vi:
            click.echo(f"  {'':<18} {hit.name_en}  ·  {hit.material}  ·  {hit.period}")
    for facet, counts in result.facets.items():
        shown = ", ".join(f"{c.value} ({c.count})" for c in counts[:6])
        if shown:
            click.echo(f"  {facet}: {shown}")


@click.command("serve")
@click.option("--host", default=None, help="Address to listen on [default: SOHOA_API_HOST].")
@click.option("--port", type=int, default=None, help="Port [default: SOHOA_API_PORT, 8000].")
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
)
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, log_level: str) -> None:
    """Serve the catalogue over HTTP: the web page (search, objects, deep-zoom viewer) at /,
    the search API, records, IIIF manifests and OAI-PMH (read-only). Ctrl-C stops it.

    Reads the catalogue index (build it with `sohoa reindex`) and the bucket. OpenAPI docs
    at /docs; OAI-PMH at /oai; health at /healthz. The viewer needs OpenSeadragon in
    node_modules/ (`make npm`); without it object pages show still images.

    Records published while it runs reach its index within seconds (a Redis stream), and
    every SOHOA_INDEX_CATCHUP_SECONDS it reconciles the index with the bucket, so a missed
    notification is never a lost record. SOHOA_INDEX_LISTEN=false turns both off.
    """
    run_server(settings_of(ctx), host=host, port=port, log_level=log_level)


def run_server(
    settings: SohoaSettings,
    *,
    host: str | None = None,
    port: int | None = None,
    log_level: str = "info",
) -> None:
    """Build the app, say where it answers, and serve in the foreground until Ctrl-C."""
    # Here, not at the top: FastAPI and uvicorn take longer to import than every other
    # command's modules together, and only serving needs them.
    import uvicorn

    from pipeline.api.app import create_app
    from pipeline.services.notify import start_follower

    host = host or settings.api_host
    port = port if port is not None else settings.api_port
    try:
        app = create_app(settings)
        count = app.state.catalogue.index.count()
    except SohoaError as exc:
        click.secho(f"error: {exc.message}", fg="red", err=True)
        sys.exit(2)
    if count == 0:
        click.secho(
            "warning: the catalogue index is empty: run `sohoa reindex` to fill it.",
            fg="yellow",
            err=True,
        )
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
    click.echo(f"Serving {count} objects: open {url} (API docs at /docs, OAI-PMH at /oai)")
    click.echo("Press Ctrl-C to stop.")
    follower = None
    if settings.index_listen:
        # Published records reach this replica's index live, and a catch-up finds any missed.
        catalogue = app.state.catalogue
        follower = start_follower(settings, catalogue.ctx, catalogue.index)
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level, proxy_headers=True)
    finally:
        if follower is not None:
            follower.stop()
