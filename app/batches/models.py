"""Batch and CheckRecord ORM models: one row per upload, one per check per batch."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, UTCDateTime, utcnow


class Batch(Base):
    """One uploaded Parquet file and what validation made of it."""

    __tablename__ = "batch"
    __table_args__ = (
        UniqueConstraint("contract_id", "sha256"),
        UniqueConstraint("contract_id", "idempotency_key"),
        Index("ix_batch_contract_received", "contract_id", "received_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"))
    contract_name: Mapped[str] = mapped_column(String(63))
    version: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    rows: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    rows_accepted: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    rows_quarantined: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    blob_key: Mapped[str] = mapped_column(String(255))
    failures_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    quarantine_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    validated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # accepted|partial once the accepted rows are in the feature store; meanwhile `validating`
    pending_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    uploaded_by: Mapped[uuid.UUID | None] = mapped_column(nullable=True)


class CheckRecord(Base):
    """One check's verdict on one batch: the violations ledger."""

    __tablename__ = "check_record"
    __table_args__ = (UniqueConstraint("batch_id", "position"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    batch_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("batch.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    check: Mapped[str] = mapped_column(String(32))
    columns: Mapped[list[str]] = mapped_column(JSON)
    severity: Mapped[str] = mapped_column(String(16))
    failed_rows: Mapped[int] = mapped_column(BigInteger)
    rows_checked: Mapped[int] = mapped_column(BigInteger)
    failed_fraction: Mapped[float] = mapped_column(Float)
    mostly: Mapped[float] = mapped_column(Float)
    passed: Mapped[bool] = mapped_column(Boolean)
    samples: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
