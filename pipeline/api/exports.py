"""The catalogue's export routes (LIDO XML per object); read-only, never a master or location.

Included by the app *before* its catch-all `/api/objects/{identifier:path}` route, which would
otherwise take `/api/objects/{id}/lido.xml` for an object named `{id}/lido.xml`.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import Response

from pipeline.api.dependency import get_base_url, get_catalogue
from pipeline.api.errors import error_response
from pipeline.core.lido import LIDO_MEDIA_TYPE
from pipeline.services.export import to_lido_xml

router = APIRouter()

NOT_FOUND: Final[dict[int | str, dict[str, Any]]] = {
    404: {"description": "Unknown object: {'error': {'code', 'message'}}"},
}


@router.get(
    "/api/objects/{identifier:path}/lido.xml",
    responses={200: {"content": {"application/xml": {}}}, **NOT_FOUND},
    tags=["exports"],
    response_class=Response,
)
def get_lido(identifier: str, request: Request) -> Response:
    """The artefact's LIDO 1.0 record (by accession number or id): identification, classification,
    materials, dates, repository, rights and the public images; never its current location."""
    catalogue = get_catalogue(request)
    record = catalogue.find(identifier)
    if record is None:
        message = f"No object has the accession number or id {identifier!r}."
        return error_response(404, "NOT_FOUND", message)
    body = to_lido_xml(catalogue.ctx.settings, record, api_url=get_base_url(request))
    return Response(
        body, media_type=LIDO_MEDIA_TYPE, headers={"Cache-Control": "public, max-age=60"}
    )
