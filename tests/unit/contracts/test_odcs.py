"""ODCS v3 interchange (SPEC §5 "Interchange"): identical round trips, valid exports, refusals."""

from __future__ import annotations

import json
from datetime import UTC, timedelta, timezone
from importlib import resources
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from open_data_contract_standard.model import OpenDataContractStandard

from app.contracts.odcs import API_VERSION, from_odcs, is_odcs, to_odcs
from app.contracts.parsing import DocumentError, canonical, parse_contract
from app.contracts.spec import ColumnType, ContractSpec

EXAMPLE_YAML = r"""
name: search_events
title: Search result impressions
description: One row per search result shown to a user.
owner: search-team
consumers: [ranking-ml]
compatibility: backward
on_violation: quarantine
columns:
  - {name: event_id, type: string, nullable: false, unique: true, description: Event id}
  - {name: user_id, type: int64, nullable: false}
  - {name: ts, type: timestamp, nullable: false}
  - name: price
    type: float64
    checks: [{in_range: {min: 0, max: 100000}}]
  - name: device
    type: string
    checks: [{in_set: [desktop, mobile, tablet]}]
  - name: email
    type: string
    checks: [{matches: '^[^@\s]+@[^@\s]+\.[a-z]{2,}$', severity: warning, mostly: 0.99}]
  - name: query
    type: string
    checks: [{max_length: 200}, {min_length: 1}]
  - {name: position, type: int16, checks: [{in_range: {min: 1}}]}
  - {name: day, type: date, checks: [{in_range: {min: "2020-01-01"}}]}
checks:
  - row_count: {min: 1, max: 50000000}
  - unique: [event_id, position]
  - freshness: {column: ts, max_age: 24h}
    severity: warning
features:
  entity: [user_id]
  timestamp: ts
  columns: [price, position]
  ttl: 30d
"""

# A second, versioned contract: every type, warnings and mostly on every check kind, odd orders.
SECOND_YAML = r"""
name: payments
version: 2.3.4
compatibility: full_transitive
columns:
  - {name: id, type: uint64, nullable: false, unique: true}
  - {name: ok, type: bool}
  - {name: small, type: int8, checks: [{in_set: [1, -3]}, {in_set: [1], severity: warning}]}
  - {name: u16, type: uint16, checks: [{in_range: {max: 9}, mostly: 0.5, severity: warning},
                                      {in_range: {min: 1}, mostly: 0.75}]}
  - {name: i32, type: int32}
  - {name: u8, type: uint8}
  - {name: u32, type: uint32}
  - {name: f32, type: float32, checks: [{in_range: {min: -1.5}, severity: warning}]}
  - {name: blob, type: binary, description: raw bytes}
  - name: code
    type: string
    checks:
      - {max_length: 8, severity: warning, mostly: 0.25}
      - {in_set: [b, a], mostly: 0.999}
      - {matches: 'x|y'}
      - {min_length: 2, severity: warning}
      - {matches: '[a-z]+', severity: warning}
  - {name: at, type: timestamp, checks: [{in_range: {min: "2024-01-01T03:00:00+03:00"}}]}
  - {name: day, type: date, checks: [{in_range: {max: "2030-01-01"}, severity: warning}]}
checks:
  - freshness: {column: day, max_age: 90m}
  - unique: [code, id]
    mostly: 0.9
    severity: warning
  - row_count: {max: 10}
    severity: warning
  - row_count: {min: 5, max: 5}
  - unique: [at]
"""

ODCS_SCHEMA = json.loads(
    resources.files("open_data_contract_standard").joinpath("schema.json").read_text("utf-8")
)


def spec_of(text: str) -> ContractSpec:
    return parse_contract(yaml.safe_load(text))


def round_trip(spec: ContractSpec) -> dict[str, Any]:
    return canonical(parse_contract(from_odcs(to_odcs(spec))))


def assert_valid_odcs(doc: dict[str, Any]) -> None:
    """Valid for the ODCS pydantic model, and for its JSON Schema when jsonschema is installed."""
    OpenDataContractStandard.model_validate(doc)
    try:
        from jsonschema import Draft201909Validator
    except ImportError:
        return
    errors = [
        f"{e.json_path}: {e.message[:300]}"
        for e in Draft201909Validator(ODCS_SCHEMA).iter_errors(doc)
    ]
    assert not errors


