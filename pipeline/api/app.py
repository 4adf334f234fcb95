"""The catalogue's read-only HTTP API (FastAPI); never writes, never signs or shows a master."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Final, Literal
from urllib.parse import parse_qs, urlsplit

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles

from config.profile import load_profile
from config.settings import SohoaSettings
from pipeline import __version__
from pipeline.adapters.s3_store import S3Store, make_client, make_presigning_client
from pipeline.adapters.sqlite_index import SqliteIndex
from pipeline.api import exports, oai
from pipeline.api.web import render as web
from pipeline.core.catalogue import (
    MAX_FACET_VALUES,
    MAX_PAGE_SIZE,
    CatalogueIndex,
    FacetCount,
    SearchHit,
    SearchQuery,
    SortOrder,
)
from pipeline.core.dublin_core import has_manifest
from pipeline.core.layout import IIIF_PREFIX, MASTERS_PREFIX, SIGNABLE_PREFIXES, manifest_key
from pipeline.core.naming import to_object_slug
from pipeline.core.records import ArtefactRecord
from pipeline.errors import ConfigurationError, RetryableError, SohoaError
from pipeline.metrics import api_metrics_app
from pipeline.services.context import Context
from pipeline.services.publish import MANIFEST_MEDIA_TYPE, read_record

log = logging.getLogger(__name__)

DEFAULT_PRESIGN_SECONDS: Final = 300
XML_MEDIA_TYPE: Final = "text/xml; charset=utf-8"
_RETRY_AFTER_SECONDS: Final = "5"
_EARLIEST_SECONDS: Final = 60
_MAX_SIGNED: Final = 50_000  # signed URLs kept for reuse (~20 MB at most)
WEB_DIR: Final = Path(web.__file__).parent
# `make npm` installs OpenSeadragon here (package.json at the repository's root); not committed.
DEFAULT_VENDOR_DIR: Final = Path(__file__).resolve().parents[2] / "node_modules"
OPENSEADRAGON_BUILD: Final = Path("openseadragon/build/openseadragon")
WEB_PAGE_SIZE: Final = 24


# --- options --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiOptions:
    """How the API presents itself; from settings, or given directly (tests, embedding)."""

    public_url: str | None = None  # where clients reach the API; None: as each request says
    presign_seconds: int = DEFAULT_PRESIGN_SECONDS
    presign_endpoint_url: str | None = None  # S3 endpoint clients reach; None: s3_endpoint_url
    cors_origins: tuple[str, ...] = ("*",)
    oai_page_size: int = oai.DEFAULT_PAGE_SIZE
    oai_repository_name: str = "Sohoa catalogue"
    oai_admin_email: str = "catalogue@sohoa.invalid"
    vendor_dir: Path = DEFAULT_VENDOR_DIR  # node_modules with OpenSeadragon; missing: no viewer

    @classmethod
    def from_settings(cls, settings: SohoaSettings) -> ApiOptions:
        return cls(
            public_url=settings.api_public_url,
            presign_seconds=settings.api_presign_seconds,
            presign_endpoint_url=settings.api_presign_endpoint_url,
            cors_origins=tuple(settings.api_cors_origins),
            oai_page_size=settings.oai_page_size,
            oai_repository_name=settings.oai_repository_name,
            oai_admin_email=settings.oai_admin_email,
        )


# --- what the routes call -------------------------------------------------------------------------


def is_signable(key: str) -> bool:
    """A key the public may fetch through a signed URL: a derivative, never a master."""
    return key.startswith(SIGNABLE_PREFIXES) and ".." not in key and MASTERS_PREFIX not in key


@dataclass
class Catalogue:
    """The API's view of the catalogue: the index to find, the bucket to read, a URL signer.

    Its store is scoped to the public bucket (masters_bucket is set to it too), so nothing here
    reaches a separate masters bucket; masters in the same bucket are kept out by
    SIGNABLE_PREFIXES.
    """

    ctx: Context
    index: CatalogueIndex
    signer: Any  # a boto3 S3 client, used only to sign GET URLs (no request is sent)
    presign_seconds: int
    closers: list[Callable[[], None]] = field(default_factory=list)
    clock: Callable[[], float] = time.time
    _signed: dict[str, tuple[int, str]] = field(default_factory=dict)
    _earliest: tuple[float, datetime] | None = None

    def sign_url(self, key: str | None, *, bucket: str | None = None) -> str | None:
        """A GET URL for a derivative, valid for at least 4/5 of presign_seconds; None for
        anything else.

        One URL per key is reused for a fifth of the expiry: a browser then caches a thumbnail
        across page views (a new signature is a new URL to it), and a page of 100 hits does not
        spend 20 ms signing (botocore takes ~0.2 ms a URL).
        """
        if not key or not is_signable(key) or (bucket and bucket != self.ctx.store.bucket):
            return None
        window = int(self.clock()) // max(1, self.presign_seconds // 5)
        cached = self._signed.get(key)
        if cached is not None and cached[0] == window:
            return cached[1]
        url: str = self.signer.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.ctx.store.bucket, "Key": key},
            ExpiresIn=self.presign_seconds,
        )
        if len(self._signed) >= _MAX_SIGNED:
            self._signed.clear()  # simpler than an LRU, and as good when windows roll over
        self._signed[key] = (window, url)
        return url

    def resolve(self, identifier: str) -> str | None:
        """The object slug of an accession number or slug; None when nothing can match."""
        hit = self.index.find_accession(identifier)
        if hit is not None:
            return hit.object
        try:
            # Not in the index (yet): the bucket decides. The slug is key-safe by construction.
            return to_object_slug(identifier)
        except ValueError:
            return None

    def earliest_datestamp(self) -> datetime:
        """OAI-PMH's earliestDatestamp, read again at most once a minute.

        A lower bound is what the protocol asks for; only a record written in the last minute
        with an older time stamp than every other (a restore) could be below it, briefly.
        """
        now = self.clock()
        if self._earliest is None or now - self._earliest[0] > _EARLIEST_SECONDS:
            self._earliest = (now, oai.earliest_datestamp(self.index))
        return self._earliest[1]

    def read(self, object_slug: str) -> ArtefactRecord | None:
        return read_record(self.ctx, object_slug)

    def read_manifest(self, object_slug: str) -> bytes | None:
        found = self.ctx.store.get_bytes(manifest_key(object_slug))
        return found[0] if found else None

    def close(self) -> None:
        for close in self.closers:
            close()


def open_catalogue(settings: SohoaSettings, options: ApiOptions) -> Catalogue:
    store = S3Store(make_client(settings), bucket=settings.bucket, masters_bucket=settings.bucket)
    ctx = Context(settings=settings, profile=load_profile(settings.profile_path), store=store)
    # A signature covers the host: sign for the endpoint that clients will actually reach.
    endpoint = options.presign_endpoint_url or settings.s3_endpoint_url
    signer = make_presigning_client(settings.model_copy(update={"s3_endpoint_url": endpoint}))
    index = SqliteIndex(settings.catalogue_index_path)
    return Catalogue(ctx, index, signer, options.presign_seconds, closers=[index.close])


def to_public_record(
    record: ArtefactRecord, catalogue: Catalogue, links: dict[str, str]
) -> dict[str, Any]:
    """The record as the public sees it: each master reduced to its fixity (no bucket, no key),
    no storage location, each derivative with a short-lived URL, and links to the object's
    other representations."""
    data = record.model_dump(mode="json")
    # Where the object is stored (store room, shelf) is for staff, never for the public.
    if data.get("inventory"):
        data["inventory"].pop("current_location", None)
    for view in data["views"]:
        master = view.pop("master")
        view["master"] = {k: master[k] for k in ("sha256", "size", "media_type")}
        for derivative in view["derivatives"].values():
            derivative["url"] = catalogue.sign_url(derivative["key"], bucket=derivative["bucket"])
    data["links"] = links
    return data


# --- response models (for the OpenAPI document) ---------------------------------------------------


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    """Every failure: a stable code and a sentence; never a stack trace."""

    error: ErrorBody


class ApiHit(SearchHit):
    """A search hit with URLs: the object's record, and its thumbnail signed for a few minutes."""

    url: str
    thumbnail_url: str | None = None


