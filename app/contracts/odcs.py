"""Open Data Contract Standard v3 interchange for the subset that maps onto SPEC §1. Pure.

Export carries what ODCS cannot say in `customProperties` (vendor `tollgate`), so that
contract → ODCS → contract is identical. Import refuses, one error per field, whatever it cannot map.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from app.contracts.parsing import DocumentError, canonical
from app.contracts.spec import (
    DATASET_CHECK_KINDS,
    FLOAT_TYPES,
    INTEGER_TYPES,
    ROW_CHECK_KINDS,
    ColumnType,
    ContractSpec,
    format_duration,
    parse_duration,
)

API_VERSION = "v3.2.0"
VENDOR = "tollgate"

T = ColumnType
_LOGICAL = {t: "integer" for t in INTEGER_TYPES} | {t: "number" for t in FLOAT_TYPES} | {
    T.BOOL: "boolean", T.STRING: "string", T.BINARY: "string", T.DATE: "date",
    T.TIMESTAMP: "timestamp",
}
_FORMAT = {t: ("u" if t.value[0] == "u" else "i") + t.value.lstrip("uint") for t in INTEGER_TYPES}
_FORMAT |= {T.FLOAT32: "f32", T.FLOAT64: "f64", T.BINARY: "binary"}
_BY_FORMAT = {f: t for t, f in _FORMAT.items()}
_BY_LOGICAL = {"string": T.STRING, "integer": T.INT64, "number": T.FLOAT64, "boolean": T.BOOL,
               "date": T.DATE, "timestamp": T.TIMESTAMP, "datetime": T.TIMESTAMP}
_PHYSICAL = {t.value: t for t in T} | {
    "boolean": T.BOOL, "tinyint": T.INT8, "smallint": T.INT16, "int": T.INT32,
    "integer": T.INT32, "bigint": T.INT64, "long": T.INT64, "real": T.FLOAT32, "float4": T.FLOAT32,
    "double": T.FLOAT64, "double precision": T.FLOAT64, "float8": T.FLOAT64, "varchar": T.STRING,
    "char": T.STRING, "text": T.STRING, "character varying": T.STRING, "nvarchar": T.STRING,
    "varbinary": T.BINARY, "bytes": T.BINARY, "bytea": T.BINARY, "blob": T.BINARY,
    "timestamptz": T.TIMESTAMP, "timestamp_tz": T.TIMESTAMP, "datetime": T.TIMESTAMP,
    "timestamp with time zone": T.TIMESTAMP,
}
_LENGTH_OPTS = {"min_length": "minLength", "max_length": "maxLength"}
_SLA_UNITS = {"d": "d", "h": "h", "m": "min", "s": "s"}
_UNIT_WORDS = {"d": ("d", "day", "days"), "h": ("h", "hr", "hour", "hours"),
               "m": ("m", "min", "mins", "minute", "minutes"), "s": ("s", "sec", "second", "seconds")}
_HARMLESS = {"deprecated": False, "primaryKey": False, "partitioned": False,
             "criticalDataElement": False, "primaryKeyPosition": -1, "partitionKeyPosition": -1}
_COMMENTARY = ("id", "name", "description", "dimension", "businessImpact")


def is_odcs(data: Any) -> bool:
    """True for a mapping that declares itself an ODCS v3 data contract."""
    return (isinstance(data, dict) and data.get("kind") == "DataContract"
            and str(data.get("apiVersion", "")).startswith("v3"))


def _cp(prop: str, value: Any) -> dict[str, Any]:
    return {"property": prop, "value": value, "vendor": VENDOR}


def _order(natural: list[int]) -> list[dict[str, Any]]:
    """A `checkOrder` custom property when the import's natural order is not the original one."""
    if natural == sorted(natural):
        return []
    return [_cp("checkOrder", [natural.index(p) for p in range(len(natural))])]


def _tolerance(mostly: float | None) -> dict[str, Any]:
    if mostly is None:
        return {"mustBe": 0}
    return {"unit": "percent", "mustBeLessOrEqualTo": float((1 - Decimal(repr(mostly))) * 100)}


def _quality(q: dict[str, Any], check: dict[str, Any], dimension: str) -> dict[str, Any]:
    q |= {"dimension": dimension, "severity": check.get("severity", "error")}
    if "mostly" in check:
        q["customProperties"] = [_cp("mostly", check["mostly"])]
    return q


