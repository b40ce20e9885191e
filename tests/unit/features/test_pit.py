"""The point-in-time join against a brute-force reference that reads the spec literally.

The reference compares exact instants in nanoseconds (no flooring), checks every feature row of
the entity's key and ranks candidates by ``(timestamp, _snapshot, _row)``. Properties generate
tiny key and time spaces so that ties, ttl edges, unknown keys and nulls happen often.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from app.features.pit import point_in_time

UTC_US = pl.Datetime("us", "UTC")
NS_PER = {"ns": 1, "us": 1_000, "ms": 1_000_000}
FEATURES = {"f_int": pl.Int64, "f_float": pl.Float64, "f_str": pl.String}
LINEAGE = {"_feature_timestamp": UTC_US, "_batch_id": pl.String, "_contract_version": pl.String}
BASES_US = [0, -1_000_000_000_000, 1_700_000_000_000_000]  # the epoch, 1938, 2023
Draw = Any  # hypothesis' draw function


@dataclass(frozen=True)
class Row:
    """One feature row, as plain Python values (``ts`` in microseconds)."""

    key: tuple[Any, ...]
    ts: int | None
    snapshot: int
    row: int
    values: dict[str, Any]
    batch: str
    version: str


def reference(
    keys: list[tuple[Any, ...]], events_ns: list[int | None], rows: list[Row], ttl_us: int | None
) -> list[Row | None]:
    """Per entity row, the feature row the spec says it sees (brute force, exact instants)."""
    by_key: dict[tuple[Any, ...], list[Row]] = defaultdict(list)
    for row in rows:
        by_key[row.key].append(row)
    matches: list[Row | None] = []
    for key, event in zip(keys, events_ns, strict=True):
        best: Row | None = None
        for row in by_key[key] if event is not None and None not in key else []:
            if row.ts is None or row.ts * 1000 > event:
                continue
            if ttl_us is not None and row.ts * 1000 <= event - ttl_us * 1000:
                continue
            if best is None or (row.ts, row.snapshot, row.row) > (best.ts, best.snapshot, best.row):
                best = row
        matches.append(best)
    return matches


def features_frame(
    rows: list[Row], key_names: list[str], key_dtypes: list[pl.DataType]
) -> pl.DataFrame:
    return pl.DataFrame(
        {
            **{
                n: pl.Series([r.key[i] for r in rows], dtype=d)
                for i, (n, d) in enumerate(zip(key_names, key_dtypes, strict=True))
            },
            "ts": pl.Series([r.ts for r in rows], dtype=pl.Int64).cast(UTC_US),
            "_snapshot": pl.Series([r.snapshot for r in rows], dtype=pl.Int64),
            "_row": pl.Series([r.row for r in rows], dtype=pl.Int64),
            **{c: pl.Series([r.values[c] for r in rows], dtype=d) for c, d in FEATURES.items()},
            "_batch_id": pl.Series([r.batch for r in rows], dtype=pl.String),
            "_contract_version": pl.Series([r.version for r in rows], dtype=pl.String),
            "unrequested": pl.Series([f"x{r.row}" for r in rows], dtype=pl.String),
        }
    )


def expected_columns(matches: list[Row | None], columns: list[str], lineage: bool) -> pl.DataFrame:
    out = {
        c: pl.Series([m.values[c] if m else None for m in matches], dtype=FEATURES[c])
        for c in columns
    }
    if lineage:
        ts = pl.Series([m.ts if m else None for m in matches], dtype=pl.Int64)
        out["_feature_timestamp"] = ts.cast(UTC_US)
        out["_batch_id"] = pl.Series([m.batch if m else None for m in matches], dtype=pl.String)
        out["_contract_version"] = pl.Series(
            [m.version if m else None for m in matches], dtype=pl.String
        )
    return pl.DataFrame(out)


def run(
    entities: pl.DataFrame,
    features: pl.DataFrame | pl.LazyFrame,
    *,
    entity: list[str] | None = None,
    event_timestamp: str = "event_ts",
    columns: list[str] | None = None,
    ttl_us: int | None = None,
    lineage: bool = False,
    ordered: bool = False,
) -> pl.DataFrame:
    return point_in_time(
        entities,
        features.lazy(),
        entity=["k"] if entity is None else entity,
        timestamp="ts",
        event_timestamp=event_timestamp,
        columns=list(FEATURES) if columns is None else columns,
        ttl_us=ttl_us,
        lineage=lineage,
        ordered=ordered,
    )


# --- properties -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    entities: pl.DataFrame
    features: pl.DataFrame
    rows: list[Row]
    key_names: list[str]
    keys: list[tuple[Any, ...]]
    events_ns: list[int | None]
    event_column: str
    columns: list[str]
    ttl_us: int | None
    lineage: bool


def maybe(values: list[Any]) -> st.SearchStrategy[Any]:
    """One of ``values``, or None about one time in (len + 1)."""
    return st.sampled_from([None, *values])


@st.composite
def scenarios(draw: Draw) -> Scenario:
    key_names = draw(st.sampled_from([["k"], ["k", "s"]]))
    base = draw(st.sampled_from(BASES_US))

    def key(ints: list[int], strs: list[str]) -> tuple[Any, ...]:
        parts = (draw(maybe(ints)), draw(maybe(strs)))
        return parts[: len(key_names)]

    n = draw(st.integers(0, 12))
    rows = [
        Row(
            key=key([0, 1, 2], ["a", "b"]),
            ts=draw(maybe([base + o for o in range(-4, 5)])),
            snapshot=draw(st.integers(1, 3)),
            row=position,  # a permutation: unique, and unrelated to the frame's row order
            values={
                "f_int": draw(maybe([7, 8, 9])),
                "f_float": draw(maybe([math.nan, 0.5, -1.0])),
                "f_str": draw(maybe(["p", "q"])),
            },
            batch=draw(st.sampled_from(["b1", "b2"])),
            version=draw(st.sampled_from(["1.0.0", "1.1.0"])),
        )
        for position in draw(st.permutations(range(n)))
    ]

    unit = draw(st.sampled_from(["ns", "us", "ms"]))
    near = {
        "ns": st.tuples(st.integers(-6, 6), st.sampled_from([-1, 0, 1, 500])).map(
            lambda od: (base + od[0]) * 1000 + od[1]
        )
        | st.integers(-6000, 6000).map(lambda o: base * 1000 + o),
        "us": st.integers(-6, 6).map(lambda o: base + o),
        "ms": st.integers(-1, 1).map(lambda o: base // 1000 + o),
    }[unit]
    m = draw(st.integers(0, 10))
    keys = [key([0, 1, 2, 3], ["a", "b", "c"]) for _ in range(m)]  # 3 and "c" are unknown
    events = [draw(st.none() | near | near | near) for _ in range(m)]
    event_column = draw(st.sampled_from(["event_ts", "ts"]))
    int_dtype = draw(st.sampled_from([pl.Int64, pl.Int32, pl.UInt8]))
    frame = {
        "k": pl.Series([k[0] for k in keys], dtype=int_dtype),
        "s": pl.Series([k[-1] if len(k) == 2 else None for k in keys], dtype=pl.String),
        event_column: pl.Series(events, dtype=pl.Int64).cast(
            pl.Datetime(unit, draw(st.sampled_from(["UTC", None])))
        ),
        "note": pl.Series(range(m), dtype=pl.Int16),
    }
    order = draw(st.permutations([*key_names, event_column, "note"]))
    return Scenario(
        entities=pl.DataFrame({c: frame[c] for c in order}),
        features=features_frame(rows, key_names, [pl.Int64, pl.String][: len(key_names)]),
        rows=rows,
        key_names=key_names,
        keys=keys,
        events_ns=[None if e is None else e * NS_PER[unit] for e in events],
        event_column=event_column,
        columns=draw(st.lists(st.sampled_from(list(FEATURES)), unique=True)),
        ttl_us=draw(st.none() | st.integers(0, 5) | st.sampled_from([10**12, 2**63 - 1])),
        lineage=draw(st.booleans()),
    )


@settings(max_examples=250, deadline=None)
@given(scenarios())
def test_matches_the_brute_force_reference(s: Scenario) -> None:
    out = run(
        s.entities,
        s.features.sample(fraction=1.0, shuffle=True, seed=0),
        entity=s.key_names,
        event_timestamp=s.event_column,
        columns=s.columns,
        ttl_us=s.ttl_us,
        lineage=s.lineage,
    )

    matches = reference(s.keys, s.events_ns, s.rows, s.ttl_us)
    assert_frame_equal(out, s.entities.hstack(expected_columns(matches, s.columns, s.lineage)))


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_rows_in_storage_order_match_the_reference_without_tie_columns(s: Scenario) -> None:
    """`ordered=True`: rows given in (_snapshot, _row) order, tie columns neither read nor
    sorted on (they are removed here, so using them would fail)."""
    stored = s.features.sort("_snapshot", "_row").drop("_snapshot", "_row")
    out = run(
        s.entities,
        stored,
        entity=s.key_names,
        event_timestamp=s.event_column,
        columns=s.columns,
        ttl_us=s.ttl_us,
        lineage=s.lineage,
        ordered=True,
    )
    matches = reference(s.keys, s.events_ns, s.rows, s.ttl_us)
    assert_frame_equal(out, s.entities.hstack(expected_columns(matches, s.columns, s.lineage)))


# --- examples ---------------------------------------------------------------------------------


def feature_rows(*rows: tuple[Any, int, int, int, int]) -> pl.DataFrame:
    """Feature frame from ``(key, ts_us, snapshot, row, f_int)`` tuples."""
    return features_frame(
        [
            Row((k,), ts, snap, row, {"f_int": v, "f_float": v / 2, "f_str": f"v{v}"}, "b", "1")
            for k, ts, snap, row, v in rows
        ],
        ["k"],
        [pl.Int64],
    )


def entity_rows(keys: list[Any], events: list[int | None], unit: str = "us") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "k": pl.Series(keys, dtype=pl.Int64),
            "event_ts": pl.Series(events, dtype=pl.Int64).cast(pl.Datetime(unit, "UTC")),
        }
    )


def test_ties_go_to_the_greater_snapshot_then_the_greater_row() -> None:
    feats = feature_rows(
        (1, 10, 2, 3, 23),
        (1, 10, 1, 9, 19),
        (1, 10, 2, 5, 25),  # the winner: snapshot 2, row 5
        (1, 10, 2, 4, 24),
        (1, 9, 3, 9, 39),  # a newer snapshot, but an older timestamp
        (2, 10, 1, 1, 11),
        (2, 10, 1, 0, 10),
    )

    out = run(entity_rows([1, 2, 1], [10, 10, 9]), feats, columns=["f_int"])

    assert out["f_int"].to_list() == [25, 11, 39]


@pytest.mark.parametrize(
    ("feature_ts", "matched"),
    [(990, False), (991, True), (1000, True), (1001, False)],
)
def test_the_ttl_excludes_its_lower_edge_and_the_event_instant_is_included(
    feature_ts: int, matched: bool
) -> None:
    out = run(entity_rows([1], [1000]), feature_rows((1, feature_ts, 1, 0, 5)), ttl_us=10)

    assert out["f_int"].to_list() == [5 if matched else None]


def test_a_zero_ttl_matches_nothing() -> None:
    feats = feature_rows((1, 999, 1, 0, 5), (1, 1000, 1, 1, 6))

    out = run(entity_rows([1, 1], [990, 1000]), feats, ttl_us=0)

    assert out["f_int"].to_list() == [None, None]


def test_nanosecond_events_before_1970_compare_exactly() -> None:
    feats = feature_rows((1, -2, 1, 0, 2), (1, -1, 1, 1, 1), (1, 0, 1, 2, 0))
    events_ns = [-1, -999, -1000, -1001, -1999, -2001, 999, 1000]

    out = run(entity_rows([1] * 8, events_ns, "ns"), feats, columns=["f_int"], ttl_us=2)

    # -1 ns floors to -1 us (not 0, as truncation would); -2001 ns is before every feature
    assert out["f_int"].to_list() == [1, 1, 1, 2, 2, None, 0, 0]


def test_output_dtypes_follow_the_features_and_lineage_is_appended_in_order() -> None:
    feats = pl.DataFrame(
        {
            "k": [1, 1],
            "ts": pl.Series([5, 6]).cast(UTC_US),
            "_snapshot": [1, 1],
            "_row": [0, 1],
            "i32": pl.Series([1, 2], dtype=pl.Int32),
            "f32": pl.Series([1.5, 2.5], dtype=pl.Float32),
            "flag": [True, None],
            "when": pl.Series([1, 2]).cast(pl.Datetime("ms")),
            "tags": [["a"], []],
            "_batch_id": ["b0", "b1"],
            "_contract_version": ["1.0.0", "1.0.0"],
        }
    )
    entities = entity_rows([1, 1, 2], [5, 4, 9])
    columns = ["tags", "when", "flag", "f32", "i32"]

    out = run(entities, feats, columns=columns, lineage=True)

    assert out.schema == pl.Schema({**entities.schema, **feats.select(columns).schema, **LINEAGE})
    assert out.row(0)[2:] == (["a"], feats["when"][0], True, 1.5, 1, feats["ts"][0], "b0", "1.0.0")
    assert out.row(1)[2:] == (None,) * 8


@pytest.mark.parametrize("key_dtype", [pl.Int32, pl.UInt8])
def test_input_columns_come_back_unchanged(key_dtype: pl.DataType) -> None:
    entities = pl.DataFrame(
        {
            "note": ["first", "second", "third"],
            "event_ts": pl.Series([10_500, 9_999, 10_000], dtype=pl.Int64).cast(pl.Datetime("ns")),
            "k": pl.Series([1, 1, 2], dtype=key_dtype),
        }
    )
    feats = feature_rows((1, 10, 1, 0, 1), (1, 9, 1, 1, 2), (2, 10, 1, 2, 3))

    out = run(entities, feats, columns=["f_str"])

    assert_frame_equal(out.select(entities.columns), entities)
    assert out.columns == [*entities.columns, "f_str"]
    assert out["f_str"].to_list() == ["v1", "v2", "v3"]


def test_input_order_and_duplicate_rows_are_kept() -> None:
    feats = feature_rows((1, 1, 1, 0, 1), (1, 5, 1, 1, 5), (2, 3, 1, 2, 3))
    keys, events = [2, 1, 1, 9, 1, 2, 1], [9, 9, 1, 9, 9, 2, 4]

    out = run(entity_rows(keys, events), feats, columns=["f_int"])

    assert out.select("k", "event_ts").equals(entity_rows(keys, events))
    assert out["f_int"].to_list() == [3, 5, 1, None, 5, None, 1]


def test_null_keys_and_timestamps_never_match() -> None:
    feats = pl.concat(
        [
            feature_rows((1, 5, 1, 0, 1)),
            feature_rows((0, 5, 1, 1, 2)).with_columns(k=pl.lit(None, pl.Int64)),
            feature_rows((2, 5, 1, 2, 3)).with_columns(ts=pl.lit(None, UTC_US)),
        ]
    )

    out = run(entity_rows([None, 0, 1, 2, 1], [9, 9, 9, 9, None]), feats, columns=["f_int"])

    assert out["f_int"].to_list() == [None, None, 1, None, None]


@pytest.mark.parametrize("lineage", [False, True])
def test_an_empty_request_gives_an_empty_frame_with_the_full_schema(lineage: bool) -> None:
    entities = entity_rows([], [])

    out = run(entities, feature_rows((1, 5, 1, 0, 1)), lineage=lineage)

    assert out.height == 0
    assert out.schema == pl.Schema({**entities.schema, **FEATURES, **(LINEAGE if lineage else {})})


def test_no_feature_rows_gives_typed_nulls() -> None:
    entities = entity_rows([1, 2], [5, 6])

    out = run(entities, feature_rows(), lineage=True)

    assert out.schema == pl.Schema({**entities.schema, **FEATURES, **LINEAGE})
    assert out.drop(entities.columns).null_count().row(0) == (2,) * 6


def test_a_parquet_scan_gives_the_in_memory_answer(tmp_path: Path) -> None:
    feats = feature_rows(
        *((k, t, 1 + t % 2, 10 * k + t, 100 * k + t) for k in range(5) for t in range(20))
    )
    feats.write_parquet(tmp_path / "f.parquet", row_group_size=7)
    entities = entity_rows([0, 3, 4, 9, 3], [19, 0, 7, 7, 12])

    scanned = run(entities, pl.scan_parquet(tmp_path / "f.parquet"), ttl_us=5, lineage=True)

    assert_frame_equal(scanned, run(entities, feats, ttl_us=5, lineage=True))
    assert scanned["f_int"].to_list() == [19, 300, 407, None, 312]


def test_unrequested_columns_are_never_computed() -> None:
    feats = feature_rows((1, 5, 1, 0, 1)).lazy().with_columns(bad=pl.col("f_str").str.to_integer())
    entities = entity_rows([1], [5])
    with pytest.raises(pl.exceptions.ComputeError):
        run(entities, feats, columns=["bad"])  # the column really fails when it is computed

    out = run(entities, feats, columns=["f_int"], lineage=True)

    assert out["f_int"].to_list() == [1]


def test_rows_outside_the_requested_window_are_never_computed() -> None:
    inside = feature_rows((1, 10, 1, 0, 1), (2, 14, 1, 1, 2)).with_columns(f_str=pl.lit("12"))
    outside = feature_rows((1, 5, 1, 2, 3), (1, 15, 1, 3, 4), (2, 20, 1, 4, 5))
    feats = pl.concat([outside, inside]).lazy().with_columns(num=pl.col("f_str").str.to_integer())
    with pytest.raises(pl.exceptions.ComputeError):
        feats.collect()  # the outside rows really fail when they are computed

    out = run(entity_rows([1, 2], [12, 14]), feats, columns=["num", "f_int"], ttl_us=7)

    assert out.select("num", "f_int").rows() == [(12, 1), (12, 2)]


def test_many_ties_at_a_larger_scale_match_the_reference() -> None:
    values = {"f_float": None, "f_str": None}
    rows = [  # 13 keys x 17 timestamps: about 22 rows per (key, timestamp), in scrambled order
        Row((i % 13,), i % 17, 1 + i % 3, (i * 7919) % 5000, {"f_int": i, **values}, "b", "1")
        for i in range(5000)
    ]
    feats = features_frame(rows, ["k"], [pl.Int64])
    keys = [(i % 14,) for i in range(3000)]
    events = [(i * 31) % 19 for i in range(3000)]

    out = run(entity_rows([k for (k,) in keys], events), feats, columns=["f_int"], ttl_us=4)

    matches = reference(keys, [e * 1000 for e in events], rows, 4)
    assert out["f_int"].to_list() == [m.values["f_int"] if m else None for m in matches]


def test_timestamps_must_be_datetimes_in_microseconds_for_features() -> None:
    feats = feature_rows((1, 5, 1, 0, 1))
    with pytest.raises(TypeError, match="event_ts"):
        run(entity_rows([1], [5]).with_columns(pl.col("event_ts").dt.date()), feats)
    with pytest.raises(TypeError, match="feature timestamp"):
        run(entity_rows([1], [5]), feats.with_columns(pl.col("ts").dt.cast_time_unit("ns")))


@pytest.mark.parametrize("by", [["k"], ["k", "s"]])
def test_polars_backward_asof_takes_the_last_row_among_equal_timestamps(by: list[str]) -> None:
    # The engine sorts ties by (_snapshot, _row) and relies on this documented polars behaviour.
    n = 20_000
    right = pl.DataFrame({"k": [i % 7 for i in range(n)], "t": [i % 5 for i in range(n)]})
    right = right.with_columns(s=pl.lit("x"), pos=pl.int_range(n)).sort("t", maintain_order=True)
    left = pl.DataFrame({"k": list(range(8)) * 5, "t": [t for t in range(5) for _ in range(8)]})

    out = left.with_columns(s=pl.lit("x")).join_asof(right, on="t", by=by, check_sortedness=False)

    last = right.group_by("k", "t").agg(pl.col("pos").last())
    assert out.join(last, on=["k", "t"], how="left")["pos_right"].equals(out["pos"])
