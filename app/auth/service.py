"""Create, verify and revoke API keys; decide what a principal may do."""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import logging
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from app.auth import repository
from app.auth.errors import InvalidKey, KeyNotFound
from app.auth.models import ApiKey
from app.db.base import utcnow
from app.paging import InvalidCursor, decode_cursor, encode_cursor

log = logging.getLogger("tollgate")

SECRET_PREFIX = "tg_"


class Role(StrEnum):
    ADMIN = "admin"
    PRODUCER = "producer"
    CONSUMER = "consumer"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id, role and (for producers) contract-name globs."""

    key_id: uuid.UUID
    role: Role
    contracts: tuple[str, ...] = field(default=())

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def owns(self, contract: str) -> bool:
        """Admins own everything; producers own the contracts matching one of their globs."""
        if self.role is Role.ADMIN:
            return True
        if self.role is Role.PRODUCER:
            return any(fnmatch.fnmatchcase(contract, glob) for glob in self.contracts)
        return False

    def reads_batches_of(self, contract: str) -> bool:
        """Admins and consumers read every report; producers those of their contracts."""
        return self.role is Role.CONSUMER or self.owns(contract)


def hash_secret(secret: str) -> str:
    # A 256-bit random secret needs no slow hash: sha256 is preimage-resistant here.
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def authenticate(session: Session, secret: str) -> Principal:
    """Resolve a presented secret to its live key, or raise InvalidKey."""
    digest = hash_secret(secret)
    key = repository.by_secret_hash(session, digest)
    # The lookup is by digest; compare again in constant time so that no code path
    # ever decides on a variable-time string comparison of key material.
    if key is None or not hmac.compare_digest(key.secret_sha256, digest):
        raise InvalidKey("the API key is unknown or has been deleted")
    return Principal(key.id, Role(key.role), tuple(key.contracts))


def create_key(
    session: Session,
    *,
    name: str,
    role: Role,
    contracts: Sequence[str] = (),
    secret: str | None = None,
) -> tuple[ApiKey, str]:
    """Create a key; returns it with its secret, which is never stored."""
    secret = secret or new_secret()
    key = ApiKey(
        name=name,
        role=role.value,
        contracts=list(contracts) if role is Role.PRODUCER else [],
        secret_sha256=hash_secret(secret),
        created_at=utcnow(),
    )
    return repository.add(session, key), secret


def ensure_admin(session: Session, configured: str | None) -> str | None:
    """Start-up: ensure TOLLGATE_ADMIN_KEY exists; generate a key only when no admin exists.

    Returns a newly generated secret (to be shown once), else None.
    """
    if configured:
        key = repository.by_secret_hash(session, hash_secret(configured), deleted=True)
        if key is None:
            create_key(
                session,
                name="bootstrap admin (TOLLGATE_ADMIN_KEY)",
                role=Role.ADMIN,
                secret=configured,
            )
        elif key.deleted_at is not None:  # "ensured on every start", even after a DELETE
            log.warning(
                "TOLLGATE_ADMIN_KEY names a deleted key (%s); it is valid again. "
                "Unset or rotate TOLLGATE_ADMIN_KEY to retire it for good.",
                key.id,
            )
            key.deleted_at = None
            session.flush()
        return None
    if repository.any_live_admin(session):
        return None
    _, secret = create_key(session, name="bootstrap admin (generated)", role=Role.ADMIN)
    return secret


def list_keys(
    session: Session, *, cursor: str | None, limit: int
) -> tuple[list[ApiKey], str | None]:
    after = None
    if cursor:
        created, key_id = decode_cursor(cursor, 2)
        after = (_parse_time(created), _parse_uuid(key_id))
    keys = list(repository.live_keys(session, after=after, limit=limit + 1))
    more = len(keys) > limit
    keys = keys[:limit]
    return keys, (encode_cursor(keys[-1].created_at, keys[-1].id) if more else None)


def delete_key(session: Session, key_id: str) -> None:
    """Soft-delete a key: it stops authenticating at once and disappears from lists."""
    try:
        parsed = uuid.UUID(key_id)
    except ValueError:
        raise KeyNotFound(f"no API key {key_id[:80]!r}") from None
    if not repository.soft_delete(session, parsed, utcnow()):
        raise KeyNotFound(f"no API key {key_id!r}")


def _parse_time(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidCursor("cursor was not issued by this endpoint") from None
    if parsed.tzinfo is None:  # ours always carry an offset; a naive one would fail in the query
        raise InvalidCursor("cursor was not issued by this endpoint")
    return parsed


def _parse_uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise InvalidCursor("cursor was not issued by this endpoint") from None
