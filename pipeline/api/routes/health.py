"""The health route: whether the index and the bucket answer; it changes nothing."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from pipeline.api.dependency import CatalogueDep
from pipeline.api.models import Health
from pipeline.errors import SohoaError

router = APIRouter()


@router.get(
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
