"""The hostile client: every error is an RFC 9457 problem with a precise detail, never a 500
(SPEC §5 "Bad input …", §8 "Uploads"). The last tests check that the server still serves after
the barrage, and that a genuine server fault is a 500 problem without internals in its body."""

from __future__ import annotations

import base64
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from app.config import Settings
from app.db.registry import metadata
from app.main import create_app
from tests.builders import asgi
from tests.builders.problems import PROBLEM, assert_problem
from tests.conftest import ADMIN_KEY, bearer

MIB = 1024 * 1024
YAML = {"Content-Type": "application/yaml"}
JSON = {"Content-Type": "application/json"}


def doc(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "orders",
        "owner": "shop",
        "columns": [
            {"name": "order_id", "type": "string", "nullable": False, "unique": True},
            {
                "name": "amount",
                "type": "float64",
                "checks": [{"in_range": {"min": 0, "max": 1000}}],
            },
            {"name": "ts", "type": "timestamp"},
        ],
        "checks": [
            {"row_count": {"min": 1}},
            {"freshness": {"column": "ts", "max_age": "1d"}},
        ],
        "features": {"entity": ["order_id"], "timestamp": "ts"},
    }
    base.update(overrides)
    return base


def error_paths(body: dict[str, Any]) -> list[str]:
    return [e["path"] for e in body["errors"]]


# --------------------------------------------------------------------------------------------
# Unreadable documents.


def test_malformed_json_is_422_with_the_position(client: TestClient) -> None:
    text = '{\n  "name": "orders",\n  "owner": shop\n}'
    body = assert_problem(
        client.post("/v1/contracts", content=text, headers=JSON), 422, "invalid-contract"
    )
    assert "malformed JSON" in body["detail"]
    assert "line 3" in body["detail"]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("name: orders\nowner: shop\ntitle: a: b\ncolumns: []\n", 3),
        ("name: orders\nowner: shop\ncolumns:\n  - name: a\n    type: [string\n", 6),
        ("name: orders\n\towner: shop\n", 2),
        ("name: orders\nowner: 'shop\n", 3),
        ("name: orders\nowner: !!python/object:os.system shop\n", 2),
    ],
)
def test_malformed_yaml_is_422_with_the_line(client: TestClient, text: str, line: int) -> None:
    body = assert_problem(
        client.post("/v1/contracts", content=text, headers=YAML), 422, "invalid-contract"
    )
    assert "malformed YAML" in body["detail"]
    assert f"line {line}," in body["detail"], body["detail"]


@pytest.mark.parametrize(
    ("text", "headers", "kind"),
    [
        ("- name: orders\n- owner: shop\n", YAML, "list"),
        ("just a string\n", YAML, "str"),
        ("42\n", YAML, "int"),
        ("~\n", YAML, "nothing"),
        ("[1, 2]", JSON, "list"),
        ('"orders"', JSON, "str"),
        ("null", JSON, "nothing"),
        ("true", JSON, "bool"),
    ],
)
def test_a_document_that_is_not_a_mapping_is_422(
    client: TestClient, text: str, headers: dict[str, str], kind: str
) -> None:
    body = assert_problem(
        client.post("/v1/contracts", content=text, headers=headers), 422, "invalid-contract"
    )
    assert "mapping" in body["detail"]
    assert kind in body["detail"]


@pytest.mark.parametrize("content", [b"", b"   ", b"\n\n\t \r\n"])
@pytest.mark.parametrize("headers", [JSON, YAML, {}])
def test_an_empty_body_is_422(client: TestClient, content: bytes, headers: dict[str, str]) -> None:
    body = assert_problem(
        client.post("/v1/contracts", content=content, headers=headers), 422, "invalid-contract"
    )
    assert "empty" in body["detail"]


def test_an_empty_body_on_the_dry_run_is_422(client: TestClient) -> None:
    client.post("/v1/contracts", json=doc())
    body = assert_problem(client.post("/v1/contracts/orders/compatibility", content=b""), 422)
    assert "empty" in body["detail"]


