"""The job queue's service functions on the real database: claiming, leases, fencing, retries."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.db.base import utcnow
from app.db.engine import transaction
from app.jobs import service
from app.jobs.errors import LeaseLost
from app.jobs.models import Job, JobStatus
from app.jobs.service import Claim
from tests.integration.jobs.support import KIND, effects, record_effect

LEASE = timedelta(seconds=1)
KINDS = frozenset({KIND})


def enqueue(maker: sessionmaker[Session], **kwargs: Any) -> uuid.UUID:
    kwargs.setdefault("kind", KIND)
    kwargs.setdefault("payload", {"n": 1})
    with maker() as session, transaction(session):
        return service.enqueue(session, **kwargs).id


def claim(maker: sessionmaker[Session], worker: str = "w1", **kwargs: Any) -> Claim | None:
    kwargs.setdefault("lease", LEASE)
    kwargs.setdefault("kinds", KINDS)
    with maker() as session, transaction(session):
        return service.claim(session, worker=worker, **kwargs)


def job(maker: sessionmaker[Session], job_id: uuid.UUID) -> Job:
    with maker() as session:
        found = service.get(session, job_id)
        assert found is not None
        return found


def finish(maker: sessionmaker[Session], claim: Claim) -> None:
    with maker() as session, transaction(session):
        service.finish(session, claim)


def apply_result(maker: sessionmaker[Session], claim: Claim, worker: str) -> None:
    """What a handler does: apply the job's result and finish it in one transaction."""
    with maker() as session, transaction(session):
        record_effect(session, claim.job_id, worker)
        service.finish(session, claim)


def test_enqueue_claim_finish(maker: sessionmaker[Session]) -> None:
    job_id = enqueue(maker, payload={"batch": "b-1"})
    queued = job(maker, job_id)
    assert (queued.status, queued.attempts, queued.max_attempts) == (JobStatus.QUEUED, 0, 5)

    before = utcnow()
    got = claim(maker, worker="w1")
    assert got is not None
    assert (got.job_id, got.kind, got.payload, got.attempt) == (job_id, KIND, {"batch": "b-1"}, 1)
    running = job(maker, job_id)
    assert (running.status, running.worker, running.lease_token) == ("running", "w1", got.token)
    assert running.leased_until is not None
    assert before + LEASE <= running.leased_until <= utcnow() + LEASE

    finish(maker, got)
    done = job(maker, job_id)
    assert (done.status, done.attempts, done.lease_token, done.leased_until) == (
        "done",
        1,
        None,
        None,
    )
    assert done.finished_at is not None
    assert claim(maker, worker="w2", now=utcnow() + timedelta(hours=1)) is None
    with pytest.raises(LeaseLost):
        finish(maker, got)


def test_claims_oldest_first_and_only_its_kinds(maker: sessionmaker[Session]) -> None:
    first, second = enqueue(maker), enqueue(maker)
    other = enqueue(maker, kind="other.kind")
    claims = [claim(maker), claim(maker), claim(maker)]
    assert [c.job_id if c else None for c in claims] == [first, second, None]
    assert claim(maker, kinds=frozenset()) is None
    got = claim(maker, kinds={"other.kind"})
    assert got is not None
    assert got.job_id == other


def test_a_job_is_not_due_before_run_after(maker: sessionmaker[Session]) -> None:
    later = utcnow() + timedelta(minutes=5)
    job_id = enqueue(maker, run_after=later)
    assert claim(maker) is None
    got = claim(maker, now=later)
    assert got is not None
    assert got.job_id == job_id


def test_a_leased_job_is_not_claimed_again(maker: sessionmaker[Session]) -> None:
    enqueue(maker)
    t0 = utcnow()
    assert claim(maker, worker="w1", now=t0) is not None
    assert claim(maker, worker="w2", now=t0) is None
    assert claim(maker, worker="w2", now=t0 + LEASE - timedelta(milliseconds=1)) is None


def test_heartbeat_extends_the_lease(maker: sessionmaker[Session]) -> None:
    job_id = enqueue(maker)
    t0 = utcnow()
    got = claim(maker, worker="w1", now=t0)
    assert got is not None
    with maker() as session, transaction(session):
        service.heartbeat(session, got, LEASE, now=t0 + timedelta(seconds=0.9))
    assert job(maker, job_id).leased_until == t0 + timedelta(seconds=1.9)
    assert claim(maker, worker="w2", now=t0 + timedelta(seconds=1.5)) is None
    taken = claim(maker, worker="w2", now=t0 + timedelta(seconds=2))
    assert taken is not None
    with pytest.raises(LeaseLost), maker() as session, transaction(session):
        service.heartbeat(session, got, LEASE)


