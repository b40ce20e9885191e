"""API key queries."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, tuple_, update
from sqlalchemy.orm import Session

from app.auth.models import ApiKey


def by_secret_hash(session: Session, digest: str, *, deleted: bool = False) -> ApiKey | None:
    """The live key with this digest (with deleted=True, also a deleted one)."""
    query = select(ApiKey).where(ApiKey.secret_sha256 == digest)
    if not deleted:
        query = query.where(ApiKey.deleted_at.is_(None))
    return session.scalars(query).one_or_none()


def soft_delete(session: Session, key_id: uuid.UUID, when: datetime) -> bool:
    """Mark a live key deleted; False when there is none. One conditional UPDATE, so that of
    two concurrent deletes only one finds the key live (both did, reading first)."""
    live = (ApiKey.id == key_id) & ApiKey.deleted_at.is_(None)
    done = session.execute(
        update(ApiKey)
        .where(live)
        .values(deleted_at=when)
        .execution_options(synchronize_session=False)
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]


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
