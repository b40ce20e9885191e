"""The worker loop, in-process: handlers run, failures are recorded and the loop goes on, the
heartbeat keeps a long job leased, and `stop` ends the loop."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.db.base import utcnow
from app.db.engine import transaction
from app.jobs import service
from app.jobs.models import Job, JobStatus
from app.jobs.service import Claim
from app.jobs.worker import run_claimed, start_in_process
from tests.integration.jobs.support import KIND, effect_handler, effects, wait_until

LEASE = timedelta(seconds=1)


def enqueue(maker: sessionmaker[Session], kind: str = KIND, max_attempts: int = 5) -> uuid.UUID:
    with maker() as session, transaction(session):
        return service.enqueue(session, kind=kind, payload={}, max_attempts=max_attempts).id


def job(maker: sessionmaker[Session], job_id: uuid.UUID) -> Job:
    with maker() as session:
        found = service.get(session, job_id)
        assert found is not None
        return found


def finished(maker: sessionmaker[Session], *job_ids: uuid.UUID) -> bool:
    done = (JobStatus.DONE, JobStatus.FAILED)
    return all(job(maker, job_id).status in done for job_id in job_ids)


def boom(maker: sessionmaker[Session], claim: Claim) -> None:
    raise RuntimeError(f"boom on attempt {claim.attempt}")


def test_the_worker_runs_jobs_records_failures_and_goes_on(
    maker: sessionmaker[Session], engine: Engine, effect_table: None
) -> None:
    bad = enqueue(maker, kind="test.boom", max_attempts=1)
    good = [enqueue(maker) for _ in range(3)]
    handlers = {KIND: effect_handler("w1"), "test.boom": boom}
    thread, stop = start_in_process(
        maker, handlers, worker_id="w1", lease=LEASE, poll_interval=0.05
    )
    try:
        assert wait_until(lambda: finished(maker, bad, *good))
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()

    failed = job(maker, bad)
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert failed.last_error == "RuntimeError: boom on attempt 1"
    for job_id in good:
        assert (job(maker, job_id).status, effects(engine, job_id)) == ("done", ["w1"])


def test_a_failed_attempt_is_requeued_with_backoff(maker: sessionmaker[Session]) -> None:
    job_id = enqueue(maker, kind="test.boom")
    with maker() as session, transaction(session):
        claim = service.claim(session, worker="w1", lease=LEASE, kinds={"test.boom"})
    assert claim is not None
    before = utcnow()
    assert run_claimed(maker, boom, claim, lease=LEASE) is False
    requeued = job(maker, job_id)
    assert (requeued.status, requeued.attempts) == ("queued", 1)
    assert requeued.run_after >= before + service.backoff(1)


def test_the_heartbeat_keeps_a_long_job_leased(
    maker: sessionmaker[Session], engine: Engine, effect_table: None
) -> None:
    job_id = enqueue(maker)
    release = threading.Event()
    lease = timedelta(seconds=0.3)
    with maker() as session, transaction(session):
        claim = service.claim(session, worker="w1", lease=lease, kinds={KIND})
    assert claim is not None
    first_lease = job(maker, job_id).leased_until
    assert first_lease is not None

    def slow(maker: sessionmaker[Session], claim: Claim) -> None:
        release.wait(timeout=10)
        effect_handler("w1")(maker, claim)

    runner = threading.Thread(
        target=run_claimed, args=(maker, slow, claim), kwargs={"lease": lease}
    )
    runner.start()
    try:
        # Several heartbeats later the lease has moved past its first end, and still holds.
        assert wait_until(
            lambda: (job(maker, job_id).leased_until or first_lease) > first_lease + lease
        )
        with maker() as session, transaction(session):
            assert service.claim(session, worker="w2", lease=lease, kinds={KIND}) is None
    finally:
        release.set()
        runner.join(timeout=10)
    assert job(maker, job_id).status == JobStatus.DONE
    assert effects(engine, job_id) == ["w1"]
