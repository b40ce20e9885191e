"""Register, read, compare and export contract versions."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.orm import Session

from app.auth.errors import NotAllowed
from app.auth.service import Principal
from app.contracts import compat, odcs, repository
from app.contracts.errors import (
    ContractNotFound,
    IncompatibleChange,
    InvalidContract,
    StoredTypeChange,
    VersionConflict,
    VersionNotFound,
)
from app.contracts.jsonschema import row_schema
from app.contracts.models import Contract, ContractVersion
from app.contracts.parsing import (
    DocumentError,
    canonical,
    fingerprint,
    load_document,
    parse_contract,
    to_yaml,
)
from app.contracts.spec import (
    NAME_PATTERN,
    VERSION_PATTERN,
    ColumnType,
    ContractSpec,
    Format,
    stored_family,
)
from app.db.base import utcnow
from app.paging import InvalidCursor, decode_cursor, encode_cursor
from app.problems import UnsupportedMediaType

FIRST_VERSION = "1.0.0"
YAML_TYPES = frozenset({"application/yaml", "text/yaml", "application/x-yaml", "text/x-yaml"})
JSON_TYPES = frozenset({"application/json"})


@dataclass(frozen=True)
class Registration:
    version: ContractVersion
    created: bool
    bump: compat.Bump | None
    changes: list[compat.Change]


def read_document(body: bytes, content_type: str | None) -> ContractSpec:
    """Request body (JSON, YAML or ODCS v3) → a validated, normalised ContractSpec."""
    media = (content_type or "application/json").split(";")[0].strip().lower()
    if media not in YAML_TYPES | JSON_TYPES:
        raise UnsupportedMediaType(
            f"content type {media!r} is not a contract document: send application/json "
            "or application/yaml"
        )
    if not body.strip():
        raise InvalidContract("the request body is empty", errors=[])
    try:
        data = load_document(body, yaml_syntax=media in YAML_TYPES)
        if odcs.is_odcs(data):
            data = odcs.from_odcs(data)
        return parse_contract(data)
    except DocumentError as exc:
        raise InvalidContract(str(exc), errors=exc.errors) from None
    except RecursionError:
        # json, yaml and the validators recurse: hostile nesting must be a 422, not a 500.
        raise _unreadable("the document is nested too deeply") from None
    except ValueError as exc:
        # e.g. an integer literal past Python's 4300-digit limit (raised by json and yaml).
        raise _unreadable(str(exc).split(";")[0]) from None


def _unreadable(message: str) -> InvalidContract:
    return InvalidContract(message, errors=[{"path": "", "message": message}])


def register(
    session: Session, *, spec: ContractSpec, principal: Principal, allow_breaking: bool = False
) -> Registration:
    """Register `spec` as the next version of its contract (SPEC §3)."""
    if not principal.owns(spec.name):
        raise NotAllowed(f"your key may not register versions of contract {spec.name!r}")
    if allow_breaking and not principal.is_admin:
        raise NotAllowed("allow_breaking=true needs an admin key")
    contract = repository.lock_contract(session, spec.name)  # created if new
    history = list(repository.versions(session, contract))
    if not history:
        row = _store(session, contract, spec, spec.version or FIRST_VERSION, principal)
        return Registration(row, True, None, [])
    latest = history[-1]
    if latest.fingerprint == fingerprint(spec):
        return Registration(latest, False, None, [])
    old = parse_contract(latest.document)
    if old.compatibility != spec.compatibility and not principal.is_admin:
        raise NotAllowed("changing `compatibility` needs an admin key")
    verdict = compat.judge([(v.version, parse_contract(v.document)) for v in history], spec)
    if not verdict.compatible and not allow_breaking:
        raise IncompatibleChange(
            f"{verdict.mode.value} compatibility refuses {len(verdict.violations)} change(s): "
            + "; ".join(c.message for c in verdict.violations),
            mode=verdict.mode.value,
            changes=[c.as_dict() for c in reported_changes(verdict)],
            violations=[c.as_dict() for c in verdict.violations],
        )
    _refuse_stored_type_changes([parse_contract(v.document) for v in history], spec)
    assert verdict.bump is not None
    assert verdict.next_version is not None
    version = verdict.next_version
    if spec.version is not None:
        problem = compat.understated(latest.version, spec.version, verdict.bump)
        if problem:
            raise VersionConflict(problem, changes=[c.as_dict() for c in verdict.changes])
        version = spec.version
    row = _store(session, contract, spec, version, principal)
    contract.updated_at = row.created_at
    return Registration(row, True, verdict.bump, verdict.changes)


def stored_type_changes(history: list[ContractSpec], spec: ContractSpec) -> list[compat.Change]:
    """A feature view keeps every column it ever stored in its Delta table, in one type per
    family: a later version may widen a column from integer to float (the table is rewritten
    once) but not change its family otherwise, even with `allow_breaking` (the appends would
    fail, or the stored values would be read as something else)."""
    if spec.features is None:
        return []
    stored: dict[str, tuple[str, ColumnType]] = {}
    for old in history:
        if old.features is not None:
            for col in old.columns:
                stored[col.name] = (old.version or "?", col.type)
    refused = []
    for col in spec.columns:
        if col.name not in stored:
            continue
        version, was = stored[col.name]
        before, after = stored_family(was), stored_family(col.type)
        if before != after and (before, after) != ("integer", "float"):
            message = (
                f"feature view column {col.name} was stored as {was.value} (in {version}); "
                f"{col.type.value} cannot be stored beside it"
            )
            path = f"columns.{col.name}.type"
            refused.append(compat.Change("stored_type_changed", path, compat.BREAKING, message))
    return refused


def _refuse_stored_type_changes(history: list[ContractSpec], spec: ContractSpec) -> None:
    refused = stored_type_changes(history, spec)
    if refused:
        raise StoredTypeChange(
            "; ".join(c.message for c in refused)
            + ": a view keeps its columns' types (an integer may become a float); store the "
            "new values under a new column or contract name",
            changes=[c.as_dict() for c in refused],
        )


def reported_changes(verdict: compat.Verdict) -> list[compat.Change]:
    """The changes against the latest version, then any refused change against earlier ones."""
    return verdict.changes + [c for c in verdict.violations if c not in verdict.changes]


def require_batch_reader(principal: Principal, name: str) -> None:
    """The dry run, the diff and /impact are open to keys that may read the batches."""
    if not principal.reads_batches_of(name):
        raise NotAllowed(f"your key may not read the batches of contract {name!r}")


def _store(
    session: Session, contract: Contract, spec: ContractSpec, version: str, by: Principal
) -> ContractVersion:
    major, minor, patch = (int(p) for p in version.split("."))
    document = canonical(spec.model_copy(update={"version": version}))
    row = ContractVersion(
        contract_id=contract.id,
        version=version,
        major=major,
        minor=minor,
        patch=patch,
        fingerprint=fingerprint(spec),
        document=document,
        created_at=utcnow(),
        created_by=by.key_id,
    )
    return repository.add_version(session, row)


def dry_run(session: Session, *, name: str, spec: ContractSpec) -> compat.Verdict:
    """What registering `spec` would do, without registering it."""
    require_same_name(name, spec)
    rows = repository.versions(session, get_contract(session, name))
    history = [(v.version, parse_contract(v.document)) for v in rows]
    verdict = compat.judge(history, spec)
    stored = stored_type_changes([old for _, old in history], spec)
    if not stored:
        return verdict
    return replace(
        verdict,
        compatible=False,
        changes=verdict.changes + stored,
        violations=verdict.violations + stored,
    )


def require_same_name(name: str, spec: ContractSpec) -> None:
    """A document posted to a contract's URL must carry that contract's name."""
    if spec.name != name:
        raise InvalidContract(
            f"the document is named {spec.name!r} but the URL names {name!r}",
            errors=[{"path": "name", "message": f"expected {name!r}"}],
        )


def diff(
    session: Session, *, name: str, from_version: str | None, to_version: str | None
) -> tuple[str, str, list[compat.Change]]:
    """Classified changes between two versions (default: the previous and the latest)."""
    contract = get_contract(session, name)
    history = repository.versions(session, contract)
    to_row = get_version(session, name, to_version) if to_version else history[-1]
    if from_version:
        from_row = get_version(session, name, from_version)
    else:
        from_row = history[-2] if len(history) > 1 else history[-1]
    changes = compat.classify(parse_contract(from_row.document), parse_contract(to_row.document))
    return from_row.version, to_row.version, changes


def get_contract(session: Session, name: str) -> Contract:
    # A name no contract can have is unknown; never send it (NUL bytes, …) to the database.
    valid = re.fullmatch(NAME_PATTERN, name) is not None
    contract = repository.contract_by_name(session, name) if valid else None
    if contract is None:
        raise ContractNotFound(f"no contract named {name[:100]!r}")
    return contract


def get_latest(session: Session, name: str) -> ContractVersion:
    row = repository.latest(session, get_contract(session, name))
    assert row is not None, "a contract always has a version"
    return row


def get_version(session: Session, name: str, version: str) -> ContractVersion:
    contract = get_contract(session, name)
    if not re.fullmatch(VERSION_PATTERN, version):
        raise VersionNotFound(f"{version[:40]!r} is not a version (MAJOR.MINOR.PATCH)")
    major, minor, patch = (int(p) for p in version.split("."))
    row = repository.version(session, contract, major, minor, patch)
    if row is None:
        raise VersionNotFound(f"contract {name!r} has no version {version}")
    return row


def list_versions(session: Session, name: str) -> list[ContractVersion]:
    return list(repository.versions(session, get_contract(session, name)))


def list_latest(
    session: Session, *, cursor: str | None, limit: int
) -> tuple[list[ContractVersion], str | None]:
    after = decode_cursor(cursor, 1)[0] if cursor else None
    if after is not None and not re.fullmatch(NAME_PATTERN, after):
        raise InvalidCursor(f"cursor {cursor!s:.80} was not issued by this endpoint")
    rows = list(repository.latest_versions(session, after=after, limit=limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor(rows[-1].name) if more else None)


def latest_specs(session: Session) -> list[ContractSpec]:
    """The latest version of every contract, for the OpenAPI components."""
    return [parse_contract(v.document) for v in repository.latest_versions(session)]


def export(row: ContractVersion, fmt: Format) -> tuple[str, str]:
    """(body, media type) of a version in one of the export formats."""
    if fmt == "yaml":
        return to_yaml(row.document), "application/yaml"
    if fmt == "json":
        return json.dumps(row.document, indent=2, ensure_ascii=False), "application/json"
    spec = parse_contract(row.document)
    if fmt == "jsonschema":
        return json.dumps(row_schema(spec), indent=2), "application/schema+json"
    doc: dict[str, Any] = odcs.to_odcs(spec)
    return json.dumps(doc, indent=2, ensure_ascii=False), "application/json"