BILLION_LAUGHS = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [
        f"{c}: &{c} [{','.join(['*' + p] * 9)}]"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    ]
    + ["name: orders", "columns: *i"]
)


@pytest.mark.parametrize(
    "text",
    [
        BILLION_LAUGHS,
        "a: &a [*a]\nname: orders\n",  # a self-referencing list
        "a: &a {x: *a}\nname: orders\n",  # a self-referencing mapping
    ],
)
def test_yaml_alias_bombs_are_refused_quickly(client: TestClient, text: str) -> None:
    start = time.monotonic()
    r = client.post("/v1/contracts", content=text, headers=YAML)
    assert time.monotonic() - start < 10
    body = assert_problem(r, 422, "invalid-contract")
    assert "too large" in body["detail"]
    assert len(r.content) < 2000


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b'{"name": "orders", "owner": "\xff\xfe"}', JSON),
        (b"name: orders\nowner: caf\xe9\n", YAML),
        (b"name: orders\nowner: caf\xe9\n", {"Content-Type": "application/yaml; charset=latin-1"}),
        ('{"name": "orders"}'.encode("utf-16"), JSON),
        (b"\x00\x01\x02\x03\xff" * 100, JSON),
    ],
)
def test_non_utf8_bytes_are_422(
    client: TestClient, content: bytes, headers: dict[str, str]
) -> None:
    body = assert_problem(
        client.post("/v1/contracts", content=content, headers=headers), 422, "invalid-contract"
    )
    assert "UTF-8" in body["detail"]


def test_binary_yaml_values_where_text_is_expected_are_422(client: TestClient) -> None:
    text = "name: orders\nowner: !!binary /w==\ncolumns: [{name: a, type: string}]\n"
    body = assert_problem(client.post("/v1/contracts", content=text, headers=YAML), 422)
    assert error_paths(body) == ["owner"]


DEPTH = 100_000


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        ("[" * DEPTH + "]" * DEPTH, JSON),
        ('{"a":' * DEPTH + "1" + "}" * DEPTH, JSON),
        ('{"name": "orders", "consumers": ' + "[" * DEPTH + "]" * DEPTH + "}", JSON),
        ("[" * DEPTH + "]" * DEPTH, YAML),
        ("{a: " * DEPTH + "1" + "}" * DEPTH, YAML),
        ("- " * DEPTH + "x\n", YAML),
    ],
    ids=[
        "json-lists",
        "json-objects",
        "json-in-a-field",
        "yaml-flow-lists",
        "yaml-flow-maps",
        "yaml-block-lists",
    ],
)
def test_deeply_nested_documents_are_422_not_a_crash(
    client: TestClient, content: str, headers: dict[str, str]
) -> None:
    body = assert_problem(
        client.post("/v1/contracts", content=content, headers=headers), 422, "invalid-contract"
    )
    assert "nested too deeply" in body["detail"]
    client.post("/v1/contracts", json=doc())
    r = client.post("/v1/contracts/orders/compatibility", content=content, headers=headers)
    assert_problem(r, 422, "invalid-contract")


def test_moderate_nesting_in_a_field_is_422_naming_the_field(client: TestClient) -> None:
    nested = "[" * 500 + "]" * 500
    text = json.dumps(doc())[:-1] + ', "consumers": ' + nested + "}"
    body = assert_problem(client.post("/v1/contracts", content=text, headers=JSON), 422)
    assert all(p.startswith("consumers") for p in error_paths(body)), body


def test_deeply_nested_json_to_the_keys_endpoint_is_a_4xx(client: TestClient) -> None:
    r = client.post("/v1/keys", content="[" * DEPTH + "]" * DEPTH, headers=JSON)
    assert 400 <= r.status_code < 500
    assert_problem(r, r.status_code)


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        ('{"name": "orders", "version": 1' + "0" * 5000 + "}", JSON),
        ("name: orders\nversion: 1" + "0" * 5000 + "\n", YAML),
        (
            '{"name": "orders", "columns": [{"name": "a", "type": "int64", "checks": '
            '[{"in_range": {"min": 1e999}}]}]}',
            JSON,
        ),
        (
            "name: orders\ncolumns: [{name: a, type: float64, checks: [{in_range: {max: .nan}}]}]",
            YAML,
        ),
    ],
    ids=["json-huge-int", "yaml-huge-int", "json-infinity", "yaml-nan"],
)
def test_unrepresentable_numbers_are_422(
    client: TestClient, content: str, headers: dict[str, str]
) -> None:
    assert_problem(
        client.post("/v1/contracts", content=content, headers=headers), 422, "invalid-contract"
    )


