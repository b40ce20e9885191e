"""/openapi.json: every contract's latest version as the component `contract.<name>` (SPEC §5
"OpenAPI"), refreshed on registration without a restart; the whole document is valid OpenAPI 3.1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from tests.conftest import ADMIN_KEY, bearer

CONTRACTS = Path(__file__).parents[2] / "contracts"
COMPONENT = "contract.search_events"
INT64 = (-(2**63), 2**63 - 1)


def search_events() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((CONTRACTS / "search_events.yaml").read_text())
    return document


def register(client: TestClient, document: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/contracts", json=document, headers=bearer(ADMIN_KEY))
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def register_yaml_file(client: TestClient, path: Path) -> None:
    response = client.post(
        "/v1/contracts",
        content=path.read_bytes(),
        headers={**bearer(ADMIN_KEY), "Content-Type": "application/yaml"},
    )
    assert response.status_code == 201, response.text


def openapi(client: TestClient) -> dict[str, Any]:
    """GET /openapi.json without any key: the document is open."""
    response = client.get("/openapi.json", headers={"Authorization": ""})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    doc: dict[str, Any] = response.json()
    return doc


def schemas(doc: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = doc["components"]["schemas"]
    return found


@pytest.fixture
def registered(client: TestClient) -> TestClient:
    client.headers.pop("Authorization")  # every call below states its key, or none
    register_yaml_file(client, CONTRACTS / "search_events.yaml")
    return client


def test_openapi_is_open_and_valid_before_any_contract(client: TestClient) -> None:
    client.headers.pop("Authorization")
    doc = openapi(client)
    assert doc["openapi"].startswith("3.1")
    assert not [name for name in schemas(doc) if name.startswith("contract.")]
    validate(doc)


def test_registered_contract_is_a_component(registered: TestClient) -> None:
    doc = openapi(registered)
    schema = schemas(doc)[COMPONENT]
    assert schema["type"] == "object"
    # No `title`, so that Swagger UI lists the schema by its component name; the contract's title
    # leads the description.
    assert "title" not in schema
    assert schema["description"].startswith(
        "Search result impressions.\n\nOne row per search result shown to a user."
    )
    assert schema["additionalProperties"] is False
    assert list(schema["properties"]) == [
        "event_id",
        "ts",
        "user_id",
        "session_id",
        "query",
        "position",
        "item_id",
        "price",
        "device",
        "country",
        "clicked",
        "dwell_seconds",
        "score",
    ]
    assert schema["required"] == [
        "event_id",
        "ts",
        "user_id",
        "session_id",
        "position",
        "item_id",
        "clicked",
    ]


def test_column_types_and_nullability(registered: TestClient) -> None:
    props = schemas(openapi(registered))[COMPONENT]["properties"]
    # Not nullable → a single type; nullable (the default) → a type array with "null".
    assert props["event_id"]["type"] == "string"
    assert props["ts"] == {
        "type": "string",
        "format": "date-time",
        "description": "When the result was shown (UTC).",
    }
    assert props["user_id"]["type"] == "integer"
    assert props["position"]["type"] == "integer"
    assert props["clicked"]["type"] == "boolean"
    assert props["query"]["type"] == ["string", "null"]
    assert props["price"]["type"] == ["number", "null"]
    assert props["dwell_seconds"]["type"] == ["number", "null"]
    assert props["score"] == {
        "type": ["number", "null"],
        "description": "Ranker score of the result.",
    }


def test_checks_become_constraints(registered: TestClient) -> None:
    props = schemas(openapi(registered))[COMPONENT]["properties"]
    # in_set → enum (with null for a nullable column)
    assert props["device"]["enum"] == ["desktop", "mobile", "tablet", None]
    # matches → an anchored pattern
    assert props["country"]["pattern"] == "^(?:[A-Z]{2})$"
    assert props["event_id"]["pattern"] == (
        "^(?:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})$"
    )
    # min_length / max_length
    assert props["query"]["minLength"] == 1
    assert props["query"]["maxLength"] == 200
    # in_range → minimum / maximum, narrowing the integer type's own bounds
    assert (props["position"]["minimum"], props["position"]["maximum"]) == (1, 100)
    assert (props["user_id"]["minimum"], props["user_id"]["maximum"]) == (1, INT64[1])
    assert (props["item_id"]["minimum"], props["item_id"]["maximum"]) == INT64
    assert (props["price"]["minimum"], props["price"]["maximum"]) == (0, 100000)
    # Only error-severity checks constrain: the warning `in_range: {max: 3600}` does not.
    assert (props["dwell_seconds"]["minimum"], props["dwell_seconds"]["maximum"]) == (0, 86400)
    # A column without checks carries no constraint.
    assert set(props["session_id"]) == {"type", "description"}


def test_column_descriptions(registered: TestClient) -> None:
    props = schemas(openapi(registered))[COMPONENT]["properties"]
    expected = {c["name"]: c["description"] for c in search_events()["columns"]}
    assert {name: p.get("description") for name, p in props.items()} == expected


def test_new_version_refreshes_the_component_without_restart(registered: TestClient) -> None:
    before = openapi(registered)
    assert "campaign" not in schemas(before)[COMPONENT]["properties"]

    document = search_events()
    document["columns"].append(
        {
            "name": "campaign",
            "type": "string",
            "description": "Marketing campaign, if any.",
            "checks": [{"max_length": 64}],
        }
    )
    body = register(registered, document)
    assert body["version"] == "1.1.0"

    after = openapi(registered)  # same app instance: no restart
    schema = schemas(after)[COMPONENT]
    assert schema["properties"]["campaign"] == {
        "type": ["string", "null"],
        "maxLength": 64,
        "description": "Marketing campaign, if any.",
    }
    assert "campaign" not in schema["required"]
    assert list(schema["properties"])[-1] == "campaign"
    validate(after)


def test_every_contract_appears_once(registered: TestClient) -> None:
    register_yaml_file(registered, CONTRACTS / "card_transactions.yaml")
    doc = openapi(registered)
    contracts = sorted(name for name in schemas(doc) if name.startswith("contract."))
    assert contracts == ["contract.card_transactions", "contract.search_events"]


def test_document_with_contracts_is_valid_openapi(registered: TestClient) -> None:
    register_yaml_file(registered, CONTRACTS / "card_transactions.yaml")
    doc = openapi(registered)
    assert doc["info"]["title"] == "Tollgate"
    assert "Problem" in schemas(doc)
    assert "/v1/contracts" in doc["paths"]
    # Not part of the documented API surface.
    assert "/openapi.json" not in doc["paths"]
    assert "/docs" not in doc["paths"]
    validate(doc)  # raises OpenAPIValidationError on an invalid document
