"""Feature-store queries: the view lock, snapshots, the guarded online upsert, manifests."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.db.base import insert_for, utcnow
from app.features.models import FeatureSnapshot, FeatureView, OnlineRow, TrainingSet

UPSERT_CHUNK = 10_000  # rows per executemany of the INSERT … ON CONFLICT


def lock_view(session: Session, name: str) -> FeatureView:
    """The view's row, created if new, locked until the transaction ends (row lock on
    PostgreSQL; on SQLite the write takes the database's single write lock)."""
    session.execute(insert_for(session)(FeatureView).values(name=name).on_conflict_do_nothing())
    session.execute(update(FeatureView).where(FeatureView.name == name).values(updated_at=utcnow()))
    view = session.scalars(
        select(FeatureView).where(FeatureView.name == name).with_for_update()
    ).one()
    session.refresh(view)
    return view


def view(session: Session, name: str) -> FeatureView | None:
    return session.get(FeatureView, name)


def views(session: Session, names: Sequence[str]) -> dict[str, FeatureView]:
    if not names:
        return {}
    rows = session.scalars(select(FeatureView).where(FeatureView.name.in_(names)))
    return {v.name: v for v in rows}


def add(session: Session, row: FeatureSnapshot | TrainingSet) -> None:
    session.add(row)
    session.flush()


def snapshot_of_batch(session: Session, batch_id: uuid.UUID) -> int | None:
    query = select(FeatureSnapshot.snapshot).where(FeatureSnapshot.batch_id == batch_id)
    found = session.scalar(query)
    return None if found is None else int(found)


def snapshot_at(session: Session, name: str, when: datetime) -> int:
    """The latest snapshot of the view accepted at or before `when` (0 when none)."""
    query = select(func.max(FeatureSnapshot.snapshot)).where(
        FeatureSnapshot.view == name, FeatureSnapshot.accepted_at <= when
    )
    return int(session.scalar(query) or 0)


def upsert_online(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert or replace latest rows — never with older data: a row replaces the stored one
    only when its timestamp is not older (equal timestamps: the later snapshot wins)."""
    if not rows:
        return
    stmt = insert_for(session)(OnlineRow)
    new = stmt.excluded
    stmt = stmt.on_conflict_do_update(
        index_elements=[OnlineRow.view, OnlineRow.entity_key],
        set_={
            "ts_us": new.ts_us,
            "snapshot": new.snapshot,
            "batch_id": new.batch_id,
            "contract_version": new.contract_version,
            "values": new["values"],
        },
        where=(OnlineRow.ts_us < new.ts_us)
        | ((OnlineRow.ts_us == new.ts_us) & (OnlineRow.snapshot < new.snapshot)),
    )
    for k in range(0, len(rows), UPSERT_CHUNK):  # one executemany per chunk
        session.execute(stmt, list(rows[k : k + UPSERT_CHUNK]))


def online(session: Session, name: str, keys: Sequence[str]) -> dict[str, OnlineRow]:
    if not keys:
        return {}
    query = select(OnlineRow).where(OnlineRow.view == name, OnlineRow.entity_key.in_(set(keys)))
    return {row.entity_key: row for row in session.scalars(query)}


def training_set(session: Session, set_id: uuid.UUID) -> TrainingSet | None:
    return session.get(TrainingSet, set_id)
