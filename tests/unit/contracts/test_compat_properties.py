"""Properties: a loosening keeps every accepted batch valid, a tightening every new one (SPEC §3).

Random small contracts are mutated into a second valid contract; random small batches are judged
by the independent reference checker in `reference.py`.
"""

from __future__ import annotations

import copy
from collections import Counter
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from app.contracts.compat import Effect, bump_for, classify
from app.contracts.parsing import DocumentError, parse_contract
from app.contracts.spec import ContractSpec
from tests.unit.contracts.reference import NOW, Batch, accepts, value_ok

N, L, T, B = Effect.NEUTRAL, Effect.LOOSENING, Effect.TIGHTENING, Effect.BREAKING
FLIP = {L: T, T: L, N: N, B: B}
Draw = Any  # hypothesis' draw function

NAMES = ["a", "b", "c", "d", "e"]
TYPES = ["int32", "int64", "float64", "string", "bool"]
MUTATED_TYPES = [*TYPES, "int8", "int16", "uint8", "uint16", "float32"]
INTEGER = {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"}
INSTANTS = [NOW - timedelta(hours=h) for h in (0, 1, 3, 30)]
STAMPS = [i.isoformat().replace("+00:00", "Z") for i in INSTANTS]
PATTERNS = ["a*", "b+", "[ab]{2}", "a.?", ".*", "ab|ba"]
MOSTLY = st.sampled_from([1, 0.9, 0.75, 0.5, 0.34, 0.2])
SEVERITY = st.sampled_from(["error", "error", "warning"])
NARROWER = {
    "int8": ["int8"],
    "int16": ["int16", "int8", "uint8"],
    "int32": ["int32", "int16", "uint8", "uint16", "int64"],
    "int64": ["int64", "int32", "uint32"],
    "uint8": ["uint8"],
    "uint16": ["uint16", "uint8", "int8"],
    "float32": ["float32"],
    "float64": ["float64", "float32", "int32", "int64"],
    "string": ["string", "large_string"],
    "bool": ["bool"],
    "timestamp": ["timestamp[us, tz=UTC]", "timestamp[ns, tz=Europe/Paris]", "timestamp[us]"],
}


def kinds_for(col_type: str) -> list[str]:
    if col_type in INTEGER:
        return ["in_range", "in_set"]
    if col_type in ("float32", "float64", "timestamp"):
        return ["in_range"]
    return ["in_set", "matches", "min_length", "max_length"] if col_type == "string" else []


def numbers(col_type: str) -> st.SearchStrategy[Any]:
    if col_type == "timestamp":
        return st.sampled_from(STAMPS)
    if col_type.startswith("float"):
        return st.sampled_from([-2.5, -1.0, 0.0, 0.5, 1.0, 2.0, 3.5])
    return st.integers(0 if col_type.startswith("uint") else -3, 3)


@st.composite
def check_doc(draw: Draw, col_type: str, kind: str) -> dict[str, Any]:
    if kind == "in_range":
        lo, hi = draw(st.none() | numbers(col_type)), draw(st.none() | numbers(col_type))
        lo, hi = (hi, lo) if lo is not None and hi is not None and lo > hi else (lo, hi)
        arg: Any = {k: v for k, v in (("min", lo), ("max", hi)) if v is not None} or {"min": lo}
        if arg == {"min": None}:
            arg = {"min": draw(numbers(col_type))}
    elif kind == "in_set":
        element = st.text("ab", max_size=3) if col_type == "string" else numbers(col_type)
        arg = draw(st.lists(element, min_size=1, max_size=4, unique=True))
    elif kind == "matches":
        arg = draw(st.sampled_from(PATTERNS))
    else:
        arg = draw(st.integers(0, 3))
    doc = {kind: arg, "severity": draw(SEVERITY)}
    return doc | ({"mostly": draw(MOSTLY)} if draw(st.booleans()) else {})


@st.composite
def column_doc(draw: Draw, name: str, col_type: str | None = None) -> dict[str, Any]:
    t = col_type or draw(st.sampled_from(TYPES))
    kinds = (
        draw(st.lists(st.sampled_from(kinds_for(t)), max_size=2, unique=True))
        if (kinds_for(t))
        else []
    )
    return {
        "name": name,
        "type": t,
        "nullable": draw(st.booleans()),
        "unique": draw(st.integers(0, 3)) == 0,
        "checks": [draw(check_doc(t, k)) for k in kinds],
    }


@st.composite
def dataset_docs(draw: Draw, doc: dict[str, Any]) -> list[dict[str, Any]]:
    names = [c["name"] for c in doc["columns"]]
    out: list[dict[str, Any]] = []
    if draw(st.booleans()):
        lo, hi = sorted(draw(st.lists(st.integers(0, 6), min_size=2, max_size=2)))
        bounds = draw(st.sampled_from([{"min": lo}, {"max": hi}, {"min": lo, "max": hi}]))
        out.append({"row_count": bounds, "severity": draw(SEVERITY)})
    if draw(st.booleans()):
        key = draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True))
        extra = {"mostly": draw(MOSTLY)} if draw(st.booleans()) else {}
        out.append({"unique": key, "severity": draw(SEVERITY), **extra})
    if "ts" in names and draw(st.booleans()):
        age = draw(st.sampled_from(["1h", "2h", "1d"]))
        out.append({"freshness": {"column": "ts", "max_age": age}, "severity": draw(SEVERITY)})
    return out


