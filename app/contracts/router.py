"""/v1/contracts: register, read, compare and export versioned contracts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from app.auth.errors import InvalidKey, NotAllowed
from app.contracts import service
from app.contracts.errors import (
    ContractNotFound,
    IncompatibleChange,
    InvalidContract,
    StoredTypeChange,
    VersionConflict,
    VersionNotFound,
)
from app.contracts.schemas import (
    ChangeRead,
    CompatibilityReport,
    ContractPage,
    ContractVersionRead,
    DiffRead,
    RegistrationRead,
    VersionPage,
    VersionSummary,
)
from app.contracts.spec import Format
from app.db.engine import transaction
from app.deps import (
    ContentType,
    ContractBody,
    Cursor,
    Limit,
    LimitDefault,
    PrincipalDep,
    SessionDep,
    WriterDep,
)
from app.problems import PayloadTooLarge, UnsupportedMediaType, responses

router = APIRouter(
    prefix="/v1/contracts", tags=["contracts"], responses=responses(InvalidKey, NotAllowed)
)

_DOCUMENT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A contract document (SPEC §1) or an ODCS v3 data contract.",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/yaml": {"schema": {"type": "string"}},
        },
    }
}
FormatQuery = Annotated[Format | None, Query(alias="format", description="export format")]
_EXPORTS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The version, or with ?format= the document alone in that format.",
        "content": {
            "application/json": {},
            "application/yaml": {},
            "application/schema+json": {},
        },
    }
}


@router.post(
    "",
    status_code=201,
    response_model=RegistrationRead,
    openapi_extra=_DOCUMENT_BODY,
    responses={
        200: {
            "description": "Identical to the latest version: nothing created.",
            "model": RegistrationRead,
        },
        **responses(
            IncompatibleChange,
            StoredTypeChange,
            VersionConflict,
            InvalidContract,
            PayloadTooLarge,
            UnsupportedMediaType,
        ),
    },
)
def register(
    body: ContractBody,
    session: SessionDep,
    principal: WriterDep,
    response: Response,
    content_type: ContentType = None,
    allow_breaking: bool = False,
) -> RegistrationRead:
    """Register a contract version; 201 new, 200 identical to the latest."""
    spec = service.read_document(body, content_type)
    with transaction(session):
        reg = service.register(
            session, spec=spec, principal=principal, allow_breaking=allow_breaking
        )
    response.status_code = 201 if reg.created else 200
    return RegistrationRead(
        **ContractVersionRead.model_validate(reg.version).model_dump(),
        bump=reg.bump.value if reg.bump else None,
        changes=[ChangeRead(**c.as_dict()) for c in reg.changes],
    )


@router.get("", response_model=ContractPage)
def list_contracts(
    session: SessionDep, _: PrincipalDep, cursor: Cursor = None, limit: Limit = LimitDefault
) -> ContractPage:
    """The latest version of every contract, by name."""
    rows, next_cursor = service.list_latest(session, cursor=cursor, limit=limit)
    return ContractPage(
        items=[ContractVersionRead.model_validate(r) for r in rows], next_cursor=next_cursor
    )


@router.get(
    "/{name}",
    response_model=ContractVersionRead,
    responses={**_EXPORTS, **responses(ContractNotFound)},
)
def get_contract(name: str, session: SessionDep, _: PrincipalDep, fmt: FormatQuery = None) -> Any:
    """The latest version of a contract."""
    return _version_answer(service.get_latest(session, name), fmt)


@router.get("/{name}/versions", response_model=VersionPage, responses=responses(ContractNotFound))
def list_versions(name: str, session: SessionDep, _: PrincipalDep) -> VersionPage:
    """Every version of a contract, oldest first."""
    rows = service.list_versions(session, name)
    return VersionPage(items=[VersionSummary.model_validate(r) for r in rows], next_cursor=None)


@router.get(
    "/{name}/versions/{version}",
    response_model=ContractVersionRead,
    responses={**_EXPORTS, **responses(ContractNotFound, VersionNotFound)},
)
def get_version(
    name: str, version: str, session: SessionDep, _: PrincipalDep, fmt: FormatQuery = None
) -> Any:
    """One version of a contract."""
    return _version_answer(service.get_version(session, name, version), fmt)


def _version_answer(row: Any, fmt: Format | None) -> Any:
    if fmt is None:
        return ContractVersionRead.model_validate(row)
    text, media_type = service.export(row, fmt)
    return Response(text, media_type=media_type)


@router.post(
    "/{name}/compatibility",
    response_model=CompatibilityReport,
    openapi_extra=_DOCUMENT_BODY,
    responses=responses(ContractNotFound, InvalidContract, UnsupportedMediaType),
)
def check_compatibility(
    name: str,
    body: ContractBody,
    session: SessionDep,
    principal: PrincipalDep,
    content_type: ContentType = None,
) -> CompatibilityReport:
    """Dry run: would this document register, with which bump and changes?"""
    service.require_batch_reader(principal, name)
    verdict = service.dry_run(session, name=name, spec=service.read_document(body, content_type))
    return CompatibilityReport(
        compatible=verdict.compatible,
        mode=verdict.mode.value,
        bump=verdict.bump.value if verdict.bump else None,
        next_version=verdict.next_version,
        changes=[ChangeRead(**c.as_dict()) for c in service.reported_changes(verdict)],
    )


@router.get(
    "/{name}/diff", response_model=DiffRead, responses=responses(ContractNotFound, VersionNotFound)
)
def diff(
    name: str,
    session: SessionDep,
    principal: PrincipalDep,
    from_version: Annotated[str | None, Query(alias="from")] = None,
    to_version: Annotated[str | None, Query(alias="to")] = None,
) -> DiffRead:
    """The classified changes between two versions (default: previous → latest)."""
    service.require_batch_reader(principal, name)
    old, new, changes = service.diff(
        session, name=name, from_version=from_version, to_version=to_version
    )
    return DiffRead(from_=old, to=new, changes=[ChangeRead(**c.as_dict()) for c in changes])
