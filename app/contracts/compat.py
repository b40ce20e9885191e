"""Classify changes between two contract versions (SPEC §3, §8): effects, modes, bumps."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from app.contracts.parsing import fingerprint, parse_instant
from app.contracts.spec import (
    Column,
    ColumnType,
    Compatibility,
    ContractSpec,
    DatasetCheck,
    Severity,
    format_duration,
    parse_duration,
)


class Effect(StrEnum):
    NEUTRAL = "neutral"
    LOOSENING = "loosening"
    TIGHTENING = "tightening"
    BREAKING = "breaking"


class Bump(StrEnum):
    PATCH = "patch"
    MINOR = "minor"
    MAJOR = "major"


NEUTRAL = Effect.NEUTRAL
LOOSENING = Effect.LOOSENING
TIGHTENING = Effect.TIGHTENING
BREAKING = Effect.BREAKING
_MODE_EFFECTS = {"backward": {LOOSENING}, "forward": {TIGHTENING}, "full": set(), "none": {*Effect}}
_ALLOWED = {m: frozenset({NEUTRAL, *_MODE_EFFECTS[m.split("_")[0]]}) for m in Compatibility}
_TRANSITIVE = frozenset(m for m in Compatibility if m.endswith("_transitive"))
_BUMP_RANK = {Bump.PATCH: 0, Bump.MINOR: 1, Bump.MAJOR: 2}
_SIGNED = {ColumnType(f"int{bits}"): bits for bits in (8, 16, 32, 64)}
_UNSIGNED = {ColumnType(f"uint{bits}"): bits for bits in (8, 16, 32, 64)}
_INTO_FLOAT64 = {t for t, bits in (_SIGNED | _UNSIGNED).items() if bits <= 32}
_INTO_FLOAT64.add(ColumnType.FLOAT32)
_NOUNS = {"in_range": "range", "in_set": "set", "matches": "pattern"}
_VERBS = {NEUTRAL: "changed", LOOSENING: "loosened", TIGHTENING: "tightened", BREAKING: "changed"}
_RANGE_VERBS = _VERBS | {LOOSENING: "widened", TIGHTENING: "narrowed"}


@dataclass(frozen=True)
class Change:
    kind: str
    path: str
    effect: Effect
    message: str

    def as_dict(self) -> dict[str, str]:
        return {**vars(self), "effect": self.effect.value}


@dataclass(frozen=True)
class Verdict:
    compatible: bool
    mode: Compatibility
    bump: Bump | None
    next_version: str | None
    changes: list[Change]
    violations: list[Change]


@dataclass(frozen=True)
class _Check:
    """One check in comparable form; `ident` pairs a check across versions (with its severity)."""

    ident: tuple[Any, ...]
    kind: str
    path: str
    label: str
    severity: Severity
    mostly: Decimal = Decimal(1)
    arg: Any = None
    order: tuple[str, ...] = field(default=())


def combine(*effects: Effect) -> Effect:
    """The effect of several changes made together: opposite directions make a breaking change."""
    found = set(effects) - {NEUTRAL}
    if BREAKING in found or len(found) > 1:
        return BREAKING
    return found.pop() if found else NEUTRAL


def _direction(old: Any, new: Any, *, larger_loosens: bool) -> Effect:
    if old == new:
        return NEUTRAL
    return LOOSENING if (new > old) == larger_loosens else TIGHTENING


def bump_for(changes: Sequence[Change]) -> Bump | None:
    if not changes:
        return None
    effects = {c.effect for c in changes} - {NEUTRAL}
    if not effects:
        return Bump.PATCH
    return Bump.MINOR if effects in ({LOOSENING}, {TIGHTENING}) else Bump.MAJOR


def allowed(mode: Compatibility, changes: Sequence[Change]) -> bool:
    return all(c.effect in _ALLOWED[mode] for c in changes)


def _semver(version: str) -> tuple[int, int, int]:
    major, minor, patch = (int(part) for part in version.split("."))
    return major, minor, patch


def next_version(latest: str, bump: Bump) -> str:
    major, minor, patch = _semver(latest)
    if bump is Bump.MAJOR:
        return f"{major + 1}.0.0"
    if bump is Bump.MINOR:
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"


def understated(latest: str, given: str, bump: Bump) -> str | None:
    """None when `given` may follow `latest` for changes needing `bump`; else why not."""
    old, new = _semver(latest), _semver(given)
    if new <= old:
        return f"version {given} must be greater than the latest version {latest}"
    given_bump = Bump.MAJOR if new[0] > old[0] else Bump.MINOR if new[1] > old[1] else Bump.PATCH
    if _BUMP_RANK[given_bump] < _BUMP_RANK[bump]:
        return (
            f"version {given} is a {given_bump} bump from {latest} but the changes need "
            f"a {bump} bump (at least {next_version(latest, bump)})"
        )
    return None


def judge(history: Sequence[tuple[str, ContractSpec]], new: ContractSpec) -> Verdict:
    """Judge `new` against the registered versions (ascending); the latest one's mode governs."""
    latest_version, latest = history[-1]
    mode = latest.compatibility
    changes = classify(latest, new)
    bump = bump_for(changes)
    violations = [c for c in changes if not allowed(mode, [c])]
    if mode in _TRANSITIVE and changes:
        for version, spec in history[:-1]:
            violations += [
                replace(c, message=f"against {version}: {c.message}")
                for c in classify(spec, new)
                if not allowed(mode, [c])
            ]
    following = next_version(latest_version, bump) if bump is not None else None
    return Verdict(not violations, mode, bump, following, changes, violations)


