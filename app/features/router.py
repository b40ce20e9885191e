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
from app.db.engine import transaction
from app.deps import PrincipalDep, SessionDep, json_only, read_body
from app.features import answers, entities, saved, service
from app.features.errors import (
    FeatureViewNotFound,
    InvalidEntities,
    InvalidSnapshot,
    TrainingSetNotFound,
    UnknownFeature,
)
from app.problems import InvalidInput, PayloadTooLarge, UnsupportedMediaType, responses
from app.uploads import PARQUET_TYPES, spool_request

router = APIRouter(tags=["features"], responses=responses(InvalidKey, NotAllowed))
JSON_LIMIT = 256 * 1024 * 1024  # JSON bodies are parsed in memory; Parquet ones are spooled
SNAPSHOT_HEADER = "X-Tollgate-Snapshot"


def feature_reader(principal: PrincipalDep) -> Principal:
    """SPEC §8: reading features is for consumers and admins."""
    if principal.role is Role.PRODUCER:
        raise NotAllowed("reading features needs a consumer or admin key; yours is a producer key")
    return principal


ReaderDep = Annotated[Principal, Depends(feature_reader)]


# what a training-set request (answered now or saved) may be refused for
_TRAINING_SET_PROBLEMS = (
    FeatureViewNotFound,
    InvalidEntities,
    UnknownFeature,
    InvalidSnapshot,
    PayloadTooLarge,
    UnsupportedMediaType,
)


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
        **responses(*_TRAINING_SET_PROBLEMS, answers.NotAcceptable),
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
    if media == answers.ARROW:
        table = result.to_arrow()
        del result
        return StreamingResponse(answers.arrow_stream(table), media_type=media, headers=headers)
    ctx.scratch.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=ctx.scratch, prefix="training-", suffix=".parquet")
    os.close(fd)
    path = Path(name)
    try:
        await run_in_threadpool(answers.write_parquet, result, path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    del result
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
    if media not in PARQUET_TYPES:
        raise UnsupportedMediaType(
            f"content type {media or '(none)'!r}: send entity rows as Parquet "
            "(application/vnd.apache.parquet) or JSON (application/json)"
        )
    ctx: Context = request.app.state.batch_context
    spooled = await spool_request(request, ctx.scratch)
    try:
        return await run_in_threadpool(entities.from_parquet, spooled.path)
    finally:
        spooled.discard()


async def _json_body(request: Request, limit: int) -> Any:
    json_only(request)
    raw = await read_body(request, limit)
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"the body is not valid JSON: {exc}") from None
    except RecursionError:  # json recurses: hostile nesting is a 422, not a 500
        raise InvalidInput("the body is not valid JSON: nested too deeply") from None


@router.post(
    "/v1/training-sets",
    status_code=201,
    responses=responses(*_TRAINING_SET_PROBLEMS),
)
async def save_training_set(
    request: Request,
    session: SessionDep,
    principal: ReaderDep,
    view: Annotated[str | None, Query(description="with a Parquet body")] = None,
    features: Annotated[str | None, Query(description="with a Parquet body")] = None,
    snapshot: Annotated[int | None, Query(ge=0, description="with a Parquet body")] = None,
    timestamp_column: str = "event_timestamp",
    lineage: bool = False,
) -> JSONResponse:
    """Save a training set: JSON `{view, features, snapshot?, rows}`, or a Parquet body of entity
    rows with `view`, `features`, `snapshot` as query parameters. 201 with the manifest."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "application/json":
        body = await _json_body(request, JSON_LIMIT)
        if not isinstance(body, dict):
            raise InvalidInput('the body must be {"view": …, "features": […], "rows": […]}')
        view = body.get("view")
        wanted = body.get("features")
        snapshot = body.get("snapshot")
        timestamp_column = body.get("timestamp_column", timestamp_column)
        lineage = body.get("lineage", lineage)
        if view is None:
            raise InvalidInput(
                'which view? give "view" in the JSON body (the query parameters go with a '
                "Parquet body)"
            )
        if not isinstance(view, str) or not isinstance(timestamp_column, str):
            raise InvalidInput("view and timestamp_column must be strings")
        if wanted is not None and not (
            isinstance(wanted, list) and all(isinstance(w, str) for w in wanted)
        ):
            raise InvalidInput("features must be a list of column names")
        if snapshot is not None and (type(snapshot) is not int or snapshot < 0):
            raise InvalidInput("snapshot must be a whole number >= 0")
        if not isinstance(lineage, bool):
            raise InvalidInput("lineage must be true or false")
        features = None if wanted is None else ",".join(wanted)
    if view is None:
        raise InvalidInput('which view? give view= (or "view" in a JSON body)')
    v = await run_in_threadpool(service.get_view, session, view)
    names = service.pick_features(v, features)
    pinned = await run_in_threadpool(service.pick_snapshot, session, v, snapshot, None)
    if media == "application/json":
        frame = await run_in_threadpool(
            entities.from_rows, body.get("rows"), v.keys, timestamp_column
        )
    else:
        frame = await _entity_rows(request, v, timestamp_column)
    ctx: Context = request.app.state.batch_context

    def store() -> dict[str, Any]:
        ctx.scratch.mkdir(parents=True, exist_ok=True)
        session.rollback()  # end the reads' transaction: the save's own takes the write lock
        with transaction(session):
            row = saved.save(
                session,
                ctx.offline,
                ctx.blobs,
                ctx.scratch,
                v,
                frame,
                features=names,
                snapshot=pinned,
                timestamp_column=timestamp_column,
                lineage=lineage,
                created_by=principal.key_id,
            )
        return saved.manifest(row)

    body_out = await run_in_threadpool(store)
    location = f"/v1/training-sets/{body_out['id']}"
    return JSONResponse(body_out, status_code=201, headers={"Location": location})


@router.get("/v1/training-sets/{set_id}", responses=responses(TrainingSetNotFound))
def get_training_set(set_id: str, session: SessionDep, _: ReaderDep) -> dict[str, Any]:
    """A saved training set's manifest."""
    return saved.manifest(saved.get(session, set_id))


@router.get(
    "/v1/training-sets/{set_id}/data",
    responses={
        200: {"description": "The saved training set, rebuilt byte-identical (Parquet)."},
        **responses(TrainingSetNotFound, FeatureViewNotFound, saved.NotReproducible),
    },
)
def training_set_data(set_id: str, request: Request, session: SessionDep, _: ReaderDep) -> Response:
    """Rebuild a saved training set: the same Parquet bytes whatever was ingested since."""
    row = saved.get(session, set_id)
    v = service.get_view(session, row.view)
    ctx: Context = request.app.state.batch_context
    ctx.scratch.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=ctx.scratch, prefix="training-set-", suffix=".parquet")
    os.close(fd)
    path = Path(name)
    try:
        saved.rebuild(ctx.offline, ctx.blobs, v, row, path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    headers = {SNAPSHOT_HEADER: str(row.snapshot)}
    return FileResponse(
        path,
        media_type=answers.PARQUET,
        headers=headers,
        background=BackgroundTask(path.unlink, missing_ok=True),
    )
