"""Compatibility classification (SPEC §3 table and §8 Registry), each rule in both directions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from app.contracts.compat import (
    Bump,
    Change,
    Effect,
    allowed,
    bump_for,
    classify,
    judge,
    next_version,
    understated,
)
from app.contracts.parsing import fingerprint
from app.contracts.spec import Compatibility
from tests.builders.contracts import (
    add_column,
    dataset_checks,
    drop_column,
    make_doc,
    make_spec,
    set_checks,
    set_column,
    set_field,
    spec_of,
)

N, L, T, B = Effect.NEUTRAL, Effect.LOOSENING, Effect.TIGHTENING, Effect.BREAKING
D = make_doc()
FLIP = {L: T, T: L, N: N, B: B}
REVERSE_KIND = {
    "column_added": "column_removed",
    "column_removed": "column_added",
    "check_added": "check_removed",
    "check_removed": "check_added",
}
ROWS = {"row_count": {"min": 1, "max": 50_000_000}}
KEY = {"unique": ["session_id", "position"]}
FRESH = {"freshness": {"column": "ts", "max_age": "24h"}}


def price(**arg: Any) -> dict[str, Any]:
    return set_checks(D, "price", {"in_range": arg})


def device(*values: str, **extra: Any) -> dict[str, Any]:
    return set_checks(D, "device", {"in_set": list(values), **extra})


def query(**checks: Any) -> dict[str, Any]:
    return set_checks(D, "query", *({k: v} for k, v in checks.items()))


def email(pattern: str, **extra: Any) -> dict[str, Any]:
    return set_checks(D, "email", {"matches": pattern, **extra})


def typed(name: str, old: str, new: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return set_column(D, name, type=old), set_column(D, name, type=new)


def rows(**bounds: int) -> dict[str, Any]:
    return dataset_checks(D, {"row_count": bounds}, KEY, FRESH)


def fresh(max_age: str) -> dict[str, Any]:
    return dataset_checks(D, ROWS, KEY, {"freshness": {"column": "ts", "max_age": max_age}})


NULLABLE_EXTRA = {"name": "extra", "type": "int64", "checks": [{"in_range": {"min": 0}}]}
REQUIRED_EXTRA = {"name": "extra", "type": "int64", "nullable": False}
WITH_TS2 = add_column(D, {"name": "ts2", "type": "timestamp"})


@dataclass(frozen=True)
class Case:
    id: str
    old: dict[str, Any]
    new: dict[str, Any]
    kind: str
    path: str
    effect: Effect
    back: Effect | None = None  # the effect of new → old when it is not the mirror image

    def param(self) -> Any:
        return pytest.param(self, id=self.id)


# fmt: off
CASES = [
    # §3 neutral row
    Case("description", D, make_doc(description="Other."), "metadata_changed", "description", N),
    Case("title", D, make_doc(title="Impressions"), "metadata_changed", "title", N),
    Case("owner", D, make_doc(owner="ranking-team"), "metadata_changed", "owner", N),
    Case("consumers", D, make_doc(consumers=["a", "b"]), "metadata_changed", "consumers", N),
    Case("warning check added", D, set_checks(D, "query", {"max_length": 200},
         {"min_length": 3, "severity": "warning"}), "check_added",
         "columns.query.checks.min_length", N),
    Case("warning check changed", email("^a$", severity="warning"),
         email("^b$", severity="warning"), "check_changed", "columns.email.checks.matches", N),
    Case("warning mostly changed", email("^a$", severity="warning", mostly=0.5),
         email("^a$", severity="warning", mostly=0.9), "check_changed",
         "columns.email.checks.matches", N),
    Case("on_violation", D, make_doc(on_violation="quarantine"), "policy_changed",
         "on_violation", N),
    # §3 loosening row (the tightening row is each one reversed)
    Case("nullable column added", D, add_column(D, NULLABLE_EXTRA), "column_added",
         "columns.extra", L),
    Case("nullable made true", D, set_column(D, "user_id", nullable=True), "nullable_changed",
         "columns.user_id.nullable", L),
    Case("int32 to int64", *typed("position", "int32", "int64"), "type_changed",
         "columns.position.type", L),
    Case("int8 to int16", *typed("position", "int8", "int16"), "type_changed",
         "columns.position.type", L),
    Case("uint8 to uint64", *typed("position", "uint8", "uint64"), "type_changed",
         "columns.position.type", L),
    Case("uint16 to int32", *typed("position", "uint16", "int32"), "type_changed",
         "columns.position.type", L),
    Case("int32 to float64", *typed("position", "int32", "float64"), "type_changed",
         "columns.position.type", L),
    Case("uint32 to float64", *typed("position", "uint32", "float64"), "type_changed",
         "columns.position.type", L),
    Case("float32 to float64", *typed("price", "float32", "float64"), "type_changed",
         "columns.price.type", L),
    Case("error check removed", D, set_checks(D, "query"), "check_removed",
         "columns.query.checks.max_length", L),
    Case("range max raised", price(min=0, max=100), price(min=0, max=200), "check_changed",
         "columns.price.checks.in_range", L),
    Case("range min lowered", price(min=0, max=100), price(min=-5, max=100), "check_changed",
         "columns.price.checks.in_range", L),
    Case("range bound removed", price(min=0, max=100), price(max=100), "check_changed",
         "columns.price.checks.in_range", L),
    Case("max_length raised", query(max_length=200), query(max_length=300), "check_changed",
         "columns.query.checks.max_length", L),
    Case("min_length lowered", query(min_length=5), query(min_length=2), "check_changed",
         "columns.query.checks.min_length", L),
    Case("set grown", device("a", "b"), device("a", "b", "c"), "check_changed",
         "columns.device.checks.in_set", L),
    Case("mostly lowered", device("a", mostly=0.99), device("a", mostly=0.9), "check_changed",
         "columns.device.checks.in_set", L),
    Case("error made warning", device("a"), device("a", severity="warning"), "check_changed",
         "columns.device.checks.in_set", L),
    Case("unique removed", D, set_column(D, "event_id", unique=False), "unique_changed",
         "columns.event_id.unique", L),
    Case("row_count max raised", rows(min=1, max=10), rows(min=1, max=20), "check_changed",
         "checks.row_count", L),
    Case("row_count min removed", rows(min=1, max=10), rows(max=10), "check_changed",
         "checks.row_count", L),
    Case("freshness raised", fresh("24h"), fresh("2d"), "check_changed", "checks.freshness[ts]", L),
    # §3 breaking row
    Case("non-nullable column added", D, add_column(D, REQUIRED_EXTRA), "column_added",
         "columns.extra", B),
    Case("string to int64", *typed("clicked", "string", "int64"), "type_changed",
         "columns.clicked.type", B),
    Case("bool to int8", *typed("clicked", "bool", "int8"), "type_changed",
         "columns.clicked.type", B),
    Case("int64 to uint64", *typed("position", "int64", "uint64"), "type_changed",
         "columns.position.type", B),
    Case("pattern changed", email("^a+$"), email("^b+$"), "check_changed",
         "columns.email.checks.matches", B),
    Case("entity changed", D, set_field(D, "features.entity", ["session_id"]), "features_changed",
         "features.entity", B),
    Case("feature timestamp changed", WITH_TS2, set_field(WITH_TS2, "features.timestamp", "ts2"),
         "features_changed", "features.timestamp", B),
    # §8 Registry: more breaking changes
    Case("features removed", D, make_doc(features=None), "features_changed", "features", B, N),
    Case("range one bound each way", price(min=0, max=100), price(min=10, max=200),
         "check_changed", "columns.price.checks.in_range", B),
    Case("range bound swapped for the other", price(min=0), price(max=100), "check_changed",
         "columns.price.checks.in_range", B),
    Case("set neither sub nor superset", device("a", "b"), device("b", "c"), "check_changed",
         "columns.device.checks.in_set", B),
    Case("float64 to int64", *typed("price", "float64", "int64"), "type_changed",
         "columns.price.type", B),
    Case("row_count one bound each way", rows(min=1, max=10), rows(min=2, max=20),
         "check_changed", "checks.row_count", B),
    # §8 Registry: more neutral changes
    Case("column order", D, make_doc(columns=D["columns"][::-1]), "metadata_changed",
         "columns", N),
    Case("column description", D, set_column(D, "price", description="In cents."),
         "metadata_changed", "columns.price.description", N),
    Case("feature columns", D, set_field(D, "features.columns", ["price"]), "features_changed",
         "features.columns", N),
    Case("feature columns default", D, set_field(D, "features.columns"), "features_changed",
         "features.columns", N),
    Case("feature ttl", D, set_field(D, "features.ttl", "30d"), "features_changed",
         "features.ttl", N),
    Case("compatibility", D, make_doc(compatibility="full"), "policy_changed", "compatibility", N),
    Case("warning row_count changed", dataset_checks(D, {**ROWS, "severity": "warning"}),
         dataset_checks(D, {"row_count": {"min": 5}, "severity": "warning"}), "check_changed",
         "checks.row_count", N),
    Case("warning composite unique added", dataset_checks(D, ROWS),
         dataset_checks(D, ROWS, {**KEY, "severity": "warning"}), "check_added",
         "checks.unique[session_id+position]", N),
    Case("composite key order", dataset_checks(D, KEY),
         dataset_checks(D, {"unique": ["position", "session_id"]}), "check_changed",
         "checks.unique[position+session_id]", N),
    Case("check order", query(min_length=1, max_length=9), set_checks(
         D, "query", {"max_length": 9}, {"min_length": 1}), "metadata_changed",
         "columns.query.checks", N),
    Case("dataset check order", dataset_checks(D, ROWS, KEY), dataset_checks(D, KEY, ROWS),
         "metadata_changed", "checks", N),
    Case("entity order", set_field(D, "features.entity", ["user_id", "session_id"]),
         set_field(D, "features.entity", ["session_id", "user_id"]), "features_changed",
         "features.entity", N),
    # §8 Registry and the brief: severities, mostly, composite keys
    Case("composite unique removed", D, dataset_checks(D, ROWS, FRESH), "check_removed",
         "checks.unique[session_id+position]", L),
    Case("composite unique mostly lowered", dataset_checks(D, KEY),
         dataset_checks(D, {**KEY, "mostly": 0.9}), "check_changed",
         "checks.unique[session_id+position]", L),
    Case("freshness removed", D, dataset_checks(D, ROWS, KEY), "check_removed",
         "checks.freshness[ts]", L),
    Case("row_count made warning", dataset_checks(D, ROWS),
         dataset_checks(D, {**ROWS, "severity": "warning"}), "check_changed",
         "checks.row_count", L),
    Case("range widened and mostly lowered", price(min=0, max=9), set_checks(
         D, "price", {"in_range": {"min": 0, "max": 99}, "mostly": 0.9}), "check_changed",
         "columns.price.checks.in_range", L),
    Case("range widened and mostly raised", set_checks(
         D, "price", {"in_range": {"min": 0, "max": 9}, "mostly": 0.9}), price(min=0, max=99),
         "check_changed", "columns.price.checks.in_range", B),
    Case("error to warning while narrowing", device("a", "b"), device("a", severity="warning"),
         "check_changed", "columns.device.checks.in_set", L),
    Case("error to warning while changing pattern", email("^a$"), email("^b$", severity="warning"),
         "check_changed", "columns.email.checks.matches", L),
]
# fmt: on


@pytest.mark.parametrize("case", [c.param() for c in CASES])
def test_change_is_classified(case: Case) -> None:
    changes = classify(spec_of(case.old), spec_of(case.new))
    assert [(c.kind, c.path, c.effect) for c in changes] == [(case.kind, case.path, case.effect)]
    assert changes[0].message


@pytest.mark.parametrize("case", [c.param() for c in CASES])
def test_reverse_change_mirrors_the_effect(case: Case) -> None:
    changes = classify(spec_of(case.new), spec_of(case.old))
    back = case.back if case.back is not None else FLIP[case.effect]
    kind = REVERSE_KIND.get(case.kind, case.kind)
    paths = {case.path, case.path.replace("position+session_id", "session_id+position")}
    assert [(c.kind, c.effect) for c in changes] == [(kind, back)]
    assert changes[0].path in paths


def test_identical_documents_have_no_changes_whatever_the_version() -> None:
    assert classify(make_spec(version="1.0.0"), make_spec(version="2.0.0")) == []


def test_normalised_notation_is_not_a_change() -> None:
    old = set_checks(D, "device", {"in_set": ["b", "a"], "mostly": 1})
    new = set_checks(D, "device", {"in_set": ["a", "b"]})
    assert classify(spec_of(old), spec_of(new)) == []
    assert classify(spec_of(fresh("24h")), spec_of(fresh("1d"))) == []


def test_a_different_spelling_of_the_same_bound_is_identical() -> None:
    base = add_column(D, {"name": "day", "type": "date"})
    old = set_checks(base, "day", {"in_range": {"min": "2024-01-01"}})
    new = set_checks(base, "day", {"in_range": {"min": "20240101"}})
    assert fingerprint(spec_of(old)) == fingerprint(spec_of(new))
    assert classify(spec_of(old), spec_of(new)) == []


def test_nullable_column_removed_is_tightening_and_non_nullable_breaking() -> None:
    with_extra = add_column(D, NULLABLE_EXTRA)
    assert [c.effect for c in classify(spec_of(with_extra), spec_of(D))] == [T]
    required = add_column(D, REQUIRED_EXTRA)
    assert [(c.kind, c.effect) for c in classify(spec_of(required), spec_of(D))] == [
        ("column_removed", B)
    ]


def test_checks_of_an_added_column_are_part_of_the_column_change() -> None:
    changes = classify(spec_of(D), spec_of(add_column(D, NULLABLE_EXTRA)))
    assert [c.path for c in changes] == ["columns.extra"]


def test_renamed_column_is_a_removal_and_an_addition() -> None:
    new = drop_column(add_column(D, {"name": "platform", "type": "string"}), "device")
    changes = classify(spec_of(D), spec_of(new))
    assert [(c.kind, c.path, c.effect) for c in changes] == [
        ("column_removed", "columns.device", T),
        ("column_added", "columns.platform", L),
    ]
    assert bump_for(changes) is Bump.MAJOR


def test_composite_key_with_other_columns_is_a_removal_and_an_addition() -> None:
    new = dataset_checks(D, ROWS, {"unique": ["session_id", "event_id"]}, FRESH)
    changes = classify(spec_of(D), spec_of(new))
    assert [(c.kind, c.path, c.effect) for c in changes] == [
        ("check_removed", "checks.unique[session_id+position]", L),
        ("check_added", "checks.unique[session_id+event_id]", T),
    ]


def test_freshness_on_another_column_is_a_removal_and_an_addition() -> None:
    new = dataset_checks(WITH_TS2, ROWS, KEY, {"freshness": {"column": "ts2", "max_age": "1h"}})
    changes = classify(spec_of(WITH_TS2), spec_of(new))
    assert [(c.kind, c.path) for c in changes] == [
        ("check_removed", "checks.freshness[ts]"),
        ("check_added", "checks.freshness[ts2]"),
    ]


def test_error_and_warning_checks_of_one_kind_are_paired_by_severity() -> None:
    old = set_checks(D, "device", {"in_set": ["a"]}, {"in_set": ["a", "b"], "severity": "warning"})
    new = set_checks(D, "device", {"in_set": ["a", "c"]}, {"in_set": ["a"], "severity": "warning"})
    changes = classify(spec_of(old), spec_of(new))
    assert [(c.kind, c.effect) for c in changes] == [("check_changed", L), ("check_changed", N)]


def test_messages_name_what_changed() -> None:
    (change,) = classify(spec_of(price(min=0, max=100000)), spec_of(price(min=0, max=500)))
    assert change.message == "range on price narrowed: max 100000 → 500"
    assert change.as_dict() == {
        "kind": "check_changed",
        "path": "columns.price.checks.in_range",
        "effect": "tightening",
        "message": change.message,
    }


def test_timestamp_and_date_bounds_compare_as_instants() -> None:
    base = add_column(D, {"name": "seen", "type": "timestamp"})
    old = set_checks(base, "seen", {"in_range": {"min": "2024-01-01T02:00:00+02:00"}})
    same = set_checks(base, "seen", {"in_range": {"min": "2024-01-01T00:00:00Z"}})
    later = set_checks(base, "seen", {"in_range": {"min": "2024-01-01T00:00:01Z"}})
    assert classify(spec_of(old), spec_of(same)) == []
    assert [c.effect for c in classify(spec_of(old), spec_of(later))] == [T]


# ---- modes --------------------------------------------------------------------------------


def _changes(*effects: Effect) -> list[Change]:
    return [Change("check_changed", f"p{i}", e, "m") for i, e in enumerate(effects)]


MODES = [
    (Compatibility.BACKWARD, {N, L}),
    (Compatibility.BACKWARD_TRANSITIVE, {N, L}),
    (Compatibility.FORWARD, {N, T}),
    (Compatibility.FORWARD_TRANSITIVE, {N, T}),
    (Compatibility.FULL, {N}),
    (Compatibility.FULL_TRANSITIVE, {N}),
    (Compatibility.NONE, {N, L, T, B}),
]


@pytest.mark.parametrize(("mode", "ok"), MODES)
@pytest.mark.parametrize("effect", list(Effect))
def test_each_mode_allows_its_effects(mode: Compatibility, ok: set[Effect], effect: Effect) -> None:
    assert allowed(mode, _changes(effect)) is (effect in ok)
    assert allowed(mode, _changes(N, effect, N)) is (effect in ok)
    assert allowed(mode, [])


def _history(*docs: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(f"1.{i}.0", spec_of(doc)) for i, doc in enumerate(docs)]


@pytest.mark.parametrize(
    ("mode", "new", "compatible"),
    [
        ("backward", device("a", "b", "c"), True),
        ("backward", device("a"), False),
        ("forward", device("a"), True),
        ("forward", device("a", "b", "c"), False),
        ("full", device("a", "b", "c"), False),
        ("full", set_field(device("a", "b"), "title", "x"), True),
        ("none", device("x"), True),
    ],
)
def test_judge_against_the_latest_version(mode: str, new: dict[str, Any], compatible: bool) -> None:
    latest = set_field(device("a", "b"), "compatibility", mode)
    verdict = judge(_history(latest), spec_of(set_field(new, "compatibility", mode)))
    assert verdict.compatible is compatible
    assert verdict.mode == mode
    assert bool(verdict.violations) is not compatible
    assert all(v in verdict.changes for v in verdict.violations)


@pytest.mark.parametrize(
    ("mode", "versions", "new"),
    [
        # v1 → v2 shrank the set under v1's own forward mode; growing it again is fine against
        # v2 but neither a superset nor a subset of v1.
        ("backward_transitive", [device("a", "b", "c"), device("a", "b")], device("a", "b", "x")),
        ("forward_transitive", [device("a"), device("a", "b")], device("b")),
        (
            "full_transitive",
            [price(min=0), price(min=0, max=10)],
            set_field(price(min=0, max=10), "title", "T"),
        ),
    ],
)
def test_transitive_modes_check_every_earlier_version(
    mode: str, versions: list[dict[str, Any]], new: dict[str, Any]
) -> None:
    docs = [*versions[:-1], set_field(versions[-1], "compatibility", mode)]
    candidate = spec_of(set_field(new, "compatibility", mode))
    verdict = judge(_history(*docs), candidate)
    plain = mode.removesuffix("_transitive")
    assert judge(
        _history(*docs[:-1], set_field(docs[-1], "compatibility", plain)),
        spec_of(set_field(new, "compatibility", plain)),
    ).compatible
    assert not verdict.compatible
    assert verdict.violations
    assert all(v.message.startswith("against 1.0.0: ") for v in verdict.violations)
    assert verdict.changes == classify(spec_of(docs[-1]), candidate)


def test_judge_computes_bump_and_next_version_from_the_latest_only() -> None:
    history = _history(device("a", "b", "c"), device("a", "b"))
    verdict = judge(history, spec_of(device("a", "b", "x")))
    assert (verdict.bump, verdict.next_version) == (Bump.MINOR, "1.2.0")
    assert verdict.compatible  # plain backward: only the latest version counts


def test_judge_an_identical_document() -> None:
    verdict = judge([("1.0.0", make_spec()), ("1.4.2", make_spec(version="1.4.2"))], make_spec())
    assert verdict.compatible
    assert (verdict.bump, verdict.next_version, verdict.changes) == (None, None, [])


def test_judge_a_refused_change_still_reports_its_bump() -> None:
    verdict = judge([("2.3.4", spec_of(device("a")))], spec_of(device("b")))
    assert not verdict.compatible
    assert (verdict.bump, verdict.next_version) == (Bump.MAJOR, "3.0.0")
    assert [v.effect for v in verdict.violations] == [B]


# ---- bumps and versions -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("effects", "bump"),
    [
        ((), None),
        ((N,), Bump.PATCH),
        ((N, N), Bump.PATCH),
        ((L,), Bump.MINOR),
        ((N, L, L), Bump.MINOR),
        ((T, N), Bump.MINOR),
        ((L, T), Bump.MAJOR),
        ((B,), Bump.MAJOR),
        ((N, B), Bump.MAJOR),
    ],
)
def test_bump_for(effects: tuple[Effect, ...], bump: Bump | None) -> None:
    assert bump_for(_changes(*effects)) == bump


@pytest.mark.parametrize(
    ("latest", "bump", "expected"),
    [
        ("1.2.3", Bump.PATCH, "1.2.4"),
        ("1.2.3", Bump.MINOR, "1.3.0"),
        ("1.2.3", Bump.MAJOR, "2.0.0"),
        ("0.9.9", Bump.MINOR, "0.10.0"),
        ("1.0.0", Bump.PATCH, "1.0.1"),
    ],
)
def test_next_version(latest: str, bump: Bump, expected: str) -> None:
    assert next_version(latest, bump) == expected


@pytest.mark.parametrize(
    ("given", "bump", "problem"),
    [
        ("1.2.3", Bump.PATCH, "must be greater than"),
        ("1.2.2", Bump.PATCH, "must be greater than"),
        ("0.9.0", Bump.PATCH, "must be greater than"),
        ("1.2.4", Bump.MINOR, "is a patch bump"),
        ("1.2.9", Bump.MAJOR, "is a patch bump"),
        ("1.3.0", Bump.MAJOR, "is a minor bump"),
        ("1.2.4", Bump.PATCH, None),
        ("1.2.10", Bump.PATCH, None),
        ("1.3.0", Bump.PATCH, None),
        ("1.5.1", Bump.MINOR, None),
        ("2.0.0", Bump.MINOR, None),
        ("7.1.0", Bump.MAJOR, None),
    ],
)
def test_understated(given: str, bump: Bump, problem: str | None) -> None:
    message = understated("1.2.3", given, bump)
    if problem is None:
        assert message is None
    else:
        assert message is not None
        assert problem in message
        assert given in message
