"""`sohoa serve`: run the read-only catalogue (web page and API) with uvicorn; holds no logic."""

from __future__ import annotations

import sys

import click

from config.settings import SohoaSettings
from pipeline.cli_common import settings_of
from pipeline.errors import SohoaError


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
    import uvicorn

    from pipeline.api.app import create_app

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
        from pipeline.services.notify import start_follower

        catalogue = app.state.catalogue
        follower = start_follower(settings, catalogue.ctx, catalogue.index)
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level, proxy_headers=True)
    finally:
        if follower is not None:
            follower.stop()


if __name__ == "__main__":
    serve()
