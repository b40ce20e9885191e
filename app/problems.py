"""One error model: every error leaves the API as RFC 9457 application/problem+json.

Hierarchy (each domain's errors.py holds its own subclasses):

    TollgateError
    ├── NotFound (404)             contracts: ContractNotFound, VersionNotFound; auth: KeyNotFound
    ├── InvalidInput (422)         contracts: InvalidContract, InvalidVersion
    ├── Conflict (409)             contracts: IncompatibleChange, VersionConflict
    ├── PayloadTooLarge (413)
    ├── UnsupportedMediaType (415)
    ├── Unauthenticated (401)
    └── Forbidden (403)
"""

from __future__ import annotations

import logging
import uuid
from http import HTTPStatus
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

log = logging.getLogger("tollgate")

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://tollgate.dev/problems/"


PROBLEM_SCHEMA = {
    "title": "Problem",
    "description": "RFC 9457 problem details; extra members depend on the type.",
    "type": "object",
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
    },
    "required": ["type", "title", "status", "detail"],
}


class TollgateError(Exception):
    """A domain error with a status, a stable type slug and a human detail."""

    status: ClassVar[int] = 500
    type: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions

    @classmethod
    def openapi_response(cls) -> dict[str, Any]:
        """The `responses=` entry that documents this problem in /docs."""
        return {
            "description": f"{cls.title} ({TYPE_BASE}{cls.type})",
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }


class NotFound(TollgateError):
    status = 404
    type = "not-found"
    title = "Not found"


class InvalidInput(TollgateError):
    status = 422
    type = "invalid-input"
    title = "Invalid input"


class Conflict(TollgateError):
    status = 409
    type = "conflict"
    title = "Conflict"


class PayloadTooLarge(TollgateError):
    status = 413
    type = "payload-too-large"
    title = "Payload too large"


class UnsupportedMediaType(TollgateError):
    status = 415
    type = "unsupported-media-type"
    title = "Unsupported media type"


class Unauthenticated(TollgateError):
    status = 401
    type = "unauthenticated"
    title = "Unauthenticated"


class Forbidden(TollgateError):
    status = 403
    type = "forbidden"
    title = "Forbidden"


def responses(*errors: type[TollgateError]) -> dict[int | str, dict[str, Any]]:
    """Build a route's `responses=` from the problem classes it may raise (problems sharing a
    status are listed together in its description)."""
    out: dict[int | str, dict[str, Any]] = {}
    for e in errors:
        entry = e.openapi_response()
        if e.status in out:
            entry["description"] = f"{out[e.status]['description']}; {entry['description']}"
        out[e.status] = entry
    return out


def problem(
    request: Request,
    status: int,
    *,
    type_: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    instance: str | None = None,
    **extensions: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + type_,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance or request.url.path,
        **extensions,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


async def _tollgate_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TollgateError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return problem(
        request,
        exc.status,
        type_=exc.type,
        title=exc.title,
        detail=exc.detail,
        headers=headers,
        **exc.extensions,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": _loc(tuple(e.get("loc", ()))), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    detail = "; ".join(f"{e['loc']}: {e['msg']}" for e in errors) or "invalid request"
    return problem(
        request, 422, type_="invalid-request", title="Invalid request", detail=detail, errors=errors
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    detail = exc.detail if isinstance(exc.detail, str) else phrase
    if status == 404 and detail == "Not Found":
        detail = f"no route matches {request.method} {request.url.path}"
    elif status == 405:
        detail = f"method {request.method} is not allowed on {request.url.path}"
    return problem(
        request,
        status,
        type_=phrase.lower().replace(" ", "-"),
        title=phrase,
        detail=detail,
        headers=dict(exc.headers) if exc.headers else None,
    )


async def _integrity_error(request: Request, exc: Exception) -> JSONResponse:
    log.info("integrity error on %s: %s", request.url.path, exc)
    return problem(
        request,
        409,
        type_="conflict",
        title="Conflict",
        detail="the request conflicts with a concurrent change; retry it",
    )


async def _data_error(request: Request, exc: Exception) -> JSONResponse:
    log.info("data error on %s: %s", request.url.path, exc)
    return problem(
        request,
        422,
        type_="invalid-input",
        title="Invalid input",
        detail="a value does not fit its database column",
    )


async def _client_gone(request: Request, _exc: Exception) -> JSONResponse:
    # Nobody is listening; the upload's partial spool file is already gone (batches.uploads).
    log.info("client disconnected during %s %s", request.method, request.url.path)
    return problem(
        request,
        400,
        type_="client-disconnected",
        title="Client disconnected",
        detail="the client closed the connection before the request body was complete",
    )


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    incident = str(uuid.uuid4())
    log.error(
        "unhandled error %s on %s %s", incident, request.method, request.url.path, exc_info=exc
    )
    return problem(
        request,
        500,
        type_="internal-error",
        title="Internal error",
        detail=f"an unexpected error occurred; quote incident {incident}",
        instance=f"urn:uuid:{incident}",
    )


def install(app: FastAPI) -> None:
    """Register every exception handler once."""
    app.add_exception_handler(TollgateError, _tollgate_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(ClientDisconnect, _client_gone)
    app.add_exception_handler(Exception, _unhandled)
