"""Test-only worker process for the kill test.

    python -m tests.integration.jobs.worker_entry DATABASE_URL WORKER_ID LEASE_SECONDS

Runs `run_worker` with a handler that finishes the job and applies its result, then, before
committing, prints `applied-uncommitted JOB_ID` and blocks reading stdin. The test never
answers: it SIGKILLs the process there.
"""

from __future__ import annotations

import sys
import threading
from datetime import timedelta

from app.db.engine import make_engine, make_sessionmaker
from app.jobs.service import Claim
from app.jobs.worker import run_worker
from tests.integration.jobs.support import KIND, effect_handler


def _block_before_commit(claim: Claim) -> None:
    sys.stdout.write(f"applied-uncommitted {claim.job_id}\n")
    sys.stdout.flush()
    if not sys.stdin.readline():
        # The test went away without killing us: roll back rather than apply.
        raise RuntimeError("stdin closed")


def main(argv: list[str]) -> int:
    url, worker_id, lease_seconds = argv
    engine = make_engine(url)
    run_worker(
        make_sessionmaker(engine),
        {KIND: effect_handler(worker_id, before_commit=_block_before_commit)},
        stop=threading.Event(),
        worker_id=worker_id,
        lease=timedelta(seconds=float(lease_seconds)),
        poll_interval=0.05,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
