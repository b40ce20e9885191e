"""Looking back over a contract's batches: quality history and the impact of a candidate."""

from __future__ import annotations

import tempfile
from pathlib import Path

from sqlalchemy.orm import Session

from app.auth.service import Principal
from app.batches import repository
from app.batches.pipeline import Context
from app.batches.schemas import (
    ImpactBatch,
    ImpactCheck,
    ImpactReport,
    QualityCheck,
    QualityHistory,
    QualityPoint,
)
from app.batches.service import checks_of
from app.contracts import service as contracts_service
from app.contracts.spec import ContractSpec
from app.db.base import utcnow
from app.validation.engine import validate
from app.validation.reading import UnreadableParquet


def quality(session: Session, *, name: str, principal: Principal, limit: int) -> QualityHistory:
    """Each check's failed_fraction over the latest `limit` validated batches, oldest first."""
    contracts_service.require_batch_reader(principal, name)
    contract = contracts_service.get_contract(session, name)
    batches = [
        b
        for b in repository.newest_first(session, contract.id, limit=limit)
        if b.validated_at is not None
    ][::-1]
    records = checks_of(session, batches)
    return QualityHistory(
        contract=name,
        batches=[
            QualityPoint(
                batch_id=b.id,
                received_at=b.received_at,
                status=b.status,
                checks=[
                    QualityCheck(
                        check=r.check,
                        columns=r.columns,
                        failed_fraction=r.failed_fraction,
                        passed=r.passed,
                    )
                    for r in records[b.id]
                ],
            )
            for b in batches
        ],
    )


def impact(
    session: Session,
    *,
    name: str,
    candidate: ContractSpec,
    principal: Principal,
    batches: int,
    ctx: Context,
) -> ImpactReport:
    """Replay the latest stored uploads against a candidate document, without recording."""
    contracts_service.require_batch_reader(principal, name)
    contracts_service.require_same_name(name, candidate)
    contract = contracts_service.get_contract(session, name)
    recent = [
        b
        for b in repository.newest_first(session, contract.id, limit=batches)
        if ctx.blobs.exists(b.blob_key)
    ]
    session.rollback()  # replays can take a while: hold no snapshot meanwhile
    ctx.scratch.mkdir(parents=True, exist_ok=True)
    out = []
    with tempfile.TemporaryDirectory(dir=ctx.scratch) as tmp:
        for batch in recent:
            source = ctx.blobs.fetch(batch.blob_key, Path(tmp) / f"{batch.id}.parquet")
            try:
                report = validate(
                    candidate, source, now=utcnow(), cache=ctx.cache, pages_checked=True
                )  # stored batches: their page headers were checked when they arrived
                status = report.outcome.value
                checks = [
                    ImpactCheck(
                        check=c.check,
                        columns=c.columns,
                        failed_rows=c.failed_rows,
                        passed=c.passed,
                    )
                    for c in report.checks
                ]
            except UnreadableParquet:
                status, checks = "rejected", []
            out.append(
                ImpactBatch(
                    batch_id=batch.id,
                    received_at=batch.received_at,
                    actual_status=batch.status,
                    would_be_status=status,
                    checks=checks,
                )
            )
    return ImpactReport(batches=out)
