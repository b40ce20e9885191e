"""Enqueue, claim, heartbeat, finish and fail jobs. Runners own the transactions.

A job's result is applied at most once: the handler applies it in one transaction that also
calls `finish`, which is fenced by the claim's lease token. If the lease expired and another
worker claimed the job meanwhile, `finish` raises LeaseLost and the whole transaction, result
included, rolls back.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.db.base import utcnow
from app.jobs import repository
from app.jobs.errors import LeaseLost
from app.jobs.models import DEFAULT_MAX_ATTEMPTS, Job, JobStatus

BACKOFF_BASE = timedelta(seconds=2)
BACKOFF_CAP = timedelta(minutes=10)
MAX_ERROR_CHARS = 4000


@dataclass(frozen=True)
class Claim:
    """A worker's hold on one attempt of a job; `token` fences everything it writes."""

    job_id: uuid.UUID
    kind: str
    payload: dict[str, Any]
    token: uuid.UUID
    attempt: int


def enqueue(
    session: Session,
    *,
    kind: str,
    payload: dict[str, Any],
    job_id: uuid.UUID | None = None,
    run_after: datetime | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> Job:
    """Add a queued job, due at `run_after` (default now)."""
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    now = utcnow()
    job = Job(
        id=job_id or uuid.uuid4(),
        kind=kind,
        payload=payload,
        status=JobStatus.QUEUED,
        attempts=0,
        max_attempts=max_attempts,
        run_after=run_after or now,
        created_at=now,
    )
    return repository.add(session, job)


def claim(
    session: Session,
    *,
    worker: str,
    lease: timedelta,
    kinds: Collection[str],
    job_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> Claim | None:
    """Claim the oldest claimable job of these kinds (or job `job_id`) for `lease`.

    Claimable: queued and due, or running with an expired lease. On SQLite call it first in a
    fresh transaction (see app.db.dialect); commit right after, before running the job.
    """
    if lease <= timedelta(0):
        raise ValueError("lease must be positive")
    if not kinds:
        return None
    now = now if now is not None else utcnow()
    while (job := repository.lock_next(session, kinds=kinds, now=now, job_id=job_id)) is not None:
        if job.attempts < job.max_attempts:
            token = uuid.uuid4()
            repository.mark_claimed(
                session, job, token=token, worker=worker, leased_until=now + lease
            )
            return Claim(job.id, job.kind, dict(job.payload), token, job.attempts)
        # Its worker vanished during the last allowed attempt (the lease expired): give up
        # rather than run a job that may be what kills workers; then look for another.
        repository.mark_abandoned(
            session,
            job,
            now=now,
            error=f"lease of worker {job.worker} expired during attempt {job.attempts} "
            f"of {job.max_attempts}",
        )
    return None


def heartbeat(
    session: Session, claim: Claim, lease: timedelta, *, now: datetime | None = None
) -> None:
    """Extend the claim's lease to now + lease; LeaseLost if the job is no longer ours."""
    now = now if now is not None else utcnow()
    if not repository.extend_lease(session, claim.job_id, claim.token, leased_until=now + lease):
        raise LeaseLost(f"job {claim.job_id}: lease lost, cannot extend it")


def finish(session: Session, claim: Claim, *, now: datetime | None = None) -> None:
    """Mark the job done, inside the transaction that applies its result.

    Best called first in that transaction: on PostgreSQL it then row-locks the job, so a
    takeover waits for the outcome; on SQLite the transaction's first statement is then a
    write, which takes the write lock before anything is read (see app.db.dialect).

    Raises:
        LeaseLost: the lease was taken over; the caller's transaction must roll back.
    """
    now = now if now is not None else utcnow()
    if not repository.mark_done(session, claim.job_id, claim.token, now=now):
        raise LeaseLost(f"job {claim.job_id}: lease lost, attempt {claim.attempt} discarded")


def fail(session: Session, claim: Claim, error: str, *, now: datetime | None = None) -> JobStatus:
    """Record a failed attempt: requeued after a backoff, or `failed` after the last attempt.

    Returns the job's new status. Raises LeaseLost if the job is no longer ours.
    """
    now = now if now is not None else utcnow()
    status = repository.mark_failed_attempt(
        session,
        claim.job_id,
        claim.token,
        now=now,
        retry_at=now + backoff(claim.attempt),
        error=error[:MAX_ERROR_CHARS],
    )
    if status is None:
        raise LeaseLost(
            f"job {claim.job_id}: lease lost, failure of attempt {claim.attempt} dropped"
        )
    return status


def backoff(attempt: int) -> timedelta:
    """Delay before the retry that follows failed attempt `attempt` (1-based): 2 s, 4 s, 8 s…"""
    doublings = min(max(attempt - 1, 0), 30)  # past the cap anyway; keeps timedelta in range
    return min(BACKOFF_BASE * (1 << doublings), BACKOFF_CAP)


def get(session: Session, job_id: uuid.UUID) -> Job | None:
    return repository.by_id(session, job_id)


def requeue(session: Session, job_id: uuid.UUID, *, now: datetime | None = None) -> bool:
    """Queue a job that failed for good again, due now, with all its attempts; False when
    the job is not `failed` (queued, running or done: nothing to do)."""
    return repository.requeue_failed(session, job_id, now=now if now is not None else utcnow())


@dataclass(frozen=True)
class QueueState:
    """What an operator watches: jobs per status and how long the oldest queued one has waited."""

    counts: dict[str, int]
    oldest_queued_age: float | None  # seconds


def queue_state(session: Session, *, now: datetime | None = None) -> QueueState:
    oldest = repository.oldest_queued_at(session)
    now = now or utcnow()
    age = (now - oldest).total_seconds() if oldest is not None else None
    return QueueState(repository.counts_by_status(session), age)
