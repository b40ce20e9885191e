"""The claim-and-run loop behind `tollgate worker` and the in-process worker of `tollgate serve`."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from datetime import timedelta
from types import TracebackType

from sqlalchemy.orm import Session, sessionmaker

from app.db.engine import transaction
from app.jobs import service
from app.jobs.errors import LeaseLost
from app.jobs.service import Claim

log = logging.getLogger("tollgate.jobs")

Handler = Callable[[sessionmaker[Session], Claim], None]
"""Runs one attempt: does its work, then opens ONE transaction that calls
`service.finish(session, claim)` (best first; it raises LeaseLost if the job was taken over)
and applies the result, so that the result commits only with the job's own lease."""

DEFAULT_LEASE = timedelta(seconds=30)
DEFAULT_POLL_INTERVAL = 1.0


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def run_worker(
    maker: sessionmaker[Session],
    handlers: Mapping[str, Handler],
    *,
    stop: threading.Event,
    worker_id: str,
    lease: timedelta,
    poll_interval: float,
) -> None:
    """Claim and run jobs of the handlers' kinds until `stop` is set; the running job ends first."""
    kinds = frozenset(handlers)
    log.info("worker %s started for %s", worker_id, ", ".join(sorted(kinds)) or "no kinds")
    while not stop.is_set():
        claim = _claim_one(maker, worker_id=worker_id, lease=lease, kinds=kinds)
        if claim is None:
            stop.wait(poll_interval)
            continue
        run_claimed(maker, handlers[claim.kind], claim, lease=lease)
    log.info("worker %s stopped", worker_id)


def drain(
    maker: sessionmaker[Session],
    handlers: Mapping[str, Handler],
    *,
    worker_id: str,
    lease: timedelta,
) -> int:
    """Run every job that is due now, one after another, then return how many ran.

    A job that fails is requeued for later (backoff), so draining always ends.
    """
    kinds, ran = frozenset(handlers), 0
    while True:
        with maker() as session, transaction(session):
            claim = service.claim(session, worker=worker_id, lease=lease, kinds=kinds)
        if claim is None:
            return ran
        run_claimed(maker, handlers[claim.kind], claim, lease=lease)
        ran += 1


def _claim_one(
    maker: sessionmaker[Session], *, worker_id: str, lease: timedelta, kinds: frozenset[str]
) -> Claim | None:
    try:
        with maker() as session, transaction(session):
            return service.claim(session, worker=worker_id, lease=lease, kinds=kinds)
    except Exception:
        # The database may be restarting: keep polling rather than die.
        log.exception("worker %s: claiming failed", worker_id)
        return None


def run_claimed(
    maker: sessionmaker[Session], handler: Handler, claim: Claim, *, lease: timedelta
) -> bool:
    """Run one claimed attempt with a heartbeat; record a failure. True if the handler finished.

    Also used by callers that claim a particular job themselves (the synchronous upload path).
    """
    log.info("job %s (%s) attempt %d started", claim.job_id, claim.kind, claim.attempt)
    error: Exception | None = None
    with _Heartbeat(maker, claim, lease):
        try:
            handler(maker, claim)
        except LeaseLost:
            log.warning(
                "job %s attempt %d: lease lost, result discarded", claim.job_id, claim.attempt
            )
            return False
        except Exception as exc:
            log.exception("job %s attempt %d failed", claim.job_id, claim.attempt)
            error = exc
    if error is None:
        log.info("job %s attempt %d done", claim.job_id, claim.attempt)
        return True
    _record_failure(maker, claim, error)
    return False


def _record_failure(maker: sessionmaker[Session], claim: Claim, error: Exception) -> None:
    try:
        with maker() as session, transaction(session):
            status = service.fail(session, claim, f"{type(error).__name__}: {error}")
        log.info("job %s attempt %d recorded: now %s", claim.job_id, claim.attempt, status)
    except LeaseLost:
        log.warning(
            "job %s attempt %d: lease lost before the failure was recorded",
            claim.job_id,
            claim.attempt,
        )
    except Exception:
        # The lease will expire and another worker will retry the job.
        log.exception(
            "job %s attempt %d: recording the failure failed", claim.job_id, claim.attempt
        )


class _Heartbeat:
    """Extends the claim's lease every lease/3 on a thread of its own while the handler runs."""

    def __init__(self, maker: sessionmaker[Session], claim: Claim, lease: timedelta) -> None:
        self._maker = maker
        self._claim = claim
        self._lease = lease
        self._done = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"heartbeat-{claim.job_id}", daemon=True
        )

    def __enter__(self) -> None:
        self._thread.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        interval = self._lease.total_seconds() / 3
        while not self._done.wait(interval):
            try:
                with self._maker() as session, transaction(session):
                    service.heartbeat(session, self._claim, self._lease)
            except LeaseLost:
                if not self._done.is_set():  # else the job simply finished meanwhile
                    log.warning("job %s: lease lost while running", self._claim.job_id)
                return
            except Exception:
                log.exception("job %s: heartbeat failed", self._claim.job_id)


def start_in_process(
    maker: sessionmaker[Session],
    handlers: Mapping[str, Handler],
    *,
    worker_id: str | None = None,
    lease: timedelta = DEFAULT_LEASE,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
) -> tuple[threading.Thread, threading.Event]:
    """Run a worker on a daemon thread (`tollgate serve`); set the event, then join, to stop it."""
    stop = threading.Event()
    thread = threading.Thread(
        target=run_worker,
        args=(maker, handlers),
        kwargs={
            "stop": stop,
            "worker_id": worker_id or default_worker_id(),
            "lease": lease,
            "poll_interval": poll_interval,
        },
        name="tollgate-worker",
        daemon=True,
    )
    thread.start()
    return thread, stop
