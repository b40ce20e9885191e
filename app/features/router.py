"""Feature views over HTTP: list, describe, point-in-time training sets, online lookups."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Annotated, Any

import polars as pl
from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from app.auth.errors import InvalidKey, NotAllowed
from app.auth.service import Principal, Role
from app.batches.pipeline import Context
from app.db.base import utcnow
from app.deps import PrincipalDep, SessionDep, read_body
from app.features import answers, entities, service
from app.features.errors import (
    FeatureViewNotFound,
    InvalidEntities,
    InvalidSnapshot,
    UnknownFeature,
)
from app.problems import InvalidInput, PayloadTooLarge, UnsupportedMediaType, responses
from app.uploads import spool

router = APIRouter(tags=["features"], responses=responses(InvalidKey, NotAllowed))
JSON_LIMIT = 256 * 1024 * 1024  # JSON bodies are parsed in memory; Parquet ones are spooled
SNAPSHOT_HEADER = "X-Tollgate-Snapshot"


def feature_reader(principal: PrincipalDep) -> Principal:
    """SPEC §8: reading features is for consumers and admins."""
    if principal.role is Role.PRODUCER:
        raise NotAllowed("reading features needs a consumer or admin key; yours is a producer key")
    return principal


ReaderDep = Annotated[Principal, Depends(feature_reader)]


@router.get("/v1/features", responses=responses())
def list_views(session: SessionDep, _: ReaderDep) -> dict[str, Any]:
    """Every feature view (contracts whose latest version has `features`)."""
    return {"items": [v.body() for v in service.list_views(session)], "next_cursor": None}


@router.get("/v1/features/{view}", responses=responses(FeatureViewNotFound))
def get_view(view: str, session: SessionDep, _: ReaderDep) -> dict[str, Any]:
    """One view: entity, timestamp, feature columns and types, ttl, rows, latest snapshot."""
    return service.get_view(session, view).body()


@router.post(
    "/v1/features/{view}/online",
    responses=responses(FeatureViewNotFound, InvalidEntities, UnsupportedMediaType),
)
async def online(view: str, request: Request, session: SessionDep, _: ReaderDep) -> JSONResponse:
    """Latest values per entity, in request order, each `found`, `missing` or `expired`."""
    body = await _json_body(request, JSON_LIMIT)
    entities_ = body.get("entities") if isinstance(body, dict) else None
    if entities_ is None:
        raise InvalidEntities('the body must be {"entities": [{…}, …]}')

    def lookup() -> list[dict[str, Any]]:
        v = service.get_view(session, view)
        return service.online(session, v, entities_, utcnow())

    return JSONResponse({"rows": await run_in_threadpool(lookup)})


@router.post(
    "/v1/features/{view}/training-set",
    responses={
        200: {
            "description": "The entity rows with their point-in-time features.",
            "content": {answers.PARQUET: {}, answers.ARROW: {}, answers.JSON: {}},
        },
        **responses(
            FeatureViewNotFound,
            InvalidEntities,
            UnknownFeature,
            InvalidSnapshot,
            PayloadTooLarge,
            UnsupportedMediaType,
            answers.NotAcceptable,
        ),
    },
)
async def training_set(
    view: str,
    request: Request,
    session: SessionDep,
    _: ReaderDep,
    features: Annotated[str | None, Query(description="comma-separated feature columns")] = None,
    snapshot: Annotated[int | None, Query(ge=0)] = None,
    as_of: Annotated[str | None, Query(description="RFC 3339: the store as it was then")] = None,
    timestamp_column: str = "event_timestamp",
    lineage: bool = False,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    """Point-in-time-correct features for entity rows (Parquet body or JSON `{"rows": […]}`)."""
    media = answers.negotiate(accept)
    v = await run_in_threadpool(service.get_view, session, view)
    names = service.pick_features(v, features)
    pinned = await run_in_threadpool(service.pick_snapshot, session, v, snapshot, as_of)
    frame = await _entity_rows(request, v, timestamp_column)
    ctx: Context = request.app.state.batch_context

    def build() -> pl.DataFrame:
        entities.check(frame, v.keys, timestamp_column, names)
        return service.training_set(
            ctx.offline,
            v,
            frame,
            features=names,
            snapshot=pinned,
            timestamp_column=timestamp_column,
            lineage=lineage,
        )

    result = await run_in_threadpool(build)
    headers = {SNAPSHOT_HEADER: str(pinned)}
    if media == answers.JSON:
        return StreamingResponse(
            answers.json_stream(result, pinned), media_type=media, headers=headers
        )
    table = result.to_arrow()
    if media == answers.ARROW:
        return StreamingResponse(answers.arrow_stream(table), media_type=media, headers=headers)
    ctx.scratch.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=ctx.scratch, prefix="training-", suffix=".parquet")
    os.close(fd)
    path = Path(name)
    try:
        await run_in_threadpool(answers.write_parquet, table, path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    del table, result
    return FileResponse(
        path,
        media_type=media,
        headers=headers,
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


async def _entity_rows(request: Request, v: service.View, timestamp_column: str) -> pl.DataFrame:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "application/json":
        body = await _json_body(request, JSON_LIMIT)
        rows = body.get("rows") if isinstance(body, dict) else None
        if rows is None:
            raise InvalidEntities('a JSON body must be {"rows": [{…}, …]}')
        return await run_in_threadpool(entities.from_rows, rows, v.keys, timestamp_column)
    if media not in ("application/vnd.apache.parquet", "application/octet-stream"):
        raise UnsupportedMediaType(
            f"content type {media or '(none)'!r}: send entity rows as Parquet "
            "(application/vnd.apache.parquet) or JSON (application/json)"
        )
    ctx: Context = request.app.state.batch_context
    spooled = await spool(
        request.stream(),
        directory=ctx.scratch,
        limit=request.app.state.settings.max_upload_bytes,
        declared=request.headers.get("content-length"),
    )
    try:
        return await run_in_threadpool(entities.from_parquet, spooled.path)
    finally:
        spooled.discard()


async def _json_body(request: Request, limit: int) -> Any:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise UnsupportedMediaType(f"content type {media or '(none)'!r}: send application/json")
    raw = await read_body(request, limit)
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"the body is not valid JSON: {exc}") from None
