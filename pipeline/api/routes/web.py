"""The web pages: search at /, one object at /objects/{id}, their static files and viewer."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any, Final
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.staticfiles import StaticFiles

from config.settings import SohoaSettings
from pipeline.api.dependency import BaseUrl, CatalogueDep, FiltersDep, TextParam, to_query
from pipeline.api.errors import RETRY_AFTER_SECONDS
from pipeline.api.link import manifest_url, object_url, service_links
from pipeline.api.options import OPENSEADRAGON_BUILD, ApiOptions
from pipeline.api.web import render as web
from pipeline.core.catalogue import MAX_FACET_VALUES
from pipeline.core.dublin_core import has_manifest
from pipeline.core.layout import IIIF_PREFIX
from pipeline.errors import ConfigurationError, RetryableError, SohoaError

log = logging.getLogger(__name__)

WEB_DIR: Final = Path(web.__file__).parent
WEB_PAGE_SIZE: Final = 24


def wants_json(request: Request) -> bool:
    """Whether the client asked for JSON rather than a page (an Accept without text/html)."""
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def to_origin(url: str | None) -> str | None:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def content_security_policy(origins: list[str]) -> str:
    """Pages load scripts from the API only; images and info.json also from the bucket's origin.

    Metadata is escaped anyway; this is the second lock, for a value that would slip through.
    """
    extra = " ".join(dict.fromkeys(origins))
    return (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        f"img-src 'self' data: blob: {extra}; connect-src 'self' {extra}; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def add_web(app: FastAPI, settings: SohoaSettings, options: ApiOptions) -> None:
    """Mount the pages' static files and the viewer (when installed), and route the pages."""
    app.mount("/static/web", StaticFiles(directory=WEB_DIR / "static"), name="web-static")
    viewer_dir = options.vendor_dir / OPENSEADRAGON_BUILD
    has_viewer = (viewer_dir / "openseadragon.min.js").is_file()
    if has_viewer:
        app.mount("/static/vendor/openseadragon", StaticFiles(directory=viewer_dir), name="osd")
    else:
        log.warning(
            "OpenSeadragon is not installed in %s: object pages show still images; run `make npm`.",
            options.vendor_dir,
        )
    app.include_router(make_router(settings, options, has_viewer=has_viewer))
    app.state.page_error = make_page_error(options)


# Where a browser gets JSON whatever it accepts: the API, harvesters' and viewers' routes.
_MACHINE_PATHS: Final = ("/api", "/oai", "/iiif", "/openapi.json", "/metrics", "/healthz")


def is_page_request(request: Request) -> bool:
    """A web page's URL, or any other page a browser asked for outside the machine routes."""
    path = request.url.path
    if wants_json(request) or path.startswith(_MACHINE_PATHS):
        return False
    return (
        path == "/"
        or path.startswith("/objects/")
        or ("text/html" in request.headers.get("accept", ""))
    )


def make_page_error(options: ApiOptions) -> Any:
    """How a page's failure (a bad parameter, an unknown path) is shown: a page, not JSON."""
    headers = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}
    titles = {
        404: ("Không tìm thấy", "Not found"),
        422: ("Tham số không hợp lệ", "Invalid parameters"),
    }

    def render(request: Request, status: int, code: str, message: str) -> Response | None:
        if not is_page_request(request):
            return None
        base = (options.public_url or str(request.base_url)).rstrip("/")
        links = web.PageLinks(base=base, viewer_script=None, viewer_images=None)
        title_vi, title_en = titles.get(status, ("Lỗi", "Error"))
        text = {
            404: "Không có trang này. / There is no such page.",
            422: "Địa chỉ tìm kiếm có tham số sai; hãy tìm lại từ trang chủ. / " + message,
        }.get(status, message)
        body = web.render_message(title_vi, title_en, text, links)
        return HTMLResponse(body, status_code=status, headers=headers)

    return render


