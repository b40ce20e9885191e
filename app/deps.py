"""Request-scoped dependencies: settings, a database session, the calling principal."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Query, Request
from sqlalchemy.orm import Session, sessionmaker

from app.auth.errors import NotAllowed
from app.auth.service import Principal, Role
from app.config import Settings
from app.paging import DEFAULT_LIMIT, MAX_LIMIT
from app.problems import PayloadTooLarge, UnsupportedMediaType


def get_session(request: Request) -> Iterator[Session]:
    maker: sessionmaker[Session] = request.app.state.sessionmaker
    with maker() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_principal(request: Request) -> Principal:
    """The principal authenticated by app.auth.middleware before the request was routed."""
    principal: Principal = request.state.principal
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_admin(principal: PrincipalDep) -> Principal:
    if not principal.is_admin:
        raise NotAllowed(f"this needs an admin key; yours is a {principal.role.value} key")
    return principal


def require_writer(principal: PrincipalDep) -> Principal:
    """Admins and producers; which contracts a producer may touch is decided per contract."""
    if principal.role is Role.CONSUMER:
        raise NotAllowed("a consumer key cannot register contracts or upload batches")
    return principal


AdminDep = Annotated[Principal, Depends(require_admin)]
WriterDep = Annotated[Principal, Depends(require_writer)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size")]
Cursor = Annotated[
    str | None, Query(max_length=2000, description="next_cursor of the previous page")
]
LimitDefault = DEFAULT_LIMIT


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body is {declared} bytes; the limit is {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body passed the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def contract_body(request: Request) -> bytes:
    settings: Settings = request.app.state.settings
    return await read_body(request, settings.max_contract_bytes)


ContractBody = Annotated[bytes, Depends(contract_body)]
ContentType = Annotated[str | None, Header(include_in_schema=False)]


def json_only(request: Request) -> None:
    """A JSON body must be sent as JSON: any other content type is a 415 (SPEC §5)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json" and not (
        media.startswith("application/") and media.endswith("+json")
    ):
        raise UnsupportedMediaType(
            f"content type {media[:100] or '(none)'!r} is not accepted here: send application/json"
        )


JsonOnly = Depends(json_only)