class ObjectsPage(BaseModel):
    """One page of results (as SearchResult), each hit with its URLs."""

    model_config = ConfigDict(extra="forbid")

    total: int
    page: int
    page_size: int
    sort: SortOrder
    pages: int
    hits: list[ApiHit]
    facets: dict[str, list[FacetCount]]


class FacetsPage(BaseModel):
    """The facet counts of a search (of everything, without filters)."""

    total: int
    facets: dict[str, list[FacetCount]]


class Health(BaseModel):
    status: str
    index: dict[str, Any]
    bucket: dict[str, Any]


ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    404: {"model": ErrorResponse, "description": "Unknown object"},
    422: {"model": ErrorResponse, "description": "Invalid parameters"},
    503: {"model": ErrorResponse, "description": "Index or storage unavailable; retry"},
}


# --- errors ---------------------------------------------------------------------------------------


class ApiError(Exception):
    """An answer that is not a success: HTTP status, stable code, a sentence for the client."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"error": {"code": code, "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)


def _describe_invalid(errors: list[Any]) -> str:
    parts = []
    for error in errors[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("query", "path", "body"))
        parts.append(f"{where or 'request'}: {error.get('msg', 'invalid')}")
    return "Invalid parameters: " + "; ".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    async def on_api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(exc.status, exc.code, exc.message)

    async def on_invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(422, "INVALID_PARAMETER", _describe_invalid(list(exc.errors())))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        codes = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}
        message = {404: "No such resource.", 405: "Method not allowed: the API is read-only."}
        return error_response(
            exc.status_code,
            codes.get(exc.status_code, f"HTTP_{exc.status_code}"),
            message.get(exc.status_code, str(exc.detail)),
            headers=dict(exc.headers or {}),
        )

    async def on_sohoa(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, SohoaError)
        if isinstance(exc, RetryableError | ConfigurationError):
            # The full message names buckets and settings: for the log, not for the public.
            log.error("%s %s: %s: %s", request.method, request.url.path, exc.code, exc.message)
            return error_response(
                503,
                exc.code,
                "The catalogue is unavailable just now; try again shortly.",
                headers={"Retry-After": _RETRY_AFTER_SECONDS},
            )
        return await on_unexpected(request, exc)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return error_response(500, "INTERNAL", "An unexpected error occurred; it has been logged.")

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_invalid)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(SohoaError, on_sohoa)
    app.add_exception_handler(Exception, on_unexpected)


# --- the application ------------------------------------------------------------------------------


def get_catalogue(request: Request) -> Catalogue:
    catalogue: Catalogue = request.app.state.catalogue
    return catalogue


def get_base_url(request: Request) -> str:
    options: ApiOptions = request.app.state.options
    return (options.public_url or str(request.base_url)).rstrip("/")


CatalogueDep = Annotated[Catalogue, Depends(get_catalogue)]
BaseUrl = Annotated[str, Depends(get_base_url)]
TextParam = Annotated[
    str, Query(max_length=1000, description="Free text; diacritics optional ('hue' finds 'Huế').")
]
MaterialParam = Annotated[list[str] | None, Query(description="Material facet; repeatable (OR).")]
PeriodParam = Annotated[list[str] | None, Query(description="Period facet; repeatable (OR).")]
TypeParam = Annotated[
    list[str] | None, Query(alias="type", description="Object type facet; repeatable (OR).")
]
QcParam = Annotated[
    list[Literal["pass", "warn", "fail"]] | None,
    Query(description="QC verdict facet (the worst of the views); repeatable (OR)."),
]
TagParam = Annotated[list[str] | None, Query(description="Tag facet, by slug; repeatable (OR).")]


def to_filters(
    material: MaterialParam = None,
    period: PeriodParam = None,
    object_type: TypeParam = None,
    qc: QcParam = None,
    tag: TagParam = None,
) -> dict[str, list[str]]:
    """The facet filters of a request (a dependency: the routes declare them once, here)."""
    chosen: dict[str, list[str] | None] = {
        "material": material,
        "period": period,
        "object_type": object_type,
        "qc_verdict": [str(v) for v in qc] if qc else None,
        "tag": tag,
    }
    return {name: values for name, values in chosen.items() if values}


FiltersDep = Annotated[dict[str, list[str]], Depends(to_filters)]


def to_query(text: str, filters: dict[str, list[str]], **options: Any) -> SearchQuery:
    """The index's query from request parameters; what the parameters let through but the
    query refuses is the client's mistake (422), unlike a stored record that fails (500)."""
    try:
        return SearchQuery(text=text, filters=filters, **options)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None


