"""What a route takes from its request: the reader, the base URL, search parameters; no routes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from pipeline.api.options import ApiOptions
from pipeline.core.catalogue import SearchQuery
from pipeline.services.reader import CatalogueReader


def get_catalogue(request: Request) -> CatalogueReader:
    catalogue: CatalogueReader = request.app.state.catalogue
    return catalogue


def get_options(request: Request) -> ApiOptions:
    options: ApiOptions = request.app.state.options
    return options


def get_base_url(request: Request) -> str:
    return (get_options(request).public_url or str(request.base_url)).rstrip("/")


CatalogueDep = Annotated[CatalogueReader, Depends(get_catalogue)]
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
ColourParam = Annotated[
    list[Literal["0", "1", "2", "3", "4", "none"]] | None,
    Query(
        alias="colour_level",
        description="Colour level facet: the stars its capture sessions' charts proved (the "
        "lowest of the views), 'none' without a chart; repeatable (OR).",
    ),
]
TagParam = Annotated[list[str] | None, Query(description="Tag facet, by slug; repeatable (OR).")]


def to_filters(
    material: MaterialParam = None,
    period: PeriodParam = None,
    object_type: TypeParam = None,
    qc: QcParam = None,
    colour_level: ColourParam = None,
    tag: TagParam = None,
) -> dict[str, list[str]]:
    """The facet filters of a request (a dependency: the routes declare them once, here)."""
    chosen: dict[str, list[str] | None] = {
        "material": material,
        "period": period,
        "object_type": object_type,
        "qc_verdict": [str(v) for v in qc] if qc else None,
        "colour_level": [str(v) for v in colour_level] if colour_level else None,
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
