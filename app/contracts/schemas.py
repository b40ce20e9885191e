"""HTTP shapes of the registry (SPEC §8 "Shapes")."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ChangeRead(BaseModel):
    kind: str
    path: str
    effect: str
    message: str


class ContractVersionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    version: str
    fingerprint: str
    created_at: datetime
    document: dict[str, Any]


class RegistrationRead(ContractVersionRead):
    bump: str | None
    changes: list[ChangeRead]


class ContractPage(BaseModel):
    items: list[ContractVersionRead]
    next_cursor: str | None


class VersionSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: str
    fingerprint: str
    created_at: datetime


class VersionPage(BaseModel):
    items: list[VersionSummary]
    next_cursor: str | None


class CompatibilityReport(BaseModel):
    compatible: bool
    mode: str
    bump: str | None
    next_version: str | None
    changes: list[ChangeRead]


class DiffRead(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    from_: str = Field(alias="from")
    to: str
    changes: list[ChangeRead]