def object_url(base: str, object_slug: str) -> str:
    return f"{base}/api/objects/{object_slug}"


def manifest_url(base: str, object_slug: str) -> str:
    return f"{base}/iiif/{object_slug}/manifest.json"


def service_links(base: str) -> dict[str, Any]:
    return {
        "service": "Sohoa catalogue",
        "version": __version__,
        "links": {
            "web": f"{base}/",
            "docs": f"{base}/docs",
            "objects": f"{base}/api/objects",
            "facets": f"{base}/api/facets",
            "oai": f"{base}/oai?verb=Identify",
            "health": f"{base}/healthz",
        },
    }


def create_app(settings: SohoaSettings, *, options: ApiOptions | None = None) -> FastAPI:
    """The API over the index at settings.catalogue_index_path and the bucket settings.bucket."""
    options = options or ApiOptions.from_settings(settings)
    catalogue = open_catalogue(settings, options)

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
    )
    app.state.catalogue = catalogue
    app.state.options = options
    install_error_handlers(app)
    # Viewers and web pages on other origins read the catalogue; nothing here takes a cookie.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(options.cors_origins),
        allow_methods=["GET"],
        allow_headers=[],
        allow_credentials=False,
    )
    # Before the catch-all /api/objects/{identifier:path}, which would take /…/lido.xml.
    app.include_router(exports.router)
    _add_routes(app)
    _add_web(app, settings, options, catalogue)
    app.mount("/metrics", api_metrics_app(settings))
    return app