def classify(old: ContractSpec, new: ContractSpec) -> list[Change]:
    """Every change from `old` to `new` (the version field is ignored), in document order."""
    changes = [
        *_metadata(old, new),
        *_columns(old, new),
        *_diff_checks(_dataset_checks(old), _dataset_checks(new), "checks"),
        *_features(old, new),
    ]
    if not changes and fingerprint(old) != fingerprint(new):
        # Same meaning, different notation (e.g. a date bound written 20240101): still a version.
        changes.append(Change("metadata_changed", "", NEUTRAL, "notation changed, meaning kept"))
    return changes


def _metadata(old: ContractSpec, new: ContractSpec) -> Iterator[Change]:
    for name in ("title", "description", "owner", "consumers"):
        if getattr(old, name) != getattr(new, name):
            yield Change("metadata_changed", name, NEUTRAL, f"{name} changed")
    for name in ("compatibility", "on_violation"):
        a, b = getattr(old, name), getattr(new, name)
        if a != b:
            yield Change("policy_changed", name, NEUTRAL, f"{name} {a} → {b}")


def _columns(old: ContractSpec, new: ContractSpec) -> Iterator[Change]:
    before = {c.name: c for c in old.columns}
    after = {c.name: c for c in new.columns}
    kept_before = [n for n in before if n in after]
    if kept_before != [n for n in after if n in before]:
        yield Change("metadata_changed", "columns", NEUTRAL, "column order changed")
    for col in old.columns:
        if col.name not in after:
            yield _column_change(col, "removed", TIGHTENING if col.nullable else BREAKING)
    for col in new.columns:
        if col.name not in before:
            yield _column_change(col, "added", LOOSENING if col.nullable else BREAKING)
        else:
            yield from _column_diff(before[col.name], col)


def _column_change(col: Column, verb: str, effect: Effect) -> Change:
    text = f"{_nullability(col)} column {col.name} {verb}"
    return Change(f"column_{verb}", f"columns.{col.name}", effect, text)


def _nullability(col: Column) -> str:
    return "nullable" if col.nullable else "non-nullable"


def _column_diff(old: Column, new: Column) -> Iterator[Change]:
    base, name = f"columns.{new.name}", new.name
    if old.type != new.type:
        text = f"type of {name} {old.type} → {new.type}"
        yield Change("type_changed", f"{base}.type", _type_effect(old.type, new.type), text)
    if old.nullable != new.nullable:
        effect = LOOSENING if new.nullable else TIGHTENING
        text = f"{name} made {_nullability(new)}"
        yield Change("nullable_changed", f"{base}.nullable", effect, text)
    if old.unique != new.unique:
        effect, verb = (TIGHTENING, "added") if new.unique else (LOOSENING, "removed")
        yield Change("unique_changed", f"{base}.unique", effect, f"unique on {name} {verb}")
    if old.description != new.description:
        text = f"description of {name} changed"
        yield Change("metadata_changed", f"{base}.description", NEUTRAL, text)
    yield from _diff_checks(_column_checks(old), _column_checks(new), f"{base}.checks")