def to_odcs(spec: ContractSpec) -> dict[str, Any]:
    """The contract as an ODCS v3 document (one schema object named after the contract)."""
    doc = canonical(spec)
    name = doc["name"]
    out: dict[str, Any] = {"apiVersion": API_VERSION, "kind": "DataContract", "id": name,
                           "name": name, "version": doc.get("version", "0.0.0"), "status": "active"}
    if "description" in doc:
        out["description"] = {"purpose": doc["description"]}
    if "owner" in doc:
        out["team"] = {"name": doc["owner"]}
    obj: dict[str, Any] = {"name": name, "physicalType": "table", "logicalType": "object"}
    if "title" in doc:
        obj["businessName"] = doc["title"]
    obj["properties"] = [_export_column(col) for col in doc["columns"]]
    quality: list[tuple[int, dict[str, Any]]] = []
    sla: list[tuple[int, dict[str, Any]]] = []
    for i, check in enumerate(doc.get("checks", [])):
        if "freshness" in check:
            n, unit = re.fullmatch(r"(\d+)(\w)", check["freshness"]["max_age"]).groups()  # type: ignore[union-attr]
            entry = {"property": "latency", "value": int(n), "unit": _SLA_UNITS[unit],
                     "element": f"{name}.{check['freshness']['column']}"}
            if "severity" in check:
                entry["customProperties"] = [_cp("severity", check["severity"])]
            sla.append((i, entry))
        elif "row_count" in check:
            lo, hi = check["row_count"].get("min"), check["row_count"].get("max")
            ops = ({"mustBe": lo} if lo == hi else {"mustBeBetween": [lo, hi]} if lo is not None
                   and hi is not None else {"mustBeGreaterOrEqualTo": lo} if lo is not None
                   else {"mustBeLessOrEqualTo": hi})
            q = {"type": "library", "metric": "rowCount", **ops}
            quality.append((i, _quality(q, check, "completeness")))
        else:
            q = {"type": "library", "metric": "duplicateValues",
                 "arguments": {"properties": check["unique"]}, **_tolerance(check.get("mostly"))}
            quality.append((i, _quality(q, check, "uniqueness")))
    if quality:
        obj["quality"] = [q for _, q in quality]
    out["schema"] = [obj]
    if sla:
        out["slaProperties"] = [s for _, s in sla]
    cps = [_cp("compatibility", doc["compatibility"]), _cp("onViolation", doc["on_violation"])]
    cps += [_cp(k, doc[k]) for k in ("consumers", "features") if k in doc]
    cps += [] if "version" in doc else [_cp("unversioned", True)]
    out["customProperties"] = cps + _order([i for i, _ in quality + sla])
    return out


def _export_column(col: dict[str, Any]) -> dict[str, Any]:
    t = ColumnType(col["type"])
    out: dict[str, Any] = {"name": col["name"], "logicalType": _LOGICAL[t], "physicalType": t.value,
                           "required": not col["nullable"], "unique": col.get("unique", False)}
    if "description" in col:
        out["description"] = col["description"]
    opts: dict[str, Any] = {"format": _FORMAT[t]} if t in _FORMAT else {}
    if t is T.TIMESTAMP:
        opts["timezone"] = True
    inline: list[tuple[int, int]] = []
    quality: list[tuple[int, dict[str, Any]]] = []
    for i, check in enumerate(col.get("checks", [])):
        kind = next(k for k in ROW_CHECK_KINDS if k in check)
        arg = check[kind]
        if "severity" in check or "mostly" in check:
            if kind in ("in_set", "matches"):
                args = {"validValues": arg} if kind == "in_set" else {"pattern": f"^(?:{arg})$"}
                q = {"type": "library", "metric": "invalidValues", "arguments": args,
                     **_tolerance(check.get("mostly"))}
            else:
                q = {"type": "custom", "engine": VENDOR, "implementation": {kind: arg}}
            quality.append((i, _quality(q, check, "conformity")))
            continue
        inline.append((ROW_CHECK_KINDS.index(kind), i))
        if kind == "in_set":
            out["enum"] = [{"value": v} for v in arg]
        elif kind == "in_range":
            opts |= {f"{b}imum": arg[b] for b in ("min", "max") if b in arg}
        elif kind == "matches":
            opts["pattern"] = f"^(?:{arg})$"
        else:
            opts[_LENGTH_OPTS[kind]] = arg
    if opts:
        out["logicalTypeOptions"] = opts
    if quality:
        out["quality"] = [q for _, q in quality]
    order = _order([i for _, i in sorted(inline)] + [i for i, _ in quality])
    if order:
        out["customProperties"] = order
    return out


