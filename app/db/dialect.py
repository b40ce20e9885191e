"""The only dialect switches: how a job is claimed on PostgreSQL and on SQLite.

`claim_next` returns the oldest claimable job *locked to the current transaction*: no other
claimer can take it before that transaction ends, and a claimer that runs after the commit sees
the claim. The caller marks the job claimed in the same transaction and commits promptly.

PostgreSQL: `SELECT … FOR UPDATE SKIP LOCKED`. Concurrent claimers lock different rows and never
wait for each other; a row a competitor claimed and committed meanwhile is re-checked against the
WHERE clause under READ COMMITTED and dropped, since it is no longer claimable.

SQLite has one writer at a time, so claimers are serialised instead: the first statement of the
claim transaction is a write (`UPDATE … RETURNING`), which takes the database write lock at the
start of the statement, before it reads anything. Our engine begins transactions with a plain
(deferred) `BEGIN`, which takes no lock, so that write does what `BEGIN IMMEDIATE` would: a
claimer that finds the lock held waits in SQLite's busy handler (the engine's 30 s timeout) and
then reads a snapshot taken *after* the previous claimer committed. Two claimers can therefore
never pick the same job. A `SELECT` first and an `UPDATE` next would not do: in WAL mode the
upgrade of a read snapshot that another writer has made stale fails at once with SQLITE_BUSY
(the busy handler is not used for it). Hence the rule: on SQLite, claim at the start of a
transaction, or in one that has already written.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from uuid import UUID

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session

from app.jobs.models import Job, JobStatus


def claimable(*, kinds: Collection[str], now: datetime) -> ColumnElement[bool]:
    """Queued and due, or running with an expired lease (its worker is presumed dead)."""
    return and_(
        Job.kind.in_(list(kinds)),
        or_(
            and_(Job.status == JobStatus.QUEUED, Job.run_after <= now),
            and_(Job.status == JobStatus.RUNNING, Job.leased_until < now),
        ),
    )


def claim_next(
    session: Session, *, kinds: Collection[str], now: datetime, job_id: UUID | None = None
) -> Job | None:
    """Lock and return the oldest claimable job (or job `job_id` if it is claimable)."""
    where = claimable(kinds=kinds, now=now)
    if job_id is not None:
        where = and_(where, Job.id == job_id)
    if session.get_bind().dialect.name == "sqlite":
        oldest = select(Job.id).where(where).order_by(Job.created_at, Job.id).limit(1)
        # A no-op write: its only purpose is the write lock (see the module docstring). The
        # subquery is evaluated under that lock, so it reads the latest committed claims.
        lock = (
            update(Job)
            .where(Job.id == oldest.scalar_subquery())
            .values(status=Job.status)
            .returning(Job)
            .execution_options(synchronize_session=False, populate_existing=True)
        )
        return session.scalars(lock).one_or_none()
    query = (
        select(Job)
        .where(where)
        .order_by(Job.created_at, Job.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    return session.scalars(query).one_or_none()