# --------------------------------------------------------------------------------------------
# Size limits: contract documents are bounded at 1 MiB.


def padded(size: int) -> bytes:
    """A valid JSON contract document of exactly `size` bytes (trailing whitespace)."""
    raw = json.dumps(doc()).encode()
    return raw + b" " * (size - len(raw))


def test_a_document_of_exactly_1_mib_is_accepted(client: TestClient) -> None:
    r = client.post("/v1/contracts", content=padded(MIB), headers=JSON)
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("path", ["/v1/contracts", "/v1/contracts/orders/compatibility"])
def test_a_document_over_1_mib_is_413(client: TestClient, path: str) -> None:
    client.post("/v1/contracts", json=doc())
    r = client.post(path, content=padded(MIB + 1), headers=JSON)
    assert r.request.headers["content-length"] == str(MIB + 1)
    body = assert_problem(r, 413, "payload-too-large")
    assert str(MIB) in body["detail"]
    # A YAML document with one enormous field is no different.
    big = yaml.safe_dump(doc(description="x" * (2 * MIB))).encode()
    assert_problem(client.post(path, content=big, headers=YAML), 413, "payload-too-large")


def test_a_streamed_document_over_1_mib_is_413_without_content_length(
    client: TestClient,
) -> None:
    chunk = b" " * 65536

    def stream() -> Iterator[bytes]:
        yield json.dumps(doc()).encode()
        for _ in range(40):  # 2.5 MiB
            yield chunk

    r = client.post("/v1/contracts", content=stream(), headers=JSON)
    assert "content-length" not in r.request.headers
    assert r.request.headers["transfer-encoding"] == "chunked"
    assert_problem(r, 413, "payload-too-large")
    assert client.get("/v1/contracts").json()["items"] == []


def _asgi_post(app: Any, headers: list[tuple[bytes, bytes]]) -> tuple[list[dict[str, Any]], int]:
    """POST an endless body straight to the ASGI app; return the messages sent and bytes read."""
    chunk, cap = b" " * 65536, 64 * MIB
    read = 0

    async def receive() -> dict[str, Any]:
        nonlocal read
        if read >= cap:  # a safety net: the app should have stopped long before
            return {"type": "http.request", "body": b"", "more_body": False}
        read += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    sent = asgi.post(app, "/v1/contracts", receive, headers)
    return sent, read


