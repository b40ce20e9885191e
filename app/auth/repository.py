"""API key queries."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from app.auth.models import ApiKey


def by_secret_hash(session: Session, digest: str, *, deleted: bool = False) -> ApiKey | None:
    """The live key with this digest (with deleted=True, also a deleted one)."""
    query = select(ApiKey).where(ApiKey.secret_sha256 == digest)
    if not deleted:
        query = query.where(ApiKey.deleted_at.is_(None))
    return session.scalars(query).one_or_none()


def by_id(session: Session, key_id: uuid.UUID) -> ApiKey | None:
    return session.get(ApiKey, key_id)


def live_keys(
    session: Session, *, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> Sequence[ApiKey]:
    query = select(ApiKey).where(ApiKey.deleted_at.is_(None))
    if after is not None:
        query = query.where(tuple_(ApiKey.created_at, ApiKey.id) > after)
    return session.scalars(query.order_by(ApiKey.created_at, ApiKey.id).limit(limit)).all()


def any_live_admin(session: Session) -> bool:
    query = select(ApiKey.id).where(ApiKey.role == "admin", ApiKey.deleted_at.is_(None)).limit(1)
    return session.scalars(query).first() is not None


def add(session: Session, key: ApiKey) -> ApiKey:
    session.add(key)
    session.flush()
    return key
