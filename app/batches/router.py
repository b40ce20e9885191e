"""Batches: upload, reports, failures, raw uploads, quality history, impact dry run."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from app.auth.errors import InvalidKey, NotAllowed
from app.batches import intake, quality, service
from app.batches.errors import (
    AlreadyValidated,
    BatchNotFound,
    IdempotencyKeyReused,
    NotValidatedYet,
    UnreadableUpload,
)
from app.batches.schemas import BatchPage, BatchReport, ImpactReport, QualityHistory
from app.contracts import service as contracts_service
from app.contracts.errors import ContractNotFound, InvalidContract, VersionNotFound
from app.db.engine import transaction
from app.deps import (
    ContentType,
    ContractBody,
    Cursor,
    Limit,
    LimitDefault,
    PrincipalDep,
    SessionDep,
    WriterDep,
)
from app.problems import PayloadTooLarge, UnsupportedMediaType, responses

router = APIRouter(tags=["batches"], responses=responses(InvalidKey, NotAllowed))
Status = Literal["queued", "validating", "accepted", "partial", "rejected"]
PARQUET = "application/vnd.apache.parquet"
_PARQUET_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "One Parquet file as the raw body.",
        "content": {
            PARQUET: {"schema": {"type": "string", "format": "binary"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@router.post(
    "/v1/contracts/{name}/batches",
    status_code=201,
    response_model=BatchReport,
    openapi_extra=_PARQUET_BODY,
    responses={
        200: {"description": "A replay: the batch first made from this body or key."},
        202: {"description": "Queued (?mode=async); poll the Location."},
        **responses(
            ContractNotFound,
            VersionNotFound,
            UnreadableUpload,
            IdempotencyKeyReused,
            PayloadTooLarge,
            UnsupportedMediaType,
        ),
    },
)
async def upload(
    name: str,
    request: Request,
    principal: WriterDep,
    version: str | None = None,
    mode: Literal["sync", "async"] = "sync",
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> Response:
    """Upload one Parquet batch; 201 with its report, 200 for a replay, 202 when queued."""
    return await intake.receive(
        request,
        name=name,
        principal=principal,
        version=version,
        run_now=mode == "sync",
        idempotency_key=idempotency_key,
    )


@router.get(
    "/v1/contracts/{name}/batches", response_model=BatchPage, responses=responses(ContractNotFound)
)
def list_batches(
    name: str,
    session: SessionDep,
    principal: PrincipalDep,
    status: Status | None = None,
    cursor: Cursor = None,
    limit: Limit = LimitDefault,
) -> BatchPage:
    """Batches of a contract, newest first."""
    rows, next_cursor = service.list_batches(
        session, name=name, principal=principal, status=status, cursor=cursor, limit=limit
    )
    return BatchPage(items=[intake.summary(b) for b in rows], next_cursor=next_cursor)


@router.get(
    "/v1/batches/{batch_id}", response_model=BatchReport, responses=responses(BatchNotFound)
)
def get_batch(batch_id: str, session: SessionDep, principal: PrincipalDep) -> BatchReport:
    """A batch's report: status, row counts and every check record."""
    return intake.report(session, service.get_batch(session, batch_id, principal))


@router.post(
    "/v1/batches/{batch_id}/retry",
    status_code=202,
    response_model=BatchReport,
    responses=responses(BatchNotFound, AlreadyValidated),
)
def retry(
    batch_id: str, session: SessionDep, principal: WriterDep, response: Response
) -> BatchReport:
    """Validate again a batch whose validation gave up (its report's `validation.state` is
    `failed`): its job is queued with all its attempts; 202 with the report. A batch whose
    job is queued or running is left as it is."""
    with transaction(session):
        batch = service.retry(session, batch_id, principal)
    response.headers["Location"] = f"/v1/batches/{batch.id}"
    return intake.report(session, batch)


@router.get(
    "/v1/batches/{batch_id}/failures",
    response_class=StreamingResponse,
    responses={200: {"content": {PARQUET: {}}}, **responses(BatchNotFound, NotValidatedYet)},
)
def failures(
    batch_id: str, session: SessionDep, principal: PrincipalDep, request: Request
) -> StreamingResponse:
    """The failing rows as Parquet: original columns plus `_row` and `_failed_checks`."""
    batch = service.get_batch(session, batch_id, principal)
    return intake.download(
        request, intake.evidence(batch, batch.failures_key), f"{batch.id}-failures"
    )


@router.get(
    "/v1/batches/{batch_id}/quarantine",
    response_class=StreamingResponse,
    responses={200: {"content": {PARQUET: {}}}, **responses(BatchNotFound, NotValidatedYet)},
)
def quarantined(
    batch_id: str, session: SessionDep, principal: PrincipalDep, request: Request
) -> StreamingResponse:
    """The rows a partial batch set aside, as Parquet with `_row` (empty otherwise)."""
    batch = service.get_batch(session, batch_id, principal)
    key = intake.evidence(batch, batch.quarantine_key)
    return intake.download(request, key, f"{batch.id}-quarantine")


@router.get(
    "/v1/batches/{batch_id}/upload",
    response_class=StreamingResponse,
    responses={200: {"content": {PARQUET: {}}}, **responses(BatchNotFound)},
)
def raw_upload(
    batch_id: str, session: SessionDep, principal: PrincipalDep, request: Request
) -> StreamingResponse:
    """The raw upload, byte for byte (to fix and re-submit a rejected batch)."""
    batch = service.get_batch(session, batch_id, principal)
    return intake.download(request, batch.blob_key, f"{batch.id}")


@router.get(
    "/v1/contracts/{name}/quality",
    response_model=QualityHistory,
    responses=responses(ContractNotFound),
)
def quality_history(
    name: str,
    session: SessionDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> QualityHistory:
    """Each check's failed_fraction per batch over the latest batches, oldest first."""
    return quality.quality(session, name=name, principal=principal, limit=limit)


@router.post(
    "/v1/contracts/{name}/impact",
    response_model=ImpactReport,
    responses=responses(ContractNotFound, InvalidContract),
)
async def impact(
    name: str,
    body: ContractBody,
    content_type: ContentType,
    session: SessionDep,
    principal: PrincipalDep,
    request: Request,
    batches: Annotated[int, Query(ge=1, le=200)] = 20,
) -> ImpactReport:
    """Dry run: what the recent stored batches would get under a candidate document."""
    candidate = contracts_service.read_document(body, content_type)
    return await run_in_threadpool(
        quality.impact,
        session,
        name=name,
        candidate=candidate,
        principal=principal,
        batches=batches,
        ctx=request.app.state.batch_context,
    )
