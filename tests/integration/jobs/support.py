"""Test-only helpers: a scratch `job_effect` table standing for a job's applied result, a handler
that applies it in the transaction that finishes the job, and bounded polling."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from app.db.engine import transaction
from app.jobs import service
from app.jobs.service import Claim
from app.jobs.worker import Handler

KIND = "test.effect"

# No key on purpose: a job applied twice shows up as two rows instead of an integrity error.
CREATE = "CREATE TABLE job_effect (job_id VARCHAR(36) NOT NULL, worker VARCHAR(200) NOT NULL)"
DROP = "DROP TABLE IF EXISTS job_effect"


def record_effect(session: Session, job_id: uuid.UUID, worker: str) -> None:
    session.execute(
        text("INSERT INTO job_effect (job_id, worker) VALUES (:job_id, :worker)"),
        {"job_id": str(job_id), "worker": worker},
    )


def effects(engine: Engine, job_id: uuid.UUID) -> list[str]:
    """The workers that applied this job's result, one entry per applied row."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT worker FROM job_effect WHERE job_id = :job_id"), {"job_id": str(job_id)}
        )
        return [row.worker for row in rows]


def effect_handler(worker: str, *, before_commit: Callable[[Claim], None] | None = None) -> Handler:
    """Applies the result and finishes the job in ONE transaction, as real handlers must."""

    def handle(maker: sessionmaker[Session], claim: Claim) -> None:
        with maker() as session, transaction(session):
            service.finish(session, claim)
            record_effect(session, claim.job_id, worker)
            if before_commit is not None:
                before_commit(claim)

    return handle


def wait_until(predicate: Callable[[], bool], *, timeout: float = 10.0) -> bool:
    """Bounded polling: True as soon as `predicate()` holds, False after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not predicate():
        if time.monotonic() > deadline:
            return False
        pause.wait(0.05)
    return True
