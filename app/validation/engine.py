"""The validation engine: a contract version compiles once into pandera columns and a dataset
schema; a Parquet file streams through them window by window (a few row groups, the next read
overlapped).

1. structure, from the schema alone (app.validation.structure): any failure rejects, no data read;
2. pre-pass over the unique keys' columns only (one streaming polars query; the page headers are
   checked meanwhile): 64-bit hashes → candidate duplicate rows;
3. main pass: pandera (polars backend) evaluates every row-by-row rule on each window, column by
   column, two threads taking the columns from a queue; exact counts and samples are tallied,
   failing rows (and unique candidates) spilled to disk;
4. unique candidates confirmed on their real values; row_count and freshness evaluated by
   pandera on a one-row summary; outcome; failures and quarantine files written from the spill.

pandera is imported here only, and its exceptions never leave this module.
"""

from __future__ import annotations

import os
import queue
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import pandera.polars as pa
import polars as pl
import pyarrow
from pandera.api.polars.types import PolarsData
from pandera.config import ValidationDepth, config_context
from pandera.errors import SchemaError, SchemaErrors

from app.contracts.parsing import fingerprint
from app.contracts.spec import Column, ContractSpec, OnViolation, Severity
from app.validation.datasets import dataset_results, summary_frame
from app.validation.frames import check_exprs, key_loader, to_frame
from app.validation.outputs import Finisher, Spill, Window, holds_every_row, write_empty
from app.validation.reading import ParquetSource, Source, open_parquet
from app.validation.results import CheckResult, Outcome, Sample, ValidationReport
from app.validation.rules import RowRule, row_rules, rule_expr
from app.validation.structure import check_structure
from app.validation.tally import RuleTally, Tally
from app.validation.uniqueness import KeyHashes, UniqueOutcome, key_hash

# A window: the rows pandera judges at once (its cost is ~60 ms a window on the bench's 21 row
# checks, whatever the rows), bounded by their decoded size (two windows are held at once: the
# one judged and the next being read) so a wide file gets fewer rows. 100 MiB rather than 128:
# at 5M bench rows (4 row groups a window instead of 5) the peak fell by ~60 MiB (545 → 481-492
# MiB in a script) for ~2% more CPU.
TARGET_ROWS = 1_048_576
WINDOW_BYTES = 100 << 20
PREPASS_ROWS = 262_144  # rows per window of the unique pre-pass (key columns only)
_T = TypeVar("_T")
_R = TypeVar("_R")
_NO_FAILURES = pl.DataFrame(schema={"rule": pl.Int32, "index": pl.Int64})

# pandera's polars backend collects a few small queries per check, on frames already in memory.
# polars' default engine ("auto": streaming) takes ~0.2 ms to start each, the in-memory engine a
# tenth of that: pandera on a 524,288-row window went from 78 to 63 ms, and its fixed cost per
# window from 25 to 13 ms. The default is process-wide; Tollgate's own collects name their
# engine, so it reaches pandera's only. An operator's POLARS_ENGINE_AFFINITY wins.
if "POLARS_ENGINE_AFFINITY" not in os.environ:
    pl.Config.set_engine_affinity("in-memory")


@dataclass(frozen=True)
class Compiled:
    """A contract version ready to validate files: rules and pandera schemas, built once."""

    spec: ContractSpec
    fingerprint: str
    rules: tuple[RowRule, ...]
    row_schemas: tuple[pa.Column, ...]  # one per judged column, costliest first
    row_columns: tuple[str, ...]
    dataset_schema: pa.DataFrameSchema


def compile_contract(spec: ContractSpec) -> Compiled:
    rules = tuple(row_rules(spec))
    row_schemas, row_columns = _row_schemas(rules)
    return Compiled(spec, fingerprint(spec), rules, row_schemas, row_columns, _dataset_schema(spec))


