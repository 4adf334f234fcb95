"""The OAI-PMH route (GET and POST /oai): parse the request, answer with api.oai; never writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from pipeline.api import oai
from pipeline.api.dependency import BaseUrl, CatalogueDep, get_options
from pipeline.api.link import manifest_url, object_url
from pipeline.services.reader import CatalogueReader

XML_MEDIA_TYPE: Final = "text/xml; charset=utf-8"
_EARLIEST_SECONDS: Final = 60


@dataclass
class EarliestDatestamp:
    """OAI-PMH's earliestDatestamp, read again at most once a minute.

    A lower bound is what the protocol asks for; only a record written in the last minute
    with an older time stamp than every other (a restore) could be below it, briefly.
    """

    _found: tuple[float, datetime] | None = None

    def read(self, catalogue: CatalogueReader) -> datetime:
        now = catalogue.clock()
        if self._found is None or now - self._found[0] > _EARLIEST_SECONDS:
            self._found = (now, oai.earliest_datestamp(catalogue.index))
        return self._found[1]


def make_router() -> APIRouter:
    """The /oai routes of one app, with that app's own earliestDatestamp."""
    router = APIRouter()
    earliest = EarliestDatestamp()

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
        options = get_options(request)
        repo = oai.OaiRepository(
            index=catalogue.index,
            read_record=catalogue.read,
            base_url=f"{base}/oai",
            object_url=lambda slug: object_url(base, slug),
            manifest_url=lambda slug: manifest_url(base, slug),
            repository_name=options.oai_repository_name,
            admin_email=options.oai_admin_email,
            page_size=options.oai_page_size,
            earliest=lambda: earliest.read(catalogue),
        )
        body = await run_in_threadpool(oai.respond, repo, args, now=datetime.now(UTC))
        return Response(body, media_type=XML_MEDIA_TYPE)

    # The protocol wants GET and POST (a form) alike; one operation each in the OpenAPI document.
    for method in ("GET", "POST"):
        router.add_api_route(
            "/oai",
            serve_oai,
            methods=[method],
            operation_id=f"oai_{method.lower()}",
            response_class=Response,
            responses={200: {"content": {"text/xml": {}}}},
            tags=["oai-pmh"],
        )
    return router
