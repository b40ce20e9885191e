"""Many claimers at once, each on its own session: every job is claimed exactly once.

On PostgreSQL this exercises FOR UPDATE SKIP LOCKED; on SQLite, the single claimer that takes the
write lock with its first statement (no claimer may fail with "database is locked" either).
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from app.db.engine import transaction
from app.jobs import service
from app.jobs.models import JobStatus
from tests.integration.jobs.support import KIND

THREADS = 8
JOBS = 40


def test_concurrent_claimers_claim_every_job_exactly_once(maker: sessionmaker[Session]) -> None:
    with maker() as session, transaction(session):
        job_ids = {service.enqueue(session, kind=KIND, payload={"i": i}).id for i in range(JOBS)}
    start = threading.Barrier(THREADS)
    claimed: list[tuple[str, uuid.UUID]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def claimer(name: str) -> None:
        try:
            start.wait(timeout=10)
            while True:
                with maker() as session, transaction(session):
                    got = service.claim(
                        session, worker=name, lease=timedelta(minutes=5), kinds={KIND}
                    )
                if got is None:
                    return
                with lock:
                    claimed.append((name, got.job_id))
                with maker() as session, transaction(session):
                    service.finish(session, got)
        except BaseException as exc:
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []

    counts = Counter(job_id for _, job_id in claimed)
    assert set(counts) == job_ids
    assert set(counts.values()) == {1}, "a job was claimed twice"
    with maker() as session:
        for job_id in job_ids:
            job = service.get(session, job_id)
            assert job is not None
            assert (job.status, job.attempts) == (JobStatus.DONE, 1)