# --- hypothesis: a variety of valid contracts ----------------------------------------------------

NAMES = ["a", "b", "price", "ts", "Zed", "x_1", "when", "c9"]
REGEXES = ["[a-z]+", "a|b", r"\d{3}-\d{2}", "^x$", "(?i)abc", ".*", r"[^@\s]+@[^@\s]+"]
INT_TYPES = [t for t in ColumnType if "int" in t.value]
TZ = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5))])
MOSTLY = st.one_of(st.none(), st.floats(0, 1, exclude_min=True), st.sampled_from([0.9, 0.99, 1]))


def _bounds(draw: st.DrawFn, values: st.SearchStrategy[Any], key: Any = None) -> dict[str, Any]:
    lo, hi = sorted([draw(values), draw(values)], key=key)
    which = draw(st.sampled_from(["min", "max", "both"]))
    return (
        {"min": lo} if which == "min" else {"max": hi} if which == "max" else {"min": lo, "max": hi}
    )


def _argument(draw: st.DrawFn, t: ColumnType, kind: str) -> Any:
    if kind == "in_range":
        if t in INT_TYPES:
            return _bounds(draw, st.integers(-(2**40), 2**40))
        if t in (ColumnType.FLOAT32, ColumnType.FLOAT64):
            return _bounds(draw, st.floats(allow_nan=False, allow_infinity=False))
        if t is ColumnType.DATE:
            return {k: v.isoformat() for k, v in _bounds(draw, st.dates()).items()}
        instants = st.datetimes(timezones=TZ)
        return {k: v.isoformat() for k, v in _bounds(draw, instants, lambda d: d).items()}
    if kind == "in_set":
        values = st.text(max_size=6) if t is ColumnType.STRING else st.integers(-999, 2**63)
        return draw(st.lists(values, min_size=1, max_size=5, unique=True))
    if kind == "matches":
        return draw(st.sampled_from(REGEXES))
    return draw(st.integers(0, 4) if kind == "min_length" else st.integers(4, 9))


def _kinds(t: ColumnType) -> list[str]:
    kinds = []
    if t in (
        *INT_TYPES,
        ColumnType.FLOAT32,
        ColumnType.FLOAT64,
        ColumnType.DATE,
        ColumnType.TIMESTAMP,
    ):
        kinds.append("in_range")
    if t in (*INT_TYPES, ColumnType.STRING):
        kinds.append("in_set")
    if t is ColumnType.STRING:
        kinds += ["matches", "min_length", "max_length"]
    return kinds


def _column(draw: st.DrawFn, name: str) -> dict[str, Any]:
    t = draw(st.sampled_from(list(ColumnType)))
    col: dict[str, Any] = {"name": name, "type": t.value}
    for key in ("nullable", "unique"):
        if draw(st.booleans()):
            col[key] = draw(st.booleans())
    if draw(st.booleans()):
        col["description"] = draw(st.text(max_size=20))
    checks = []
    for kind in _kinds(t):
        severities = draw(st.sets(st.sampled_from(["error", "warning", None]), max_size=2))
        if {"error", None} <= severities:  # None is the default: error
            severities.discard("error")
        for severity in severities:
            check: dict[str, Any] = {kind: _argument(draw, t, kind)}
            if severity is not None:
                check["severity"] = severity
            mostly = draw(MOSTLY)
            if mostly is not None:
                check["mostly"] = mostly
            checks.append(check)
    col["checks"] = draw(st.permutations(checks))
    return col


