"""Contract and version queries."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from app.contracts.models import Contract, ContractVersion
from app.db.base import insert_for, utcnow

_OLDEST_FIRST = (ContractVersion.major, ContractVersion.minor, ContractVersion.patch)
_NEWEST_FIRST = tuple(c.desc() for c in _OLDEST_FIRST)


def contract_by_name(session: Session, name: str) -> Contract | None:
    return session.scalars(select(Contract).where(Contract.name == name)).one_or_none()


def lock_contract(session: Session, name: str) -> Contract:
    """The contract's row, created if new, locked until the transaction ends, so concurrent
    registrations of one contract run one after the other. Its first statement is a write
    (call it first in its transaction): on SQLite it takes the database's write lock before
    anything is read (a transaction that read first cannot write once another writer has
    committed: "database is locked", see app.db.dialect); on PostgreSQL a concurrent insert
    of the same name waits for this one, and FOR UPDATE locks the row."""
    now = utcnow()
    new = {"id": uuid.uuid4(), "name": name, "created_at": now, "updated_at": now}
    session.execute(insert_for(session)(Contract).values(**new).on_conflict_do_nothing())
    query = select(Contract).where(Contract.name == name).with_for_update()
    return session.scalars(query.execution_options(populate_existing=True)).one()


def versions(session: Session, contract: Contract) -> Sequence[ContractVersion]:
    """Every version, oldest first."""
    query = select(ContractVersion).where(ContractVersion.contract_id == contract.id)
    return session.scalars(query.order_by(*_OLDEST_FIRST)).all()


def latest(session: Session, contract: Contract) -> ContractVersion | None:
    query = select(ContractVersion).where(ContractVersion.contract_id == contract.id)
    return session.scalars(query.order_by(*_NEWEST_FIRST).limit(1)).first()


def version(
    session: Session, contract: Contract, major: int, minor: int, patch: int
) -> ContractVersion | None:
    query = select(ContractVersion).where(
        ContractVersion.contract_id == contract.id,
        ContractVersion.major == major,
        ContractVersion.minor == minor,
        ContractVersion.patch == patch,
    )
    return session.scalars(query).one_or_none()


def latest_versions(
    session: Session, *, after: str | None = None, limit: int | None = None
) -> Sequence[ContractVersion]:
    """The latest version of every contract, by contract name."""
    inner = aliased(ContractVersion)
    newest = (
        select(inner.id)
        .where(inner.contract_id == Contract.id)
        .order_by(inner.major.desc(), inner.minor.desc(), inner.patch.desc())
        .limit(1)
        .correlate(Contract)
        .scalar_subquery()
    )
    query = select(ContractVersion).join(Contract).where(ContractVersion.id == newest)
    if after is not None:
        query = query.where(Contract.name > after)
    query = query.order_by(Contract.name)
    if limit is not None:
        query = query.limit(limit)
    return session.scalars(query).all()


def add_version(session: Session, row: ContractVersion) -> ContractVersion:
    session.add(row)
    session.flush()
    return row
