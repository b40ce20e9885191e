"""Ingest uploads (idempotency, content addressing, sync or queued) and read batch reports."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.auth.errors import NotAllowed
from app.auth.service import Principal
from app.batches import repository
from app.batches.errors import (
    AlreadyValidated,
    BatchNotFound,
    IdempotencyKeyReused,
    UnreadableUpload,
)
from app.batches.models import Batch, CheckRecord
from app.batches.pipeline import FINAL, LEASE, VALIDATE_BATCH
from app.contracts import service as contracts_service
from app.contracts.models import ContractVersion
from app.db.base import utcnow
from app.jobs import service as jobs
from app.jobs.models import Job
from app.jobs.service import Claim
from app.paging import InvalidCursor, decode_cursor, encode_cursor
from app.storage.blobs import BlobStore
from app.uploads import Spooled
from app.validation.reading import UnreadableParquet, inspect_parquet


@dataclass(frozen=True)
class Target:
    """The contract version an upload will be validated against."""

    contract_id: uuid.UUID
    name: str
    version: str


@dataclass(frozen=True)
class Ingested:
    batch: Batch
    replay: bool
    claim: Claim | None  # set for a new synchronous upload: the caller runs it now


def admit_upload(
    session: Session, *, name: str, principal: Principal, version: str | None
) -> Target:
    """Checks that need no body: who may upload, and to which contract version."""
    if not principal.owns(name):
        raise NotAllowed(f"your key may not upload batches to contract {name!r}")
    row: ContractVersion = (
        contracts_service.get_version(session, name, version)
        if version
        else contracts_service.get_latest(session, name)
    )
    session.rollback()  # do not hold a read snapshot open while the body streams in
    return Target(row.contract_id, name, row.version)


def find_earlier(
    session: Session, *, target: Target, upload: Spooled, idempotency_key: str | None
) -> Batch | None:
    """The batch this upload replays (same key and body, or same body), if any; a key reused
    with another body is a 409."""
    if idempotency_key is not None:
        earlier = repository.by_idempotency_key(session, target.contract_id, idempotency_key)
        if earlier is not None:
            if earlier.sha256 != upload.sha256:
                raise IdempotencyKeyReused(
                    f"Idempotency-Key {idempotency_key!r} was used for batch {earlier.id} "
                    "with a different body"
                )
            return earlier
    return repository.by_content(session, target.contract_id, upload.sha256)


def store_upload(upload: Spooled, blobs: BlobStore) -> str:
    """Check that the body is readable Parquet and store it content-addressed (moved, not
    copied, unless the same bytes are stored already); its key. A spooled file that is gone
    was checked and moved by an earlier attempt of the same request."""
    key = f"uploads/sha256/{upload.sha256[:2]}/{upload.sha256}.parquet"
    if upload.path.exists():
        try:
            inspect_parquet(upload.path)
        except UnreadableParquet as exc:
            raise UnreadableUpload(str(exc)) from None
        blobs.put_file(key, upload.path, move=True)
    return key


def create_batch(
    session: Session,
    *,
    target: Target,
    upload: Spooled,
    key: str,
    idempotency_key: str | None,
    run_now: bool,
    principal: Principal,
    worker: str,
) -> Ingested:
    """The batch of a stored upload and its validation job. Its first statement is a write:
    on SQLite the transaction takes the write lock before it reads anything (app.db.dialect).
    A concurrent upload of the same key or body that won raises IntegrityError."""
    batch = Batch(
        contract_id=target.contract_id,
        contract_name=target.name,
        version=target.version,
        status="queued",
        bytes=upload.size,
        sha256=upload.sha256,
        idempotency_key=idempotency_key,
        blob_key=key,
        received_at=utcnow(),
        uploaded_by=principal.key_id,
    )
    repository.add(session, batch)
    job = _enqueue_validation(session, batch)
    claim = None
    if run_now:
        # Claimed in the transaction that creates it: no worker can take it first, and if this
        # process dies mid-validation the lease expires and a worker retries it.
        claim = jobs.claim(
            session, worker=worker, lease=LEASE, kinds=[VALIDATE_BATCH], job_id=job.id
        )
    return Ingested(batch, False, claim)


def _enqueue_validation(session: Session, batch: Batch) -> Job:
    """The batch's validation job carries the batch's id, so its state is one lookup away."""
    payload = {"batch_id": str(batch.id)}
    return jobs.enqueue(session, kind=VALIDATE_BATCH, payload=payload, job_id=batch.id)


def validation_job(session: Session, batch: Batch) -> Job | None:
    """The job validating `batch` (none for a batch made before jobs carried batch ids)."""
    return jobs.get(session, batch.id)


def retry(session: Session, batch_id: str, principal: Principal) -> Batch:
    """Queue again the validation of a batch whose job failed for good (or was lost)."""
    batch = get_batch(session, batch_id, principal)
    if not principal.owns(batch.contract_name):
        raise NotAllowed(f"your key may not upload batches to contract {batch.contract_name!r}")
    if batch.status in FINAL:
        raise AlreadyValidated(f"batch {batch.id} is {batch.status}: nothing to retry")
    job = validation_job(session, batch)
    if job is None:
        _enqueue_validation(session, batch)
    else:
        jobs.requeue(session, job.id)  # a queued or running job is left as it is
    return batch


def get_batch(session: Session, batch_id: str, principal: Principal) -> Batch:
    try:
        parsed = uuid.UUID(batch_id)
    except ValueError:
        raise BatchNotFound(f"no batch {batch_id[:80]!r}") from None
    batch = repository.by_id(session, parsed)
    if batch is None:
        raise BatchNotFound(f"no batch {batch_id!r}")
    contracts_service.require_batch_reader(principal, batch.contract_name)
    return batch


def checks_of(session: Session, batches: Sequence[Batch]) -> dict[uuid.UUID, list[CheckRecord]]:
    out: dict[uuid.UUID, list[CheckRecord]] = {b.id: [] for b in batches}
    for record in repository.checks_of(session, [b.id for b in batches]):
        out[record.batch_id].append(record)
    return out


def list_batches(
    session: Session,
    *,
    name: str,
    principal: Principal,
    status: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[Batch], str | None]:
    contracts_service.require_batch_reader(principal, name)
    contract = contracts_service.get_contract(session, name)
    before = _decode_position(cursor) if cursor else None
    rows = list(
        repository.newest_first(session, contract.id, status=status, before=before, limit=limit + 1)
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor(rows[-1].received_at, rows[-1].id) if more else None)


def _decode_position(cursor: str) -> tuple[datetime, uuid.UUID]:
    when, ident = decode_cursor(cursor, 2)
    try:
        parsed = datetime.fromisoformat(when)
        if parsed.tzinfo is None:
            raise ValueError(when)
        return parsed, uuid.UUID(ident)
    except ValueError:
        raise InvalidCursor("cursor was not issued by this endpoint") from None
