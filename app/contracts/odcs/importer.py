"""ODCS v3 → contract document; every field that does not map is refused by its ODCS path."""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

from app.contracts.odcs._tables import (
    _BY_FORMAT,
    _BY_LOGICAL,
    _COMMENTARY,
    _FORMAT,
    _HARMLESS,
    _LENGTH_OPTS,
    _LOGICAL,
    _NO_MAPPING,
    _PHYSICAL,
    _ROW_OPS,
    _SECONDS,
    VENDOR,
    T,
)
from app.contracts.parsing import DocumentError
from app.contracts.spec import (
    ROW_CHECK_KINDS,
    format_duration,
)

# --- import -------------------------------------------------------------------------------------


def from_odcs(data: dict[str, Any]) -> dict[str, Any]:
    """An ODCS v3 document → a contract document for parse_contract; DocumentError if unmappable."""
    if not isinstance(data, dict):
        raise DocumentError([{"path": "", "message": "an ODCS document is a mapping"}])
    reader = _Reader()
    doc = reader.document(dict(data))
    if reader.errors:
        raise DocumentError(reader.errors)
    return doc


def _at(base: str, key: str | int) -> str:
    return f"{base}[{key}]" if isinstance(key, int) else f"{base}.{key}" if base else key


def _unanchor(pattern: str) -> str:
    """An ODCS (JSON-Schema-like, search) pattern → a full-match `matches` of the same meaning."""
    if pattern.startswith("^(?:") and pattern.endswith(")$"):
        return pattern[4:-2]  # our export: the validator wraps it back into this very text
    if pattern.startswith("^") and "|" not in pattern and re.search(r"(?<!\\)(\\\\)*\$\Z", pattern):
        return pattern  # anchored at both ends without alternation: search = full match
    return rf"[\s\S]*(?:{pattern})[\s\S]*"


