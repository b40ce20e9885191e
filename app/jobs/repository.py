"""Job queries: add, read, lock the next claimable job, and the lease-fenced updates."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import UTC, datetime

from sqlalchemy import Update, case, func, literal, select, update
from sqlalchemy.orm import Session

from app.db import dialect
from app.db.base import UTCDateTime
from app.jobs.models import Job, JobStatus


def add(session: Session, job: Job) -> Job:
    session.add(job)
    session.flush()
    return job


def by_id(session: Session, job_id: uuid.UUID) -> Job | None:
    return session.get(Job, job_id)


def lock_next(
    session: Session, *, kinds: Collection[str], now: datetime, job_id: uuid.UUID | None
) -> Job | None:
    """The oldest claimable job, locked to this transaction (see app.db.dialect)."""
    return dialect.claim_next(session, kinds=kinds, now=now, job_id=job_id)


def mark_claimed(
    session: Session, job: Job, *, token: uuid.UUID, worker: str, leased_until: datetime
) -> Job:
    job.status = JobStatus.RUNNING
    job.attempts += 1
    job.lease_token = token
    job.leased_until = leased_until
    job.worker = worker
    session.flush()
    return job


def mark_abandoned(session: Session, job: Job, *, now: datetime, error: str) -> Job:
    job.status = JobStatus.FAILED
    job.lease_token = None
    job.leased_until = None
    job.finished_at = now
    job.last_error = error
    session.flush()
    return job


def _fenced(job_id: uuid.UUID, token: uuid.UUID) -> Update:
    """An UPDATE of the job that matches only while `token` still holds its lease."""
    return update(Job).where(
        Job.id == job_id, Job.lease_token == token, Job.status == JobStatus.RUNNING
    )


def extend_lease(
    session: Session, job_id: uuid.UUID, token: uuid.UUID, *, leased_until: datetime
) -> bool:
    stmt = _fenced(job_id, token).values(leased_until=leased_until).returning(Job.id)
    return session.execute(stmt).first() is not None


def mark_done(session: Session, job_id: uuid.UUID, token: uuid.UUID, *, now: datetime) -> bool:
    stmt = (
        _fenced(job_id, token)
        .values(status=JobStatus.DONE, lease_token=None, leased_until=None, finished_at=now)
        .returning(Job.id)
    )
    return session.execute(stmt).first() is not None


def mark_failed_attempt(
    session: Session,
    job_id: uuid.UUID,
    token: uuid.UUID,
    *,
    now: datetime,
    retry_at: datetime,
    error: str,
) -> JobStatus | None:
    """Requeue for `retry_at`, or fail for good after the last attempt; None if the lease is lost.

    One statement, so that on SQLite the transaction's first statement is its write.
    """
    exhausted = Job.attempts >= Job.max_attempts
    stmt = (
        _fenced(job_id, token)
        .values(
            status=case((exhausted, literal(JobStatus.FAILED.value)), else_=JobStatus.QUEUED.value),
            finished_at=case((exhausted, literal(now, UTCDateTime())), else_=None),
            run_after=retry_at,
            lease_token=None,
            leased_until=None,
            last_error=error,
        )
        .returning(Job.status)
    )
    status = session.execute(stmt).scalar_one_or_none()
    return None if status is None else JobStatus(status)


def requeue_failed(session: Session, job_id: uuid.UUID, *, now: datetime) -> bool:
    """A failed job queued again with a fresh set of attempts (its last error kept)."""
    stmt = (
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.FAILED.value)
        .values(status=JobStatus.QUEUED.value, attempts=0, run_after=now, finished_at=None)
        .returning(Job.id)
    )
    return session.execute(stmt).first() is not None


def counts_by_status(session: Session) -> dict[str, int]:
    rows = session.execute(select(Job.status, func.count()).group_by(Job.status)).all()
    return {status: int(count) for status, count in rows}


def oldest_queued_at(session: Session) -> datetime | None:
    query = select(func.min(Job.created_at)).where(Job.status == JobStatus.QUEUED)
    value = session.scalar(query)
    # min() bypasses the column type on SQLite: normalise to aware UTC here.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value
