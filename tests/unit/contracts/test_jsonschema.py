"""The JSON Schema (draft 2020-12) of one row: SPEC §5 "OpenAPI" and §8 "Shapes"."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from hypothesis import given, settings

from app.contracts.jsonschema import DRAFT_2020_12, component_name, row_schema
from app.contracts.parsing import parse_contract
from app.contracts.spec import ContractSpec
from tests.unit.contracts.test_odcs import EXAMPLE_YAML, contracts

try:
    from jsonschema import Draft202012Validator as Validator
except ImportError:  # optional: only the tests that validate schemas and rows need it
    Validator = None

needs_jsonschema = pytest.mark.skipif(Validator is None, reason="jsonschema is not installed")


def check_schema(schema: dict[str, Any]) -> None:
    if Validator is not None:
        Validator.check_schema(schema)


def spec_of(*columns: dict[str, Any], **fields: Any) -> ContractSpec:
    """A contract of the given columns (local helper: parse_contract normalises like the API)."""
    return parse_contract({"name": "t", "columns": list(columns), **fields})


def prop(column: dict[str, Any]) -> dict[str, Any]:
    schema = row_schema(spec_of(column))
    check_schema(schema)
    result: dict[str, Any] = schema["properties"][column["name"]]
    return result


EXAMPLE = parse_contract(yaml.safe_load(EXAMPLE_YAML))


def test_document_shape() -> None:
    schema = row_schema(EXAMPLE)
    check_schema(schema)
    assert schema["$schema"] == DRAFT_2020_12 == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "Search result impressions"
    assert schema["description"] == "One row per search result shown to a user."
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert list(schema["properties"]) == [c.name for c in EXAMPLE.columns]
    assert schema["required"] == ["event_id", "user_id", "ts"]


def test_title_defaults_to_name_and_description_is_optional() -> None:
    schema = row_schema(spec_of({"name": "a", "type": "bool"}))
    assert schema["title"] == "t"
    assert "description" not in schema
    assert schema["required"] == []


def test_component_name() -> None:
    assert component_name("search_events") == "contract.search_events"


@pytest.mark.parametrize(
    ("type_", "expected"),
    [
        ("bool", {"type": "boolean"}),
        ("int8", {"type": "integer", "minimum": -128, "maximum": 127}),
        ("int16", {"type": "integer", "minimum": -32768, "maximum": 32767}),
        ("int32", {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1}),
        ("int64", {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1}),
        ("uint8", {"type": "integer", "minimum": 0, "maximum": 255}),
        ("uint16", {"type": "integer", "minimum": 0, "maximum": 65535}),
        ("uint32", {"type": "integer", "minimum": 0, "maximum": 2**32 - 1}),
        ("uint64", {"type": "integer", "minimum": 0, "maximum": 2**64 - 1}),
        ("float32", {"type": "number"}),
        ("float64", {"type": "number"}),
        ("string", {"type": "string"}),
        ("binary", {"type": "string", "contentEncoding": "base64"}),
        ("date", {"type": "string", "format": "date"}),
        ("timestamp", {"type": "string", "format": "date-time"}),
    ],
)
def test_every_type(type_: str, expected: dict[str, Any]) -> None:
    assert prop({"name": "c", "type": type_, "nullable": False}) == expected
    nullable = prop({"name": "c", "type": type_})
    assert nullable == {**expected, "type": [expected["type"], "null"]}


def test_column_description() -> None:
    assert prop({"name": "c", "type": "string", "description": "Hi"})["description"] == "Hi"


def test_in_set_is_an_enum_with_null_when_nullable() -> None:
    checks = [{"in_set": ["b", "a"]}]
    assert prop({"name": "c", "type": "string", "checks": checks})["enum"] == ["a", "b", None]
    strict = {"name": "c", "type": "string", "nullable": False, "checks": checks}
    assert prop(strict)["enum"] == ["a", "b"]
    assert prop({"name": "c", "type": "int32", "checks": [{"in_set": [3, 1]}]})["enum"] == [
        1,
        3,
        None,
    ]


def test_numeric_bounds_keep_the_tighter_of_type_and_check() -> None:
    p = prop({"name": "c", "type": "uint8", "checks": [{"in_range": {"min": -5, "max": 300}}]})
    assert (p["minimum"], p["maximum"]) == (0, 255)
    p = prop({"name": "c", "type": "int8", "checks": [{"in_range": {"min": 3}}]})
    assert (p["minimum"], p["maximum"]) == (3, 127)
    p = prop({"name": "c", "type": "int16", "checks": [{"in_range": {"max": 1.5}}]})
    assert (p["minimum"], p["maximum"]) == (-32768, 1.5)
    p = prop({"name": "c", "type": "float32", "checks": [{"in_range": {"min": 0, "max": 1}}]})
    assert (p["minimum"], p["maximum"]) == (0.0, 1.0)
    assert "maximum" not in prop(
        {"name": "c", "type": "float64", "checks": [{"in_range": {"min": 0}}]}
    )


def test_temporal_bounds_go_to_the_description_and_x_keywords() -> None:
    p = prop(
        {
            "name": "d",
            "type": "date",
            "description": "Day.",
            "checks": [{"in_range": {"min": "2020-01-01", "max": "2020-12-31"}}],
        }
    )
    assert p["x-minimum"] == "2020-01-01"
    assert p["x-maximum"] == "2020-12-31"
    assert "minimum" not in p
    assert p["description"] == "Day. Between 2020-01-01 and 2020-12-31 inclusive."
    p = prop(
        {
            "name": "t",
            "type": "timestamp",
            "checks": [{"in_range": {"max": "2030-01-01T02:00:00+02:00"}}],
        }
    )
    assert p["x-maximum"] == "2030-01-01T00:00:00Z"
    assert p["description"] == "At most 2030-01-01T00:00:00Z."
    p = prop({"name": "d", "type": "date", "checks": [{"in_range": {"min": "2020-01-01"}}]})
    assert p["description"] == "At least 2020-01-01."


def test_pattern_is_anchored() -> None:
    p = prop({"name": "c", "type": "string", "checks": [{"matches": "a|b"}]})
    assert p["pattern"] == "^(?:a|b)$"


def test_lengths() -> None:
    p = prop({"name": "c", "type": "string", "checks": [{"min_length": 2}, {"max_length": 5}]})
    assert (p["minLength"], p["maxLength"]) == (2, 5)


def test_warning_checks_are_not_constraints() -> None:
    warn = {"severity": "warning"}
    p = prop(
        {
            "name": "c",
            "type": "string",
            "checks": [
                {"in_set": ["a"], **warn},
                {"matches": "x", **warn},
                {"min_length": 1, **warn},
                {"max_length": 3, **warn},
            ],
        }
    )
    assert p == {"type": ["string", "null"]}
    p = prop({"name": "c", "type": "int8", "checks": [{"in_range": {"min": 0}, **warn}]})
    assert p["minimum"] == -128
    p = prop({"name": "c", "type": "date", "checks": [{"in_range": {"min": "2020-01-01"}, **warn}]})
    assert p == {"type": ["string", "null"], "format": "date"}


def test_error_and_warning_of_the_same_kind() -> None:
    p = prop(
        {
            "name": "c",
            "type": "int32",
            "checks": [{"in_range": {"min": 10}, "severity": "warning"}, {"in_range": {"min": 0}}],
        }
    )
    assert p["minimum"] == 0


def test_mostly_still_constrains_and_is_marked() -> None:
    p = prop(
        {
            "name": "c",
            "type": "string",
            "checks": [{"matches": "[a-z]+", "mostly": 0.99}, {"max_length": 9}],
        }
    )
    assert p["pattern"] == "^(?:[a-z]+)$"
    assert p["x-mostly"] == {"matches": 0.99}
    assert "x-mostly" not in prop({"name": "c", "type": "string", "checks": [{"max_length": 9}]})


@needs_jsonschema
def test_rows_validate_against_the_example() -> None:
    validator = Validator(row_schema(EXAMPLE))
    good = {
        "event_id": "e1",
        "user_id": 7,
        "ts": "2024-01-01T00:00:00Z",
        "price": 10.5,
        "device": "mobile",
        "email": "not an email: a warning only",
        "query": "shoes",
        "position": 3,
        "day": "2024-05-01",
    }
    assert not list(validator.iter_errors(good))
    sparse = {
        "event_id": "e2",
        "user_id": 8,
        "ts": "2024-01-01T00:00:00Z",
        "price": None,
        "device": None,
        "position": None,
    }
    assert not list(validator.iter_errors(sparse))
    bad = {
        "price": -1,
        "device": "tv",
        "query": "",
        "position": 0,
        "user_id": "7",
    }
    for key, value in bad.items():
        row = {**good, key: value}
        assert list(validator.iter_errors(row)), (key, value)
    assert list(validator.iter_errors({**good, "query": "x" * 201}))
    assert list(validator.iter_errors({**good, "position": 40000}))  # beyond int16
    assert list(validator.iter_errors({**good, "extra": 1}))
    assert list(validator.iter_errors({**good, "event_id": None}))
    missing = copy.deepcopy(good)
    del missing["ts"]
    assert list(validator.iter_errors(missing))


@needs_jsonschema
def test_pattern_is_a_full_match() -> None:
    spec = spec_of({"name": "code", "type": "string", "checks": [{"matches": "[A-Z]{2}"}]})
    validator = Validator(row_schema(spec))
    assert validator.is_valid({"code": "AB"})
    assert not validator.is_valid({"code": "xABx"})


@needs_jsonschema
@settings(max_examples=60, deadline=None)
@given(contracts())
def test_every_contract_gives_a_valid_schema(doc: dict[str, Any]) -> None:
    spec = parse_contract(doc)
    schema = row_schema(spec)
    check_schema(schema)
    assert schema["required"] == [c.name for c in spec.columns if not c.nullable]


@pytest.mark.parametrize("regex", ["(?i)abc", r"a\z", "(?P<x>a)"])
def test_rust_only_regexes_become_x_pattern(regex: str) -> None:
    p = prop({"name": "c", "type": "string", "checks": [{"matches": regex}]})
    assert "pattern" not in p
    assert p["x-pattern"] == f"^(?:{regex})$"
    assert p["description"] == f"Matches ^(?:{regex})$ (RE2/Rust syntax)."