def _whole(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return int(value) if isinstance(value, float) and value.is_integer() else None


class _Reader:
    """Maps ODCS nodes by popping what it understands; whatever is left is refused."""

    def __init__(self) -> None:
        self.errors: list[dict[str, str]] = []

    def refuse(self, path: str, message: str) -> None:
        self.errors.append({"path": path, "message": message})

    def rest(self, node: dict[str, Any], path: str, ignore: tuple[str, ...] = ()) -> None:
        for key, value in node.items():
            if key not in ignore and value not in (None, [], {}) and _HARMLESS.get(key) != value:
                self.refuse(_at(path, key), _NO_MAPPING)

    def node(self, value: Any, path: str) -> dict[str, Any]:
        if isinstance(value, dict):
            return dict(value)
        self.refuse(path, "expected a mapping")
        return {}

    def items(self, value: Any, path: str) -> list[Any]:
        if value is None or isinstance(value, list):
            return value or []
        self.refuse(path, "expected a list")
        return []

    def custom(self, node: dict[str, Any], path: str, known: tuple[str, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        path = _at(path, "customProperties")
        for i, item in enumerate(self.items(node.pop("customProperties", None), path)):
            cp = self.node(item, _at(path, i))
            prop, vendor = cp.pop("property", None), cp.pop("vendor", VENDOR)
            if prop in known and vendor == VENDOR and "value" in cp:
                out[prop] = cp.pop("value")
                self.rest(cp, _at(path, i), ("id", "description"))
            else:
                self.refuse(_at(path, i), f"custom property {prop!r} is not one Tollgate reads")
        return out

    def ordered(self, checks: list[Any], order: Any, path: str) -> list[Any]:
        if order is None:
            return checks
        if (
            not isinstance(order, list)
            or sorted(map(str, order)) != sorted(map(str, range(len(checks))))
            or not all(type(k) is int for k in order)
        ):
            self.refuse(path, f"checkOrder must be a permutation of 0..{len(checks) - 1}")
            return checks
        return [checks[k] for k in order]

    def document(self, doc: dict[str, Any]) -> dict[str, Any]:
        for key in ("apiVersion", "kind", "id", "status", "contractCreatedTs"):
            doc.pop(key, None)
        cps = self.custom(
            doc,
            "",
            ("compatibility", "onViolation", "consumers", "features", "unversioned", "checkOrder"),
        )
        out = {
            k: cps[c]
            for k, c in (
                ("compatibility", "compatibility"),
                ("features", "features"),
                ("on_violation", "onViolation"),
                ("consumers", "consumers"),
            )
            if c in cps
        }
        out["name"] = doc.pop("name", None)
        version = doc.pop("version", None)
        if version is not None and not cps.get("unversioned"):
            out["version"] = version
        description = doc.pop("description", None)
        if isinstance(description, str):
            out["description"] = description
        elif description is not None:
            node = self.node(description, "description")
            out["description"] = node.pop("purpose", None)
            self.rest(node, "description")
        if isinstance(doc.get("team"), dict):  # v3.1+; a v3.0 list of members names no team
            team = doc.pop("team")
            out["owner"] = team.get("name")
            self.rest({k: v for k, v in team.items() if k != "name"}, "team", ("id",))
        schema = self.items(doc.pop("schema", None), "schema")
        if not schema:
            self.refuse("schema", "a contract needs one schema object with its properties")
        for extra in range(1, len(schema)):
            self.refuse(f"schema[{extra}]", "only one schema object maps onto a Tollgate contract")
        checks = self.schema(self.node(schema[0], "schema[0]"), out) if schema else []
        default = doc.pop("slaDefaultElement", None)
        for i, item in enumerate(self.items(doc.pop("slaProperties", None), "slaProperties")):
            checks.append(
                self.freshness(
                    self.node(item, f"slaProperties[{i}]"), f"slaProperties[{i}]", default
                )
            )
        out["checks"] = self.ordered(checks, cps.get("checkOrder"), "customProperties")
        self.rest(doc, "")
        return {k: v for k, v in out.items() if v is not None}

    def schema(self, obj: dict[str, Any], out: dict[str, Any]) -> list[Any]:
        path = "schema[0]"
        if out["name"] is None:
            out["name"] = obj.get("name")
        if obj.pop("logicalType", "object") != "object":
            self.refuse(_at(path, "logicalType"), "a contract's schema object is an object")
        out["title"] = obj.pop("businessName", None)
        if out.get("description") is None or obj.get("description") == out["description"]:
            out["description"] = obj.pop("description", None)
        props = self.items(obj.pop("properties", None), _at(path, "properties"))
        out["columns"] = [
            self.column(self.node(p, f"{path}.properties[{i}]"), f"{path}.properties[{i}]")
            for i, p in enumerate(props)
        ]
        checks = []
        for i, item in enumerate(self.items(obj.pop("quality", None), _at(path, "quality"))):
            qpath = f"{path}.quality[{i}]"
            q = self.node(item, qpath)
            metric, check = self.metric(q), self.common(q, qpath)
            if metric not in ("rowCount", "duplicateValues"):
                self.refuse(qpath, "only rowCount and duplicateValues map onto dataset checks")
                continue
            if metric == "rowCount":
                check["row_count"] = self.row_count(q, qpath)
            else:
                args = self.node(q.pop("arguments", None), _at(qpath, "arguments"))
                check["unique"] = args.pop("properties", None)
                self.rest(args, _at(qpath, "arguments"))
                check |= self.tolerance(q, qpath, check.pop("mostly", None))
            self.rest(q, qpath, _COMMENTARY)
            checks.append(check)
        self.rest(obj, path, ("name", "physicalType", "id"))
        return checks

    def metric(self, q: dict[str, Any]) -> Any:
        if q.pop("type", "library") != "library":
            return None
        return q.pop("metric", None) or q.pop("rule", None)

    def common(self, q: dict[str, Any], path: str) -> dict[str, Any]:
        check: dict[str, Any] = {"severity": q.pop("severity", "error")}
        if check["severity"] not in ("error", "warning"):
            self.refuse(_at(path, "severity"), "severity is error or warning")
        return check | self.custom(q, path, ("mostly",))

    def tolerance(self, q: dict[str, Any], path: str, mostly: Any) -> dict[str, Any]:
        """`mustBe: 0` → every row; `mustBeLessOrEqualTo: p` in percent → mostly 1 - p/100."""
        unit, ops = q.pop("unit", "rows"), {k: q.pop(k) for k in list(q) if k.startswith("must")}
        limit: Any = next(iter(ops.values())) if len(ops) == 1 else None
        op = next(iter(ops), None)
        zero = limit == 0 and op in ("mustBe", "mustBeLessOrEqualTo")
        percent = unit == "percent" and op == "mustBeLessOrEqualTo"
        number = isinstance(limit, int | float) and not isinstance(limit, bool)
        # p may round to 100 in export when the exact mostly (a custom property) is tiny
        percent = percent and number and (0 <= limit < 100 or (limit == 100 and mostly is not None))
        if not number or unit not in ("rows", "percent") or not (zero or percent):
            self.refuse(
                path,
                "the tolerance must be `mustBe: 0`, or `mustBeLessOrEqualTo: <p>` "
                "with `unit: percent` (0 <= p < 100)",
            )
            return {}
        if mostly is None and limit != 0:
            mostly = float(1 - Decimal(repr(limit)) / 100)
        return {} if mostly is None else {"mostly": mostly}

    def row_count(self, q: dict[str, Any], path: str) -> dict[str, Any]:
        bounds: dict[str, Any] = {}
        for op in [k for k in q if k.startswith("must")]:
            value = q.pop(op)
            values = value if op == "mustBeBetween" and isinstance(value, list) else [value]
            keys, shift = _ROW_OPS.get(op, ((), 0))
            whole = [_whole(v) for v in values * (2 if op == "mustBe" else 1)]
            if len(whole) != len(keys) or None in whole:
                self.refuse(_at(path, op), "a row count bound is a whole number (mustBe…)")
                continue
            bounds |= {k: w + shift for k, w in zip(keys, whole, strict=True) if w is not None}
        if q.pop("unit", "rows") != "rows":
            self.refuse(_at(path, "unit"), "a row count is in rows")
        return bounds

    def freshness(self, sla: dict[str, Any], path: str, default: Any) -> dict[str, Any]:
        check = self.custom(sla, path, ("severity",))
        if sla.pop("property", None) not in ("latency", "freshness"):
            self.refuse(_at(path, "property"), "only latency maps onto a Tollgate freshness check")
        value, size = sla.pop("value", None), _SECONDS.get(str(sla.pop("unit", "")).lower(), 0)
        number = isinstance(value, int | float) and not isinstance(value, bool)
        seconds = value * size if number and math.isfinite(value) else 0
        if seconds < 1 or seconds != int(seconds):
            self.refuse(_at(path, "value"), "latency needs a positive value in d, h, min or s")
        element = str(sla.pop("element", None) or default or "")
        if not element or "," in element:
            self.refuse(_at(path, "element"), "latency needs the one timestamp column it is on")
        column = element.rsplit(".", 1)[-1]  # `table.column`, as ODCS writes elements
        check["freshness"] = {"column": column, "max_age": format_duration(int(seconds))}
        self.rest(sla, path, ("id", "description", "driver"))
        return check

    def column(self, p: dict[str, Any], path: str) -> dict[str, Any]:
        opts = self.node(p.pop("logicalTypeOptions", None) or {}, _at(path, "logicalTypeOptions"))
        col: dict[str, Any] = {"name": p.pop("name", None), "type": self.column_type(p, opts, path)}
        required = p.pop("required", False)
        if not isinstance(required, bool):
            self.refuse(_at(path, "required"), "expected true or false")
        col |= {"nullable": required is not True, "unique": p.pop("unique", False)}
        col["description"] = p.pop("description", None)
        checks: list[dict[str, Any]] = []
        bounds = {b: opts.pop(f"{b}imum") for b in ("min", "max") if f"{b}imum" in opts}
        if bounds:
            checks.append({"in_range": bounds})
        values = []
        for i, item in enumerate(self.items(p.pop("enum", None), _at(path, "enum"))):
            value = self.node(item, f"{path}.enum[{i}]")
            values.append(value.pop("value", None))
            self.rest(value, f"{path}.enum[{i}]", ("id",))
        if values:
            checks.append({"in_set": values})
        if "pattern" in opts:
            checks.append({"matches": _unanchor(str(opts.pop("pattern")))})
        checks += [{k: opts.pop(o)} for k, o in _LENGTH_OPTS.items() if o in opts]
        self.rest(opts, _at(path, "logicalTypeOptions"))
        for i, item in enumerate(self.items(p.pop("quality", None), _at(path, "quality"))):
            checks += self.row_quality(
                self.node(item, f"{path}.quality[{i}]"), f"{path}.quality[{i}]", col
            )
        order = self.custom(p, path, ("checkOrder",)).get("checkOrder")
        col["checks"] = self.ordered(checks, order, _at(path, "customProperties"))
        self.rest(p, path, ("id",))
        return {k: v for k, v in col.items() if v is not None}

    def row_quality(self, q: dict[str, Any], path: str, col: dict[str, Any]) -> list[Any]:
        custom, metric = q.get("type") == "custom", self.metric(q)
        check = self.common(q, path)
        args = self.node(q.pop("arguments", None) or {}, _at(path, "arguments"))
        if custom and q.get("engine") == VENDOR:
            q.pop("engine")
            impl = self.node(q.pop("implementation", None), _at(path, "implementation"))
            if len(impl) != 1 or next(iter(impl)) not in ROW_CHECK_KINDS:
                self.refuse(_at(path, "implementation"), "expected one Tollgate column check")
            check |= impl
        elif metric == "invalidValues" and len(args) == 1 and {*args} <= {"validValues", "pattern"}:
            check |= self.tolerance(q, path, check.pop("mostly", None))
            if "pattern" in args:
                check["matches"] = _unanchor(str(args.pop("pattern")))
            else:
                check["in_set"] = args.pop("validValues")
        elif (
            metric in ("nullValues", "duplicateValues")
            and not args
            and check == {"severity": "error"}
            and not self.tolerance(q, path, None)
        ):
            col["nullable" if metric == "nullValues" else "unique"] = metric == "duplicateValues"
            check = {}
        else:
            self.refuse(path, "no Tollgate column check has this meaning")
            return []
        self.rest(args, _at(path, "arguments"))
        self.rest(q, path, _COMMENTARY)
        return [check] if check else []

    def column_type(self, p: dict[str, Any], opts: dict[str, Any], path: str) -> str | None:
        """logicalType + physicalType (the exact width) or logicalTypeOptions.format → a type."""
        logical, physical, fmt = p.pop("logicalType", None), p.pop("physicalType", None), None
        if "format" in opts and not (logical == "date" and opts["format"] == "yyyy-MM-dd"):
            fmt = opts["format"]
        opts.pop("format", None)
        for key, fits in (("timezone", (True,)), ("defaultTimezone", ("UTC", "Etc/UTC"))):
            if opts.get(key, fits[0]) not in fits:
                self.refuse(f"{path}.logicalTypeOptions.{key}", "timestamps are UTC instants")
            opts.pop(key, None)
        name = re.sub(r"\s*\(.*\)$", "", str(physical).strip()).lower()
        if physical is not None:
            where, what, t = "physicalType", physical, _PHYSICAL.get(name)
        elif fmt is not None:
            where, what, t = "logicalTypeOptions.format", fmt, _BY_FORMAT.get(str(fmt))
        else:
            where, what, t = "logicalType", logical, _BY_LOGICAL.get(str(logical))
        if t is None:
            self.refuse(_at(path, where), f"{what!r} has no Tollgate column type")
            return None
        if logical not in (None, _LOGICAL[t]) and (logical, t) != ("datetime", T.TIMESTAMP):
            self.refuse(_at(path, "logicalType"), f"{logical!r} does not fit {t.value}")
        if fmt is not None and _FORMAT.get(t) != fmt:
            self.refuse(_at(path, "logicalTypeOptions.format"), f"{fmt!r} does not fit {t.value}")
        return t.value