@st.composite
def contract_docs(draw: Draw) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(NAMES[:4]), min_size=2, max_size=4, unique=True))
    columns = [draw(column_doc(n)) for n in names]
    if draw(st.booleans()):
        columns.append(draw(column_doc("ts", "timestamp")))
    doc = {"name": "prop", "columns": columns}
    return doc | {"checks": draw(dataset_docs(doc))}


# ---- mutations: each edits a document in place -------------------------------------------


def _pick_column(draw: Draw, doc: dict[str, Any]) -> dict[str, Any]:
    column: dict[str, Any] = draw(st.sampled_from(doc["columns"]))
    return column


def add_column(draw: Draw, doc: dict[str, Any]) -> None:
    free = [n for n in NAMES if n not in {c["name"] for c in doc["columns"]}]
    if free:
        doc["columns"].append(draw(column_doc(draw(st.sampled_from(free)))))


def remove_column(draw: Draw, doc: dict[str, Any]) -> None:
    if len(doc["columns"]) > 1:
        name = _pick_column(draw, doc)["name"]
        doc["columns"] = [c for c in doc["columns"] if c["name"] != name]
        doc["checks"] = [
            c
            for c in doc["checks"]
            if name not in str(c.get("unique", [])) and name != c.get("freshness", {}).get("column")
        ]


def flip_flag(draw: Draw, doc: dict[str, Any]) -> None:
    column = _pick_column(draw, doc)
    flag = draw(st.sampled_from(["nullable", "unique"]))
    column[flag] = not column[flag]


NEIGHBOURS = {
    "int8": ["int16", "uint8"],
    "int16": ["int32", "int8", "float64"],
    "int32": ["int64", "int16", "float64", "int8"],
    "int64": ["int32", "float64"],
    "uint8": ["uint16", "int16", "int8"],
    "uint16": ["uint8", "int32", "float64"],
    "float32": ["float64"],
    "float64": ["float32", "int32", "int64"],
    "string": ["int32"],
    "bool": ["int8", "string"],
}


def change_type(draw: Draw, doc: dict[str, Any]) -> None:
    column = _pick_column(draw, doc)
    if column["type"] != "timestamp":
        near = st.sampled_from(NEIGHBOURS[column["type"]])
        column["type"] = new = draw(near | near | st.sampled_from(MUTATED_TYPES))
        column["checks"] = [c for c in column["checks"] if _fits(c, new)]


def _kind(check: dict[str, Any]) -> str:
    return next(k for k in check if k not in ("severity", "mostly"))


def _fits(check: dict[str, Any], col_type: str) -> bool:
    kind = _kind(check)
    if kind == "in_set":
        wanted = str if col_type == "string" else int
        return kind in kinds_for(col_type) and all(type(v) is wanted for v in check[kind])
    return kind in kinds_for(col_type)


def replace_checks(draw: Draw, doc: dict[str, Any]) -> None:
    column = _pick_column(draw, doc)
    column["checks"] = draw(column_doc(column["name"], column["type"]))["checks"]


def tweak_check(draw: Draw, doc: dict[str, Any]) -> None:
    """Nudge, redraw, re-weigh (mostly) or flip the severity of one column or dataset check."""
    found = [(c["type"], k) for c in doc["columns"] for k in c["checks"]]
    found += [("dataset", k) for k in doc["checks"]]
    if not found:
        return
    col_type, check = draw(st.sampled_from(found))
    kind = _kind(check)
    what = draw(st.sampled_from(["nudge", "nudge", "nudge2", "redraw", "mostly", "sev", "sev2"]))
    if what.startswith("sev"):
        check["severity"] = "warning" if check.get("severity", "error") == "error" else "error"
    if what == "redraw" and col_type != "dataset":
        check[kind] = draw(check_doc(col_type, kind))[kind]
    elif what not in ("sev", "mostly") or kind in ("row_count", "freshness"):
        check[kind] = nudge(draw, kind, col_type, check[kind], doc)
    if what in ("nudge2", "mostly") and kind not in ("row_count", "freshness"):
        check["mostly"] = draw(MOSTLY)


