"""/v1/keys: admins manage API keys."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.auth import service
from app.auth.errors import InvalidKey, KeyNotFound, NotAllowed
from app.auth.schemas import KeyCreate, KeyCreated, KeyPage, KeyRead
from app.db.engine import transaction
from app.deps import AdminDep, Cursor, JsonOnly, Limit, LimitDefault, SessionDep
from app.problems import UnsupportedMediaType, responses

router = APIRouter(prefix="/v1/keys", tags=["keys"], responses=responses(InvalidKey, NotAllowed))


@router.post(
    "",
    status_code=201,
    response_model=KeyCreated,
    dependencies=[JsonOnly],
    responses=responses(UnsupportedMediaType),
)
def create_key(body: KeyCreate, session: SessionDep, _: AdminDep) -> KeyCreated:
    """Create an API key; its secret is shown in this answer only."""
    with transaction(session):
        key, secret = service.create_key(
            session, name=body.name, role=body.role, contracts=body.contracts
        )
    return KeyCreated(**KeyRead.model_validate(key).model_dump(), secret=secret)


@router.get("", response_model=KeyPage)
def list_keys(
    session: SessionDep, _: AdminDep, cursor: Cursor = None, limit: Limit = LimitDefault
) -> KeyPage:
    """Live keys, oldest first; secrets are never shown."""
    keys, next_cursor = service.list_keys(session, cursor=cursor, limit=limit)
    return KeyPage(items=[KeyRead.model_validate(k) for k in keys], next_cursor=next_cursor)


@router.delete("/{key_id}", status_code=204, responses=responses(KeyNotFound))
def delete_key(key_id: str, session: SessionDep, _: AdminDep) -> Response:
    """Delete a key; it stops working at once."""
    with transaction(session):
        service.delete_key(session, key_id)
    return Response(status_code=204)
