"""The API's response models, as the OpenAPI document names them; no routes, no I/O."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pipeline.core.catalogue import FacetCount, SearchHit, SortOrder


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
    facet_sizes: dict[str, int] = {}
    partial: bool = Field(
        default=False, description="No object matched every word: these are the best partial ones"
    )
    did_you_mean: str | None = Field(
        default=None, description="The query with misspelt words corrected, when that was used"
    )
    message: str | None = Field(default=None, description="Why the query found nothing")


class FacetsPage(BaseModel):
    """The facet counts of a search (of everything, without filters)."""

    total: int
    facets: dict[str, list[FacetCount]]
    facet_sizes: dict[str, int] = Field(
        default={}, description="How many values each facet has (after `contains`)"
    )


class Health(BaseModel):
    status: str
    index: dict[str, Any]
    bucket: dict[str, Any]