def widens(source: ColumnType, target: ColumnType) -> bool:
    """Whether values declared `source` are accepted, without loss, as `target` (SPEC §8 Types)."""
    if source in _SIGNED and target in _SIGNED:
        return _SIGNED[source] < _SIGNED[target]
    if source in _UNSIGNED and (target in _UNSIGNED or target in _SIGNED):
        return _UNSIGNED[source] < (_UNSIGNED | _SIGNED)[target]
    return target is ColumnType.FLOAT64 and source in _INTO_FLOAT64


def _type_effect(old: ColumnType, new: ColumnType) -> Effect:
    if widens(old, new):
        return LOOSENING
    return TIGHTENING if widens(new, old) else BREAKING


def _column_checks(col: Column) -> list[_Check]:
    out = []
    for check in col.checks:
        kind, arg = check.kind, check.argument
        if kind == "in_range":
            arg = _bounds(col.type, arg)
        elif kind == "in_set":
            arg = frozenset(arg)
        path, label = f"columns.{col.name}.checks.{kind}", f"{_NOUNS.get(kind, kind)} on {col.name}"
        out.append(_Check((kind,), kind, path, label, check.severity, check.mostly, arg))
    return out


def _dataset_checks(spec: ContractSpec) -> list[_Check]:
    return [_dataset_check(check) for check in spec.checks]


def _dataset_check(check: DatasetCheck) -> _Check:
    sev, kind = check.severity, check.kind
    if check.unique is not None:  # identified by its set of columns: the order is notation
        key, cols = "+".join(check.unique), tuple(check.unique)
        path, mostly = f"checks.{kind}[{key}]", check.effective_mostly
        return _Check(
            (kind, frozenset(cols)), kind, path, f"{kind} on {key}", sev, mostly, None, cols
        )
    if check.freshness is not None:
        col, age = check.freshness.column, parse_duration(check.freshness.max_age)
        path = f"checks.{kind}[{col}]"
        return _Check((kind, col), kind, path, f"{kind} on {col}", sev, arg=age)
    bounds = _bounds(ColumnType.INT64, check.row_count)
    return _Check((kind,), kind, f"checks.{kind}", kind, sev, arg=bounds)


def _bounds(col_type: ColumnType, bounds: Any) -> tuple[Any, Any]:
    return _bound(col_type, bounds.min), _bound(col_type, bounds.max)


def _bound(col_type: ColumnType, value: Any) -> Any:
    """A bound as a comparable value: numbers as they are, dates and instants parsed."""
    if value is None or not isinstance(value, str):
        return value
    if col_type is ColumnType.DATE:
        return date.fromisoformat(value)
    if col_type is ColumnType.TIMESTAMP:
        return parse_instant(value)
    return value


def _diff_checks(old: list[_Check], new: list[_Check], base: str) -> Iterator[Change]:
    before = {(c.ident, c.severity): c for c in old}
    after = {(c.ident, c.severity): c for c in new}
    kept = [k for k in before if k in after]
    if kept != [k for k in after if k in before]:
        yield Change("metadata_changed", base, NEUTRAL, f"order of {base} changed")
    for ident in dict.fromkeys([c.ident for c in old] + [c.ident for c in new]):
        was = {sev: c for (i, sev), c in before.items() if i == ident}
        now = {sev: c for (i, sev), c in after.items() if i == ident}
        if len(was) == 1 and len(now) == 1 and was.keys() != now.keys():
            yield _severity_flip(next(iter(was.values())), next(iter(now.values())))
            continue
        for sev in Severity:
            yield from _pair(was.get(sev), now.get(sev))


def _pair(old: _Check | None, new: _Check | None) -> Iterator[Change]:
    if old is not None and new is not None:
        yield from _changed(old, new)
    elif old is not None:
        effect = LOOSENING if old.severity is Severity.ERROR else NEUTRAL
        yield Change("check_removed", old.path, effect, f"{_label(old)} removed")
    elif new is not None:
        effect = TIGHTENING if new.severity is Severity.ERROR else NEUTRAL
        yield Change("check_added", new.path, effect, f"{_label(new)} added")


def _severity_flip(old: _Check, new: _Check) -> Change:
    # The warning side never rejects, so the flip is an error check removed or added: its
    # argument and mostly cannot change the direction (warning→error with a wider range is
    # still a constraint that was not there before).
    effect = LOOSENING if new.severity is Severity.WARNING else TIGHTENING
    details = [f"severity {old.severity} → {new.severity}", *(d for _, d in _details(old, new))]
    return Change("check_changed", new.path, effect, f"{new.label}: {'; '.join(details)}")


