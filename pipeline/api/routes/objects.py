"""Routes of the catalogue's objects: search, facets, one record, its IIIF manifest; read-only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from pipeline.api import oai
from pipeline.api.dependency import BaseUrl, CatalogueDep, FiltersDep, TextParam, to_query
from pipeline.api.errors import ERRORS, ApiError
from pipeline.api.link import manifest_url, object_url, service_links
from pipeline.api.models import ApiHit, FacetsPage, ObjectsPage
from pipeline.core.catalogue import FACET_NAMES, MAX_FACET_VALUES, MAX_PAGE_SIZE, SortOrder
from pipeline.core.dublin_core import has_manifest
from pipeline.services.publish import MANIFEST_MEDIA_TYPE
from pipeline.services.reader import to_public_record

router = APIRouter()


@router.get("/api", include_in_schema=False)
def api_links(base: BaseUrl) -> dict[str, Any]:
    return service_links(base)


@router.get("/api/objects", response_model=ObjectsPage, responses=ERRORS, tags=["catalogue"])
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
    query = to_query(q, filters, sort=sort, page=page, page_size=page_size)
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


@router.get("/api/facets", response_model=FacetsPage, responses=ERRORS, tags=["catalogue"])
def list_facets(
    catalogue: CatalogueDep,
    filters: FiltersDep,
    q: TextParam = "",
    limit: Annotated[int, Query(ge=1, le=MAX_FACET_VALUES)] = 50,
    facet: Annotated[
        str | None, Query(description="Only this facet (material, period, object_type, …)")
    ] = None,
    contains: Annotated[
        str,
        Query(
            max_length=200,
            description="Only the values of `facet` containing this text (diacritics optional): "
            "how to reach any value of a facet with more than `limit`.",
        ),
    ] = "",
) -> FacetsPage:
    """Facet values and counts (of everything, or of a search), most frequent first; with
    `facet` and `contains`, a search among one facet's values."""
    searched = {facet: contains} if facet and contains else {}
    query = to_query(q, filters, page_size=1, facet_limit=limit, facet_contains=searched)
    if facet is not None and facet not in FACET_NAMES:
        raise ApiError(
            422, "INVALID_PARAMETER", f"No facet named {facet!r}: the facets are {FACET_NAMES}."
        )
    result = catalogue.index.search(query)
    facets = result.facets if facet is None else {facet: result.facets.get(facet, [])}
    sizes = {name: result.facet_sizes.get(name, 0) for name in facets}
    return FacetsPage(total=result.total, facets=facets, facet_sizes=sizes)


@router.get("/api/objects/{identifier:path}", responses=ERRORS, tags=["catalogue"])
def get_object(identifier: str, catalogue: CatalogueDep, base: BaseUrl) -> dict[str, Any]:
    """One artefact's record, by accession number ('HM.1998.45/PL') or slug."""
    record = catalogue.find(identifier)
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


@router.get(
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