@pytest.mark.parametrize(
    "headers",
    [
        [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")],
        [(b"content-type", b"application/yaml"), (b"content-length", b"10")],  # a lying length
    ],
    ids=["chunked", "lying-content-length"],
)
def test_an_endless_body_is_cut_off_at_the_limit(
    client: TestClient, headers: list[tuple[bytes, bytes]]
) -> None:
    sent, read = _asgi_post(client.app, headers)
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 413
    assert (b"content-type", PROBLEM.encode()) in start["headers"]
    body = json.loads(
        b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    )
    assert body["status"] == 413
    assert body["type"].endswith("payload-too-large")
    assert read <= MIB + 2 * 65536  # it stopped reading right after the limit


# --------------------------------------------------------------------------------------------
# Content types.


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "multipart/form-data; boundary=xyz",
        "application/xml",
        "application/x-www-form-urlencoded",
        "application/octet-stream",
        "application/vnd.apache.parquet",
        "text/html; charset=utf-8",
        "yaml",
    ],
)
@pytest.mark.parametrize("path", ["/v1/contracts", "/v1/contracts/orders/compatibility"])
def test_a_wrong_content_type_is_415(client: TestClient, content_type: str, path: str) -> None:
    client.post("/v1/contracts", json=doc())
    r = client.post(path, content=json.dumps(doc()), headers={"Content-Type": content_type})
    body = assert_problem(r, 415, "unsupported-media-type")
    assert content_type.split(";")[0] in body["detail"]
    assert "application/json" in body["detail"]


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None],
)
def test_the_keys_endpoint_wants_json(client: TestClient, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    r = client.post("/v1/keys", content='{"name": "k", "role": "consumer"}', headers=headers)
    assert_problem(r, 415, "unsupported-media-type")
    r = client.post(
        "/v1/keys",
        content='{"name": "k", "role": "consumer"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(
    ("content_type", "render"),
    [
        ("application/json; charset=utf-8", json.dumps),
        ("application/json;charset=UTF-8", json.dumps),
        ("Application/JSON", json.dumps),
        (None, json.dumps),  # no Content-Type: JSON
        ("application/yaml", yaml.safe_dump),
        ("application/yaml; charset=utf-8", yaml.safe_dump),
        ("text/yaml", yaml.safe_dump),
        ("application/x-yaml", yaml.safe_dump),
        ("text/yaml; charset=utf-8", yaml.safe_dump),
        ("text/x-yaml", yaml.safe_dump),
    ],
)
def test_content_type_parameters_and_yaml_aliases_are_accepted(
    client: TestClient, content_type: str | None, render: Callable[[Any], str]
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    r = client.post("/v1/contracts", content=render(doc()).encode(), headers=headers)
    assert r.status_code == 201, r.text
    r = client.post(
        "/v1/contracts/orders/compatibility", content=render(doc()).encode(), headers=headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["bump"] is None


def test_json_is_also_valid_yaml(client: TestClient) -> None:
    r = client.post("/v1/contracts", content=json.dumps(doc()), headers=YAML)
    assert r.status_code == 201, r.text


# --------------------------------------------------------------------------------------------
# Invalid documents: precise paths.


def test_a_10k_char_contract_name_is_422_naming_the_field(client: TestClient) -> None:
    r = client.post("/v1/contracts", json=doc(name="a" * 10_000))
    body = assert_problem(r, 422, "invalid-contract")
    assert error_paths(body) == ["name"]
    assert body["detail"].startswith("name:")
    assert len(r.content) < 3000  # the name is not echoed back


def test_a_10k_char_column_name_is_422_naming_the_field(client: TestClient) -> None:
    d = doc()
    d["columns"][1]["name"] = "c" * 10_000
    r = client.post("/v1/contracts", json=d)
    body = assert_problem(r, 422, "invalid-contract")
    assert "columns[1].name" in error_paths(body)
    assert len(r.content) < 3000


@pytest.mark.parametrize(
    ("field", "path"),
    [("description", "description"), ("title", "title"), ("owner", "owner")],
)
def test_huge_text_fields_are_422_naming_the_field(
    client: TestClient, field: str, path: str
) -> None:
    r = client.post("/v1/contracts", json=doc(**{field: "x" * 100_000}))
    body = assert_problem(r, 422, "invalid-contract")
    assert path in error_paths(body)
    assert len(r.content) < 3000


def test_a_10k_char_key_name_is_422_naming_the_field(client: TestClient) -> None:
    r = client.post("/v1/keys", json={"name": "k" * 10_000, "role": "consumer"})
    body = assert_problem(r, 422)
    assert [e["loc"] for e in body["errors"]] == ["body.name"]
    assert len(r.content) < 3000


UNKNOWN_FIELDS: list[tuple[Callable[[dict[str, Any]], Any], str]] = [
    (lambda d: d.update(colour=1), "colour"),
    (lambda d: d["columns"][0].update(colour=1), "columns[0].colour"),
    (lambda d: d["columns"][1]["checks"][0].update(colour=1), "columns[1].checks[0].colour"),
    (
        lambda d: d["columns"][1]["checks"][0]["in_range"].update(colour=1),
        "columns[1].checks[0].in_range.colour",
    ),
    (lambda d: d["checks"][0].update(colour=1), "checks[0].colour"),
    (lambda d: d["checks"][0]["row_count"].update(colour=1), "checks[0].row_count.colour"),
    (lambda d: d["checks"][1]["freshness"].update(colour=1), "checks[1].freshness.colour"),
    (lambda d: d["features"].update(colour=1), "features.colour"),
]


@pytest.mark.parametrize(("mutate", "path"), UNKNOWN_FIELDS, ids=[p for _, p in UNKNOWN_FIELDS])
@pytest.mark.parametrize("syntax", ["json", "yaml"])
def test_unknown_fields_at_every_level_are_422_naming_the_path(
    client: TestClient, mutate: Callable[[dict[str, Any]], Any], path: str, syntax: str
) -> None:
    d = doc()
    mutate(d)
    if syntax == "json":
        r = client.post("/v1/contracts", json=d)
    else:
        r = client.post("/v1/contracts", content=yaml.safe_dump(d), headers=YAML)
    body = assert_problem(r, 422, "invalid-contract")
    assert {"path": path, "message": "unknown field"} in body["errors"], body["errors"]
    assert f"{path}: unknown field" in body["detail"]


def test_every_unknown_field_is_reported_at_once(client: TestClient) -> None:
    d = doc()
    for mutate, _ in UNKNOWN_FIELDS:
        mutate(d)
    body = assert_problem(client.post("/v1/contracts", json=d), 422, "invalid-contract")
    assert sorted(error_paths(body)) == sorted(p for _, p in UNKNOWN_FIELDS)


def test_unknown_fields_in_a_key_request_are_422(client: TestClient) -> None:
    r = client.post("/v1/keys", json={"name": "k", "role": "consumer", "admin": True})
    body = assert_problem(r, 422, "invalid-request")
    assert [e["loc"] for e in body["errors"]] == ["body.admin"]


# --------------------------------------------------------------------------------------------
# Routing, methods and query parameters.


@pytest.mark.parametrize(
    "path",
    [
        "/nope",
        "/v1/nope",
        "/v1/contracts/orders/nope",
        "/v1/contracts/orders/versions/1.0.0/x",
        "/v1/keys/x/y",
        "/V1/contracts",
    ],
)
def test_an_unknown_route_is_a_404_problem(client: TestClient, path: str) -> None:
    body = assert_problem(client.get(path), 404, "not-found")
    assert path in body["detail"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/v1/contracts"),
        ("PUT", "/v1/contracts/orders"),
        ("POST", "/v1/contracts/orders/versions"),
        ("GET", "/v1/contracts/orders/compatibility"),
        ("PATCH", "/v1/keys"),
        ("GET", "/v1/keys/x"),
        ("POST", "/healthz"),
        ("DELETE", "/openapi.json"),
    ],
)
def test_a_wrong_method_is_a_405_problem(client: TestClient, method: str, path: str) -> None:
    r = client.request(method, path)
    body = assert_problem(r, 405, "method-not-allowed")
    assert method in body["detail"]
    assert r.headers.get("allow")


@pytest.mark.parametrize("path", ["/v1/contracts", "/v1/keys"])
@pytest.mark.parametrize("limit", ["0", "-1", "1001", "5000", "abc", "1.5", "1e3"])
def test_a_bad_limit_is_a_422_problem_with_errors(
    client: TestClient, path: str, limit: str
) -> None:
    body = assert_problem(client.get(path, params={"limit": limit}), 422, "invalid-request")
    assert [e["loc"] for e in body["errors"]] == ["query.limit"]
    assert all(set(e) == {"loc", "msg", "type"} for e in body["errors"])
    assert "query.limit" in body["detail"]


@pytest.mark.parametrize("limit", ["1", "1000"])
def test_limit_bounds_are_inclusive(client: TestClient, limit: str) -> None:
    assert client.get("/v1/contracts", params={"limit": limit}).status_code == 200
    assert client.get("/v1/keys", params={"limit": limit}).status_code == 200


def _cursor(values: list[str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def _deep_cursor() -> str:
    return base64.urlsafe_b64encode(b"[" * 1400).decode().rstrip("=")


@pytest.mark.parametrize(
    ("path", "cursor"),
    [
        ("/v1/contracts", "not-a-cursor"),
        ("/v1/contracts", _cursor(["a\u0000b"])),
        ("/v1/contracts", _cursor(["x" * 500])),
        ("/v1/contracts", _cursor(["a", "b"])),
        ("/v1/contracts", "x" * 2001),
        ("/v1/contracts", _deep_cursor()),  # under the length limit, past json's recursion
        ("/v1/keys", _deep_cursor()),
        ("/v1/contracts/orders/batches", _deep_cursor()),
        ("/v1/keys", "not-a-cursor"),
        ("/v1/keys", _cursor(["2020-01-01T00:00:00", str(uuid.uuid4())])),  # naive time
        ("/v1/keys", _cursor(["2020-01-01T00:00:00+00:00", "nope"])),
        ("/v1/keys", _cursor(["yesterday", str(uuid.uuid4())])),
    ],
)
def test_a_forged_cursor_is_a_422_problem(client: TestClient, path: str, cursor: str) -> None:
    client.post("/v1/contracts", json=doc())
    body = assert_problem(client.get(path, params={"cursor": cursor}), 422)
    assert "cursor" in body["detail"]


@pytest.mark.parametrize(
    "query",
    ["allow_breaking=maybe", "allow_breaking=", "format=xml", "format="],
)
def test_other_bad_query_parameters_are_422(client: TestClient, query: str) -> None:
    path = "/v1/contracts/orders" if query.startswith("format") else "/v1/contracts"
    client.post("/v1/contracts", json=doc())
    method = "GET" if query.startswith("format") else "POST"
    r = client.request(method, f"{path}?{query}", json=doc())
    body = assert_problem(r, 422, "invalid-request")
    assert body["errors"][0]["loc"].startswith("query.")


@pytest.mark.parametrize(
    "path",
    [
        "/v1/contracts/%00",
        "/v1/contracts/" + "a" * 10_000,
        "/v1/contracts/ORDERS",
        "/v1/contracts/orders%0A",
        "/v1/contracts/%00/versions",
        "/v1/contracts/%00/diff",
    ],
)
def test_impossible_contract_names_in_the_url_are_404(client: TestClient, path: str) -> None:
    client.post("/v1/contracts", json=doc())
    body = assert_problem(client.get(path), 404, "contract-not-found")
    assert len(body["detail"]) < 300


@pytest.mark.parametrize(
    "version", ["x", "1.0", "1.0.0.0", "01.0.0", "1.0.0-rc1", "9" * 5000, "1.0.0%0A", "%00"]
)
def test_malformed_versions_in_the_url_are_404(client: TestClient, version: str) -> None:
    client.post("/v1/contracts", json=doc())
    body = assert_problem(
        client.get(f"/v1/contracts/orders/versions/{version}"), 404, "version-not-found"
    )
    assert len(body["detail"]) < 300
    assert_problem(client.get("/v1/contracts/orders/diff", params={"from": version}), 404)


@pytest.mark.parametrize("key_id", ["x", "%00", "1", "k" * 10_000])
def test_a_malformed_key_id_is_404(client: TestClient, key_id: str) -> None:
    body = assert_problem(client.delete(f"/v1/keys/{key_id}"), 404, "key-not-found")
    assert len(body["detail"]) < 300


@pytest.mark.parametrize(
    "body",
    [
        {"name": "a\u0000b", "role": "consumer"},
        {"name": "line\nbreak", "role": "consumer"},
        {"name": "k", "role": "producer", "contracts": ["search_\u0000"]},
    ],
)
def test_control_characters_in_a_key_request_are_422(
    client: TestClient, body: dict[str, Any]
) -> None:
    problem = assert_problem(client.post("/v1/keys", json=body), 422, "invalid-request")
    assert problem["errors"][0]["loc"] in ("body.name", "body.contracts[0]")


# --------------------------------------------------------------------------------------------
# After the barrage: still serving.


def test_the_server_still_serves_after_the_barrage(client: TestClient) -> None:
    deep = "[" * DEPTH + "]" * DEPTH
    hostile: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/v1/contracts", {"content": "{", "headers": JSON}),
        ("POST", "/v1/contracts", {"content": "a: [", "headers": YAML}),
        ("POST", "/v1/contracts", {"content": BILLION_LAUGHS, "headers": YAML}),
        ("POST", "/v1/contracts", {"content": deep, "headers": JSON}),
        ("POST", "/v1/contracts", {"content": deep, "headers": YAML}),
        ("POST", "/v1/contracts", {"content": padded(MIB + 1), "headers": JSON}),
        ("POST", "/v1/contracts", {"content": b"\xff" * 100, "headers": JSON}),
        (
            "POST",
            "/v1/contracts",
            {"content": "<a/>", "headers": {"Content-Type": "application/xml"}},
        ),
        ("POST", "/v1/contracts", {"json": doc(name="a" * 10_000)}),
        ("POST", "/v1/keys", {"content": deep, "headers": JSON}),
        ("POST", "/v1/keys", {"json": {"name": "a\u0000", "role": "admin"}}),
        ("GET", "/v1/contracts/%00", {}),
        ("GET", "/v1/contracts?cursor=" + _cursor(["a\u0000"]), {}),
        ("GET", "/v1/keys?cursor=" + _cursor(["2020-01-01", str(uuid.uuid4())]), {}),
        ("GET", "/v1/keys?limit=abc", {}),
        ("DELETE", "/v1/keys/x", {}),
        ("DELETE", "/v1/contracts", {}),
        ("GET", "/v1/nope", {}),
    ]
    for method, path, kwargs in hostile * 3:
        r = client.request(method, path, **kwargs)
        assert 400 <= r.status_code < 500, (method, path[:80], r.status_code, r.text[:300])
        assert r.headers["content-type"].startswith(PROBLEM)
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    # The database connections are healthy too (no transaction left aborted in the pool).
    for _ in range(3):
        assert client.get("/v1/contracts").status_code == 200
    assert client.post("/v1/contracts", json=doc()).status_code == 201
    assert client.get("/v1/contracts/orders").json()["version"] == "1.0.0"


# --------------------------------------------------------------------------------------------
# A genuine server fault: 500, as a problem, with an incident id and no internals.


@pytest.fixture
def half_migrated(tmp_path: Path) -> Iterator[TestClient]:
    """An app on a SQLite file holding only the api_key table: keys authenticate, the contract
    queries fail inside the database driver."""
    url = f"sqlite:///{tmp_path / 'half.db'}"
    engine = create_engine(url)
    metadata.create_all(engine, tables=[metadata.tables["api_key"]])
    engine.dispose()
    settings = Settings(data_dir=tmp_path, database_url=url, admin_key=ADMIN_KEY)
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        c.headers.update(bearer(ADMIN_KEY))
        yield c


def test_an_unhandled_error_is_a_500_problem_without_internals(
    half_migrated: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    assert half_migrated.get("/v1/keys").status_code == 200  # auth and keys work
    incidents = []
    with caplog.at_level(logging.ERROR, logger="tollgate"):
        for r in [
            half_migrated.get("/v1/contracts"),
            half_migrated.get("/v1/contracts/orders"),
            half_migrated.post("/v1/contracts", json=doc()),
        ]:
            body = assert_problem(r, 500, "internal-error")
            assert set(body) == {"type", "title", "status", "detail", "instance"}
            match = re.fullmatch(r"urn:uuid:([0-9a-f-]{36})", body["instance"])
            assert match, body["instance"]
            incident = match.group(1)
            assert uuid.UUID(incident).version == 4
            assert incident in body["detail"]
            assert "contract" not in body["detail"]  # no hint of the failing table
            incidents.append(incident)
    assert len(set(incidents)) == 3
    # The incident is logged with its traceback, for the operator.
    logged = [rec for rec in caplog.records if any(i in rec.getMessage() for i in incidents)]
    assert len(logged) == 3
    assert all(rec.exc_info for rec in logged)
    assert half_migrated.get("/healthz").status_code == 200