class ContractCache:
    """Compiled contracts by canonical fingerprint (LRU); safe to share between threads."""

    def __init__(self, size: int = 128) -> None:
        self._size = size
        self._items: OrderedDict[str, Compiled] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, spec: ContractSpec) -> Compiled:
        key = fingerprint(spec)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit
        compiled = compile_contract(spec)
        with self._lock:
            self._items[key] = compiled
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return compiled

    def __len__(self) -> int:
        return len(self._items)


def _check(expr: pl.Expr, error: str, *, ignore_na: bool) -> pa.Check:
    def run(data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(expr)

    return pa.Check(run, error=error, ignore_na=ignore_na)


def _cost(rule: RowRule) -> int:
    """A rough relative cost of the rule per window: pandera's own work, then the evaluation
    (regexes dominate, then string scans)."""
    return 2 + {"matches": 6, "in_set": 1, "min_length": 1, "max_length": 1}.get(rule.check, 0)


def _row_schemas(rules: tuple[RowRule, ...]) -> tuple[tuple[pa.Column, ...], tuple[str, ...]]:
    """One pandera column per judged column, costliest first; each check's `error` is
    `r<rule index>`."""
    by_column: dict[str, list[pa.Check]] = {}
    cost: dict[str, int] = {}
    for rule in rules:
        if not rule.is_unique:
            check = _check(rule_expr(rule), f"r{rule.index}", ignore_na=rule.check != "not_null")
            by_column.setdefault(rule.columns[0], []).append(check)
            cost[rule.columns[0]] = cost.get(rule.columns[0], 0) + _cost(rule)
    columns = tuple(
        pa.Column(None, checks=by_column[name], nullable=True, name=name)
        for name in sorted(by_column, key=lambda n: -cost[n])
    )
    return columns, tuple(by_column)


def _dataset_schema(spec: ContractSpec) -> pa.DataFrameSchema:
    """row_count and freshness as checks on a one-row summary of the file (`d<position>`)."""
    checks = []
    for k, ds in enumerate(spec.checks):
        if ds.row_count is not None:
            rows = pl.col("rows")
            expr = pl.lit(True)
            if ds.row_count.min is not None:
                expr = expr & (rows >= ds.row_count.min)
            if ds.row_count.max is not None:
                expr = expr & (rows <= ds.row_count.max)
            checks.append(_check(expr.alias("ok"), f"d{k}", ignore_na=False))
        elif ds.freshness is not None:
            expr = pl.col(f"latest_{k}") >= pl.col(f"since_{k}")
            checks.append(_check(expr, f"d{k}", ignore_na=False))
    return pa.DataFrameSchema(checks=checks, name=f"{spec.name} (dataset)")


def _row_failures(
    columns: tuple[pa.Column, ...], frame: pl.DataFrame, pool: ThreadPoolExecutor
) -> pl.DataFrame:
    """Every row check's failures on `frame`. This thread and `pool`'s take the columns one at
    a time from a shared queue, costliest first (polars releases the GIL while evaluating: both
    cores work, and neither waits on a fixed half the other has not finished)."""
    if not columns:
        return _NO_FAILURES
    todo: queue.SimpleQueue[pa.Column] = queue.SimpleQueue()
    for column in columns:
        todo.put(column)
    other = pool.submit(_column_failures, todo, frame)
    parts = _column_failures(todo, frame) + other.result()
    return pl.concat(parts) if parts else _NO_FAILURES


def _column_failures(todo: queue.SimpleQueue[pa.Column], frame: pl.DataFrame) -> list[pl.DataFrame]:
    """pandera's validation of the columns taken from `todo` until it is empty; their failure
    cases as (`rule`, `index`).

    Each column is validated on its own (not through a DataFrameSchema, which would build
    every failure's metadata a second time): pandera still evaluates every check. pandera gets
    a LazyFrame over `frame` (a DataFrame it would copy whole on every call), with the data
    checks explicitly on: a LazyFrame alone would have them skipped (SCHEMA_ONLY).
    """
    lazy = frame.lazy()
    parts: list[pl.DataFrame] = []
    with config_context(validation_depth=ValidationDepth.SCHEMA_AND_DATA):
        while True:
            try:
                column = todo.get_nowait()
            except queue.Empty:
                return parts
            try:
                column.validate(lazy, lazy=True)
            except SchemaErrors as exc:
                parts.append(_rule_failures(exc.failure_cases, "r"))
            except SchemaError as exc:
                raise RuntimeError(f"pandera refused the frame: {exc}") from None


def _failures(schema: pa.DataFrameSchema, frame: pl.DataFrame, prefix: str) -> pl.DataFrame:
    """Run a whole-frame pandera schema lazily; its failure cases as (`rule`, `index`)."""
    try:
        with config_context(validation_depth=ValidationDepth.SCHEMA_AND_DATA):
            schema.validate(frame.lazy(), lazy=True)
    except SchemaErrors as exc:
        return _rule_failures(exc.failure_cases, prefix)
    except SchemaError as exc:
        raise RuntimeError(f"pandera refused the frame: {exc}") from None
    return _NO_FAILURES


def _rule_failures(cases: pl.DataFrame, prefix: str) -> pl.DataFrame:
    ours = pl.col("check").str.contains(f"^{prefix}[0-9]+$").fill_null(False)
    odd = cases.filter(~ours)
    if odd.height:
        raise RuntimeError(f"pandera reported an unexpected failure: {odd.row(0, named=True)}")
    return cases.select(
        rule=pl.col("check").str.slice(1).cast(pl.Int32),
        index=pl.col("index").cast(pl.Int64),
    )


def _side_by_side(pool: ThreadPoolExecutor, fn: Callable[[_T], _R], items: list[_T]) -> list[_R]:
    """`fn` over `items`, every other one in `pool`'s thread while this thread does the rest."""
    theirs = [pool.submit(fn, item) for item in items[1::2]]
    mine = [fn(item) for item in items[0::2]]
    out: list[_R] = []
    for k in range(len(items)):
        out.append(mine[k // 2] if k % 2 == 0 else theirs[k // 2].result())
    return out


def validate(
    spec: ContractSpec,
    source: Source,
    *,
    now: datetime,
    failures_to: Path | None = None,
    quarantine_to: Path | None = None,
    cache: ContractCache | None = None,
    window_rows: int = TARGET_ROWS,
    pages_checked: bool = False,
) -> ValidationReport:
    """Validate one Parquet file (path or pyarrow NativeFile) against `spec`.

    Raises UnreadableParquet when the bytes are not readable Parquet. `now` (aware) is the
    freshness reference. `failures_to`: write the failing rows there (always, maybe empty).
    `quarantine_to`: write the quarantined rows there when the outcome is partial.
    `window_rows`: about how many rows (whole row groups) pandera judges at a time, at most;
    a window also stays within WINDOW_BYTES decoded. `pages_checked`: the caller vouches
    that these very bytes passed `inspect_parquet`'s page walk (every stored upload did, at
    ingest), so the page headers are not walked again. Never for other bytes: without the
    walk, a footer that under-counts its rows is read short.
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    compiled = cache.get(spec) if cache is not None else compile_contract(spec)
    with open_parquet(source) as src:
        structural = check_structure(spec, src.schema, src.rows)
        if structural:
            if failures_to is not None:
                write_empty(failures_to, src.schema)
            return ValidationReport(
                Outcome.REJECTED, src.rows, 0, 0, structural, failures_path=failures_to
            )
        run = _Run(compiled, src, now, failures_to, quarantine_to, window_rows, pages_checked)
        return run.execute()


class _Run:
    """One validation of one file: the streaming pass, then unique, dataset checks, outcome."""

    def __init__(
        self,
        compiled: Compiled,
        src: ParquetSource,
        now: datetime,
        failures_to: Path | None,
        quarantine_to: Path | None,
        window_rows: int,
        pages_checked: bool,
    ) -> None:
        self.c, self.src, self.now = compiled, src, now
        self.failures_to, self.quarantine_to = failures_to, quarantine_to
        spec = compiled.spec
        fresh = [ds.freshness.column for ds in spec.checks if ds.freshness is not None]
        self.tally = Tally(list(compiled.rules), fresh)
        self.hashes = {r.index: KeyHashes(r.columns) for r in compiled.rules if r.is_unique}
        self.pages_checked = pages_checked  # every page header checked before the main pass
        self.windows = [
            Window(i, a, b, src.offsets[a], src.offsets[b])
            for i, (a, b) in enumerate(src.windows(window_rows, WINDOW_BYTES))
        ]

    def execute(self) -> ValidationReport:
        wanted = self.failures_to or self.quarantine_to
        scratch = str(wanted.parent) if wanted is not None else None
        with (
            tempfile.TemporaryDirectory(dir=scratch, prefix="tollgate-") as tmp,
            # the one helper thread of the run: work beside the calling thread, phase by phase
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="validate") as pool,
        ):
            spill = Spill(Path(tmp) / "spill.parquet", self.src.schema if wanted else None)
            self._prepass(pool)
            try:
                self._stream(spill, pool)
            finally:
                spill.close()
            unique_rows = self._resolve_unique(pool)
            return self._conclude(spill, unique_rows)

    def _stream(self, spill: Spill, pool: ThreadPoolExecutor) -> None:
        spans = [(w.first_group, w.last_group) for w in self.windows]
        chunks: Iterator[pl.DataFrame] = self.src.iter_windows(spans, pages=not self.pages_checked)
        try:
            for w, table in zip(self.windows, chunks, strict=True):
                self._chunk(w, table, spill, pool)
        finally:
            chunks.close()  # type: ignore[attr-defined]

    def _prepass(self, pool: ThreadPoolExecutor) -> None:
        """Hash the unique keys (key columns only) and find each rule's candidate rows."""
        if not self.hashes:
            return
        keys = {c for h in self.hashes.values() for c in h.columns}
        declared = [c for c in self.c.spec.columns if c.name in keys]
        in_file = [c.name for c in declared if c.name in self.src.schema.names]
        exprs = [key_hash(h.columns).alias(f"h{i}") for i, h in self.hashes.items()]
        if self.src.path is not None and in_file:

            def hashes(scan: pl.LazyFrame) -> pl.LazyFrame:
                return scan.select(check_exprs(scan.collect_schema(), declared)).select(exprs)

            # one streaming query; the page headers checked (Python, in `pool`) meanwhile, so
            # the main pass need not; a page problem is raised first: its detail is precise
            pages = None if self.pages_checked else pool.submit(self.src.check_all_pages)
            try:
                hashed = self.src.scan(in_file, hashes)
            finally:
                if pages is not None:
                    pages.result()
            self.pages_checked = True
            for i, h in self.hashes.items():
                h.add(hashed.get_column(f"h{i}"))
        else:
            self._prepass_windows(declared, in_file, exprs)
        # two rules at a time (polars releases the GIL), each sorting an eighth of its hashes
        _side_by_side(pool, KeyHashes.finish_prepass, list(self.hashes.values()))

    def _prepass_windows(
        self, declared: list[Column], in_file: list[str], exprs: list[pl.Expr]
    ) -> None:
        """The pre-pass window by window, for an open stream (or no key column in the file)."""
        spans = self.src.windows(PREPASS_ROWS)
        chunks: Iterator[pl.DataFrame] = self.src.iter_windows(spans, in_file, pages=False)
        offsets = self.src.offsets
        try:
            for (a, b), read in zip(spans, chunks, strict=True):
                hashed = to_frame(read, declared, offsets[b] - offsets[a]).select(exprs)
                for i, h in self.hashes.items():
                    h.add(hashed.get_column(f"h{i}"))
        finally:
            chunks.close()  # type: ignore[attr-defined]

    def _chunk(self, w: Window, read: pl.DataFrame, spill: Spill, pool: ThreadPoolExecutor) -> None:
        frame = to_frame(read, self.c.spec.columns, w.end - w.start)
        failures = _row_failures(self.c.row_schemas, frame.select(self.c.row_columns), pool)
        self.tally.add(w.start, frame, failures)
        keep = []
        for h in self.hashes.values():
            local = h.in_window(w.start, w.end) if h.capturing else None
            if local is not None and len(local):
                h.capture(frame, w.start, local)
                keep.append(local)
        rows = pl.concat(keep).unique() if keep else pl.Series([], dtype=pl.Int64)
        spill.add(w.index, w.start, failures, read, rows)

    def _resolve_unique(self, pool: ThreadPoolExecutor) -> dict[int, pl.Series]:
        """Each unique rule's failing rows; rules side by side when re-reads are independent."""

        def resolve(hashes: KeyHashes) -> UniqueOutcome:
            return hashes.resolve(key_loader(self.src, self.c.spec, hashes.columns))

        todo = list(self.hashes.values())
        if self.src.path is not None:
            outcomes = dict(zip(self.hashes, _side_by_side(pool, resolve, todo), strict=True))
        else:  # one open stream: its reads must not interleave
            outcomes = dict(zip(self.hashes, map(resolve, todo), strict=True))
        out: dict[int, pl.Series] = {}
        for i, hashes in self.hashes.items():
            outcome = outcomes[i]
            t = self.tally.rules[i]
            t.checked, t.failed = hashes.checked, len(outcome.rows)
            t.samples = [Sample(row, value) for row, value in outcome.samples]
            out[i] = outcome.rows
        return out

    def _records(self) -> tuple[list[CheckResult], list[RuleTally], bool]:
        """Records in report order; the failed error row rules; whether a dataset check failed."""
        spec, tallies = self.c.spec, self.tally.rules
        summary = summary_frame(spec, self.tally, self.now)
        failed_ds = set(_failures(self.c.dataset_schema, summary, "d").get_column("rule").to_list())
        datasets = dataset_results(spec, self.tally, summary, failed_ds)
        records = [t.result() for t in tallies if t.rule.dataset_index is None]
        keys = {t.rule.dataset_index: t.result() for t in tallies}
        records += [keys[k] if k in keys else datasets[k] for k in range(len(spec.checks))]
        bad_rows = [t for t in tallies if t.rule.severity is Severity.ERROR and not t.passed]
        bad_ds = any(r.severity == Severity.ERROR.value and not r.passed for r in datasets.values())
        return records, bad_rows, bad_ds

    def _conclude(self, spill: Spill, unique_rows: dict[int, pl.Series]) -> ValidationReport:
        records, bad_rows, bad_ds = self._records()
        rows = self.tally.rows
        quarantine = self.c.spec.on_violation is OnViolation.QUARANTINE and bad_rows and not bad_ds
        q_rules = frozenset(t.rule.index for t in bad_rows) if quarantine else frozenset()
        if quarantine and holds_every_row(spill, unique_rows, q_rules, rows):
            quarantine, q_rules = False, frozenset()  # it would hold every row: rejected
        q_to = self.quarantine_to if quarantine else None
        quarantined = pyarrow.array([], pyarrow.int64())
        if self.failures_to is not None or quarantine:
            ids = [r.id for r in self.c.rules]
            finisher = Finisher(self.src, spill, unique_rows, ids, q_rules, self.failures_to, q_to)
            quarantined = finisher.run(self.windows)
        report = ValidationReport(
            Outcome.ACCEPTED, rows, rows, 0, records, failures_path=self.failures_to
        )
        if bad_ds or (bad_rows and not quarantine):
            report.outcome, report.rows_accepted = Outcome.REJECTED, 0
        elif quarantine:
            report.outcome = Outcome.PARTIAL
            report.rows_quarantined = len(quarantined)
            report.rows_accepted = rows - report.rows_quarantined
            report.quarantined_rows = quarantined
            report.quarantine_path = q_to
        return report