def _dataset_checks(draw: st.DrawFn, columns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    names = [c["name"] for c in columns]
    temporal = [c["name"] for c in columns if c["type"] in ("date", "timestamp")]
    checks: list[dict[str, Any]] = []
    for severity in ("error", "warning"):
        sev = {"severity": severity} if severity == "warning" or draw(st.booleans()) else {}
        if draw(st.booleans()):
            checks.append({"row_count": _bounds(draw, st.integers(0, 10**9)), **sev})
        if draw(st.booleans()):
            key = draw(st.lists(st.sampled_from(names), min_size=1, unique=True))
            mostly = draw(MOSTLY)
            checks.append({"unique": key, **sev, **({} if mostly is None else {"mostly": mostly})})
        if draw(st.booleans()) and temporal:
            age = f"{draw(st.integers(1, 10**6))}{draw(st.sampled_from('smhd'))}"
            checks.append(
                {"freshness": {"column": draw(st.sampled_from(temporal)), "max_age": age}, **sev}
            )
    return list(draw(st.permutations(checks)))


@st.composite
def contracts(draw: st.DrawFn) -> dict[str, Any]:
    """A valid contract document: random columns, types, checks, dataset checks and features."""
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=6, unique=True))
    columns = [_column(draw, n) for n in names]
    doc: dict[str, Any] = {
        "name": draw(st.sampled_from(["t", "orders", "a_b9"])),
        "columns": columns,
        "checks": _dataset_checks(draw, columns),
    }
    if draw(st.booleans()):
        doc["version"] = ".".join(str(draw(st.integers(0, 99))) for _ in range(3))
    for key in ("title", "description", "owner"):
        if draw(st.booleans()):
            doc[key] = draw(st.text(max_size=15))
    doc["consumers"] = draw(st.lists(st.text(max_size=8), max_size=3))
    doc["compatibility"] = draw(st.sampled_from(["backward", "full", "none", "forward"]))
    doc["on_violation"] = draw(st.sampled_from(["reject", "quarantine"]))
    stamps = [c["name"] for c in columns if c["type"] == "timestamp"]
    if stamps and len(columns) > 1 and draw(st.booleans()):
        ts = draw(st.sampled_from(stamps))
        others = [n for n in names if n != ts]
        entity = draw(st.lists(st.sampled_from(others), min_size=1, unique=True))
        features: dict[str, Any] = {"entity": entity, "timestamp": ts}
        rest = [n for n in others if n not in entity]
        if draw(st.booleans()):
            features["columns"] = draw(st.lists(st.sampled_from(rest), unique=True)) if rest else []
        if draw(st.booleans()):
            features["ttl"] = f"{draw(st.integers(1, 999))}{draw(st.sampled_from('smhd'))}"
        doc["features"] = features
    try:
        parse_contract(doc)
    except DocumentError:
        assume(False)
    return doc


# --- export and round trip -----------------------------------------------------------------------


@pytest.mark.parametrize("text", [EXAMPLE_YAML, SECOND_YAML], ids=["search_events", "payments"])
def test_examples_round_trip_identically(text: str) -> None:
    spec = spec_of(text)
    exported = to_odcs(spec)
    assert_valid_odcs(exported)
    assert round_trip(spec) == canonical(spec)
    assert is_odcs(exported)
    # Through text too, as an API client would send it back.
    again = yaml.safe_load(yaml.safe_dump(exported))
    assert canonical(parse_contract(from_odcs(again))) == canonical(spec)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(contracts())
def test_every_contract_round_trips_identically(doc: dict[str, Any]) -> None:
    spec = parse_contract(doc)
    exported = to_odcs(spec)
    assert_valid_odcs(exported)
    assert canonical(parse_contract(from_odcs(json.loads(json.dumps(exported))))) == canonical(spec)


def test_export_shape() -> None:
    out = to_odcs(spec_of(EXAMPLE_YAML))
    assert out["apiVersion"] == API_VERSION == "v3.2.0"
    assert (out["kind"], out["id"], out["name"], out["status"]) == (
        "DataContract",
        "search_events",
        "search_events",
        "active",
    )
    assert out["version"] == "0.0.0"  # unversioned: marked by the custom property below
    assert {"property": "unversioned", "value": True, "vendor": "tollgate"} in out[
        "customProperties"
    ]
    assert out["description"] == {"purpose": "One row per search result shown to a user."}
    assert out["team"] == {"name": "search-team"}
    [obj] = out["schema"]
    assert (obj["name"], obj["businessName"]) == ("search_events", "Search result impressions")
    props = {p["name"]: p for p in obj["properties"]}
    assert props["event_id"] | {} == {
        "name": "event_id",
        "logicalType": "string",
        "physicalType": "string",
        "required": True,
        "unique": True,
        "description": "Event id",
    }
    assert props["user_id"]["logicalTypeOptions"] == {"format": "i64"}
    assert props["ts"]["logicalType"] == "timestamp"
    assert props["price"]["logicalTypeOptions"] == {
        "format": "f64",
        "minimum": 0.0,
        "maximum": 100000.0,
    }
    assert props["device"]["enum"] == [
        {"value": "desktop"},
        {"value": "mobile"},
        {"value": "tablet"},
    ]
    assert props["query"]["logicalTypeOptions"] == {"maxLength": 200, "minLength": 1}
    assert props["day"]["logicalTypeOptions"] == {"minimum": "2020-01-01"}
    [email] = props["email"]["quality"]
    assert email["metric"] == "invalidValues"
    assert email["arguments"] == {"pattern": r"^(?:^[^@\s]+@[^@\s]+\.[a-z]{2,}$)$"}
    assert (email["severity"], email["unit"], email["mustBeLessOrEqualTo"]) == (
        "warning",
        "percent",
        1.0,
    )
    rows, unique = obj["quality"]
    assert (rows["metric"], rows["mustBeBetween"]) == ("rowCount", [1, 50000000])
    assert (unique["metric"], unique["arguments"], unique["mustBe"]) == (
        "duplicateValues",
        {"properties": ["event_id", "position"]},
        0,
    )
    assert out["slaProperties"] == [
        {
            "property": "latency",
            "value": 1,
            "unit": "d",
            "element": "search_events.ts",
            "customProperties": [
                {"property": "severity", "value": "warning", "vendor": "tollgate"}
            ],
        }
    ]


