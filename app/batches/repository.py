"""Batch and check-record queries: lookups, cursor paging, quality history."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from app.batches.models import Batch, CheckRecord


def by_id(session: Session, batch_id: uuid.UUID) -> Batch | None:
    return session.get(Batch, batch_id)


def by_idempotency_key(session: Session, contract_id: uuid.UUID, key: str) -> Batch | None:
    query = select(Batch).where(Batch.contract_id == contract_id, Batch.idempotency_key == key)
    return session.scalars(query).one_or_none()


def by_content(session: Session, contract_id: uuid.UUID, sha256: str) -> Batch | None:
    query = select(Batch).where(Batch.contract_id == contract_id, Batch.sha256 == sha256)
    return session.scalars(query).one_or_none()


def newest_first(
    session: Session,
    contract_id: uuid.UUID,
    *,
    status: str | None = None,
    before: tuple[datetime, uuid.UUID] | None = None,
    limit: int,
) -> Sequence[Batch]:
    query = select(Batch).where(Batch.contract_id == contract_id)
    if status is not None:
        query = query.where(Batch.status == status)
    if before is not None:
        query = query.where(tuple_(Batch.received_at, Batch.id) < before)
    query = query.order_by(Batch.received_at.desc(), Batch.id.desc()).limit(limit)
    return session.scalars(query).all()


def pending_acceptance(session: Session, contract: str | None = None) -> Sequence[Batch]:
    """Batches validated but not yet accepted into their feature view, oldest first."""
    query = select(Batch).where(Batch.pending_status.is_not(None))
    if contract is not None:
        query = query.where(Batch.contract_name == contract)
    return session.scalars(query.order_by(Batch.validated_at, Batch.id)).all()


def checks_of(session: Session, batch_ids: Sequence[uuid.UUID]) -> Sequence[CheckRecord]:
    """Check records of several batches in one query, in report order."""
    if not batch_ids:
        return []
    query = (
        select(CheckRecord)
        .where(CheckRecord.batch_id.in_(batch_ids))
        .order_by(CheckRecord.batch_id, CheckRecord.position)
    )
    return session.scalars(query).all()


def add(session: Session, row: Batch | CheckRecord) -> None:
    session.add(row)
    session.flush()


def add_records(session: Session, rows: Sequence[CheckRecord]) -> None:
    session.add_all(rows)
    session.flush()
