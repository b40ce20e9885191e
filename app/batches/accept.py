"""Acceptance into the feature store (SPEC §4): a validated batch of a contract with `features`
becomes `accepted`/`partial` only once its accepted rows are committed to the view's Delta table.

Under the view's lock (one appender per view at a time), in one database transaction:
append (skipped when the table already holds the batch's application transaction — a crash
after the append), record snapshot N = latest + 1, upsert the online store, set the status.
A crash between the Delta commit and the database commit leaves the batch `validating` with a
`pending_status`; `repair` (run at start-up) and the job's retry both finish it. Because every
acceptance takes the lock and first finishes any batch whose append landed without its
acceptance, the rows a crashed append stamped with N are exactly snapshot N.
"""

from __future__ import annotations

import logging
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.orm import Session, sessionmaker

from app.batches import repository
from app.batches.models import Batch
from app.contracts import service as contracts_service
from app.contracts.parsing import parse_contract
from app.contracts.spec import ContractSpec
from app.db.base import utcnow
from app.db.engine import transaction
from app.features import repository as features_repo
from app.features.models import FeatureSnapshot, FeatureView
from app.features.offline import OfflineStore, Stamp, accepted_rows
from app.features.online import LatestRows
from app.jobs import service as jobs
from app.jobs.service import Claim
from app.storage.blobs import BlobStore

log = logging.getLogger("tollgate")


@dataclass(frozen=True)
class Accepted:
    """The accepted rows of a validated batch: its upload minus the quarantined rows."""

    upload: Path
    quarantined: pa.Int64Array


def accept(
    maker: sessionmaker[Session],
    offline: OfflineStore,
    blobs: BlobStore,
    batch_id: uuid.UUID,
    *,
    rows: Accepted | None = None,
    claim: Claim | None = None,
) -> None:
    """Move a pending batch into its view; `rows` saves re-fetching the upload."""
    with maker() as session, transaction(session):
        batch = repository.by_id(session, batch_id)
        if batch is None or batch.pending_status is None:  # done by another runner
            if claim is not None:
                jobs.finish(session, claim)
            return
        view = features_repo.lock_view(session, batch.contract_name)
        session.refresh(batch)  # re-read under the lock
        if batch.pending_status is not None:
            # A batch whose append landed before its runner crashed holds latest + 1: it goes
            # first, so that no other batch is ever stamped with its snapshot.
            for other in repository.pending_acceptance(session, view.name):
                if other.id != batch.id and offline.committed(view.name, other.id):
                    _into_view(session, offline, blobs, view, other, None)
            _into_view(session, offline, blobs, view, batch, rows)
        if claim is not None:
            jobs.finish(session, claim)  # LeaseLost → rollback; the new holder finishes it


def _into_view(
    session: Session,
    offline: OfflineStore,
    blobs: BlobStore,
    view: FeatureView,
    batch: Batch,
    rows: Accepted | None,
) -> None:
    """Snapshot N = latest + 1: the Delta append, its record, the online upsert, the status."""
    spec = parse_contract(
        contracts_service.get_version(session, batch.contract_name, batch.version).document
    )
    stamp = Stamp(batch.id, batch.version, view.latest_snapshot + 1)
    if rows is None and not offline.committed(view.name, batch.id):
        with tempfile.TemporaryDirectory() as tmp:
            count, latest, version = _append(offline, spec, stamp, _fetch(blobs, batch, tmp))
    else:
        count, latest, version = _append(offline, spec, stamp, rows)
    snapshot = FeatureSnapshot(
        view=view.name,
        snapshot=stamp.snapshot,
        batch_id=batch.id,
        contract_version=batch.version,
        rows=count,
        delta_version=version,
        accepted_at=utcnow(),
    )
    features_repo.add(session, snapshot)
    view.latest_snapshot, view.rows = stamp.snapshot, view.rows + count
    features_repo.upsert_online(session, latest.upserts(view.name, stamp))
    assert batch.pending_status is not None
    batch.status, batch.pending_status = batch.pending_status, None
    log.info("batch %s is snapshot %s of %s", batch.id, stamp.snapshot, view.name)


def _append(
    offline: OfflineStore, spec: ContractSpec, stamp: Stamp, rows: Accepted | None
) -> tuple[int, LatestRows, int]:
    """Append (unless a crashed run did: then `rows` may be None) and see every row for the
    online store."""
    features = spec.features
    assert features is not None
    latest = LatestRows(features.entity, features.timestamp)
    view = spec.name
    if offline.committed(view, stamp.batch_id):  # the append landed, the acceptance did not
        for batch in offline.batch_rows(view, stamp.batch_id, spec.columns):
            latest.add(batch)
        return latest.seen, latest, offline.commit_version(view, stamp.batch_id)
    assert rows is not None, "the upload is needed when the append has not landed"
    reader = accepted_rows(rows.upload, spec.columns, rows.quarantined, stamp)
    seen = pa.RecordBatchReader.from_batches(reader.schema, latest.tee(iter(reader)))
    version = offline.append(view, stamp, seen)
    return latest.seen, latest, version


def _fetch(blobs: BlobStore, batch: Batch, tmp: str) -> Accepted:
    upload = blobs.fetch(batch.blob_key, Path(tmp) / "upload.parquet")
    quarantined = pa.array([], pa.int64())
    if batch.quarantine_key is not None:
        q = blobs.fetch(batch.quarantine_key, Path(tmp) / "quarantine.parquet")
        quarantined = pq.read_table(q, columns=["_row"]).column("_row").combine_chunks()
    return Accepted(upload, quarantined)


def repair(maker: sessionmaker[Session], offline: OfflineStore, blobs: BlobStore) -> int:
    """Finish every batch left between its Delta append and its acceptance; how many."""
    with maker() as session:
        pending = [b.id for b in repository.pending_acceptance(session)]
    done = 0
    for batch_id in pending:
        try:
            accept(maker, offline, blobs, batch_id)
            done += 1
        except Exception:  # one bad batch must not keep the others pending; its job retries
            log.exception("could not finish the acceptance of batch %s", batch_id)
    if pending:
        log.warning("finished %s of %s batch(es) left pending by a crash", done, len(pending))
    return done
