"""How the API answers a failure: one JSON shape, one status per error class; never a traceback."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from pipeline.api.models import ErrorResponse
from pipeline.errors import ConfigurationError, RetryableError, SohoaError

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS: Final = "5"
# The failures a catalogue route may answer, for the OpenAPI document.
ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    404: {"model": ErrorResponse, "description": "Unknown object"},
    422: {"model": ErrorResponse, "description": "Invalid parameters"},
    503: {"model": ErrorResponse, "description": "Index or storage unavailable; retry"},
}


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


def describe_invalid(errors: list[Any]) -> str:
    parts = []
    for error in errors[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("query", "path", "body"))
        parts.append(f"{where or 'request'}: {error.get('msg', 'invalid')}")
    return "Invalid parameters: " + "; ".join(parts)


# Renders a failure as a page for a browser on the web pages: (request, status, code, message)
# -> a response, or None to answer JSON. The web routes set it (app.state.page_error).
PageError = Callable[[Request, int, str, str], Response | None]


def as_page(request: Request, status: int, code: str, message: str) -> Response | None:
    render: PageError | None = getattr(request.app.state, "page_error", None)
    return render(request, status, code, message) if render is not None else None


def install_error_handlers(app: FastAPI) -> None:
    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        page = as_page(request, exc.status, exc.code, exc.message)
        return page or error_response(exc.status, exc.code, exc.message)

    async def on_invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        message = describe_invalid(list(exc.errors()))
        return as_page(request, 422, "INVALID_PARAMETER", message) or error_response(
            422, "INVALID_PARAMETER", message
        )

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        codes = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}
        message = {404: "No such resource.", 405: "Method not allowed: the API is read-only."}
        if exc.status_code == 404 and (page := as_page(request, 404, "NOT_FOUND", message[404])):
            return page
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
                headers={"Retry-After": RETRY_AFTER_SECONDS},
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
