"""`sohoa serve`: run the read-only catalogue API with uvicorn; parses options, holds no logic."""

from __future__ import annotations

import sys

import click

from config.settings import SohoaSettings, load_settings
from pipeline.errors import SohoaError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def _settings(ctx: click.Context) -> SohoaSettings:
    # Under `sohoa`, the group read the settings once; run alone (python -m), read them here.
    if ctx.obj and "settings" in ctx.obj:
        settings: SohoaSettings = ctx.obj["settings"]
        return settings
    return load_settings()


@click.command("serve")
@click.option("--host", default=None, help=f"Address to listen on [default: {DEFAULT_HOST}].")
@click.option(
    "--port", type=int, default=None, help=f"Port to listen on [default: {DEFAULT_PORT}]."
)
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

    settings = _settings(ctx)
    host = str(host or getattr(settings, "api_host", DEFAULT_HOST))
    port = int(port if port is not None else getattr(settings, "api_port", DEFAULT_PORT))
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