def make_router(settings: SohoaSettings, options: ApiOptions, *, has_viewer: bool) -> APIRouter:
    """The page routes, with the headers and links of this installation."""
    router = APIRouter()
    public_base = settings.public_base_url.rstrip("/")
    origins = [
        o
        for o in (
            to_origin(public_base),
            to_origin(options.presign_endpoint_url or settings.s3_endpoint_url),
        )
        if o
    ]
    headers = {
        "Content-Security-Policy": content_security_policy(origins),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }

    def links_for(base: str) -> web.PageLinks:
        vendor = f"{base}/static/vendor/openseadragon"
        return web.PageLinks(
            base=base,
            viewer_script=f"{vendor}/openseadragon.min.js" if has_viewer else None,
            viewer_images=f"{vendor}/images/" if has_viewer else None,
        )

    def page(body: str, status: int = 200) -> HTMLResponse:
        return HTMLResponse(body, status_code=status, headers=headers)

    def unavailable(base: str, exc: SohoaError) -> HTMLResponse:
        log.error("web page: %s: %s", exc.code, exc.message)
        text = (
            "Danh mục tạm thời không truy cập được; vui lòng thử lại sau. "
            "/ The catalogue is unavailable just now; try again shortly."
        )
        response = page(web.render_message("Tạm ngưng", "Unavailable", text, links_for(base)), 503)
        response.headers["Retry-After"] = RETRY_AFTER_SECONDS
        return response

    def info_json_url(view: Any, bucket: str) -> str | None:
        iiif = view.iiif
        if iiif is None or iiif.bucket != bucket:
            return None
        if not iiif.base_key.startswith(IIIF_PREFIX) or ".." in iiif.base_key:
            return None
        return f"{public_base}/{iiif.base_key}/info.json"

    @router.get("/", include_in_schema=False, response_model=None)
    def search_page(
        request: Request,
        catalogue: CatalogueDep,
        base: BaseUrl,
        filters: FiltersDep,
        q: TextParam = "",
        page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
        more: Annotated[str | None, Query(max_length=40)] = None,
        fq: Annotated[str, Query(max_length=200)] = "",
    ) -> Response:
        """The catalogue's home page: search box, facets, a grid of thumbnails, pages.

        `more` (a facet's parameter) lists every value of that facet, `fq` only those containing
        a text: how a visitor reaches a value beyond the first ones shown."""
        if wants_json(request):
            return JSONResponse(service_links(base))
        expanded = web.facet_of_param(more)
        query = to_query(
            q,
            filters,
            page=page_number,
            page_size=WEB_PAGE_SIZE,
            facet_limit=MAX_FACET_VALUES,
            facet_contains={expanded: fq} if expanded and fq else {},
        )
        try:
            result = catalogue.index.search(query)
        except (RetryableError, ConfigurationError) as exc:
            return unavailable(base, exc)
        thumbnails = {hit.object: catalogue.sign_url(hit.thumbnail) for hit in result.hits}
        state = web.SearchPage(
            text=q,
            filters=filters,
            result=result,
            thumbnails=thumbnails,
            more=expanded,
            facet_text=fq if expanded else "",
        )
        return page(web.render_search(state, links_for(base)))

    @router.get("/objects/{identifier:path}", include_in_schema=False, response_model=None)
    def object_page(identifier: str, catalogue: CatalogueDep, base: BaseUrl) -> Response:
        """One artefact: its inventory data in vi and en, and its scans in a deep-zoom viewer."""
        links = links_for(base)
        try:
            record = catalogue.find(identifier)
        except (RetryableError, ConfigurationError) as exc:
            return unavailable(base, exc)
        if record is None:
            text = f"Không có hiện vật nào mang số hiệu {identifier!r}. / No object has that id."
            return page(web.render_message("Không tìm thấy", "Not found", text, links), 404)
        bucket = catalogue.ctx.store.bucket
        images = [
            web.ViewImages(
                thumb=catalogue.sign_url(_derivative_key(view, "thumb")),
                preview=catalogue.sign_url(_derivative_key(view, "preview")),
                info_json=info_json_url(view, bucket),
            )
            for view in record.views
        ]
        body = web.render_object(
            record,
            images,
            links,
            manifest_url=manifest_url(base, record.object) if has_manifest(record) else None,
            api_url=object_url(base, record.object),
        )
        return page(body)

    return router


def _derivative_key(view: Any, name: str) -> str | None:
    derivative = view.derivatives.get(name)
    return derivative.key if derivative is not None else None
