"""Feature views (SPEC §4, §8): what a view is, which snapshot a read pins, training sets
(point-in-time joins over the offline store) and online lookups."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy.orm import Session

from app.contracts import service as contracts_service
from app.contracts.errors import ContractNotFound
from app.contracts.parsing import parse_contract, parse_instant, shown
from app.contracts.spec import Column, ContractSpec, Features, parse_duration
from app.features import repository
from app.features.encoding import entity_key, from_json, rfc3339
from app.features.errors import (
    FeatureViewNotFound,
    InvalidEntities,
    InvalidSnapshot,
    UnknownFeature,
)
from app.features.models import FeatureView
from app.features.offline import OfflineStore
from app.features.pit import point_in_time

MAX_ONLINE_ENTITIES = 10_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class View:
    """A feature view: the latest contract version's `features`, and its store's counters."""

    spec: ContractSpec
    state: FeatureView | None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def features(self) -> Features:
        assert self.spec.features is not None
        return self.spec.features

    @property
    def keys(self) -> list[Column]:
        return [self._column(n) for n in self.features.entity]

    @property
    def columns(self) -> list[Column]:
        """The feature columns (SPEC §8: default every column but the entity and timestamp)."""
        f = self.features
        if f.columns is not None:
            return [self._column(n) for n in f.columns]
        skip = {*f.entity, f.timestamp}
        return [c for c in self.spec.columns if c.name not in skip]

    @property
    def ttl_us(self) -> int | None:
        ttl = self.features.ttl
        return None if ttl is None else parse_duration(ttl) * 1_000_000

    @property
    def latest_snapshot(self) -> int:
        return self.state.latest_snapshot if self.state is not None else 0

    def _column(self, name: str) -> Column:
        column = self.spec.column(name)
        assert column is not None, "parse_contract checks feature columns exist"
        return column

    def body(self) -> dict[str, Any]:
        f = self.features
        return {
            "name": self.name,
            "entity": list(f.entity),
            "timestamp": f.timestamp,
            "columns": [{"name": c.name, "type": c.type.value} for c in self.columns],
            "ttl": f.ttl,
            "rows": self.state.rows if self.state is not None else 0,
            "latest_snapshot": self.latest_snapshot,
        }


def get_view(session: Session, name: str) -> View:
    try:
        spec = parse_contract(contracts_service.get_latest(session, name).document)
    except ContractNotFound:
        raise FeatureViewNotFound(f"no feature view {name!r}: no such contract") from None
    if spec.features is None:
        raise FeatureViewNotFound(f"contract {name!r} has no features, so no feature view")
    return View(spec, repository.view(session, name))


def list_views(session: Session) -> list[View]:
    specs = [s for s in contracts_service.latest_specs(session) if s.features is not None]
    states = repository.views(session, [s.name for s in specs])
    return [View(s, states.get(s.name)) for s in specs]


def pick_snapshot(session: Session, view: View, snapshot: int | None, as_of: str | None) -> int:
    """The snapshot a read pins: `snapshot=N`, `as_of=<time>`, or the latest."""
    if snapshot is not None and as_of is not None:
        raise InvalidSnapshot("give snapshot or as_of, not both")
    if snapshot is not None:
        if not 0 <= snapshot <= view.latest_snapshot:
            raise InvalidSnapshot(
                f"snapshot {snapshot} is beyond the latest snapshot of {view.name!r}, "
                f"{view.latest_snapshot}"
            )
        return snapshot
    if as_of is not None:
        try:
            when = parse_instant(as_of)
        except ValueError as exc:
            raise InvalidSnapshot(f"as_of: {exc}") from None
        return repository.snapshot_at(session, view.name, when)
    return view.latest_snapshot


def pick_features(view: View, wanted: str | None) -> list[str]:
    """`features=a,b` (in that order), or every feature column of the view."""
    names = [c.name for c in view.columns]
    if wanted is None or not wanted.strip():
        return names
    picked = [w.strip() for w in wanted.split(",") if w.strip()]
    for name in picked:
        if name not in names:
            raise UnknownFeature(
                f"{shown(name)} is not a feature of {view.name!r}; its features: {', '.join(names)}"
            )
    if len(set(picked)) != len(picked):
        raise UnknownFeature("a feature is named twice in features=")
    return picked


def training_set(
    offline: OfflineStore,
    view: View,
    entities: pl.DataFrame,
    *,
    features: Sequence[str],
    snapshot: int,
    timestamp_column: str,
    lineage: bool,
) -> pl.DataFrame:
    """Point-in-time features of `entities` from the offline store as of `snapshot`."""
    stored = offline.pinned(view.name, view.spec.columns, snapshot)
    return point_in_time(
        entities,
        stored.rows,
        entity=view.features.entity,
        timestamp=view.features.timestamp,
        event_timestamp=timestamp_column,
        columns=features,
        ttl_us=view.ttl_us,
        lineage=lineage,
        ordered=stored.ordered,
    )


def online(session: Session, view: View, entities: Any, now: datetime) -> list[dict[str, Any]]:
    """Latest values per requested entity, in request order: found, missing or expired."""
    if not isinstance(entities, list):
        raise InvalidEntities("entities must be a list of objects")
    if len(entities) > MAX_ONLINE_ENTITIES:
        raise InvalidEntities(f"at most {MAX_ONLINE_ENTITIES:,} entities per request")
    keys = view.keys
    wanted = []
    for i, entity in enumerate(entities):
        if not isinstance(entity, dict):
            raise InvalidEntities(f"entities[{i}] is not an object")
        values = []
        for key in keys:
            if entity.get(key.name) is None:
                raise InvalidEntities(f"entities[{i}] has no {key.name!r}")
            try:
                values.append(from_json(entity[key.name], key.type))
            except ValueError as exc:
                raise InvalidEntities(f"entities[{i}].{key.name}: {exc}") from None
        wanted.append(entity_key(values))
    stored = repository.online(session, view.name, wanted)
    names = [c.name for c in view.columns]
    nulls = dict.fromkeys(names)
    ttl, now_us = view.ttl_us, (now - EPOCH) // timedelta(microseconds=1)
    out = []
    for entity, wanted_key in zip(entities, wanted, strict=True):
        echo = {k.name: entity[k.name] for k in keys}
        row = stored.get(wanted_key)
        if row is None:
            out.append({"entity": echo, "status": "missing", "timestamp": None, "values": nulls})
            continue
        at = rfc3339(EPOCH + timedelta(microseconds=row.ts_us))
        if ttl is not None and row.ts_us <= now_us - ttl:  # valid while ts > now - ttl
            out.append({"entity": echo, "status": "expired", "timestamp": at, "values": nulls})
            continue
        values = json.loads(row.values)
        found = {n: values.get(n) for n in names}
        out.append({"entity": echo, "status": "found", "timestamp": at, "values": found})
    return out