def _changed(old: _Check, new: _Check) -> Iterator[Change]:
    parts = _details(old, new)
    if not parts:
        return
    effect = combine(*(e for e, _ in parts))
    if new.severity is Severity.WARNING:
        effect = NEUTRAL
    verbs = _RANGE_VERBS if new.kind in ("in_range", "row_count") else _VERBS
    text = "; ".join(d for _, d in parts)
    yield Change("check_changed", new.path, effect, f"{_label(new)} {verbs[effect]}: {text}")


def _label(check: _Check) -> str:
    return f"{check.label} (warning)" if check.severity is Severity.WARNING else check.label


def _details(old: _Check, new: _Check) -> list[tuple[Effect, str]]:
    parts: list[tuple[Effect, str]] = []
    if old.arg != new.arg:
        parts.append(_arg_effect(new.kind, old.arg, new.arg))
    if old.mostly != new.mostly:
        effect = _direction(old.mostly, new.mostly, larger_loosens=False)
        parts.append((effect, f"mostly {old.mostly} → {new.mostly}"))
    if old.order != new.order:
        parts.append((NEUTRAL, f"key order {'+'.join(old.order)} → {'+'.join(new.order)}"))
    return parts


def _arg_effect(kind: str, old: Any, new: Any) -> tuple[Effect, str]:
    if kind in ("in_range", "row_count"):
        return _range_effect(old, new)
    if kind == "in_set":
        return _set_effect(old, new)
    if kind == "matches":
        return BREAKING, f"{old!r} → {new!r}"
    if kind == "freshness":
        effect = _direction(old, new, larger_loosens=True)
        return effect, f"max_age {format_duration(old)} → {format_duration(new)}"
    effect = _direction(old, new, larger_loosens=kind == "max_length")
    return effect, f"{old} → {new}"


def _range_effect(old: tuple[Any, Any], new: tuple[Any, Any]) -> tuple[Effect, str]:
    effects, texts = [], []
    for i, name in enumerate(("min", "max")):
        a, b = old[i], new[i]
        if a == b:
            continue
        texts.append(f"{name} {_show(a)} → {_show(b)}")
        if a is None or b is None:  # a missing bound is the widest possible
            effects.append(TIGHTENING if a is None else LOOSENING)
            continue
        try:
            effects.append(_direction(a, b, larger_loosens=name == "max"))
        except TypeError:  # bounds of different kinds (a date against a number)
            effects.append(BREAKING)
    return combine(*effects), ", ".join(texts)


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _set_effect(old: frozenset[Any], new: frozenset[Any]) -> tuple[Effect, str]:
    added = sorted(map(repr, new - old))
    removed = sorted(map(repr, old - new))
    pairs = (("added", added), ("removed", removed))
    text = "; ".join(f"{word} {', '.join(values)}" for word, values in pairs if values)
    if not removed:
        return LOOSENING, text
    return (TIGHTENING if not added else BREAKING), text


def _features(old: ContractSpec, new: ContractSpec) -> Iterator[Change]:
    a, b = old.features, new.features
    if a == b:
        return
    if a is None or b is None:
        effect, verb = (NEUTRAL, "added") if a is None else (BREAKING, "removed")
        yield Change("features_changed", "features", effect, f"features {verb}")
        return
    if a.entity != b.entity:
        # Reordering the same key columns keeps every key; changing them does not.
        effect = NEUTRAL if set(a.entity) == set(b.entity) else BREAKING
        yield _feature("entity", effect, "+".join(a.entity), "+".join(b.entity))
    if a.timestamp != b.timestamp:
        yield _feature("timestamp", BREAKING, a.timestamp, b.timestamp)
    if a.columns != b.columns:
        before, after = (",".join(f.columns or ["(default)"]) for f in (a, b))
        yield _feature("columns", NEUTRAL, before, after)
    if a.ttl != b.ttl:
        yield _feature("ttl", NEUTRAL, a.ttl or "none", b.ttl or "none")


def _feature(name: str, effect: Effect, old: str, new: str) -> Change:
    return Change("features_changed", f"features.{name}", effect, f"feature {name} {old} → {new}")
