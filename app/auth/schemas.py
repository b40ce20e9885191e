"""HTTP shapes of API keys; the secret appears once, in KeyCreated."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.auth.service import Role

# No control characters: PostgreSQL text cannot hold NUL, and neither names nor globs need them.
_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
Glob = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=_PRINTABLE)]


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=_PRINTABLE)]
    role: Role
    contracts: Annotated[list[Glob], Field(max_length=100)] = Field(
        default_factory=list, description="contract-name globs (producers only), e.g. search_*"
    )


class KeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    role: Role
    contracts: list[str]
    created_at: datetime


class KeyCreated(KeyRead):
    secret: str = Field(description="shown once: store it now")


class KeyPage(BaseModel):
    items: list[KeyRead]
    next_cursor: str | None
