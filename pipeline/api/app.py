"""Build the read-only HTTP API from settings; holds no routes and builds no adapters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.routing import Route

from config.settings import SohoaSettings
from pipeline import __version__
from pipeline.api import docs, exports
from pipeline.api.errors import install_error_handlers
from pipeline.api.head import AsgiEndpoint, HeadAsGet
from pipeline.api.options import ApiOptions
from pipeline.api.routes import health, oai, objects, web
from pipeline.metrics import api_metrics_app
from pipeline.services.reader import open_reader


def create_app(settings: SohoaSettings, *, options: ApiOptions | None = None) -> FastAPI:
    """The API over the index at settings.catalogue_index_path and the bucket settings.bucket."""
    options = options or ApiOptions.from_settings(settings)
    catalogue = open_reader(
        settings,
        presign_endpoint_url=options.presign_endpoint_url,
        presign_seconds=options.presign_seconds,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            catalogue.close()

    app = FastAPI(
        title="Sohoa catalogue",
        version=__version__,
        summary="Read-only catalogue of digitised artefacts: search, records, IIIF, OAI-PMH.",
        lifespan=lifespan,
        # /docs is served by docs.add_docs from Swagger UI installed with the page's viewer.
        docs_url=None,
        redoc_url=None,
    )
    app.state.catalogue = catalogue
    app.state.options = options
    install_error_handlers(app)
    # Viewers and web pages on other origins read the catalogue; nothing here takes a cookie.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(options.cors_origins),
        allow_methods=["GET", "HEAD"],
        allow_headers=[],
        allow_credentials=False,
    )
    # Before the catch-all /api/objects/{identifier:path}, which would take /…/lido.xml.
    app.include_router(exports.router)
    app.include_router(objects.router)
    app.include_router(health.router)
    app.include_router(oai.make_router())
    web.add_web(app, settings, options)
    docs.add_docs(app, options)
    metrics = AsgiEndpoint(api_metrics_app(settings))
    app.router.routes.append(Route("/metrics", metrics, methods=["GET"], include_in_schema=False))
    # Outermost: a HEAD is a GET to every layer inside, CORS and error pages included.
    app.add_middleware(HeadAsGet)
    return app