def test_versioned_export_carries_the_version() -> None:
    out = to_odcs(spec_of(SECOND_YAML))
    assert out["version"] == "2.3.4"
    assert all(cp["property"] != "unversioned" for cp in out["customProperties"])
    assert from_odcs(out)["version"] == "2.3.4"


# --- import of hand-written documents -----------------------------------------------------------

HAND = """
apiVersion: v3.0.2
kind: DataContract
id: 53581432-6c55-4ba2-a65f-72344a91553a
name: orders
version: 1.0.0
status: draft
description:
  purpose: Orders placed in the shop.
team:
  name: shop-team
schema:
  - name: orders_tbl
    physicalType: table
    businessName: Orders
    properties:
      - {name: order_id, logicalType: string, required: true, unique: true, description: Id}
      - {name: amount, logicalType: number, physicalType: double}
      - {name: qty, logicalType: integer, physicalType: INT}
      - {name: big, logicalType: integer}
      - {name: created_at, logicalType: timestamp, primaryKey: false}
      - {name: seen, logicalType: datetime}
      - {name: day, logicalType: date, logicalTypeOptions: {format: yyyy-MM-dd}}
      - {name: flag, logicalType: boolean}
      - {name: small, logicalType: integer, logicalTypeOptions: {format: u8, maximum: 9}}
      - name: code
        logicalType: string
        physicalType: VARCHAR(10)
        logicalTypeOptions: {maxLength: 10, pattern: '^[A-Z]+$'}
      - name: status
        logicalType: string
        quality:
          - {metric: nullValues, mustBe: 0}
          - type: library
            metric: invalidValues
            arguments: {validValues: [new, paid]}
            unit: percent
            mustBeLessOrEqualTo: 5
            severity: warning
            description: mostly known statuses
      - name: note
        logicalType: string
        logicalTypeOptions: {pattern: 'abc'}
    quality:
      - {metric: rowCount, mustBeGreaterThan: 0}
      - {rule: duplicateValues, arguments: {properties: [order_id, day]}, mustBe: 0}
slaProperties:
  - {property: latency, value: 6, unit: hours, element: orders_tbl.created_at}
"""


