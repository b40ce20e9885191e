"""Assertions on RFC 9457 problem responses."""

from __future__ import annotations

from typing import Any

PROBLEM = "application/problem+json"
INTERNALS = ("Traceback", 'File "', "sqlalchemy", "sqlite3", "OperationalError", "SELECT ")


def assert_problem(
    r: Any, status: int, type_suffix: str | None = None, says: str | None = None
) -> dict[str, Any]:
    """The response is `status` as application/problem+json with type/title/status/detail
    (whose detail contains `says`, when given), and leaks no internals."""
    assert r.status_code == status, (r.request.method, str(r.request.url)[:200], r.text[:500])
    assert r.headers["content-type"].startswith(PROBLEM), r.headers
    body: dict[str, Any] = r.json()
    assert isinstance(body["type"], str)
    assert body["type"].startswith("https://")
    assert isinstance(body["title"], str)
    assert body["title"]
    assert body["status"] == status
    assert isinstance(body["detail"], str)
    assert body["detail"]
    if type_suffix:
        assert body["type"].endswith("/" + type_suffix), body
    if says is not None:
        assert says in body["detail"], body
    for word in INTERNALS:
        assert word not in r.text, word
    return body