def from_odcs(data: dict[str, Any]) -> dict[str, Any]:
    """An ODCS v3 document → a contract document for parse_contract; DocumentError if unmappable."""
    reader = _Reader()
    doc = reader.document(data)
    if reader.errors:
        raise DocumentError(reader.errors)
    return doc


def _at(base: str, key: str | int) -> str:
    return f"{base}[{key}]" if isinstance(key, int) else f"{base}.{key}" if base else key


def _unanchor(pattern: str) -> str:
    """An ODCS (JSON-Schema-like, search) pattern → a full-match `matches` with the same meaning."""
    if pattern.startswith("^(?:") and pattern.endswith(")$"):
        return pattern[4:-2]  # our own export: the runtime wraps it back into this very text
    tail = len(pattern) - len(pattern.rstrip("\\$")) if pattern.endswith("$") else 0
    if pattern.startswith("^") and tail and "|" not in pattern and re.search(r"(?<!\\)(\\\\)*\$$",
                                                                            pattern):
        return pattern
    return f"(?s:.*)(?:{pattern})(?s:.*)"


class _Reader:
    def __init__(self) -> None:
        self.errors: list[dict[str, str]] = []

    def refuse(self, path: str, message: str) -> None:
        self.errors.append({"path": path, "message": message})

    def rest(self, node: dict[str, Any], path: str, ignore: tuple[str, ...] = ()) -> None:
        """Refuse every field left in `node` that carries something (an unmapped field)."""
        for key, value in node.items():
            if key in ignore or value in (None, [], {}) or _HARMLESS.get(key, ...) == value:
                continue
            self.refuse(_at(path, key), "has no equivalent in a Tollgate contract")

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
        if not isinstance(order, list) or sorted(order) != list(range(len(checks))):
            self.refuse(path, f"checkOrder must be a permutation of 0..{len(checks) - 1}")
            return checks
        return [checks[k] for k in order]

    def document(self, data: dict[str, Any]) -> dict[str, Any]:
        doc = dict(data)
        for key in ("apiVersion", "kind", "id", "status", "contractCreatedTs"):
            doc.pop(key, None)
        cps = self.custom(doc, "", ("compatibility", "onViolation", "consumers", "features",
                                    "unversioned", "checkOrder"))
        out: dict[str, Any] = {k: cps[c] for k, c in (("compatibility", "compatibility"),
                               ("on_violation", "onViolation"), ("consumers", "consumers"),
                               ("features", "features")) if c in cps}
        if "name" in doc:
            out["name"] = doc.pop("name")
        if doc.get("version") is not None and not cps.get("unversioned"):
            out["version"] = doc.pop("version")
        doc.pop("version", None)
        description = doc.pop("description", None)
        if isinstance(description, str):
            out["description"] = description
        elif description is not None:
            node = self.node(description, "description")
            if node.get("purpose") is not None:
                out["description"] = node.pop("purpose")
            self.rest(node, "description")
        if isinstance(doc.get("team"), dict):
            team = doc.pop("team")
            out["owner"] = team.get("name")
            self.rest({k: v for k, v in team.items() if k not in ("name", "id")}, "team")
        schema = self.items(doc.pop("schema", None), "schema")
        if not schema:
            self.refuse("schema", "a contract needs one schema object with its properties")
        for extra in range(1, len(schema)):
            self.refuse(f"schema[{extra}]", "only one schema object maps onto a Tollgate contract")
        checks = self.schema(self.node(schema[0], "schema[0]"), out) if schema else []
        default = doc.pop("slaDefaultElement", None)
        for i, item in enumerate(self.items(doc.pop("slaProperties", None), "slaProperties")):
            checks.append(self.freshness(self.node(item, f"slaProperties[{i}]"),
                                         f"slaProperties[{i}]", default))
        checks = self.ordered(checks, cps.get("checkOrder"), "customProperties")
        if checks:
            out["checks"] = checks
        self.rest(doc, "")
        return out

    def schema(self, obj: dict[str, Any], out: dict[str, Any]) -> list[Any]:
        path = "schema[0]"
        out.setdefault("name", obj.get("name"))
        if obj.pop("logicalType", "object") != "object":
            self.refuse(_at(path, "logicalType"), "a contract's schema object is an object")
        if obj.get("businessName") is not None:
            out["title"] = obj.pop("businessName")
        if obj.get("description") is not None and obj["description"] == out.setdefault(
                "description", obj["description"]):
            obj.pop("description")
        props = self.items(obj.pop("properties", None), _at(path, "properties"))
        out["columns"] = [self.column(self.node(p, f"{path}.properties[{i}]"),
                                      f"{path}.properties[{i}]") for i, p in enumerate(props)]
        checks = []
        for i, item in enumerate(self.items(obj.pop("quality", None), _at(path, "quality"))):
            qpath = f"{path}.quality[{i}]"
            q = self.node(item, qpath)
            metric, check = self.metric(q, qpath), self.common(q, qpath)
            if metric == "rowCount":
                check["row_count"] = self.row_count(q, qpath)
            elif metric == "duplicateValues":
                args = self.node(q.pop("arguments", None), _at(qpath, "arguments"))
                check["unique"] = args.pop("properties", None)
                self.rest(args, _at(qpath, "arguments"))
                check |= self.tolerance(q, qpath, check.pop("mostly", None))
            else:
                self.refuse(qpath, "only rowCount and duplicateValues map onto dataset checks")
            self.rest(q, qpath, _COMMENTARY)
            checks.append(check)
        self.rest(obj, path, ("name", "physicalType", "id"))
        return checks

    def metric(self, q: dict[str, Any], path: str) -> Any:
        if q.pop("type", "library") != "library":
            return None
        return q.pop("metric", None) or q.pop("rule", None)

    def common(self, q: dict[str, Any], path: str) -> dict[str, Any]:
        check: dict[str, Any] = {"severity": q.pop("severity", "error")}
        if check["severity"] not in ("error", "warning"):
            self.refuse(_at(path, "severity"), "severity is error or warning")
        check |= self.custom(q, path, ("mostly",))
        return check

    def tolerance(self, q: dict[str, Any], path: str, mostly: Any) -> dict[str, Any]:
        unit, ops = q.pop("unit", "rows"), {k: q.pop(k) for k in list(q) if k.startswith("must")}
        limit = ops.get("mustBe", ops.get("mustBeLessOrEqualTo"))
        if len(ops) != 1 or isinstance(limit, bool) or not isinstance(limit, int | float) or not (
                0 <= limit < 100 if unit == "percent" and "mustBe" not in ops else limit == 0):
            self.refuse(path, "the tolerance must be `mustBe: 0`, or `mustBeLessOrEqualTo: <p>` "
                              "with `unit: percent` (0 <= p < 100)")
            return {}
        if mostly is None and limit != 0:
            mostly = float(1 - Decimal(repr(limit)) / 100)
        return {} if mostly is None else {"mostly": mostly}

    def row_count(self, q: dict[str, Any], path: str) -> dict[str, Any]:
        ops = {k: q.pop(k) for k in list(q) if k.startswith("must")}
        between = ops.pop("mustBeBetween", None) or [None, None]
        lo = ops.pop("mustBeGreaterOrEqualTo", ops.get("mustBe", between[0]))
        hi = ops.pop("mustBeLessOrEqualTo", ops.pop("mustBe", between[-1]))
        if "mustBeGreaterThan" in ops:
            lo = ops.pop("mustBeGreaterThan") + 1
        if "mustBeLessThan" in ops:
            hi = ops.pop("mustBeLessThan") - 1
        self.rest(ops, path)
        if q.pop("unit", "rows") != "rows":
            self.refuse(_at(path, "unit"), "a row count is in rows")
        return {k: int(v) if isinstance(v, float) and v.is_integer() else v
                for k, v in (("min", lo), ("max", hi)) if v is not None}

    def freshness(self, sla: dict[str, Any], path: str, default: Any) -> dict[str, Any]:
        check: dict[str, Any] = self.custom(sla, path, ("severity",))
        if sla.pop("property", None) not in ("latency", "freshness"):
            self.refuse(_at(path, "property"), "only latency maps onto a Tollgate freshness check")
        value, unit = sla.pop("value", None), str(sla.pop("unit", "")).lower()
        size = next((parse_duration(f"1{u}") for u, w in _UNIT_WORDS.items() if unit in w), None)
        seconds = value * size if isinstance(value, int | float) and size else None
        if seconds is None or seconds != int(seconds) or seconds < 1:
            self.refuse(_at(path, "value"), "latency needs a positive value in d, h, min or s")
            seconds = 1
        element = str(sla.pop("element", None) or default or "")
        if not element or "," in element:
            self.refuse(_at(path, "element"), "latency needs the one timestamp column it is on")
        check["freshness"] = {"column": element.rsplit(".", 1)[-1],
                              "max_age": format_duration(int(seconds))}
        self.rest(sla, path, ("id", "description", "driver"))
        return check

    def column(self, p: dict[str, Any], path: str) -> dict[str, Any]:
        col: dict[str, Any] = {"name": p.pop("name", None), "type": self.column_type(p, path)}
        col["nullable"] = not p.pop("required", False)
        col["unique"] = p.pop("unique", False)
        if p.get("description") is not None:
            col["description"] = p.pop("description")
        opts = self.node(p.pop("logicalTypeOptions", None) or {}, _at(path, "logicalTypeOptions"))
        inline: list[dict[str, Any]] = []
        bounds = {b: opts.pop(f"{b}imum") for b in ("min", "max") if f"{b}imum" in opts}
        if bounds:
            inline.append({"in_range": bounds})
        for i, item in enumerate(self.items(p.pop("enum", None), _at(path, "enum"))):
            value = self.node(item, f"{path}.enum[{i}]")
            inline[len(inline) - (i > 0):] = [{"in_set": [*(inline[-1]["in_set"] if i else []),
                                                          value.pop("value", None)]}]
            self.rest(value, f"{path}.enum[{i}]", ("id",))
        if "pattern" in opts:
            inline.append({"matches": _unanchor(str(opts.pop("pattern")))})
        inline += [{k: opts.pop(o)} for k, o in _LENGTH_OPTS.items() if o in opts]
        self.rest(opts, _at(path, "logicalTypeOptions"))
        for i, item in enumerate(self.items(p.pop("quality", None), _at(path, "quality"))):
            inline += self.row_quality(self.node(item, f"{path}.quality[{i}]"),
                                       f"{path}.quality[{i}]", col)
        col["checks"] = self.ordered(inline, self.custom(p, path, ("checkOrder",)).get(
            "checkOrder"), _at(path, "customProperties"))
        self.rest(p, path, ("id",))
        return col

    def row_quality(self, q: dict[str, Any], path: str, col: dict[str, Any]) -> list[Any]:
        typ, metric = q.get("type", "library"), self.metric(q, path)
        check = self.common(q, path)
        args = self.node(q.pop("arguments", None) or {}, _at(path, "arguments"))
        if typ == "custom" and q.pop("engine", None) == VENDOR:
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
        elif metric in ("nullValues", "duplicateValues") and not args and check["severity"] == (
                "error") and len(check) == 1 and not self.tolerance(q, path, None):
            col["nullable" if metric == "nullValues" else "unique"] = metric == "duplicateValues"
            check = {}
        else:
            self.refuse(path, "no Tollgate column check has this meaning")
        self.rest(args, _at(path, "arguments"))
        self.rest(q, path, (*_COMMENTARY, "type"))
        return [check] if check else []

    def column_type(self, p: dict[str, Any], path: str) -> str | None:
        logical, physical = p.pop("logicalType", None), p.pop("physicalType", None)
        opts = p.get("logicalTypeOptions")
        opts = dict(opts) if isinstance(opts, dict) else {}
        fmt = opts.pop("format", None)
        if fmt == "yyyy-MM-dd" and logical == "date":
            fmt = None
        if opts.pop("timezone", True) is not True or opts.pop("defaultTimezone", "UTC") not in (
                "UTC", "Etc/UTC"):
            self.refuse(_at(path, "logicalTypeOptions"), "timestamps are UTC instants in Tollgate")
        if isinstance(p.get("logicalTypeOptions"), dict):
            p["logicalTypeOptions"] = {k: v for k, v in p["logicalTypeOptions"].items()
                                       if k in opts}
        name = re.sub(r"\s*\(.*\)\s*$", "", str(physical)).strip().lower()
        t = (_PHYSICAL.get(name) if physical is not None else _BY_FORMAT.get(str(fmt))
             if fmt is not None else _BY_LOGICAL.get(str(logical)))
        if t is None:
            where, what = ("physicalType", physical) if physical is not None else (
                ("logicalTypeOptions.format", fmt) if fmt is not None else ("logicalType", logical))
            self.refuse(_at(path, where), f"{what!r} has no Tollgate column type")
            return None
        if logical is not None and _BY_LOGICAL.get(logical) not in (t, _BY_LOGICAL[_LOGICAL[t]]):
            self.refuse(_at(path, "logicalType"), f"{logical!r} does not fit {t.value}")
        if fmt is not None and _FORMAT.get(t) != fmt:
            self.refuse(_at(path, "logicalTypeOptions.format"), f"{fmt!r} does not fit {t.value}")
        return t.value