def test_hand_written_document_imports() -> None:
    doc = from_odcs(yaml.safe_load(HAND))
    spec = parse_contract(doc)
    assert (spec.name, spec.version, spec.title, spec.owner) == (
        "orders",
        "1.0.0",
        "Orders",
        "shop-team",
    )
    assert spec.description == "Orders placed in the shop."
    types = {c.name: c.type.value for c in spec.columns}
    assert types == {
        "order_id": "string",
        "amount": "float64",
        "qty": "int32",
        "big": "int64",
        "created_at": "timestamp",
        "seen": "timestamp",
        "day": "date",
        "flag": "bool",
        "small": "uint8",
        "code": "string",
        "status": "string",
        "note": "string",
    }
    order_id = spec.columns[0]
    assert (order_id.nullable, order_id.unique, order_id.description) == (False, True, "Id")
    assert spec.column("amount").nullable is True  # type: ignore[union-attr]
    code = canonical(spec)["columns"][9]
    assert code["checks"] == [{"matches": "^[A-Z]+$"}, {"max_length": 10}]
    assert canonical(spec)["columns"][8]["checks"] == [{"in_range": {"max": 9}}]
    status = canonical(spec)["columns"][10]
    assert status["nullable"] is False
    assert status["checks"] == [{"in_set": ["new", "paid"], "severity": "warning", "mostly": 0.95}]
    assert canonical(spec)["columns"][11]["checks"] == [{"matches": r"[\s\S]*(?:abc)[\s\S]*"}]
    assert canonical(spec)["checks"] == [
        {"row_count": {"min": 1}},
        {"unique": ["order_id", "day"]},
        {"freshness": {"column": "created_at", "max_age": "6h"}},
    ]
    assert canonical(spec)["compatibility"] == "backward"


def test_minimal_document_imports() -> None:
    doc = {
        "apiVersion": "v3.1.0",
        "kind": "DataContract",
        "id": "x",
        "version": "0.1.0",
        "schema": [{"name": "events", "properties": [{"name": "id", "logicalType": "string"}]}],
    }
    spec = parse_contract(from_odcs(doc))
    assert canonical(spec) == {
        "name": "events",
        "version": "0.1.0",
        "compatibility": "backward",
        "on_violation": "reject",
        "columns": [{"name": "id", "type": "string", "nullable": True}],
    }


@pytest.mark.parametrize(
    ("pattern", "matches"),
    [
        ("^(?:a|b)$", "a|b"),
        ("^[A-Z]{2}$", "^[A-Z]{2}$"),
        ("^a|b$", r"[\s\S]*(?:^a|b$)[\s\S]*"),
        ("abc", r"[\s\S]*(?:abc)[\s\S]*"),
        (r"^a\$", r"[\s\S]*(?:^a\$)[\s\S]*"),
        (r"^a\\$", r"^a\\$"),
    ],
)
def test_patterns_keep_their_search_meaning(pattern: str, matches: str) -> None:
    doc = {
        "apiVersion": "v3.0.0",
        "kind": "DataContract",
        "id": "x",
        "name": "t",
        "schema": [
            {
                "name": "t",
                "properties": [
                    {
                        "name": "s",
                        "logicalType": "string",
                        "logicalTypeOptions": {"pattern": pattern},
                    }
                ],
            }
        ],
    }
    assert from_odcs(doc)["columns"][0]["checks"] == [{"matches": matches}]


# --- refusals ------------------------------------------------------------------------------------


