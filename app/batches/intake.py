"""The upload runner (spool → ingest → validate now or later) and batch answers for HTTP."""

from __future__ import annotations

import io
import logging
import os
import socket
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.parquet as pq
from fastapi import Request
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from app.auth.service import Principal
from app.batches import service
from app.batches.errors import NotValidatedYet
from app.batches.models import Batch
from app.batches.pipeline import FINAL, LEASE, Context
from app.batches.schemas import BatchReport, BatchSummary, CheckRecordRead, ValidationJobRead
from app.db.engine import transaction
from app.features import repository as features_repo
from app.jobs.models import Job
from app.jobs.worker import run_claimed
from app.uploads import Spooled, require_parquet_type, spool_request

log = logging.getLogger("tollgate")
WORKER = f"{socket.gethostname()}:{os.getpid()}:api"
CHUNK = 1 << 20


async def receive(
    request: Request,
    *,
    name: str,
    principal: Principal,
    version: str | None,
    run_now: bool,
    idempotency_key: str | None,
) -> JSONResponse:
    """Check what needs no body, stream the body to disk, then ingest it off the event loop."""
    require_parquet_type(request.headers.get("content-type"))
    maker: sessionmaker[Session] = request.app.state.sessionmaker
    ctx: Context = request.app.state.batch_context
    with maker() as session:
        target = await run_in_threadpool(
            service.admit_upload, session, name=name, principal=principal, version=version
        )
    spooled = await spool_request(request, ctx.scratch)
    try:
        return await run_in_threadpool(
            _ingest, maker, ctx, target, spooled, principal, run_now, idempotency_key
        )
    finally:
        spooled.discard()


def _ingest(
    maker: sessionmaker[Session],
    ctx: Context,
    target: service.Target,
    spooled: Spooled,
    principal: Principal,
    run_now: bool,
    idem: str | None,
) -> JSONResponse:
    """Three steps, so that no transaction is open while the body is checked and stored (a
    write lock held through an S3 upload would stall every other writer on SQLite), and the
    one that writes starts with its write (on SQLite, a transaction that read first cannot
    write once another writer has committed: it failed at once with "database is locked")."""
    for attempt in (1, 2):
        try:
            with maker() as session:  # reads only
                earlier = service.find_earlier(
                    session, target=target, upload=spooled, idempotency_key=idem
                )
            if earlier is not None:
                ingested = service.Ingested(earlier, True, None)
                break
            key = service.store_upload(spooled, ctx.blobs)
            with maker() as session, transaction(session):
                ingested = service.create_batch(
                    session,
                    target=target,
                    upload=spooled,
                    key=key,
                    idempotency_key=idem,
                    run_now=run_now,
                    principal=principal,
                    worker=WORKER,
                )
            break
        except IntegrityError:  # a concurrent upload of the same key or body won: replay it
            if attempt == 2:
                raise
    if ingested.claim is not None:
        # Runs with a heartbeat; a failure is recorded on the job and the workers retry it
        # (the answer is then a 202: the upload is stored and will be validated).
        run_claimed(maker, ctx.handler, ingested.claim, lease=LEASE)
    with maker() as session:
        batch = service.get_batch(session, str(ingested.batch.id), principal)
        body = report(session, batch).model_dump(mode="json")
    status = 200 if ingested.replay else 201 if batch.status in FINAL else 202
    location = f"/v1/batches/{batch.id}"
    return JSONResponse(body, status_code=status, headers={"Location": location})


def summary(batch: Batch) -> BatchSummary:
    return BatchSummary(
        id=batch.id,
        contract=batch.contract_name,
        version=batch.version,
        status=batch.status,
        rows=batch.rows,
        rows_accepted=batch.rows_accepted,
        rows_quarantined=batch.rows_quarantined,
        bytes=batch.bytes,
        sha256=batch.sha256,
        received_at=batch.received_at,
        validated_at=batch.validated_at,
    )


def report(session: Session, batch: Batch) -> BatchReport:
    records = service.checks_of(session, [batch])[batch.id]
    job = service.validation_job(session, batch) if batch.status not in FINAL else None
    return BatchReport(
        **summary(batch).model_dump(),
        checks=[CheckRecordRead.model_validate(r) for r in records],
        snapshot=features_repo.snapshot_of_batch(session, batch.id),
        validation=_job(job) if job is not None else None,
    )


def _job(job: Job) -> ValidationJobRead:
    return ValidationJobRead(
        state=job.status,
        attempts=job.attempts,
        max_attempts=job.max_attempts,
        retry_at=job.run_after if job.status == "queued" else None,
        last_error=job.last_error,
    )


def evidence(batch: Batch, key: str | None) -> str | None:
    """The key of a validation output, once the batch has been validated."""
    if batch.status not in FINAL:
        raise NotValidatedYet(f"batch {batch.id} is {batch.status}; poll /v1/batches/{batch.id}")
    return key


def download(request: Request, key: str | None, stem: str) -> StreamingResponse:
    """Stream a stored object (or an empty evidence file when there is none)."""
    headers = {"Content-Disposition": f'attachment; filename="{stem}.parquet"'}
    media = "application/vnd.apache.parquet"
    if key is None:
        return StreamingResponse(iter([_empty_evidence()]), media_type=media, headers=headers)
    blobs = request.app.state.batch_context.blobs
    headers["Content-Length"] = str(blobs.size(key))
    return StreamingResponse(_chunks(blobs.open(key)), media_type=media, headers=headers)


def _chunks(source: pa.NativeFile) -> Iterator[bytes]:
    with source:
        while chunk := source.read(CHUNK):
            yield chunk


def _empty_evidence() -> bytes:
    schema = pa.schema([("_row", pa.int64()), ("_failed_checks", pa.list_(pa.string()))])
    out = io.BytesIO()
    pq.write_table(schema.empty_table(), out)
    return out.getvalue()
