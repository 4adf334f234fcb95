"""/docs: Swagger UI over the OpenAPI document, its assets served by Sohoa (no CDN)."""

from __future__ import annotations

import logging
from typing import Final

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from pipeline.api.options import ApiOptions

log = logging.getLogger(__name__)

# `make npm` installs it beside OpenSeadragon (package.json pins the version).
SWAGGER_UI_DIR: Final = "swagger-ui-dist"
_ASSETS: Final = "/static/vendor/swagger-ui"


def add_docs(app: FastAPI, options: ApiOptions) -> None:
    """Serve /docs from the installed Swagger UI; without it, a page that says how to install it
    and links the OpenAPI document (a blank page helps nobody offline)."""
    assets = options.vendor_dir / SWAGGER_UI_DIR
    installed = (assets / "swagger-ui-bundle.js").is_file()
    if installed:
        app.mount(_ASSETS, StaticFiles(directory=assets), name="swagger-ui")
    else:
        log.warning("Swagger UI is not installed in %s: /docs lists the API only; run `make npm`.",
                    options.vendor_dir)  # fmt: skip

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        if not installed:
            return HTMLResponse(
                '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
                "<title>Sohoa catalogue API</title></head><body><h1>Sohoa catalogue API</h1>"
                "<p>The interactive documentation (Swagger UI) is not installed here: run "
                "<code>make npm</code> and restart <code>sohoa serve</code>.</p>"
                f'<p>The API is described by <a href="{root}/openapi.json">openapi.json</a>.</p>'
                "</body></html>"
            )
        return get_swagger_ui_html(
            openapi_url=f"{root}/openapi.json",
            title=f"{app.title} – API",
            swagger_js_url=f"{root}{_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{_ASSETS}/favicon-32x32.png",
        )
