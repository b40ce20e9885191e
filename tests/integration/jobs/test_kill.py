"""THE KILL TEST: a worker process SIGKILLed in the middle of a job, after it applied the job's
result but before it committed. Another worker retries the job after the lease expires; the result
is applied exactly once."""

from __future__ import annotations

import select
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import IO

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.db.engine import transaction
from app.jobs import service
from app.jobs.models import Job, JobStatus
from app.jobs.worker import start_in_process
from tests.integration.jobs.support import KIND, effect_handler, effects, wait_until

ROOT = Path(__file__).parents[3]
LEASE_SECONDS = 1.0


def read_line(stream: IO[str], *, timeout: float) -> str:
    ready, _, _ = select.select([stream], [], [], timeout)
    assert ready, f"no line from the worker process within {timeout} s"
    return stream.readline().strip()


def job(maker: sessionmaker[Session], job_id: uuid.UUID) -> Job:
    with maker() as session:
        found = service.get(session, job_id)
        assert found is not None
        return found


def test_a_worker_killed_mid_job_leaves_it_to_another_and_it_is_applied_once(
    database_url: str,
    maker: sessionmaker[Session],
    engine: Engine,
    effect_table: None,
    tmp_path: Path,
) -> None:
    with maker() as session, transaction(session):
        job_id = service.enqueue(session, kind=KIND, payload={"batch": "b-1"}).id

    log_path = tmp_path / "doomed.log"
    command = [
        sys.executable,
        "-m",
        "tests.integration.jobs.worker_entry",
        database_url,
        "doomed",
        str(LEASE_SECONDS),
    ]
    with (
        log_path.open("w") as log,
        subprocess.Popen(
            command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True
        ) as doomed,
    ):
        try:
            assert doomed.stdout is not None
            line = read_line(doomed.stdout, timeout=15)
            assert line == f"applied-uncommitted {job_id}", log_path.read_text()
            mid_job = job(maker, job_id)
            assert (mid_job.status, mid_job.attempts, mid_job.worker) == ("running", 1, "doomed")
        finally:
            doomed.kill()
            doomed.wait(timeout=10)
    assert doomed.returncode == -9
    assert effects(engine, job_id) == [], "the uncommitted result died with the process"

    thread, stop = start_in_process(
        maker,
        {KIND: effect_handler("rescuer")},
        worker_id="rescuer",
        lease=timedelta(seconds=LEASE_SECONDS),
        poll_interval=0.05,
    )
    try:
        assert wait_until(lambda: job(maker, job_id).status == JobStatus.DONE, timeout=10)
    finally:
        stop.set()
        thread.join(timeout=10)

    done = job(maker, job_id)
    assert (done.status, done.attempts, done.worker) == ("done", 2, "rescuer")
    assert effects(engine, job_id) == ["rescuer"]
