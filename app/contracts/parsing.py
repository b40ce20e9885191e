"""Bytes → contract document: YAML/JSON loading, exact error paths, normalisation, fingerprint."""

from __future__ import annotations

import hashlib
import json
import re
import reprlib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
import yaml
from pydantic import ValidationError

from app.contracts.spec import (
    FLOAT_TYPES,
    INTEGER_TYPES,
    RANGE_TYPES,
    SET_TYPES,
    Column,
    ColumnType,
    ContractSpec,
)

MAX_NODES = 1_000_000
_SHOWN = reprlib.Repr()  # a client's value in an error message: bounded length and nesting
_SHOWN.maxstring = _SHOWN.maxother = 80
_SHOWN.maxlong = 40
_SHOWN.maxlevel = 3


def shown(value: Any) -> str:
    """`value`'s repr, cut short: a 100 MB string or a list nested 900 deep stays a line."""
    return _SHOWN.repr(value)


class DocumentError(ValueError):
    """A contract document that cannot be accepted; `errors` are `{path, message}` pairs."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e['path'] or '(document)'}: {e['message']}" for e in errors))


class _Yaml12Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans: `yes`, `no`, `on` and `off` stay strings."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load_document(body: bytes | str, *, yaml_syntax: bool) -> Any:
    """Parse JSON or YAML text. Raises DocumentError with the line of a syntax error."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
    except UnicodeDecodeError as exc:
        raise DocumentError(
            [{"path": "", "message": f"not UTF-8 text (byte {exc.start})"}]
        ) from exc
    try:
        data = yaml.load(text, Loader=_Yaml12Loader) if yaml_syntax else json.loads(text)
    except json.JSONDecodeError as exc:
        msg = f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        raise DocumentError([{"path": "", "message": msg}]) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise DocumentError([{"path": "", "message": f"malformed YAML{where}: {problem}"}]) from exc
    _bounded(data)
    return data


def _bounded(data: Any) -> None:
    """Refuse documents that expand past MAX_NODES (YAML alias bombs)."""
    stack, seen = [data], 0
    while stack:
        node = stack.pop()
        seen += 1
        if seen > MAX_NODES:
            raise DocumentError([{"path": "", "message": "document too large once expanded"}])
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def parse_contract(data: Any) -> ContractSpec:
    """Validate a loaded document into a normalised ContractSpec or raise DocumentError."""
    if not isinstance(data, dict):
        kind = type(data).__name__ if data is not None else "nothing"
        raise DocumentError([{"path": "", "message": f"a contract is a mapping, got {kind}"}])
    try:
        spec = ContractSpec.model_validate(data)
    except ValidationError as exc:
        raise DocumentError(_pydantic_errors(exc, data)) from None
    errors = list(_semantic_errors(spec))
    if errors:
        raise DocumentError(errors)
    return ContractSpec.model_validate(_normalised(spec))