def nudge(draw: Draw, kind: str, col_type: str, arg: Any, doc: dict[str, Any]) -> Any:
    """A small change of one check argument, in either direction."""
    if kind in ("min_length", "max_length"):
        return max(0, arg + draw(st.sampled_from([-1, 1])))
    if kind == "matches":
        return draw(st.sampled_from(PATTERNS))
    if kind == "freshness":
        return {**arg, "max_age": draw(st.sampled_from(["1h", "2h", "1d"]))}
    if kind == "unique":
        names = [c["name"] for c in doc["columns"]]
        return draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True))
    if kind == "in_set":
        choices = pool("string" if col_type == "string" else col_type)
        extra = [v for v in choices if v not in arg]
        if len(arg) > 1 and (not extra or draw(st.booleans())):
            return [v for v in arg if v != draw(st.sampled_from(arg))]
        return [*arg, draw(st.sampled_from(extra))]
    out = dict(arg)
    values = list(range(7)) if col_type == "dataset" else pool(col_type)
    values = STAMPS if col_type == "timestamp" else values
    for bound in draw(st.sampled_from([["min"], ["max"], ["min", "max"]])):
        if bound in out and len(out) == 2 and draw(st.booleans()):
            del out[bound]
        else:
            out[bound] = draw(st.sampled_from(values))
    return out


def add_check(draw: Draw, doc: dict[str, Any]) -> None:
    column = _pick_column(draw, doc)
    if kinds_for(column["type"]) and draw(st.integers(0, 2)):
        kind = draw(st.sampled_from(kinds_for(column["type"])))
        column["checks"].append(draw(check_doc(column["type"], kind)))
    else:
        extra = draw(dataset_docs(doc))
        doc["checks"] += extra[:1]


def remove_check(draw: Draw, doc: dict[str, Any]) -> None:
    found = [c["checks"] for c in doc["columns"] if c["checks"]]
    found += [doc["checks"]] if doc["checks"] else []
    if found:
        checks = draw(st.sampled_from(found))
        checks.pop(draw(st.integers(0, len(checks) - 1)))


def change_dataset_checks(draw: Draw, doc: dict[str, Any]) -> None:
    doc["checks"] = draw(dataset_docs(doc))


def neutral_edit(draw: Draw, doc: dict[str, Any]) -> None:
    doc["title"] = draw(st.sampled_from(["A", "B"]))
    doc["columns"] = draw(st.permutations(doc["columns"]))


MUTATIONS = [
    add_column,
    remove_column,
    flip_flag,
    change_type,
    replace_checks,
    tweak_check,
    add_check,
    remove_check,
    change_dataset_checks,
    neutral_edit,
]


@st.composite
def contract_pairs(draw: Draw) -> tuple[ContractSpec, ContractSpec]:
    old_doc = draw(contract_docs())
    new_doc = copy.deepcopy(old_doc)
    for _ in range(1 if draw(st.integers(0, 2)) else 2):
        draw(st.sampled_from(MUTATIONS))(draw, new_doc)
    try:
        return parse_contract(old_doc), parse_contract(new_doc)
    except DocumentError:
        assume(False)
        raise


def pool(batch_type: str) -> list[Any]:
    """Every value a batch of this type may hold in these tests."""
    if batch_type.startswith("timestamp"):
        return list(INSTANTS)
    if batch_type in ("string", "large_string"):
        return ["", "a", "b", "aa", "ab", "ba", "bb", "aab", "aba", "bab", "bbb"]
    if batch_type == "bool":
        return [False, True]
    if batch_type.startswith("float"):
        return [-2.5, -1.0, 0.0, 0.5, 1.0, 2.0, 3.5]
    return list(range(0 if batch_type.startswith("uint") else -3, 4))


