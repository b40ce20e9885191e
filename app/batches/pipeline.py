"""The validation job: load → validate → store evidence → record, fenced so it applies once."""

from __future__ import annotations

import logging
import tempfile
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from app.batches import repository
from app.batches.accept import Accepted, accept, repair
from app.batches.models import Batch, CheckRecord
from app.contracts import service as contracts_service
from app.contracts.parsing import parse_contract
from app.db.base import utcnow
from app.db.engine import transaction
from app.features.offline import OfflineStore
from app.jobs import service as jobs
from app.jobs.service import Claim
from app.jobs.worker import Handler
from app.storage.blobs import BlobStore
from app.validation.engine import ContractCache, validate
from app.validation.reading import UnreadableParquet
from app.validation.results import CheckResult, Outcome, ValidationReport

log = logging.getLogger("tollgate")
FINAL = frozenset({"accepted", "partial", "rejected"})
LEASE = timedelta(minutes=10)
VALIDATE_BATCH = "validate_batch"


@dataclass(frozen=True)
class Context:
    """What a validation run needs besides the database: storage, caches, scratch space."""

    blobs: BlobStore
    offline: OfflineStore
    cache: ContractCache
    scratch: Path

    @classmethod
    def build(cls, storage_url: str, scratch: Path) -> Context:
        return cls(BlobStore(storage_url), OfflineStore(storage_url), ContractCache(), scratch)

    def repair(self, maker: sessionmaker[Session]) -> int:
        """Start-up: finish batches a crash left between the Delta append and acceptance.

        Best effort: a failure (storage or database down) is logged and the process starts
        anyway; the batches' jobs retry the acceptance when their leases end.
        """
        try:
            return repair(maker, self.offline, self.blobs)
        except Exception:
            log.exception("start-up repair of pending feature-store acceptances failed")
            return 0

    def handler(self, maker: sessionmaker[Session], claim: Claim) -> None:
        run_validation(maker, claim, self)

    def handlers(self) -> dict[str, Handler]:
        """The job handlers this domain contributes to a worker."""
        return {VALIDATE_BATCH: self.handler}


def run_validation(maker: sessionmaker[Session], claim: Claim, ctx: Context) -> None:
    """Validate the batch named by the job and record the result in one fenced transaction;
    a batch that feeds a feature view is then accepted into it (app.batches.accept)."""
    batch_id = uuid.UUID(claim.payload["batch_id"])
    with maker() as session, transaction(session):
        # Fence first: a worker whose lease was taken over must not touch the batch, and on
        # SQLite the first statement being a write takes the write lock up front.
        jobs.heartbeat(session, claim, LEASE)
        batch = _batch(session, batch_id)
        if batch.status in FINAL:  # already recorded by an earlier attempt
            jobs.finish(session, claim)
            return
        validated = batch.pending_status is not None  # an earlier attempt stopped before the store
        batch.status = "validating"
        document = contracts_service.get_version(session, batch.contract_name, batch.version)
        spec = parse_contract(document.document)
        blob_key = batch.blob_key
    if validated:
        accept(maker, ctx.offline, ctx.blobs, batch_id, claim=claim)
        return
    ctx.scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=ctx.scratch) as tmp:
        work = Path(tmp)
        source = ctx.blobs.fetch(blob_key, work / "upload.parquet")
        try:
            report = validate(
                spec,
                source,
                now=utcnow(),
                failures_to=work / "failures.parquet",
                quarantine_to=work / "quarantine.parquet",
                cache=ctx.cache,
                pages_checked=True,  # by ingest, on these very (content-addressed) bytes
            )
        except UnreadableParquet as exc:
            report = _unreadable(str(exc))
        keys = _store_evidence(ctx.blobs, batch_id, report)
        feeds = spec.features is not None and report.rows_accepted > 0
        with maker() as session, transaction(session):
            if feeds:  # the job ends when the rows are in the feature store
                jobs.heartbeat(session, claim, LEASE)
            else:
                jobs.finish(session, claim)  # raises LeaseLost (→ rollback) if taken over
            _record(session, _batch(session, batch_id), report, keys, pending=feeds)
        if feeds:
            rows = Accepted(source, report.quarantined_rows)
            accept(maker, ctx.offline, ctx.blobs, batch_id, rows=rows, claim=claim)
    log.info("batch %s %s: %s rows", batch_id, report.outcome.value, report.rows)


def _batch(session: Session, batch_id: uuid.UUID) -> Batch:
    batch = repository.by_id(session, batch_id)
    if batch is None:
        raise LookupError(f"batch {batch_id} vanished")
    return batch


def _unreadable(detail: str) -> ValidationReport:
    """A file whose footer read fine but whose data does not decode: rejected, with the reason."""
    record = CheckResult(
        check="unreadable",
        columns=[],
        severity="error",
        failed_rows=0,
        rows_checked=0,
        mostly=Decimal(1),
        passed=False,
        detail=detail,
    )
    return ValidationReport(Outcome.REJECTED, 0, 0, 0, [record])


def _store_evidence(
    blobs: BlobStore, batch_id: uuid.UUID, report: ValidationReport
) -> tuple[str | None, str | None]:
    """Failures and quarantine files go to storage before the batch says they exist."""
    failures = quarantine = None
    if report.failures_path is not None and report.failures_path.exists():
        failures = f"failures/{batch_id}.parquet"
        blobs.put_file(failures, report.failures_path, move=True)
    if report.quarantine_path is not None and report.quarantine_path.exists():
        quarantine = f"quarantine/{batch_id}.parquet"
        blobs.put_file(quarantine, report.quarantine_path, move=True)
    return failures, quarantine


def _record(
    session: Session,
    batch: Batch,
    report: ValidationReport,
    keys: tuple[str | None, str | None],
    *,
    pending: bool,
) -> None:
    if pending:  # accepted/partial once its rows are in the feature store
        batch.status, batch.pending_status = "validating", report.outcome.value
    else:
        batch.status = report.outcome.value
    batch.rows = report.rows
    batch.rows_accepted = report.rows_accepted
    batch.rows_quarantined = report.rows_quarantined
    batch.failures_key, batch.quarantine_key = keys
    batch.validated_at = utcnow()
    repository.add_records(
        session,
        [
            CheckRecord(
                batch_id=batch.id,
                position=i,
                check=c.check,
                columns=c.columns,
                severity=c.severity,
                failed_rows=c.failed_rows,
                rows_checked=c.rows_checked,
                failed_fraction=c.failed_fraction,
                mostly=float(c.mostly),
                passed=c.passed,
                samples=[{"row": s.row, "value": s.value} for s in c.samples],
                detail=c.detail,
            )
            for i, c in enumerate(report.checks)
        ],
    )
