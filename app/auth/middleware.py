"""Authenticate every /v1 request before routing or body parsing (SPEC §8: auth comes first)."""

from __future__ import annotations

from anyio import to_thread
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from app.auth import service
from app.auth.errors import InvalidKey, MissingKey
from app.auth.service import Principal
from app.problems import TollgateError, problem

PROTECTED_PREFIX = "/v1/"


class AuthMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _protected(scope["path"]):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        try:
            secret = _bearer(request.headers.get("authorization"))
            maker = request.app.state.sessionmaker
            principal = await to_thread.run_sync(_authenticate, maker, secret)
        except TollgateError as exc:
            response = problem(
                request,
                exc.status,
                type_=exc.type,
                title=exc.title,
                detail=exc.detail,
                headers={"WWW-Authenticate": "Bearer"},
            )
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)


def _protected(path: str) -> bool:
    return path == PROTECTED_PREFIX.rstrip("/") or path.startswith(PROTECTED_PREFIX)


def _bearer(header: str | None) -> str:
    if not header:
        raise MissingKey("send the API key as 'Authorization: Bearer <key>'")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise InvalidKey("the Authorization header must be 'Bearer <key>'")
    return secret.strip()


def _authenticate(maker: sessionmaker[Session], secret: str) -> Principal:
    with maker() as session:
        return service.authenticate(session, secret)