def test_an_expired_lease_is_taken_over_and_the_old_claim_cannot_commit(
    maker: sessionmaker[Session], engine: Engine, effect_table: None
) -> None:
    job_id = enqueue(maker)
    t0 = utcnow()
    old = claim(maker, worker="slow", now=t0)
    assert old is not None
    new = claim(maker, worker="fast", now=t0 + LEASE + timedelta(milliseconds=1))
    assert new is not None
    assert (new.job_id, new.attempt) == (job_id, 2)
    assert new.token != old.token

    # The slow worker applies its result and finishes in one transaction: it rolls back whole.
    with pytest.raises(LeaseLost):
        apply_result(maker, old, "slow")
    assert effects(engine, job_id) == []
    with pytest.raises(LeaseLost), maker() as session, transaction(session):
        service.fail(session, old, "too late")
    assert job(maker, job_id).status == JobStatus.RUNNING

    apply_result(maker, new, "fast")
    assert effects(engine, job_id) == ["fast"]
    done = job(maker, job_id)
    assert (done.status, done.attempts, done.worker, done.last_error) == ("done", 2, "fast", None)


def test_failures_retry_with_backoff_then_fail(maker: sessionmaker[Session]) -> None:
    job_id = enqueue(maker, max_attempts=3)
    now = utcnow()
    for attempt in (1, 2):
        got = claim(maker, now=now)
        assert got is not None
        assert got.attempt == attempt
        with maker() as session, transaction(session):
            assert service.fail(session, got, f"boom {attempt}", now=now) == JobStatus.QUEUED
        queued = job(maker, job_id)
        delay = timedelta(seconds=2 * 2 ** (attempt - 1))
        assert service.backoff(attempt) == delay
        assert (queued.status, queued.run_after, queued.last_error) == (
            "queued",
            now + delay,
            f"boom {attempt}",
        )
        assert (queued.lease_token, queued.leased_until, queued.finished_at) == (None, None, None)
        assert claim(maker, now=now + delay - timedelta(milliseconds=1)) is None
        now += delay

    last = claim(maker, now=now)
    assert last is not None
    assert last.attempt == 3
    with maker() as session, transaction(session):
        assert service.fail(session, last, "boom 3", now=now) == JobStatus.FAILED
    failed = job(maker, job_id)
    assert (failed.status, failed.attempts, failed.last_error) == ("failed", 3, "boom 3")
    assert failed.finished_at == now
    assert claim(maker, now=now + timedelta(days=1)) is None


def test_backoff_is_capped() -> None:
    assert service.backoff(1) == timedelta(seconds=2)
    assert service.backoff(50) == service.BACKOFF_CAP
    assert service.backoff(10**6) == service.BACKOFF_CAP


def test_a_job_whose_worker_died_on_the_last_attempt_fails(maker: sessionmaker[Session]) -> None:
    job_id = enqueue(maker, max_attempts=1)
    other = enqueue(maker)
    t0 = utcnow()
    assert claim(maker, worker="doomed", now=t0, job_id=job_id) is not None
    later = t0 + LEASE + timedelta(seconds=1)
    got = claim(maker, worker="w2", now=later)
    assert got is not None
    assert got.job_id == other, "the exhausted job is failed and the next one claimed instead"
    failed = job(maker, job_id)
    assert (failed.status, failed.attempts, failed.finished_at) == ("failed", 1, later)
    assert failed.last_error is not None
    assert "doomed" in failed.last_error


def test_claim_a_particular_job(maker: sessionmaker[Session]) -> None:
    older, wanted = enqueue(maker), enqueue(maker)
    got = claim(maker, job_id=wanted)
    assert got is not None
    assert got.job_id == wanted
    assert claim(maker, job_id=wanted) is None, "leased"
    assert claim(maker, job_id=uuid.uuid4()) is None, "unknown"
    assert claim(maker, job_id=older, kinds={"other.kind"}) is None, "not one of the kinds"
    finish(maker, got)
    assert claim(maker, job_id=wanted, now=utcnow() + timedelta(days=1)) is None, "done"
    later = enqueue(maker, run_after=utcnow() + timedelta(minutes=5))
    assert claim(maker, job_id=later) is None, "not due"
    assert job(maker, older).status == JobStatus.QUEUED


def test_enqueue_takes_an_id_and_refuses_zero_attempts(maker: sessionmaker[Session]) -> None:
    job_id = uuid.uuid4()
    assert enqueue(maker, job_id=job_id) == job_id
    with pytest.raises(ValueError, match="max_attempts"):
        enqueue(maker, max_attempts=0)
    with pytest.raises(ValueError, match="lease"):
        claim(maker, lease=timedelta(0))