@st.composite
def batches(draw: Draw, target: ContractSpec, other: ContractSpec) -> tuple[int, Batch]:
    """A batch of 0-6 rows, mostly shaped to pass `target`, sometimes not (any column of either)."""
    rows = draw(st.integers(0, 6))
    batch: Batch = {}
    for col in target.columns:
        if col.nullable and draw(st.integers(0, 3)) == 0:
            continue  # absent: read as all-null
        kinds = NARROWER[col.type.value]
        actual = kinds[0] if draw(st.integers(0, 2)) else draw(st.sampled_from(kinds))
        everything = pool(actual)
        good = [v for v in everything if value_ok(col, v)] or everything
        if col.unique:
            good = draw(st.permutations(good))
            cells = [good[i] if i < len(good) else None for i in range(rows)]
        else:
            cells = draw(st.lists(st.sampled_from(good), min_size=rows, max_size=rows))
        if rows and draw(st.booleans()):  # spoil one cell: any value, or null
            spoilt = draw(st.sampled_from([None, *everything]))
            cells[draw(st.integers(0, rows - 1))] = spoilt
        batch[col.name] = (actual, cells)
    for col in other.columns:
        if target.column(col.name) is None and draw(st.integers(0, 3)) == 0:
            actual = NARROWER[col.type.value][0]
            batch[col.name] = (actual, [draw(st.sampled_from(pool(actual))) for _ in range(rows)])
    return rows, batch


def _oriented(pair: tuple[ContractSpec, ContractSpec], effect: Effect) -> tuple[Any, ...]:
    """The pair, swapped if needed, whose changes are all neutral or `effect` (else rejected)."""
    for old, new in (pair, pair[::-1]):
        changes = classify(old, new)
        if {c.effect for c in changes} <= {N, effect}:
            return old, new, changes
    assume(False)
    raise AssertionError("unreachable")


PROPERTY = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much]
)


@PROPERTY
@given(data=st.data())
def test_loosening_keeps_every_batch_the_old_version_accepted(data: st.DataObject) -> None:
    old, new, changes = _oriented(data.draw(contract_pairs()), L)
    for rows, batch in data.draw(st.lists(batches(old, new), min_size=6, max_size=6)):
        if accepts(old, batch, rows):
            assert accepts(new, batch, rows), (changes, batch)


@PROPERTY
@given(data=st.data())
def test_tightening_keeps_every_new_batch_valid_under_the_old_version(data: st.DataObject) -> None:
    old, new, changes = _oriented(data.draw(contract_pairs()), T)
    for rows, batch in data.draw(st.lists(batches(new, old), min_size=6, max_size=6)):
        if accepts(new, batch, rows):
            assert accepts(old, batch, rows), (changes, batch)


@settings(max_examples=200, deadline=None)
@given(pair=contract_pairs())
def test_reversing_a_change_mirrors_every_effect(pair: tuple[ContractSpec, ContractSpec]) -> None:
    old, new = pair
    forward, backward = classify(old, new), classify(new, old)
    assert Counter(FLIP[c.effect] for c in forward) == Counter(c.effect for c in backward)
    assert bump_for(forward) == bump_for(backward)
    assert classify(old, old) == []


def test_the_reference_reads_the_spec() -> None:
    spec = parse_contract(
        {
            "name": "r",
            "columns": [
                {
                    "name": "x",
                    "type": "int64",
                    "nullable": False,
                    "checks": [{"in_range": {"min": 0}, "mostly": 0.9}],
                },
                {"name": "s", "type": "string", "unique": True},
                {"name": "ts", "type": "timestamp"},
            ],
            "checks": [
                {"row_count": {"max": 10}},
                {"unique": ["x", "s"]},
                {"freshness": {"column": "ts", "max_age": "1h"}},
            ],
        }
    )
    ts = ("timestamp[ns, tz=Europe/Paris]", [NOW - timedelta(minutes=59)] + [None] * 9)
    good: Batch = {"x": ("int32", [-1] + [1] * 9), "ts": ts}
    assert accepts(spec, good)  # 1 failure in 10 rows passes at mostly 0.9, exactly
    assert not accepts(spec, {**good, "x": ("int32", [-1, -1] + [1] * 8)})
    assert not accepts(spec, {**good, "x": ("uint64", [1] * 10)})  # does not widen
    assert not accepts(spec, {"ts": ts})  # missing non-nullable column
    assert not accepts(spec, {**good, "y": ("int32", [1] * 10)})  # unknown column
    assert accepts(spec, {**good, "s": ("large_string", ["a"] + [None] * 9)})
    assert not accepts(spec, {**good, "s": ("string", ["a", "a"] + [None] * 8)})
    assert not accepts(spec, {**good, "ts": ("timestamp[us]", ts[1])})  # naive
    assert not accepts(spec, {**good, "ts": (ts[0], [NOW - timedelta(hours=2)] * 10)})
    assert not accepts(spec, {"x": good["x"]})  # no timestamp at all: nothing is fresh
    assert not accepts(spec, {"x": ("int32", [1] * 11), "ts": (ts[0], [NOW] * 11)})