def refused(doc: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(DocumentError) as info:
        from_odcs(doc)
    return {e["path"]: e["message"] for e in info.value.errors}


def base(**extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v3.0.2",
        "kind": "DataContract",
        "id": "x",
        "name": "t",
        "version": "1.0.0",
        **extra,
    }


def test_each_unmapped_field_is_named() -> None:
    doc = base(
        servers=[{"server": "prod", "type": "postgres"}],
        tags=["finance"],
        domain="sales",
        customProperties=[{"property": "retention", "value": "1y"}],
        slaProperties=[
            {"property": "latency", "value": 1, "unit": "d", "element": "t.ts"},
            {"property": "retention", "value": 1, "unit": "y"},
        ],
        schema=[
            {
                "name": "t",
                "physicalName": "t_v1",
                "properties": [
                    {"name": "ts", "logicalType": "timestamp"},
                    {"name": "a", "logicalType": "string", "classification": "restricted"},
                    {
                        "name": "b",
                        "logicalType": "string",
                        "transformLogic": "upper(x)",
                        "examples": ["X"],
                    },
                    {"name": "c", "logicalType": "array"},
                    {"name": "d", "logicalType": "number", "physicalType": "NUMBER(38,2)"},
                    {"name": "e", "logicalType": "integer", "physicalType": "varchar"},
                    {
                        "name": "f",
                        "logicalType": "string",
                        "quality": [{"type": "sql", "query": "SELECT 1", "mustBe": 1}],
                    },
                    {
                        "name": "g",
                        "logicalType": "integer",
                        "logicalTypeOptions": {"exclusiveMinimum": 0, "multipleOf": 2},
                    },
                    {
                        "name": "h",
                        "logicalType": "timestamp",
                        "logicalTypeOptions": {"timezone": False},
                    },
                    {"name": "i", "logicalType": "string", "enum": [{"value": "x", "label": "Ex"}]},
                ],
                "quality": [{"type": "text", "description": "must be good"}],
            },
            {"name": "other", "properties": []},
        ],
    )
    errors = refused(doc)
    p = "schema[0].properties"
    assert set(errors) == {
        "servers",
        "tags",
        "domain",
        "customProperties[0]",
        "slaProperties[1].property",
        "slaProperties[1].value",
        "slaProperties[1].element",
        "schema[1]",
        "schema[0].physicalName",
        f"{p}[1].classification",
        f"{p}[2].transformLogic",
        f"{p}[2].examples",
        f"{p}[3].logicalType",
        f"{p}[4].physicalType",
        f"{p}[5].logicalType",
        f"{p}[6].quality[0]",
        f"{p}[7].logicalTypeOptions.exclusiveMinimum",
        f"{p}[7].logicalTypeOptions.multipleOf",
        f"{p}[8].logicalTypeOptions.timezone",
        f"{p}[9].enum[0].label",
        "schema[0].quality[0]",
    }
    assert errors["servers"] == "has no equivalent in a Tollgate contract"
    assert "one schema object" in errors["schema[1]"]
    assert "'NUMBER(38,2)'" in errors[f"{p}[4].physicalType"]


def test_metadata_that_would_be_lost_is_refused() -> None:
    props = [{"name": "a", "logicalType": "string"}]
    doc = base(
        description={"purpose": "P", "usage": "U"},
        team=[{"username": "x"}],
        schema=[{"name": "t", "description": "Other", "properties": props}],
    )
    assert set(refused(doc)) == {"description.usage", "team", "schema[0].description"}
    team = {"name": "owners", "members": [{"username": "x"}]}
    same = base(
        description={"purpose": "P"},
        team=team,
        schema=[{"name": "t", "description": "P", "properties": props}],
    )
    assert set(refused(same)) == {"team.members"}
    same["team"] = {"name": "owners"}
    spec = parse_contract(from_odcs(same))
    assert (spec.description, spec.owner) == ("P", "owners")


def test_no_schema_is_refused() -> None:
    assert set(refused(base())) == {"schema"}
    assert set(refused(base(schema=[]))) == {"schema"}


def test_tolerances_that_do_not_map_are_refused() -> None:
    prop = {
        "name": "s",
        "logicalType": "string",
        "quality": [
            {"metric": "invalidValues", "arguments": {"validValues": ["a"]}, "mustBeLessThan": 5},
            {"metric": "nullValues", "mustBe": 0, "severity": "warning"},
            {
                "metric": "invalidValues",
                "arguments": {"validValues": ["a"]},
                "mustBe": 0,
                "severity": "info",
            },
            {"metric": "missingValues", "mustBe": 0},
            {"type": "custom", "engine": "soda", "implementation": "x"},
        ],
    }
    errors = refused(base(schema=[{"name": "t", "properties": [prop]}]))
    q = "schema[0].properties[0].quality"
    assert set(errors) == {f"{q}[0]", f"{q}[1]", f"{q}[2].severity", f"{q}[3]", f"{q}[4]"}


def test_checks_on_columns_must_keep_types_consistent() -> None:
    prop = {
        "name": "n",
        "logicalType": "integer",
        "physicalType": "bigint",
        "logicalTypeOptions": {"format": "i32"},
    }
    errors = refused(base(schema=[{"name": "t", "properties": [prop]}]))
    assert set(errors) == {"schema[0].properties[0].logicalTypeOptions.format"}


def test_not_a_mapping() -> None:
    assert set(refused(["x"])) == {""}  # type: ignore[arg-type]


def test_is_odcs() -> None:
    assert is_odcs({"apiVersion": "v3.0.2", "kind": "DataContract"})
    assert is_odcs({"apiVersion": "v3.1.0", "kind": "DataContract", "id": "x"})
    assert not is_odcs({"apiVersion": "v2.2.2", "kind": "DataContract"})
    assert not is_odcs({"apiVersion": "v3.0.2", "kind": "Other"})
    assert not is_odcs({"name": "t", "columns": []})
    assert not is_odcs(["v3"])
    assert not is_odcs(None)
