"""Saved training sets (SPEC §4): a manifest that rebuilds the very same Parquet bytes later.

Saving stores the entity rows (a Parquet blob, content-addressed: `entity_sha256`), the view,
features, pinned snapshot, the answer's Arrow schema and the answer's sha256. Rebuilding joins the
stored rows against the offline store pinned at that snapshot — what arrived since, later contract
versions and compaction change nothing — casts to the saved schema and checks the bytes' sha256
before answering, so a rebuild that would differ is refused instead of served.
"""

from __future__ import annotations

import base64
import tempfile
import uuid
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from app.features import answers, entities, repository, service
from app.features.errors import TrainingSetNotFound
from app.features.models import TrainingSet
from app.features.offline import OfflineStore
from app.problems import TollgateError
from app.storage.blobs import BlobStore


class NotReproducible(TollgateError):
    """The rebuilt bytes differ from the saved answer's sha256: never served silently."""

    status = 500
    type = "training-set-not-reproducible"
    title = "Training set not reproducible"


def manifest(row: TrainingSet) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "view": row.view,
        "features": list(row.features),
        "snapshot": row.snapshot,
        "entity_sha256": row.entity_sha256,
        "rows": row.rows,
        "created_at": row.created_at.isoformat().replace("+00:00", "Z"),
        "timestamp_column": row.timestamp_column,
        "lineage": row.lineage,
        "data_sha256": row.data_sha256,
    }


def save(
    session: Session,
    offline: OfflineStore,
    blobs: BlobStore,
    scratch: Path,
    view: service.View,
    frame: pl.DataFrame,
    *,
    features: list[str],
    snapshot: int,
    timestamp_column: str,
    lineage: bool,
    created_by: uuid.UUID | None,
) -> TrainingSet:
    entities.check(frame, view.keys, timestamp_column, features)
    result = service.training_set(
        offline,
        view,
        frame,
        features=features,
        snapshot=snapshot,
        timestamp_column=timestamp_column,
        lineage=lineage,
    )
    with tempfile.TemporaryDirectory(dir=scratch) as tmp:
        rows_file, data_file = Path(tmp) / "entities.parquet", Path(tmp) / "data.parquet"
        entity_sha = answers.write_parquet(frame, rows_file)
        data_sha = answers.write_parquet(result, data_file)
        key = f"training-sets/entities/{entity_sha}.parquet"
        blobs.put_file(key, rows_file, move=True)
    row = TrainingSet(
        view=view.name,
        features=features,
        snapshot=snapshot,
        timestamp_column=timestamp_column,
        lineage=lineage,
        rows=frame.height,
        entity_sha256=entity_sha,
        entity_key=key,
        output_schema={
            "arrow": base64.b64encode(_schema(result).serialize().to_pybytes()).decode()
        },
        data_sha256=data_sha,
        created_by=created_by,
    )
    repository.add(session, row)
    return row


def _schema(frame: pl.DataFrame) -> pa.Schema:
    schema: pa.Schema = frame.head(0).to_arrow().schema
    return schema


def get(session: Session, set_id: str) -> TrainingSet:
    try:
        key = uuid.UUID(set_id)
    except ValueError:
        raise TrainingSetNotFound(f"no training set {set_id[:80]!r}") from None
    row = repository.training_set(session, key)
    if row is None:
        raise TrainingSetNotFound(f"no training set {set_id}")
    return row


def rebuild(
    offline: OfflineStore, blobs: BlobStore, view: service.View, row: TrainingSet, target: Path
) -> None:
    """Write the saved training set's data to `target`, byte-identical to the first answer."""
    with blobs.open(row.entity_key) as source:
        table = pq.read_table(source)
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    schema = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(row.output_schema["arrow"])))
    result = service.training_set(
        offline,
        view,
        frame,
        features=list(row.features),
        snapshot=row.snapshot,
        timestamp_column=row.timestamp_column,
        lineage=row.lineage,
    )
    pinned = pl.from_arrow(result.to_arrow().cast(schema))
    assert isinstance(pinned, pl.DataFrame)
    digest = answers.write_parquet(pinned, target)
    if digest != row.data_sha256:
        raise NotReproducible(
            f"training set {row.id} rebuilt to sha256 {digest}, not the saved {row.data_sha256}"
        )
