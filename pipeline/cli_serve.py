"""`sohoa serve`: run the read-only catalogue API with uvicorn; parses options, holds no logic."""

from __future__ import annotations

import sys

import click

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
    """Serve the catalogue over HTTP: search API, records, IIIF manifests, OAI-PMH (read-only).

    Reads the catalogue index (build it with `sohoa reindex`) and the bucket. OpenAPI docs
    at /docs; OAI-PMH at /oai; health at /healthz.
    """
    import uvicorn

    from pipeline.api.app import create_app

    settings = settings_of(ctx)
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
    click.echo(f"Serving {count} objects on http://{host}:{port} (docs at /docs, OAI at /oai)")
    uvicorn.run(app, host=host, port=port, log_level=log_level, proxy_headers=True)


if __name__ == "__main__":
    serve()