def _pydantic_errors(exc: ValidationError, data: Any) -> list[dict[str, str]]:
    by_path: dict[str, list[str]] = {}
    for err in exc.errors(include_url=False):
        path = _path(err["loc"], data, err["type"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        if msg not in by_path.setdefault(path, []):
            by_path[path].append(msg)
    return [{"path": p, "message": " or ".join(m)} for p, m in by_path.items()]


def _path(loc: tuple[str | int, ...], data: Any, err_type: str) -> str:
    """Render a pydantic loc as `columns[3].checks[0].in_range.min`, dropping union tags."""
    out, node = "", data
    for i, part in enumerate(loc):
        if (isinstance(node, dict) and isinstance(part, str) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            node = node[part]  # type: ignore[index]
        elif not (err_type == "missing" and i == len(loc) - 1):
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _semantic_errors(spec: ContractSpec) -> Iterator[dict[str, str]]:
    seen: dict[str, int] = {}
    for i, col in enumerate(spec.columns):
        if col.name in seen:
            yield _err(f"columns[{i}].name", f"duplicate column {col.name!r}")
        seen.setdefault(col.name, i)
        yield from _column_check_errors(col, f"columns[{i}]")
    yield from _dataset_check_errors(spec)
    yield from _feature_errors(spec)


def _err(path: str, message: str) -> dict[str, str]:
    return {"path": path, "message": message}


def _column_check_errors(col: Column, base: str) -> Iterator[dict[str, str]]:
    kinds: set[tuple[str, str]] = set()
    for j, check in enumerate(col.checks):
        path = f"{base}.checks[{j}].{check.kind}"
        key = (check.kind, check.severity.value)
        if key in kinds:
            yield _err(path, f"a column has at most one {check.kind} check per severity")
        kinds.add(key)
        yield from _fit_errors(col, check.kind, check.argument, path)
    lows = [c.min_length for c in col.checks if c.min_length is not None]
    highs = [c.max_length for c in col.checks if c.max_length is not None]
    if lows and highs and max(lows) > min(highs):
        j = next(j for j, c in enumerate(col.checks) if c.min_length == max(lows))
        yield _err(
            f"{base}.checks[{j}].min_length",
            f"min_length {max(lows)} is greater than max_length {min(highs)}",
        )


def _fit_errors(col: Column, kind: str, arg: Any, path: str) -> Iterator[dict[str, str]]:
    t = col.type
    fits = {
        "in_range": t in RANGE_TYPES,
        "in_set": t in SET_TYPES,
    }.get(kind, t is ColumnType.STRING)
    if not fits:
        yield _err(path, f"{kind} does not apply to a {t.value} column")
        return
    if kind == "in_range":
        yield from _bound_errors(t, arg.min, arg.max, path)
    elif kind == "in_set":
        want = str if t is ColumnType.STRING else int
        seen: set[Any] = set()
        for k, value in enumerate(arg):
            if not isinstance(value, want) or isinstance(value, bool):
                yield _err(f"{path}[{k}]", f"{shown(value)} is not a {t.value} value")
            elif value in seen:
                yield _err(f"{path}[{k}]", f"duplicate value {shown(value)}")
            seen.add(value)
    elif kind == "matches":
        try:
            pl.Series([""], dtype=pl.String).str.contains(f"^(?:{arg})$")
        except Exception as exc:  # polars raises ComputeError with the regex engine's message
            yield _err(path, f"not a valid RE2/Rust regular expression: {exc}")


def _bound_errors(t: ColumnType, lo: Any, hi: Any, path: str) -> Iterator[dict[str, str]]:
    parsed: dict[str, Any] = {}
    for name, value in (("min", lo), ("max", hi)):
        if value is None:
            continue
        try:
            parsed[name] = _bound_value(t, value)
        except ValueError as exc:
            yield _err(f"{path}.{name}", str(exc))
    if len(parsed) == 2 and parsed["min"] > parsed["max"]:
        yield _err(f"{path}.min", f"min {lo} is greater than max {hi}")


def _bound_value(t: ColumnType, value: Any) -> Any:
    """The comparable value of a bound for column type `t`; ValueError when it does not fit."""
    if t is ColumnType.DATE:
        if not isinstance(value, str):
            raise ValueError(f"{shown(value)} is not an ISO date (YYYY-MM-DD)")
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{shown(value)} is not an ISO date (YYYY-MM-DD)") from None
    if t is ColumnType.TIMESTAMP:
        return parse_instant(value)
    if isinstance(value, str):
        raise ValueError(f"{shown(value)} is not a number")
    return value


def parse_instant(value: Any) -> datetime:
    """An RFC 3339 instant with an offset → aware UTC datetime; ValueError otherwise."""
    if not isinstance(value, str):
        raise ValueError(f"{shown(value)} is not an RFC 3339 instant")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{shown(value)} is not an RFC 3339 instant") from None
    if parsed.tzinfo is None:
        raise ValueError(f"{shown(value)} has no UTC offset (e.g. Z or +02:00)")
    return parsed.astimezone(UTC)


def _dataset_check_errors(spec: ContractSpec) -> Iterator[dict[str, str]]:
    keys: set[tuple[Any, ...]] = set()
    for k, check in enumerate(spec.checks):
        path = f"checks[{k}].{check.kind}"
        if check.unique is not None:
            key: tuple[Any, ...] = ("unique", frozenset(check.unique), check.severity)
            for m, name in enumerate(check.unique):
                if spec.column(name) is None:
                    yield _err(f"{path}[{m}]", f"unknown column {name!r}")
                elif check.unique.index(name) != m:
                    yield _err(f"{path}[{m}]", f"column {name!r} named twice")
        elif check.freshness is not None:
            key = ("freshness", check.freshness.column, check.severity)
            col = spec.column(check.freshness.column)
            if col is None:
                yield _err(f"{path}.column", f"unknown column {check.freshness.column!r}")
            elif col.type not in (ColumnType.TIMESTAMP, ColumnType.DATE):
                yield _err(
                    f"{path}.column",
                    f"freshness needs a timestamp or date column, {col.name!r} is {col.type.value}",
                )
        else:
            key = ("row_count", check.severity)
        if key in keys:
            yield _err(path, "the same check is declared twice")
        keys.add(key)


def _feature_errors(spec: ContractSpec) -> Iterator[dict[str, str]]:
    f = spec.features
    if f is None:
        return
    for i, name in enumerate(f.entity):
        if spec.column(name) is None:
            yield _err(f"features.entity[{i}]", f"unknown column {name!r}")
        elif f.entity.index(name) != i:
            yield _err(f"features.entity[{i}]", f"column {name!r} named twice")
    ts = spec.column(f.timestamp)
    if ts is None:
        yield _err("features.timestamp", f"unknown column {f.timestamp!r}")
    elif ts.type is not ColumnType.TIMESTAMP:
        yield _err("features.timestamp", f"{f.timestamp!r} is {ts.type.value}, not timestamp")
    elif f.timestamp in f.entity:
        yield _err("features.timestamp", f"{f.timestamp!r} is also an entity column")
    for i, name in enumerate(f.columns or []):
        if spec.column(name) is None:
            yield _err(f"features.columns[{i}]", f"unknown column {name!r}")
        elif name in f.entity or name == f.timestamp:
            yield _err(f"features.columns[{i}]", f"{name!r} is an entity or timestamp column")
        elif (f.columns or []).index(name) != i:
            yield _err(f"features.columns[{i}]", f"column {name!r} named twice")


def _normalised(spec: ContractSpec) -> dict[str, Any]:
    """Canonical values: sorted sets, typed bounds (floats on float columns, UTC instants)."""
    doc = spec.model_dump(mode="python")
    for col_doc, col in zip(doc["columns"], spec.columns, strict=True):
        for check in col_doc["checks"]:
            if check["in_set"] is not None:
                check["in_set"] = sorted(check["in_set"])
            if check["in_range"] is not None:
                for b in ("min", "max"):
                    check["in_range"][b] = _canonical_bound(col.type, check["in_range"][b])
    return doc


def _canonical_bound(t: ColumnType, value: Any) -> Any:
    if value is None:
        return None
    if t in FLOAT_TYPES:
        return float(value)
    if t in INTEGER_TYPES and isinstance(value, float) and value.is_integer():
        return int(value)
    if t in (ColumnType.TIMESTAMP, ColumnType.DATE):
        return _bound_value(t, value).isoformat().replace("+00:00", "Z")
    return value


def canonical(spec: ContractSpec) -> dict[str, Any]:
    """The stored and exported form: defaults explicit where they matter, noise dropped."""
    doc = spec.model_dump(mode="json", exclude_none=True)
    for key in ("consumers", "checks"):
        if not doc[key]:
            del doc[key]
    for col in doc["columns"]:
        if not col["unique"]:
            del col["unique"]
        if not col["checks"]:
            del col["checks"]
        for check in col.get("checks", []):
            _drop_check_defaults(check)
    for check in doc.get("checks", []):
        _drop_check_defaults(check)
    return doc


def _drop_check_defaults(check: dict[str, Any]) -> None:
    if check.get("severity") == "error":
        del check["severity"]
    if check.get("mostly") == 1.0:
        del check["mostly"]


def fingerprint(spec: ContractSpec) -> str:
    """sha256 of the canonical document without its version: equal iff 'identical' (SPEC §3)."""
    doc = canonical(spec)
    doc.pop("version", None)
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def to_yaml(doc: dict[str, Any]) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
