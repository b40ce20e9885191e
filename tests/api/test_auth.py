"""Authentication and authorisation through HTTP (SPEC §5 auth, §8 "Auth and serving").

The 401 matrix runs over every /v1 route the app has at test time, so a new endpoint is covered
without touching this file. Then the 403s of each role, the key lifecycle, how secrets are made
and stored, and the start-up admin key.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterator
from typing import Any

import fastapi.routing
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.config import Settings
from app.main import create_app
from tests.builders.concurrency import at_once
from tests.builders.problems import assert_problem
from tests.conftest import ADMIN_KEY, KeyMaker, bearer

ADMIN = bearer(ADMIN_KEY)
SECRET = re.compile(r"tg_[A-Za-z0-9_-]{43,}")


def doc(name: str = "orders", **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": name,
        "owner": "shop",
        "columns": [
            {"name": "order_id", "type": "string", "nullable": False},
            {"name": "amount", "type": "float64", "checks": [{"in_range": {"min": 0}}]},
        ],
    }
    base.update(overrides)
    return base


def loosened(name: str = "orders", **overrides: Any) -> dict[str, Any]:
    d = doc(name, **overrides)
    d["columns"].append({"name": "note", "type": "string"})
    return d


def assert_401(r: Any, type_suffix: str) -> None:
    assert_problem(r, 401, type_suffix)
    assert r.headers.get("www-authenticate") == "Bearer", r.headers


def all_keys(client: TestClient, limit: int = 1000) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        r = client.get("/v1/keys", params=params, headers=ADMIN)
        assert r.status_code == 200, r.text
        page = r.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


# --------------------------------------------------------------------------------------------
# The 401 matrix over every protected route.

EXPECTED_ROUTES = {
    ("POST", "/v1/contracts"),
    ("GET", "/v1/contracts"),
    ("GET", "/v1/contracts/{name}"),
    ("GET", "/v1/contracts/{name}/versions"),
    ("GET", "/v1/contracts/{name}/versions/{version}"),
    ("POST", "/v1/contracts/{name}/compatibility"),
    ("GET", "/v1/contracts/{name}/diff"),
    ("POST", "/v1/keys"),
    ("GET", "/v1/keys"),
    ("DELETE", "/v1/keys/{key_id}"),
}
# Routes and methods that do not exist under /v1: authentication is still judged first.
MISSING_ROUTES = [
    ("GET", "/v1"),
    ("GET", "/v1/"),
    ("GET", "/v1/nope"),
    ("POST", "/v1/nope/deeper"),
    ("PATCH", "/v1/contracts"),
    ("PUT", "/v1/keys"),
    ("DELETE", "/v1/contracts/orders"),
]


def protected_routes(app: Any) -> set[tuple[str, str]]:
    """(method, path template) of every route under /v1, read from the app itself."""
    out: set[tuple[str, str]] = set()
    # FastAPI >= 0.16x keeps included routers as lazy branches; iter_route_contexts flattens them.
    flatten = getattr(fastapi.routing, "iter_route_contexts", None)
    for route in flatten(app.routes) if flatten else app.routes:
        path = getattr(route, "path", "")
        if not (path == "/v1" or path.startswith("/v1/")):
            continue
        for method in getattr(route, "methods", None) or {"GET"}:
            out.add((method, path))
    return out


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "x", path)


@pytest.fixture
def routes(client: TestClient) -> list[tuple[str, str]]:
    found = protected_routes(client.app)
    assert found >= EXPECTED_ROUTES, EXPECTED_ROUTES - found
    return sorted(found)


def test_the_enumerated_routes_include_contracts_and_keys(routes: list[tuple[str, str]]) -> None:
    assert set(routes) >= EXPECTED_ROUTES
    assert all(path.startswith("/v1") for _, path in routes)


@pytest.fixture
def deleted_secret(client: TestClient) -> str:
    r = client.post("/v1/keys", json={"name": "doomed", "role": "admin"}, headers=ADMIN)
    assert r.status_code == 201, r.text
    assert client.delete(f"/v1/keys/{r.json()['id']}", headers=ADMIN).status_code == 204
    secret: str = r.json()["secret"]
    return secret


BAD_AUTH: dict[str, tuple[str | None, str]] = {
    # case: (Authorization header, expected problem type)
    "no key": (None, "missing-api-key"),
    "garbage key": ("Bearer tg_" + "A" * 43, "invalid-api-key"),
    "short garbage": ("Bearer x", "invalid-api-key"),
    "deleted key": ("Bearer {deleted}", "invalid-api-key"),
    "basic scheme": ("Basic dXNlcjpwYXNzd29yZA==", "invalid-api-key"),
    "basic with a valid secret": (f"Basic {ADMIN_KEY}", "invalid-api-key"),
    "token scheme with a valid secret": (f"Token {ADMIN_KEY}", "invalid-api-key"),
    "valid secret without a scheme": (ADMIN_KEY, "invalid-api-key"),
    "empty bearer": ("Bearer ", "invalid-api-key"),
    "bare bearer": ("Bearer", "invalid-api-key"),
    "empty header": ("", "missing-api-key"),
    "secret with a suffix": (f"Bearer {ADMIN_KEY}x", "invalid-api-key"),
    "secret with a space inside": (f"Bearer {ADMIN_KEY[:10]} {ADMIN_KEY[10:]}", "invalid-api-key"),
}


@pytest.mark.parametrize("case", list(BAD_AUTH))
def test_every_protected_route_answers_401_first(
    anon: TestClient, routes: list[tuple[str, str]], deleted_secret: str, case: str
) -> None:
    """401 wins over everything: a malformed body, an unknown route, a wrong method."""
    header, type_suffix = BAD_AUTH[case]
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["Authorization"] = header.format(deleted=deleted_secret)
    targets = [(m, concrete(p)) for m, p in routes] + MISSING_ROUTES
    failures = []
    for method, path in targets:
        if method == "HEAD":
            continue
        r = anon.request(method, path, content=b'{"name": ', headers=headers)
        try:
            assert_401(r, type_suffix)
            assert r.json()["instance"] == path
        except (AssertionError, KeyError, ValueError) as exc:
            failures.append(f"{method} {path}: {r.status_code} {r.text[:200]} ({exc})")
    assert not failures, "\n".join(failures)


def test_head_requests_are_authenticated_too(
    anon: TestClient, routes: list[tuple[str, str]]
) -> None:
    for method, path in routes:
        if method != "GET":
            continue
        r = anon.head(concrete(path))
        assert r.status_code == 401, path
        assert r.headers.get("www-authenticate") == "Bearer"


def test_a_non_ascii_bearer_secret_is_401(anon: TestClient) -> None:
    r = anon.get("/v1/contracts", headers={b"Authorization": b"Bearer tg_\xff\xfe"})
    assert_401(r, "invalid-api-key")


def test_an_oversized_bearer_secret_is_401(anon: TestClient) -> None:
    r = anon.get("/v1/contracts", headers={"Authorization": "Bearer " + "a" * 60_000})
    assert_401(r, "invalid-api-key")
    assert len(r.content) < 2000  # the secret is not echoed back


def test_the_bearer_scheme_is_case_insensitive(anon: TestClient) -> None:
    assert (
        anon.get("/v1/contracts", headers={"Authorization": f"bearer {ADMIN_KEY}"}).status_code
        == 200
    )
    assert (
        anon.get("/v1/contracts", headers={"Authorization": f"BEARER {ADMIN_KEY}"}).status_code
        == 200
    )


def test_a_refused_request_changes_nothing(anon: TestClient) -> None:
    garbage = bearer("tg_" + "B" * 43)
    assert_401(anon.post("/v1/contracts", json=doc(), headers=garbage), "invalid-api-key")
    assert_401(anon.post("/v1/contracts?allow_breaking=true", json=doc()), "missing-api-key")
    assert_401(
        anon.post("/v1/keys", json={"name": "x", "role": "admin"}, headers=garbage),
        "invalid-api-key",
    )
    assert anon.get("/v1/contracts", headers=ADMIN).json()["items"] == []
    keys = anon.get("/v1/keys", headers=ADMIN).json()["items"]
    assert [k["role"] for k in keys] == ["admin"]  # only the bootstrap admin


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/docs", "/openapi.json"])
@pytest.mark.parametrize("auth", [None, "Bearer tg_garbage", "Basic x"])
def test_open_endpoints_need_no_key(anon: TestClient, path: str, auth: str | None) -> None:
    headers = {"Authorization": auth} if auth else {}
    r = anon.get(path, headers=headers)
    assert r.status_code == 200, r.text
    assert "www-authenticate" not in r.headers


# --------------------------------------------------------------------------------------------
# 403: keys without the right.


def test_a_consumer_cannot_register_a_contract(client: TestClient, make_key: KeyMaker) -> None:
    consumer = make_key("consumer")
    r = client.post("/v1/contracts", json=doc(), headers=bearer(consumer))
    body = assert_problem(r, 403, "forbidden")
    assert "consumer" in body["detail"]
    assert client.get("/v1/contracts").json()["items"] == []
    # Nor a new version of an existing one.
    client.post("/v1/contracts", json=doc())
    r = client.post("/v1/contracts", json=loosened(), headers=bearer(consumer))
    assert_problem(r, 403, "forbidden")
    assert client.get("/v1/contracts/orders").json()["version"] == "1.0.0"


def test_a_producer_registers_only_inside_its_globs(client: TestClient, make_key: KeyMaker) -> None:
    producer = bearer(make_key("producer", ["search_*"]))
    for name in ["orders", "research_events", "search"]:
        r = client.post("/v1/contracts", json=doc(name), headers=producer)
        body = assert_problem(r, 403, "forbidden")
        assert name in body["detail"]
    r = client.post("/v1/contracts", json=doc("search_events"), headers=producer)
    assert r.status_code == 201, r.text
    assert r.json()["version"] == "1.0.0"
    # It registers versions of it too, and an identical document is the usual 200.
    r = client.post("/v1/contracts", json=loosened("search_events"), headers=producer)
    assert (r.status_code, r.json()["version"]) == (201, "1.1.0")
    r = client.post("/v1/contracts", json=loosened("search_events"), headers=producer)
    assert (r.status_code, r.json()["version"]) == (200, "1.1.0")
    names = [c["name"] for c in client.get("/v1/contracts").json()["items"]]
    assert names == ["search_events"]


def test_a_producer_with_several_globs(client: TestClient, make_key: KeyMaker) -> None:
    producer = bearer(make_key("producer", ["search_*", "clicks"]))
    assert client.post("/v1/contracts", json=doc("clicks"), headers=producer).status_code == 201
    assert client.post("/v1/contracts", json=doc("search_x"), headers=producer).status_code == 201
    assert_problem(client.post("/v1/contracts", json=doc("clicks_v2"), headers=producer), 403)


def test_a_producer_cannot_use_allow_breaking(client: TestClient, make_key: KeyMaker) -> None:
    producer = bearer(make_key("producer", ["search_*"]))
    assert (
        client.post("/v1/contracts", json=doc("search_events"), headers=producer).status_code == 201
    )
    breaking = doc("search_events")
    breaking["columns"][1]["type"] = "int64"
    r = client.post("/v1/contracts?allow_breaking=true", json=breaking, headers=producer)
    body = assert_problem(r, 403, "forbidden")
    assert "allow_breaking" in body["detail"]
    # Even for a change that would pass anyway, and without it the change is the usual 409.
    r = client.post(
        "/v1/contracts?allow_breaking=true", json=loosened("search_events"), headers=producer
    )
    assert_problem(r, 403, "forbidden")
    assert_problem(client.post("/v1/contracts", json=breaking, headers=producer), 409)
    assert client.get("/v1/contracts/search_events").json()["version"] == "1.0.0"
    r = client.post("/v1/contracts?allow_breaking=true", json=breaking)
    assert (r.status_code, r.json()["version"]) == (201, "2.0.0")


def test_a_producer_cannot_change_compatibility(client: TestClient, make_key: KeyMaker) -> None:
    producer = bearer(make_key("producer", ["search_*"]))
    assert (
        client.post("/v1/contracts", json=doc("search_events"), headers=producer).status_code == 201
    )
    r = client.post(
        "/v1/contracts", json=doc("search_events", compatibility="none"), headers=producer
    )
    body = assert_problem(r, 403, "forbidden")
    assert "compatibility" in body["detail"]
    # Writing the default explicitly is no change.
    r = client.post(
        "/v1/contracts", json=doc("search_events", compatibility="backward"), headers=producer
    )
    assert r.status_code == 200, r.text
    r = client.post("/v1/contracts", json=doc("search_events", compatibility="none"))
    assert (r.status_code, r.json()["bump"]) == (201, "patch")


@pytest.mark.parametrize("role", ["producer", "consumer"])
def test_only_admins_manage_keys(client: TestClient, make_key: KeyMaker, role: str) -> None:
    other = make_key("consumer")
    other_id = next(k["id"] for k in all_keys(client) if k["role"] == "consumer")
    caller = bearer(make_key(role, ["*"]))
    r = client.post("/v1/keys", json={"name": "mine", "role": "admin"}, headers=caller)
    assert_problem(r, 403, "forbidden")
    r = client.post("/v1/keys", json={"name": "mine", "role": role}, headers=caller)
    assert_problem(r, 403, "forbidden")
    assert_problem(client.get("/v1/keys", headers=caller), 403, "forbidden")
    assert_problem(client.delete(f"/v1/keys/{other_id}", headers=caller), 403, "forbidden")
    assert_problem(client.delete(f"/v1/keys/{uuid.uuid4()}", headers=caller), 403, "forbidden")
    # The key the non-admin tried to delete still works, and nothing was created.
    assert client.get("/v1/contracts", headers=bearer(other)).status_code == 200
    assert "mine" not in [k["name"] for k in all_keys(client)]


@pytest.fixture
def orders_history(client: TestClient) -> None:
    assert client.post("/v1/contracts", json=doc()).status_code == 201
    assert client.post("/v1/contracts", json=loosened()).status_code == 201


def test_dry_run_and_diff_follow_who_may_read_the_batches(
    client: TestClient, make_key: KeyMaker, orders_history: None
) -> None:
    outsider = bearer(make_key("producer", ["search_*"]))
    for_orders = bearer(make_key("producer", ["ord*"]))
    consumer = bearer(make_key("consumer"))
    candidate = loosened()
    candidate["title"] = "Orders"
    dry_run, diff = "/v1/contracts/orders/compatibility", "/v1/contracts/orders/diff"

    body = assert_problem(client.post(dry_run, json=candidate, headers=outsider), 403, "forbidden")
    assert "orders" in body["detail"]
    assert_problem(client.get(diff, headers=outsider), 403, "forbidden")
    assert_problem(client.get(f"{diff}?from=1.0.0&to=1.1.0", headers=outsider), 403)

    for who in (consumer, for_orders, ADMIN):
        r = client.post(dry_run, json=candidate, headers=who)
        assert r.status_code == 200, r.text
        assert (r.json()["compatible"], r.json()["bump"]) == (True, "patch")
        r = client.get(diff, headers=who)
        assert r.status_code == 200, r.text
        assert (r.json()["from"], r.json()["to"]) == ("1.0.0", "1.1.0")
    # A dry run registers nothing.
    assert client.get("/v1/contracts/orders").json()["version"] == "1.1.0"


@pytest.mark.parametrize(
    "path",
    [
        "/v1/contracts",
        "/v1/contracts?limit=1",
        "/v1/contracts/orders",
        "/v1/contracts/orders?format=yaml",
        "/v1/contracts/orders?format=jsonschema",
        "/v1/contracts/orders/versions",
        "/v1/contracts/orders/versions/1.0.0",
        "/v1/contracts/orders/versions/1.1.0?format=odcs",
    ],
)
def test_every_valid_key_reads_contracts(
    client: TestClient, make_key: KeyMaker, orders_history: None, path: str
) -> None:
    for role, globs in [("consumer", []), ("producer", ["search_*"]), ("producer", [])]:
        r = client.get(path, headers=bearer(make_key(role, globs)))
        assert r.status_code == 200, (role, globs, r.text)
        assert r.content == client.get(path).content


# --------------------------------------------------------------------------------------------
# Keys: create, list, delete.


def test_create_key_answers_201_with_the_secret_once(client: TestClient) -> None:
    r = client.post(
        "/v1/keys", json={"name": "ingest", "role": "producer", "contracts": ["search_*", "clicks"]}
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == {"id", "name", "role", "contracts", "created_at", "secret"}
    assert uuid.UUID(body["id"])
    assert (body["name"], body["role"], body["contracts"]) == (
        "ingest",
        "producer",
        ["search_*", "clicks"],
    )
    assert body["created_at"].endswith("Z") or body["created_at"].endswith("+00:00")
    assert SECRET.fullmatch(body["secret"])
    # Works at once, with the rights of its role.
    producer = bearer(body["secret"])
    assert client.get("/v1/contracts", headers=producer).status_code == 200
    assert client.post("/v1/contracts", json=doc("clicks"), headers=producer).status_code == 201
    assert_problem(client.get("/v1/keys", headers=producer), 403)
    # Listed without its secret.
    listed = next(k for k in all_keys(client) if k["id"] == body["id"])
    assert listed == {k: v for k, v in body.items() if k != "secret"}


def test_an_admin_key_made_through_the_api_is_an_admin(client: TestClient) -> None:
    r = client.post("/v1/keys", json={"name": "second admin", "role": "admin"})
    assert r.status_code == 201
    second = bearer(r.json()["secret"])
    r = client.post("/v1/keys", json={"name": "third", "role": "consumer"}, headers=second)
    assert r.status_code == 201, r.text
    assert (
        client.post("/v1/contracts?allow_breaking=true", json=doc(), headers=second).status_code
        == 201
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": "consumer"}, "body.name"),
        ({"name": "", "role": "consumer"}, "body.name"),
        ({"name": "x" * 201, "role": "consumer"}, "body.name"),
        ({"name": "x", "role": "root"}, "body.role"),
        ({"name": "x"}, "body.role"),
        ({"name": "x", "role": "producer", "contracts": "search_*"}, "body.contracts"),
        ({"name": "x", "role": "producer", "contracts": [""]}, "body.contracts[0]"),
        ({"name": "x", "role": "consumer", "secret": "tg_chosen"}, "body.secret"),
    ],
)
def test_invalid_key_requests_are_422(client: TestClient, body: dict[str, Any], field: str) -> None:
    r = client.post("/v1/keys", json=body)
    problem = assert_problem(r, 422)
    assert field in [e["loc"] for e in problem["errors"]], problem
    assert len(all_keys(client)) == 1


def test_secrets_are_random_256_bit_and_stored_only_as_sha256(
    client: TestClient, engine: Engine
) -> None:
    secrets = []
    for i in range(3):
        r = client.post("/v1/keys", json={"name": f"k{i}", "role": "consumer"})
        assert r.status_code == 201
        secrets.append(r.json()["secret"])
    assert len(set(secrets)) == 3
    for secret in secrets:
        assert secret.startswith("tg_")
        assert re.fullmatch(r"[A-Za-z0-9_-]{43,}", secret[3:]), secret  # 32 bytes, url-safe
    with engine.connect() as conn:
        rows = [dict(row._mapping) for row in conn.execute(text("SELECT * FROM api_key"))]
    assert len(rows) == 4  # the bootstrap admin and ours
    dump = repr(rows)
    for secret in [*secrets, ADMIN_KEY]:
        assert secret not in dump
        assert secret[3:] not in dump
        assert secret[3:13] not in dump
        assert hashlib.sha256(secret.encode()).hexdigest() in [r["secret_sha256"] for r in rows]


def test_list_keys_pages_and_never_shows_secrets_or_deleted_keys(client: TestClient) -> None:
    made = []
    for i in range(7):
        r = client.post("/v1/keys", json={"name": f"key{i}", "role": "consumer"})
        made.append(r.json())
    gone = made.pop(3)
    assert client.delete(f"/v1/keys/{gone['id']}").status_code == 204

    pages, cursor, seen = 0, None, []
    while True:
        r = client.get("/v1/keys", params={"limit": 3, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        page = r.json()
        assert set(page) == {"items", "next_cursor"}
        assert len(page["items"]) <= 3
        for item in page["items"]:
            assert set(item) == {"id", "name", "role", "contracts", "created_at"}
        for key in [*made, gone]:
            assert key["secret"] not in r.text
        seen += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    ids = [k["id"] for k in seen]
    assert len(ids) == len(set(ids)) == 7  # bootstrap admin + 6 live
    assert pages == 3
    assert gone["id"] not in ids
    assert {k["id"] for k in made} <= set(ids)
    assert [k["name"] for k in seen][1:] == [k["name"] for k in made]  # oldest first
    r = client.get("/v1/keys?cursor=garbage")
    assert_problem(r, 422)


def test_delete_key_takes_effect_at_once(client: TestClient, make_key: KeyMaker) -> None:
    secret = make_key("producer", ["*"])
    assert client.get("/v1/contracts", headers=bearer(secret)).status_code == 200
    key_id = next(k["id"] for k in all_keys(client) if k["role"] == "producer")
    r = client.delete(f"/v1/keys/{key_id}")
    assert r.status_code == 204
    assert r.content == b""
    assert_401(client.get("/v1/contracts", headers=bearer(secret)), "invalid-api-key")
    assert_401(client.post("/v1/contracts", json=doc(), headers=bearer(secret)), "invalid-api-key")
    body = assert_problem(client.delete(f"/v1/keys/{key_id}"), 404, "key-not-found")
    assert key_id in body["detail"]
    assert key_id not in [k["id"] for k in all_keys(client)]


def test_keys_deleted_at_once(client: TestClient, make_key: KeyMaker) -> None:
    """Eight deletes of one key at once: one 204, seven 404; eight keys at once: all gone.
    On SQLite most of them were 500s ("database is locked") before every unit of work took
    the write lock at BEGIN."""
    for _ in range(9):
        make_key("consumer")
    ids = [k["id"] for k in all_keys(client) if k["role"] == "consumer"]
    same = at_once(lambda _: client.delete(f"/v1/keys/{ids[0]}").status_code)
    assert sorted(same) == [204] + [404] * 7
    each = at_once(lambda i: client.delete(f"/v1/keys/{ids[i + 1]}").status_code)
    assert each == [204] * 8
    assert not [k for k in all_keys(client) if k["role"] == "consumer"]


@pytest.mark.parametrize(
    "key_id",
    ["x", "123", "not-a-uuid", str(uuid.uuid4()), str(uuid.uuid4()).upper(), "z" * 5000, "%00"],
)
def test_delete_unknown_or_malformed_key_id_is_404(client: TestClient, key_id: str) -> None:
    r = client.delete(f"/v1/keys/{key_id}")
    body = assert_problem(r, 404, "key-not-found")
    assert len(body["detail"]) < 300
    assert len(all_keys(client)) == 1


def test_an_admin_may_delete_its_own_key(client: TestClient, make_key: KeyMaker) -> None:
    secret = make_key("admin")
    key_id = next(k["id"] for k in all_keys(client) if k["name"] == "test")
    assert client.delete(f"/v1/keys/{key_id}", headers=bearer(secret)).status_code == 204
    assert_401(client.get("/v1/keys", headers=bearer(secret)), "invalid-api-key")


# --------------------------------------------------------------------------------------------
# The start-up admin key.


def admin_rows(engine: Engine, secret: str) -> list[dict[str, Any]]:
    digest = hashlib.sha256(secret.encode()).hexdigest()
    with engine.connect() as conn:
        result = conn.execute(
            text("SELECT role, deleted_at FROM api_key WHERE secret_sha256 = :d"), {"d": digest}
        )
        return [dict(r._mapping) for r in result]


def count_keys(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM api_key")).scalar_one())


@pytest.fixture
def start(settings: Settings) -> Iterator[Any]:
    """start(**overrides) → a started app (TestClient without a default key)."""
    clients: list[TestClient] = []

    def run(**overrides: Any) -> TestClient:
        c = TestClient(
            create_app(settings.model_copy(update=overrides)), raise_server_exceptions=False
        )
        c.__enter__()
        clients.append(c)
        return c

    yield run
    for c in reversed(clients):
        c.__exit__(None, None, None)


def works_as_admin(c: TestClient, secret: str) -> bool:
    return c.get("/v1/keys", headers=bearer(secret)).status_code == 200


def test_the_configured_admin_key_is_ensured_once(start: Any, engine: Engine) -> None:
    first = start()
    assert works_as_admin(first, ADMIN_KEY)
    second = start()
    assert works_as_admin(second, ADMIN_KEY)
    assert admin_rows(engine, ADMIN_KEY) == [{"role": "admin", "deleted_at": None}]
    assert count_keys(engine) == 1


def test_a_new_admin_key_value_keeps_the_old_one(start: Any, engine: Engine) -> None:
    start()
    new_key = "tg_rotated_admin_key_" + "9" * 40
    app = start(admin_key=new_key)
    assert works_as_admin(app, new_key)
    assert works_as_admin(app, ADMIN_KEY)  # earlier values stay valid until deleted
    assert count_keys(engine) == 2
    start(admin_key=new_key)
    assert count_keys(engine) == 2


def test_the_admin_key_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    from_env = "tg_from_the_environment_" + "7" * 40
    monkeypatch.setenv("TOLLGATE_ADMIN_KEY", from_env)
    env_settings = Settings(data_dir=settings.data_dir, database_url=settings.database_url)
    with TestClient(create_app(env_settings)) as c:
        assert works_as_admin(c, from_env)


def test_a_deleted_configured_admin_key_is_ensured_again_on_start(
    start: Any, engine: Engine
) -> None:
    app = start()
    key_id = next(k["id"] for k in all_keys(app))
    assert app.delete(f"/v1/keys/{key_id}", headers=ADMIN).status_code == 204
    assert_401(app.get("/v1/keys", headers=ADMIN), "invalid-api-key")
    again = start()
    assert works_as_admin(again, ADMIN_KEY)
    assert admin_rows(engine, ADMIN_KEY) == [{"role": "admin", "deleted_at": None}]


def test_without_a_configured_key_one_is_generated_and_shown_once(
    start: Any, engine: Engine, capfd: pytest.CaptureFixture[str]
) -> None:
    capfd.readouterr()
    first = start(admin_key=None)
    err = capfd.readouterr().err
    shown = SECRET.findall(err)
    assert len(shown) == 1, err
    generated = shown[0]
    assert works_as_admin(first, generated)
    assert admin_rows(engine, generated) == [{"role": "admin", "deleted_at": None}]

    second = start(admin_key=None)
    assert "tg_" not in capfd.readouterr().err
    assert works_as_admin(second, generated)
    assert count_keys(engine) == 1


def test_no_key_is_generated_when_an_admin_exists(
    start: Any, engine: Engine, capfd: pytest.CaptureFixture[str]
) -> None:
    start()  # TOLLGATE_ADMIN_KEY creates the first admin
    capfd.readouterr()
    app = start(admin_key=None)
    assert "tg_" not in capfd.readouterr().err
    assert works_as_admin(app, ADMIN_KEY)
    assert count_keys(engine) == 1


def test_a_key_is_generated_again_when_every_admin_was_deleted(
    start: Any, engine: Engine, capfd: pytest.CaptureFixture[str]
) -> None:
    capfd.readouterr()
    app = start(admin_key=None)
    generated = SECRET.findall(capfd.readouterr().err)[0]
    consumer = app.post(
        "/v1/keys", json={"name": "c", "role": "consumer"}, headers=bearer(generated)
    ).json()
    key_id = next(k["id"] for k in all_keys_as(app, generated) if k["role"] == "admin")
    assert app.delete(f"/v1/keys/{key_id}", headers=bearer(generated)).status_code == 204
    start(admin_key=None)
    fresh = SECRET.findall(capfd.readouterr().err)
    assert len(fresh) == 1
    assert fresh[0] != generated
    assert works_as_admin(app, fresh[0])
    assert not works_as_admin(app, generated)
    # A consumer key is not an admin: it did not prevent the new admin key.
    assert app.get("/v1/contracts", headers=bearer(consumer["secret"])).status_code == 200


def all_keys_as(c: TestClient, secret: str) -> list[dict[str, Any]]:
    r = c.get("/v1/keys", headers=bearer(secret))
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items
