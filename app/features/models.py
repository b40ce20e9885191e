"""Feature-store rows: one per view (its snapshot counter and lock), one per snapshot (the batch
it accepted), the online store (latest row per entity), and saved training-set manifests."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, UTCDateTime, utcnow


class FeatureView(Base):
    """A view's offline-store state; its row is locked while a batch is appended."""

    __tablename__ = "feature_view"

    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    latest_snapshot: Mapped[int] = mapped_column(BigInteger, default=0)
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FeatureSnapshot(Base):
    """Snapshot N of a view: the one batch whose accepted rows made it, and the Delta commit."""

    __tablename__ = "feature_snapshot"
    __table_args__ = (
        UniqueConstraint("batch_id"),
        Index("ix_feature_snapshot_view_accepted", "view", "accepted_at"),
    )

    view: Mapped[str] = mapped_column(
        ForeignKey("feature_view.name", ondelete="CASCADE"), primary_key=True
    )
    snapshot: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    batch_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("batch.id", ondelete="CASCADE"))
    contract_version: Mapped[str] = mapped_column(String(32))
    rows: Mapped[int] = mapped_column(BigInteger)
    delta_version: Mapped[int] = mapped_column(BigInteger)
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OnlineRow(Base):
    """The latest row of one entity: `entity_key` is the canonical JSON of its key values."""

    __tablename__ = "online_row"

    view: Mapped[str] = mapped_column(String(63), primary_key=True)
    entity_key: Mapped[str] = mapped_column(String(1024), primary_key=True)
    ts_us: Mapped[int] = mapped_column(BigInteger)  # the feature timestamp, µs since the epoch
    snapshot: Mapped[int] = mapped_column(BigInteger)
    batch_id: Mapped[uuid.UUID] = mapped_column()
    contract_version: Mapped[str] = mapped_column(String(32))
    values: Mapped[str] = mapped_column(Text)  # JSON object: column → value (JSON form)


class TrainingSet(Base):
    """A saved training set: what rebuilds its data exactly (the entity rows are a blob)."""

    __tablename__ = "training_set"
    __table_args__ = (Index("ix_training_set_view_created", "view", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    view: Mapped[str] = mapped_column(String(63))
    features: Mapped[list[str]] = mapped_column(JSON)
    snapshot: Mapped[int] = mapped_column(BigInteger)
    timestamp_column: Mapped[str] = mapped_column(String(255))
    lineage: Mapped[bool] = mapped_column(default=False)
    rows: Mapped[int] = mapped_column(BigInteger)
    entity_sha256: Mapped[str] = mapped_column(String(64))
    entity_key: Mapped[str] = mapped_column(String(255))  # blob key of the entity rows
    output_schema: Mapped[dict[str, Any]] = mapped_column(JSON)  # feature column → type
    data_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
