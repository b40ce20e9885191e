"""HTTP shapes of batches, their check records and the quality history (SPEC §5, §8)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class SampleRead(BaseModel):
    row: int
    value: Any


class CheckRecordRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    check: str
    columns: list[str]
    severity: str
    failed_rows: int
    rows_checked: int
    failed_fraction: float
    mostly: float
    passed: bool
    samples: list[SampleRead]
    detail: str | None = None


class BatchSummary(BaseModel):
    id: uuid.UUID
    contract: str
    version: str
    status: str
    rows: int | None
    rows_accepted: int | None
    rows_quarantined: int | None
    bytes: int
    sha256: str
    received_at: datetime
    validated_at: datetime | None


class ValidationJobRead(BaseModel):
    """Where the validation of a batch that is not validated yet stands."""

    state: str = Field(description="queued | running | failed (gave up: POST …/retry) | done")
    attempts: int
    max_attempts: int
    retry_at: datetime | None = Field(description="When a queued job is due next.")
    last_error: str | None = Field(description="What the latest failed attempt said.")


class BatchReport(BatchSummary):
    checks: list[CheckRecordRead]
    validation: ValidationJobRead | None = Field(
        default=None,
        description="While the batch is queued or validating: its validation job (addition).",
    )
    snapshot: int | None = Field(
        default=None,
        description="The feature-store snapshot this batch's accepted rows became (views only).",
    )


class BatchPage(BaseModel):
    items: list[BatchSummary]
    next_cursor: str | None


class QualityCheck(BaseModel):
    check: str
    columns: list[str]
    failed_fraction: float
    passed: bool


class QualityPoint(BaseModel):
    batch_id: uuid.UUID
    received_at: datetime
    status: str
    checks: list[QualityCheck]


class QualityHistory(BaseModel):
    contract: str
    batches: list[QualityPoint]


class ImpactCheck(BaseModel):
    check: str
    columns: list[str]
    failed_rows: int
    passed: bool


class ImpactBatch(BaseModel):
    batch_id: uuid.UUID
    received_at: datetime
    actual_status: str
    would_be_status: str
    checks: list[ImpactCheck]


class ImpactReport(BaseModel):
    batches: list[ImpactBatch]
