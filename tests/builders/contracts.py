"""Contract documents and specs for tests: the SPEC §1 example, edited one field at a time."""

from __future__ import annotations

import copy
from typing import Any

from app.contracts.parsing import parse_contract
from app.contracts.spec import ContractSpec

_MISSING = object()


def base_columns() -> list[dict[str, Any]]:
    """The columns of the SPEC §1 example, plus what its dataset checks and features name."""
    return [
        {"name": "event_id", "type": "string", "nullable": False, "unique": True},
        {"name": "user_id", "type": "string", "nullable": False},
        {"name": "session_id", "type": "string", "nullable": False},
        {"name": "position", "type": "int32", "nullable": False},
        {"name": "ts", "type": "timestamp", "nullable": False},
        {"name": "price", "type": "float64", "checks": [{"in_range": {"min": 0, "max": 100000}}]},
        {"name": "device", "type": "string", "checks": [{"in_set": ["desktop", "mobile"]}]},
        {
            "name": "email",
            "type": "string",
            "checks": [{"matches": "^[^@]+@[^@]+$", "severity": "warning", "mostly": 0.99}],
        },
        {"name": "query", "type": "string", "checks": [{"max_length": 200}]},
        {"name": "clicked", "type": "bool"},
    ]


def make_doc(**overrides: Any) -> dict[str, Any]:
    """A valid document; each keyword replaces a top-level field (None deletes it)."""
    doc: dict[str, Any] = {
        "name": "search_events",
        "title": "Search result impressions",
        "description": "One row per search result shown to a user.",
        "owner": "search-team",
        "consumers": ["ranking-ml"],
        "compatibility": "backward",
        "on_violation": "reject",
        "columns": base_columns(),
        "checks": [
            {"row_count": {"min": 1, "max": 50_000_000}},
            {"unique": ["session_id", "position"]},
            {"freshness": {"column": "ts", "max_age": "24h"}},
        ],
        "features": {"entity": ["user_id"], "timestamp": "ts", "columns": ["price", "clicked"]},
    }
    for key, value in overrides.items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = copy.deepcopy(value)
    return doc


def make_spec(**overrides: Any) -> ContractSpec:
    """`make_doc(**overrides)` validated and normalised by `parse_contract`."""
    return parse_contract(make_doc(**overrides))


def spec_of(doc: dict[str, Any]) -> ContractSpec:
    return parse_contract(copy.deepcopy(doc))


def set_column(doc: dict[str, Any], name: str, **fields: Any) -> dict[str, Any]:
    """A copy of `doc` with column `name`'s fields replaced (a None value deletes the field)."""
    out = copy.deepcopy(doc)
    col = next(c for c in out["columns"] if c["name"] == name)
    for key, value in fields.items():
        if value is None:
            col.pop(key, None)
        else:
            col[key] = copy.deepcopy(value)
    return out


def set_checks(doc: dict[str, Any], name: str, *checks: dict[str, Any]) -> dict[str, Any]:
    """A copy of `doc` whose column `name` has exactly `checks`."""
    return set_column(doc, name, checks=list(checks))


def add_column(
    doc: dict[str, Any], column: dict[str, Any], at: int | None = None
) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    out["columns"].insert(len(out["columns"]) if at is None else at, copy.deepcopy(column))
    return out


def drop_column(doc: dict[str, Any], name: str) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    out["columns"] = [c for c in out["columns"] if c["name"] != name]
    return out


def set_field(doc: dict[str, Any], path: str, value: Any = _MISSING) -> dict[str, Any]:
    """A copy of `doc` with the dotted `path` (dict keys only) set, or deleted without a value."""
    out = copy.deepcopy(doc)
    *parents, last = path.split(".")
    node = out
    for key in parents:
        node = node.setdefault(key, {})
    if value is _MISSING:
        node.pop(last, None)
    else:
        node[last] = copy.deepcopy(value)
    return out


def dataset_checks(doc: dict[str, Any], *checks: dict[str, Any]) -> dict[str, Any]:
    """A copy of `doc` with exactly these dataset-level checks."""
    return set_field(doc, "checks", list(checks))