def _add_routes(app: FastAPI) -> None:
    @app.get("/api", include_in_schema=False)
    def api_links(base: BaseUrl) -> dict[str, Any]:
        return service_links(base)

    @app.get("/api/objects", response_model=ObjectsPage, responses=ERRORS, tags=["catalogue"])
    def search_objects(
        catalogue: CatalogueDep,
        base: BaseUrl,
        filters: FiltersDep,
        q: TextParam = "",
        sort: Annotated[SortOrder, Query(description="relevance, accession or name")] = "relevance",
        page: Annotated[int, Query(ge=1, le=100_000)] = 1,
        page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
    ) -> ObjectsPage:
        """Search the catalogue: free text, facet filters, order and page."""
        query = to_query(
            q,
            filters,
            sort=sort,
            page=page,
            page_size=page_size,
        )
        result = catalogue.index.search(query)
        hits = [
            ApiHit(
                **hit.model_dump(),
                url=object_url(base, hit.object),
                thumbnail_url=catalogue.sign_url(hit.thumbnail),
            )
            for hit in result.hits
        ]
        return ObjectsPage(**{**dict(result), "hits": hits})

    @app.get("/api/facets", response_model=FacetsPage, responses=ERRORS, tags=["catalogue"])
    def list_facets(
        catalogue: CatalogueDep,
        filters: FiltersDep,
        q: TextParam = "",
        limit: Annotated[int, Query(ge=1, le=MAX_FACET_VALUES)] = 50,
    ) -> FacetsPage:
        """Facet values and counts (of everything, or of a search), most frequent first."""
        query = to_query(q, filters, page_size=1, facet_limit=limit)
        result = catalogue.index.search(query)
        return FacetsPage(total=result.total, facets=result.facets)

    @app.get("/api/objects/{identifier:path}", responses=ERRORS, tags=["catalogue"])
    def get_object(identifier: str, catalogue: CatalogueDep, base: BaseUrl) -> dict[str, Any]:
        """One artefact's record, by accession number ('HM.1998.45/PL') or slug."""
        slug = catalogue.resolve(identifier)
        record = catalogue.read(slug) if slug else None
        if record is None:
            raise ApiError(
                404, "NOT_FOUND", f"No object has the accession number or id {identifier!r}."
            )
        links = {
            "self": object_url(base, record.object),
            "oai": f"{base}/oai?verb=GetRecord&metadataPrefix=oai_dc"
            f"&identifier={oai.to_oai_identifier(record.object)}",
        }
        if has_manifest(record):
            links["manifest"] = manifest_url(base, record.object)
        return to_public_record(record, catalogue, links)

    @app.get(
        "/iiif/{identifier}/manifest.json",
        responses={200: {"content": {"application/ld+json": {}}}, **ERRORS},
        tags=["iiif"],
    )
    def get_manifest(identifier: str, catalogue: CatalogueDep) -> Response:
        """The artefact's IIIF Presentation 3 manifest, served from the bucket (CORS included)."""
        slug = catalogue.resolve(identifier)
        body = catalogue.read_manifest(slug) if slug else None
        if body is None:
            raise ApiError(404, "NOT_FOUND", f"No IIIF manifest for {identifier!r}.")
        return Response(
            body, media_type=MANIFEST_MEDIA_TYPE, headers={"Cache-Control": "public, max-age=60"}
        )

    @app.get(
        "/healthz", response_model=Health, tags=["operations"], responses={503: {"model": Health}}
    )
    def check_health(catalogue: CatalogueDep) -> JSONResponse:
        """Index count and whether the bucket answers; 503 when either does not."""
        index: dict[str, Any] = {"ok": True}
        bucket: dict[str, Any] = {"ok": True, "name": catalogue.ctx.store.bucket}
        try:
            index["count"] = catalogue.index.count()
        except SohoaError as exc:
            index.update(ok=False, error=exc.code)
        try:
            catalogue.ctx.store.check_buckets()
        except SohoaError as exc:
            bucket.update(ok=False, error=exc.code)
        ok = index["ok"] and bucket["ok"]
        body = Health(status="ok" if ok else "unavailable", index=index, bucket=bucket)
        return JSONResponse(body.model_dump(), status_code=200 if ok else 503)

    async def serve_oai(request: Request, catalogue: CatalogueDep, base: BaseUrl) -> Response:
        """OAI-PMH 2.0 (metadataPrefix oai_dc): Identify, ListMetadataFormats, ListSets,
        ListIdentifiers, ListRecords, GetRecord. Sets: material:{slug}, period:{slug}."""
        args = parse_qs(request.url.query, keep_blank_values=True)
        if request.method == "POST":
            form = parse_qs(
                (await request.body()).decode("utf-8", "replace"), keep_blank_values=True
            )
            for name, values in form.items():
                args.setdefault(name, []).extend(values)
        options: ApiOptions = request.app.state.options
        repo = oai.OaiRepository(
            index=catalogue.index,
            read_record=catalogue.read,
            base_url=f"{base}/oai",
            object_url=lambda slug: object_url(base, slug),
            manifest_url=lambda slug: manifest_url(base, slug),
            repository_name=options.oai_repository_name,
            admin_email=options.oai_admin_email,
            page_size=options.oai_page_size,
            earliest=catalogue.earliest_datestamp,
        )
        body = await run_in_threadpool(oai.respond, repo, args, now=datetime.now(UTC))
        return Response(body, media_type=XML_MEDIA_TYPE)

    # The protocol wants GET and POST (a form) alike; one operation each in the OpenAPI document.
    for method in ("GET", "POST"):
        app.add_api_route(
            "/oai",
            serve_oai,
            methods=[method],
            operation_id=f"oai_{method.lower()}",
            response_class=Response,
            responses={200: {"content": {"text/xml": {}}}},
            tags=["oai-pmh"],
        )


