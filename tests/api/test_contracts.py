"""The registry through HTTP: register, read, list, versions, exports, dry run, diff."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from tests.builders.concurrency import at_once
from tests.conftest import KeyMaker, bearer

CONTRACTS = Path(__file__).parents[2] / "contracts"
PROBLEM = "application/problem+json"


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
            {"name": "status", "type": "string", "checks": [{"in_set": ["new", "paid"]}]},
        ],
    }
    base.update(overrides)
    return base


def with_column(d: dict[str, Any], column: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(d)
    out["columns"].append(column)
    return out


def test_register_first_version_is_1_0_0(client: TestClient) -> None:
    r = client.post("/v1/contracts", json=doc())
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["name"] == "orders"
    assert body["version"] == "1.0.0"
    assert len(body["fingerprint"]) == 64
    assert body["created_at"].endswith("Z") or body["created_at"].endswith("+00:00")
    assert body["document"]["compatibility"] == "backward"
    assert body["bump"] is None
    assert body["changes"] == []


def test_reregistering_identical_document_is_a_200_noop(client: TestClient) -> None:
    first = client.post("/v1/contracts", json=doc()).json()
    # Same contract written differently: YAML, reordered keys, set reordered, defaults explicit.
    d = doc()
    d["columns"][2]["checks"][0]["in_set"] = ["paid", "new"]
    d["columns"][1]["nullable"] = True
    d["on_violation"] = "reject"
    text = yaml.safe_dump(dict(reversed(list(d.items()))))
    r = client.post("/v1/contracts", content=text, headers={"Content-Type": "text/yaml"})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == "1.0.0"
    assert r.json()["fingerprint"] == first["fingerprint"]
    assert [v["version"] for v in client.get("/v1/contracts/orders/versions").json()["items"]] == [
        "1.0.0"
    ]


def test_loosening_is_a_minor_bump_and_neutral_a_patch(client: TestClient) -> None:
    client.post("/v1/contracts", json=doc())
    r = client.post("/v1/contracts", json=with_column(doc(), {"name": "note", "type": "string"}))
    assert r.status_code == 201, r.text
    assert (r.json()["version"], r.json()["bump"]) == ("1.1.0", "minor")
    assert r.json()["changes"][0]["kind"] == "column_added"
    assert r.json()["changes"][0]["effect"] == "loosening"
    d = with_column(doc(), {"name": "note", "type": "string"})
    d["title"] = "Orders"
    r = client.post("/v1/contracts", json=d)
    assert (r.status_code, r.json()["version"], r.json()["bump"]) == (201, "1.1.1", "patch")


def test_breaking_change_is_refused_with_409_and_the_changes(client: TestClient) -> None:
    client.post("/v1/contracts", json=doc())
    d = doc()
    d["columns"][1]["type"] = "int64"
    r = client.post("/v1/contracts", json=d)
    assert r.status_code == 409
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["type"].endswith("contract-incompatible")
    assert body["status"] == 409
    change = next(c for c in body["changes"] if c["path"] == "columns.amount.type")
    assert change == {**change, "kind": "type_changed", "effect": "breaking"}
    assert body["violations"]
    # Nothing was stored.
    assert client.get("/v1/contracts/orders").json()["version"] == "1.0.0"


def test_allow_breaking_is_admin_only_and_bumps_major(
    client: TestClient, make_key: KeyMaker
) -> None:
    client.post("/v1/contracts", json=doc())
    d = doc()
    d["columns"][1]["type"] = "int64"
    producer = make_key("producer", ["ord*"])
    r = client.post("/v1/contracts?allow_breaking=true", json=d, headers=bearer(producer))
    assert r.status_code == 403
    r = client.post("/v1/contracts?allow_breaking=true", json=d)
    assert (r.status_code, r.json()["version"], r.json()["bump"]) == (201, "2.0.0", "major")


def test_given_version_must_not_understate_the_bump(client: TestClient) -> None:
    client.post("/v1/contracts", json=doc(version="1.0.0"))
    loosened = with_column(doc(), {"name": "note", "type": "string"})
    r = client.post("/v1/contracts", json={**loosened, "version": "1.0.1"})
    assert r.status_code == 409
    assert r.json()["type"].endswith("version-conflict")
    assert "1.0.1" in r.json()["detail"]
    r = client.post("/v1/contracts", json={**loosened, "version": "1.0.0"})
    assert r.status_code == 409
    r = client.post("/v1/contracts", json={**loosened, "version": "3.0.0"})
    assert (r.status_code, r.json()["version"]) == (201, "3.0.0")


def test_changing_compatibility_needs_admin(client: TestClient, make_key: KeyMaker) -> None:
    client.post("/v1/contracts", json=doc())
    producer = make_key("producer", ["orders"])
    r = client.post("/v1/contracts", json=doc(compatibility="none"), headers=bearer(producer))
    assert r.status_code == 403
    r = client.post("/v1/contracts", json=doc(compatibility="none"))
    assert (r.status_code, r.json()["bump"]) == (201, "patch")
    assert r.json()["changes"][0]["kind"] == "policy_changed"


def test_get_list_versions_and_paging(client: TestClient) -> None:
    for name in ["c_one", "a_two", "b_three"]:
        assert client.post("/v1/contracts", json=doc(name=name)).status_code == 201
    client.post("/v1/contracts", json=with_column(doc(name="a_two"), {"name": "x", "type": "bool"}))
    page = client.get("/v1/contracts?limit=2").json()
    assert [i["name"] for i in page["items"]] == ["a_two", "b_three"]
    assert page["items"][0]["version"] == "1.1.0"
    rest = client.get(f"/v1/contracts?limit=2&cursor={page['next_cursor']}").json()
    assert [i["name"] for i in rest["items"]] == ["c_one"]
    assert rest["next_cursor"] is None
    versions = client.get("/v1/contracts/a_two/versions").json()["items"]
    assert [v["version"] for v in versions] == ["1.0.0", "1.1.0"]
    assert set(versions[0]) == {"version", "fingerprint", "created_at"}
    one = client.get("/v1/contracts/a_two/versions/1.0.0").json()
    assert set(one) == {"name", "version", "fingerprint", "created_at", "document"}
    assert one["document"]["version"] == "1.0.0"


@pytest.mark.parametrize(
    ("path", "detail"),
    [
        ("/v1/contracts/nope", "nope"),
        ("/v1/contracts/nope/versions", "nope"),
        ("/v1/contracts/orders/versions/9.9.9", "9.9.9"),
        ("/v1/contracts/orders/versions/latest", "latest"),
        ("/v1/contracts/orders/diff?from=0.0.1", "0.0.1"),
    ],
)
def test_unknown_contract_or_version_is_404(client: TestClient, path: str, detail: str) -> None:
    client.post("/v1/contracts", json=doc())
    r = client.get(path)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith(PROBLEM)
    assert detail in r.json()["detail"]


def test_bad_cursor_is_422(client: TestClient) -> None:
    r = client.get("/v1/contracts?cursor=not-a-cursor")
    assert r.status_code == 422
    assert "cursor" in r.json()["detail"]


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_exports_reregister_as_identical(client: TestClient, fmt: str) -> None:
    source = (CONTRACTS / "search_events.yaml").read_bytes()
    first = client.post(
        "/v1/contracts", content=source, headers={"Content-Type": "application/yaml"}
    )
    assert first.status_code == 201, first.text
    for url in ("/v1/contracts/search_events", "/v1/contracts/search_events/versions/1.0.0"):
        exported = client.get(f"{url}?format={fmt}")
        assert exported.status_code == 200
        media = "application/yaml" if fmt == "yaml" else "application/json"
        assert exported.headers["content-type"].startswith(media)
        again = client.post(
            "/v1/contracts", content=exported.content, headers={"Content-Type": media}
        )
        assert again.status_code == 200, again.text
        assert again.json()["fingerprint"] == first.json()["fingerprint"]


def test_jsonschema_export(client: TestClient) -> None:
    client.post("/v1/contracts", json=doc())
    r = client.get("/v1/contracts/orders?format=jsonschema")
    assert r.status_code == 200
    schema = r.json()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["required"] == ["order_id"]
    assert schema["properties"]["status"]["enum"][:2] == ["new", "paid"]
    assert schema["properties"]["amount"]["maximum"] == 1000


def test_odcs_export_round_trips(client: TestClient) -> None:
    source = (CONTRACTS / "card_transactions.yaml").read_bytes()
    first = client.post(
        "/v1/contracts", content=source, headers={"Content-Type": "application/yaml"}
    ).json()
    exported = client.get("/v1/contracts/card_transactions?format=odcs")
    assert exported.status_code == 200
    odcs = exported.json()
    assert odcs["apiVersion"].startswith("v3")
    assert odcs["kind"] == "DataContract"
    again = client.post("/v1/contracts", json=odcs)
    assert again.status_code == 200, again.text
    assert again.json()["fingerprint"] == first["fingerprint"]


def test_odcs_with_unmappable_fields_is_422_naming_them(client: TestClient) -> None:
    source = (CONTRACTS / "card_transactions.yaml").read_bytes()
    client.post("/v1/contracts", content=source, headers={"Content-Type": "application/yaml"})
    odcs = client.get("/v1/contracts/card_transactions?format=odcs").json()
    odcs["slaProperties"] = [{"property": "latency", "value": 4, "unit": "d"}]
    r = client.post("/v1/contracts", json=odcs)
    assert r.status_code == 422
    assert any("slaProperties" in e["path"] for e in r.json()["errors"])


def test_compatibility_dry_run(client: TestClient) -> None:
    client.post("/v1/contracts", json=doc())
    d = doc()
    d["columns"][1]["checks"][0]["in_range"]["max"] = 500
    r = client.post("/v1/contracts/orders/compatibility", json=d)
    assert r.status_code == 200
    body = r.json()
    assert body == {
        **body,
        "compatible": False,
        "mode": "backward",
        "bump": "minor",
        "next_version": "1.1.0",
    }
    assert body["changes"][0]["effect"] == "tightening"
    assert body["changes"][0]["path"] == "columns.amount.checks.in_range"
    same = client.post("/v1/contracts/orders/compatibility", json=doc()).json()
    assert (same["compatible"], same["bump"], same["changes"]) == (True, None, [])
    assert client.get("/v1/contracts/orders").json()["version"] == "1.0.0"
    other = client.post("/v1/contracts/orders/compatibility", json=doc(name="other"))
    assert other.status_code == 422


def test_diff_between_versions(client: TestClient) -> None:
    client.post("/v1/contracts", json=doc())
    client.post("/v1/contracts", json=with_column(doc(), {"name": "note", "type": "string"}))
    r = client.get("/v1/contracts/orders/diff?from=1.0.0&to=1.1.0")
    assert r.status_code == 200
    body = r.json()
    assert (body["from"], body["to"]) == ("1.0.0", "1.1.0")
    assert [(c["kind"], c["path"]) for c in body["changes"]] == [("column_added", "columns.note")]
    reverse = client.get("/v1/contracts/orders/diff?from=1.1.0&to=1.0.0").json()
    assert reverse["changes"][0]["effect"] == "tightening"
    default = client.get("/v1/contracts/orders/diff").json()
    assert (default["from"], default["to"]) == ("1.0.0", "1.1.0")


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (
            lambda d: d["columns"][1]["checks"][0]["in_range"].update(min=5, max=1),
            "columns[1].checks[0].in_range.min",
        ),
        (
            lambda d: d["columns"][2].update(checks=[{"in_range": {"min": 0}}]),
            "columns[2].checks[0].in_range",
        ),
        (
            lambda d: d["columns"][1].update(checks=[{"matches": "x"}]),
            "columns[1].checks[0].matches",
        ),
        (lambda d: d["columns"].append({"name": "amount", "type": "int8"}), "columns[3].name"),
        (lambda d: d["columns"][0].update(type="varchar"), "columns[0].type"),
        (lambda d: d["columns"][0].update(colour="red"), "columns[0].colour"),
        (lambda d: d.update(name="Bad-Name"), "name"),
        (
            lambda d: d.update(features={"entity": ["nope"], "timestamp": "order_id"}),
            "features.entity[0]",
        ),
        (
            lambda d: d.update(checks=[{"freshness": {"column": "order_id", "max_age": "1 day"}}]),
            "checks[0].freshness.max_age",
        ),
        (lambda d: d["columns"][1]["checks"][0].update(mostly=1.5), "columns[1].checks[0].mostly"),
        (lambda d: d.update(checks=[{"row_count": {"min": 9, "max": 1}}]), "checks[0].row_count"),
    ],
)
def test_invalid_documents_are_422_naming_the_path(
    client: TestClient, mutate: Any, path: str
) -> None:
    d = doc()
    mutate(d)
    r = client.post("/v1/contracts", json=d)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["type"].endswith("invalid-contract")
    assert path in [e["path"] for e in body["errors"]], body["errors"]
    assert path in body["detail"]


def test_register_odcs_written_by_hand(client: TestClient) -> None:
    odcs = {
        "apiVersion": "v3.0.2",
        "kind": "DataContract",
        "id": "b1a7",
        "name": "users",
        "version": "1.0.0",
        "status": "active",
        "schema": [
            {
                "name": "users",
                "properties": [
                    {
                        "name": "user_id",
                        "logicalType": "integer",
                        "physicalType": "int64",
                        "required": True,
                        "unique": True,
                    },
                    {"name": "email", "logicalType": "string"},
                ],
            }
        ],
    }
    r = client.post(
        "/v1/contracts", content=json.dumps(odcs), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 201, r.text
    cols = r.json()["document"]["columns"]
    assert [(c["name"], c["type"], c["nullable"]) for c in cols] == [
        ("user_id", "int64", False),
        ("email", "string", True),
    ]


def test_concurrent_registrations_are_serialised(client: TestClient) -> None:
    """Eight registrations at once, of a new contract and then of competing versions: one
    writes, the others see it. On SQLite, those whose reads went stale while another committed
    failed with "database is locked" (a 500) before the registration wrote first."""
    first = at_once(lambda _: client.post("/v1/contracts", json=doc()))
    assert sorted(r.status_code for r in first) == [200] * 7 + [201], [r.text for r in first]
    extra = [with_column(doc(), {"name": f"note{i}", "type": "string"}) for i in range(8)]
    answers = at_once(lambda i: client.post("/v1/contracts", json=extra[i]))
    assert sorted(r.status_code for r in answers) == [201] + [409] * 7, [r.text for r in answers]
    versions = client.get("/v1/contracts/orders/versions").json()["items"]
    assert [v["version"] for v in versions] == ["1.0.0", "1.1.0"]
