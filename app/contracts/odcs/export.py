"""Contract → ODCS v3: what ODCS cannot say travels in vendor `customProperties`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from app.contracts.odcs._tables import (
    _FORMAT,
    _LENGTH_OPTS,
    _LOGICAL,
    _SLA_UNITS,
    API_VERSION,
    VENDOR,
    T,
)
from app.contracts.parsing import canonical
from app.contracts.spec import (
    ROW_CHECK_KINDS,
    ColumnType,
    ContractSpec,
)


def is_odcs(data: Any) -> bool:
    """True for a mapping that declares itself an ODCS v3 data contract."""
    return (
        isinstance(data, dict)
        and data.get("kind") == "DataContract"
        and str(data.get("apiVersion", "")).startswith("v3")
    )


# --- export -------------------------------------------------------------------------------------


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
    out: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": "DataContract",
        "id": name,
        "name": name,
        "version": doc.get("version", "0.0.0"),
        "status": "active",
    }
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
            age = check["freshness"]["max_age"]  # canonical: <n><unit> in the largest exact unit
            entry = {
                "property": "latency",
                "value": int(age[:-1]),
                "unit": _SLA_UNITS[age[-1]],
                "element": f"{name}.{check['freshness']['column']}",
            }
            if "severity" in check:
                entry["customProperties"] = [_cp("severity", check["severity"])]
            sla.append((i, entry))
        elif "row_count" in check:
            lo, hi = check["row_count"].get("min"), check["row_count"].get("max")
            if lo is not None and hi is not None:
                ops = {"mustBe": lo} if lo == hi else {"mustBeBetween": [lo, hi]}
            else:
                ops = {"mustBeGreaterOrEqualTo": lo} if hi is None else {"mustBeLessOrEqualTo": hi}
            q = {"type": "library", "metric": "rowCount", **ops}
            quality.append((i, _quality(q, check, "completeness")))
        else:
            q = {
                "type": "library",
                "metric": "duplicateValues",
                "arguments": {"properties": check["unique"]},
                **_tolerance(check.get("mostly")),
            }
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
    out: dict[str, Any] = {
        "name": col["name"],
        "logicalType": _LOGICAL[t],
        "physicalType": t.value,
        "required": not col["nullable"],
        "unique": col.get("unique", False),
    }
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
        if "severity" in check or "mostly" in check:  # not a plain constraint: a quality rule
            q: dict[str, Any]
            if kind in ("in_set", "matches"):
                args = {"validValues": arg} if kind == "in_set" else {"pattern": f"^(?:{arg})$"}
                q = {
                    "type": "library",
                    "metric": "invalidValues",
                    "arguments": args,
                    **_tolerance(check.get("mostly")),
                }
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