# --- the web pages --------------------------------------------------------------------------------


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


def _add_web(
    app: FastAPI, settings: SohoaSettings, options: ApiOptions, catalogue: Catalogue
) -> None:
    """The search page at /, object pages at /objects/{id}, their static files and viewer."""
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
        response.headers["Retry-After"] = _RETRY_AFTER_SECONDS
        return response

    def info_json_url(view: Any) -> str | None:
        iiif = view.iiif
        if iiif is None or iiif.bucket != catalogue.ctx.store.bucket:
            return None
        if not iiif.base_key.startswith(IIIF_PREFIX) or ".." in iiif.base_key:
            return None
        return f"{public_base}/{iiif.base_key}/info.json"

    @app.get("/", include_in_schema=False, response_model=None)
    def search_page(
        request: Request,
        catalogue: CatalogueDep,
        base: BaseUrl,
        filters: FiltersDep,
        q: TextParam = "",
        page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
    ) -> Response:
        """The catalogue's home page: search box, facets, a grid of thumbnails, pages."""
        if wants_json(request):
            return JSONResponse(service_links(base))
        query = to_query(q, filters, page=page_number, page_size=WEB_PAGE_SIZE)
        try:
            result = catalogue.index.search(query)
        except (RetryableError, ConfigurationError) as exc:
            return unavailable(base, exc)
        thumbnails = {hit.object: catalogue.sign_url(hit.thumbnail) for hit in result.hits}
        state = web.SearchPage(text=q, filters=filters, result=result, thumbnails=thumbnails)
        return page(web.render_search(state, links_for(base)))

    @app.get("/objects/{identifier:path}", include_in_schema=False, response_model=None)
    def object_page(identifier: str, catalogue: CatalogueDep, base: BaseUrl) -> Response:
        """One artefact: its inventory data in vi and en, and its scans in a deep-zoom viewer."""
        links = links_for(base)
        try:
            slug = catalogue.resolve(identifier)
            record = catalogue.read(slug) if slug else None
        except (RetryableError, ConfigurationError) as exc:
            return unavailable(base, exc)
        if record is None:
            text = f"Không có hiện vật nào mang số hiệu {identifier!r}. / No object has that id."
            return page(web.render_message("Không tìm thấy", "Not found", text, links), 404)
        images = [
            web.ViewImages(
                thumb=catalogue.sign_url(_derivative_key(view, "thumb")),
                preview=catalogue.sign_url(_derivative_key(view, "preview")),
                info_json=info_json_url(view),
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


def _derivative_key(view: Any, name: str) -> str | None:
    derivative = view.derivatives.get(name)
    return derivative.key if derivative is not None else None
