"""Validation benchmark: a bare Parquet read vs the engine vs the HTTP path vs pandera on pandas.

    .venv/bin/python bench/validate.py [--rows 1000000 5000000] [--runs 3] [--out DIR]
                                       [--worst-cases]

Generates (and caches in --out) a search-events file per row count with ~0.1% injected bad rows,
then times every measurement in a fresh subprocess (peak RSS is per measurement) and prints a
Markdown table per size: median seconds, ratio to the bare read, peak RSS; then the targets.
--worst-cases then times the engine on two files where every row fails unique (no target).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

NAME, KEY, GROUP, SEED, GEN = "bench_search_events", "tg_bench_admin_key", 131_072, 20250101, 1
ANCHOR = datetime(2025, 1, 1, tzinfo=UTC)  # every good ts lies in the 24h before it
UUID = "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
DEVICES, CURRENCIES = ["desktop", "mobile", "tablet"], ["EUR", "GBP", "USD"]
COUNTRIES = "DE FR GB ES IT NL BE AT CH PL SE DK NO FI IE PT CZ US CA JP".split()  # noqa: SIM905
WORDS = ["red", "blue", "black", "running", "trail", "leather", "wool", "kids", "cheap"]
ITEMS = ["shoes", "jacket", "socks", "watch", "phone", "case", "lamp", "desk", "chair", "bag"]
VOCAB = [f"{a} {b} {c}" for a in WORDS for b in WORDS for c in ITEMS]
# injected fault → the check id it must fail; "dup" rows and their sources both fail unique
FAULTS = {
    "price": "in_range:price", "device": "in_set:device", "country": "matches:country",
    "item_null": "not_null:item_id", "dup": "unique:event_id", "query": "max_length:query",
    "position": "in_range:position", "ts": "in_range:ts",
}  # fmt: skip
TS_RANGE = {"min": "2020-01-01T00:00:00Z", "max": "2030-01-01T00:00:00Z"}
DWELL: list[dict[str, Any]] = [
    {"in_range": {"min": 0, "max": 86400}},
    {"in_range": {"max": 3600}, "severity": "warning", "mostly": 0.99},
]
COLUMNS: dict[str, tuple[str, bool, list[dict[str, Any]]]] = {  # name: type, nullable, checks
    "event_id": ("string", False, [{"matches": UUID}]),
    "ts": ("timestamp", False, [{"in_range": TS_RANGE}]),
    "user_id": ("int64", False, [{"in_range": {"min": 1}}]),
    "session_id": ("string", False, []),
    "query": ("string", True, [{"min_length": 1}, {"max_length": 200}]),
    "position": ("int16", False, [{"in_range": {"min": 1, "max": 100}}]),
    "item_id": ("int64", False, []),
    "price": ("float64", True, [{"in_range": {"min": 0, "max": 100000}}]),
    "device": ("string", True, [{"in_set": DEVICES}]),
    "country": ("string", True, [{"matches": "[A-Z]{2}"}]),
    "clicked": ("bool", False, []),
    "dwell_seconds": ("float32", True, DWELL),
    "score": ("float64", True, []),
    "currency": ("string", True, [{"in_set": CURRENCIES}]),
    "latency_ms": ("int32", True, [{"in_range": {"min": 0, "max": 60000}}]),
    "is_ad": ("bool", False, []),
}  # fmt: skip
ARROW = {"string": pa.string(), "timestamp": pa.timestamp("us", tz="UTC"), "bool": pa.bool_()}
SCHEMA = pa.schema([(n, ARROW.get(t) or pa.type_for_alias(t)) for n, (t, _, _) in COLUMNS.items()])


def max_age_days() -> int:
    return (datetime.now(UTC) - ANCHOR).days + 2  # reaches back to ANCHOR: cached files stay fresh


def contract() -> dict[str, Any]:
    """25 checks: not_null x8, unique x2, matches x2, in_range x8, in_set x2, lengths, datasets."""
    columns = [
        {"name": n, "type": t, "nullable": null, "checks": cs, "unique": n == "event_id"}
        for n, (t, null, cs) in COLUMNS.items()
    ]
    checks = [
        {"row_count": {"min": 1, "max": 50_000_000}},
        {"unique": ["session_id", "position"], "mostly": 0.999},
        {"freshness": {"column": "ts", "max_age": f"{max_age_days()}d"}},
    ]
    return {"name": NAME, "on_violation": "quarantine", "columns": columns, "checks": checks}


def _chunk(start: int, n: int) -> tuple[pa.Table, Counter[str]]:
    """Rows [start, start+n): deterministic, with n//8000 rows of each fault, all disjoint."""
    rng = np.random.default_rng([SEED, start])
    k = n // 8000
    picks = rng.choice(n, size=k * (len(FAULTS) + 1), replace=False)
    bad = dict(zip(FAULTS, np.split(picks[: k * len(FAULTS)], len(FAULTS)), strict=True))
    row = np.arange(start, start + n, dtype=np.int64)
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)  # a UUID v4, unique by its tail
    raw[:, 6], raw[:, 8] = 0x40 | (raw[:, 6] & 0x0F), 0x80 | (raw[:, 8] & 0x3F)
    raw[:, 10:] = row.astype(">u8").view(np.uint8).reshape(n, 8)[:, 2:]
    raw[bad["dup"]] = raw[picks[k * len(FAULTS) :]]
    hx = np.frombuffer(raw.tobytes().hex().encode(), dtype="S1").reshape(n, 32)
    dash = np.full((n, 1), b"-", dtype="S1")
    cuts = [hx[:, :8], dash, hx[:, 8:12], dash, hx[:, 12:16], dash, hx[:, 16:20], dash, hx[:, 20:]]
    uuid = np.ascontiguousarray(np.hstack(cuts)).view("S36").ravel()
    ts = int(ANCHOR.timestamp() * 1e6) - rng.integers(0, 86_400_000_000, n)
    ts[bad["ts"]] = rng.integers(0, 10**15, k)  # before 2002
    query = rng.integers(0, len(VOCAB), n)
    query[bad["query"]] = len(VOCAB)
    position = (row % 10 + 1).astype(np.int16)
    position[bad["position"]] += 100
    price = np.round(rng.lognormal(3.0, 1.0, n), 2).clip(0.5, 50_000)
    price[bad["price"]] = np.where(rng.random(k) < 0.5, -1.0, 250_000.0)
    device = rng.choice(3, n, p=[0.35, 0.55, 0.10])
    device[bad["device"]] = 3
    country = rng.integers(0, len(COUNTRIES), n)
    country[bad["country"]] = len(COUNTRIES)
    clicked = rng.random(n) < 0.08
    nulls = rng.random((2, n)) < [[0.02], [0.01]]  # query, country
    nulls[0, bad["query"]] = nulls[1, bad["country"]] = False
    item_null = np.zeros(n, dtype=bool)
    item_null[bad["item_null"]] = True
    cols = [
        pa.array(uuid).cast(pa.string()),
        pa.array(ts, SCHEMA.field("ts").type),
        pa.array(rng.integers(1, 10_000_000, n)),
        pc.binary_join_element_wise("sess-", pc.cast(pa.array(row // 10), pa.string()), ""),
        pa.array([*VOCAB, "x" * 250]).take(pa.array(query, mask=nulls[0])),
        pa.array(position),
        pa.array(rng.integers(1, 5_000_000, n), mask=item_null),
        pa.array(price),
        pa.array([*DEVICES, "smart-tv"]).take(pa.array(device)),
        pa.array([*COUNTRIES, "usa"]).take(pa.array(country, mask=nulls[1])),
        pa.array(clicked),
        pa.array(np.minimum(rng.exponential(45, n), 3000).astype(np.float32), mask=~clicked),
        pa.array(rng.normal(0.0, 1.5, n)),
        pa.array(CURRENCIES).take(pa.array(rng.choice(3, n, p=[0.6, 0.25, 0.15]))),
        pa.array(rng.integers(5, 2000, n).astype(np.int32)),
        pa.array(rng.random(n) < 0.1),
    ]
    faults = Counter(dict.fromkeys(FAULTS, k)) + Counter({"dup": k})
    return pa.Table.from_arrays(cols, schema=SCHEMA), faults


def ensure_file(out: Path, rows: int) -> tuple[Path, dict[str, Any]]:
    path, meta_path = out / f"search_events_{rows}_g{GEN}.parquet", out / f"{rows}_g{GEN}.json"
    if not (path.exists() and meta_path.exists()):
        t0, faults, tmp = time.perf_counter(), Counter[str](), path.with_suffix(".tmp")
        with pq.ParquetWriter(tmp, SCHEMA, compression="zstd") as writer:
            for start in range(0, rows, GROUP):
                table, counts = _chunk(start, min(GROUP, rows - start))
                writer.write_table(table, row_group_size=GROUP)
                faults += counts
        tmp.rename(path)
        expected = {FAULTS[f]: c for f, c in faults.items()}
        meta = {"expected": expected, "quarantined": sum(faults.values())}
        meta_path.write_text(json.dumps(meta))
        print(f"generated {path} in {time.perf_counter() - t0:.1f} s", flush=True)
    return path, json.loads(meta_path.read_text())


def _vm(pid: int | str, field: str) -> float:
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    return next(int(ln.split()[1]) for ln in status if ln.startswith(field)) / 1024


def _summary(outcome: str, quarantined: int, checks: list[dict[str, Any]]) -> dict[str, Any]:
    failed = [[f"{c['check']}:{'+'.join(c['columns'])}", c["failed_rows"]] for c in checks]
    return {"outcome": outcome, "quarantined": quarantined, "failed": failed}


def measure_read(path: Path, warm: Path) -> dict[str, Any]:
    for p in (warm, path):  # the first pass, on a small file, pays the one-time costs
        before, t0 = _vm("self", "VmRSS"), time.perf_counter()
        pq.read_table(p)
        took = time.perf_counter() - t0
    return {"s": took, "rss": _vm("self", "VmHWM"), "before": before}


def measure_engine(path: Path, warm: Path) -> dict[str, Any]:
    from app.contracts.parsing import parse_contract
    from app.validation.engine import validate

    spec = parse_contract(contract())
    for p in (warm, path):
        with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
            before, t0 = _vm("self", "VmRSS"), time.perf_counter()
            f, q = Path(tmp) / "f.parquet", Path(tmp) / "q.parquet"
            r = validate(spec, p, now=datetime.now(UTC), failures_to=f, quarantine_to=q)
            took = time.perf_counter() - t0
    summary = _summary(r.outcome.value, r.rows_quarantined, [c.as_dict() for c in r.checks])
    return {"s": took, "rss": _vm("self", "VmHWM"), "before": before, **summary}


def measure_http(path: Path, warm: Path) -> dict[str, Any]:
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = Path(tempfile.mkdtemp(dir=path.parent, prefix="server-"))
    cmd = [str(Path(sys.executable).parent / "tollgate"), "serve", "--port", str(port)]
    env = {**os.environ, "TOLLGATE_ADMIN_KEY": KEY, "TOLLGATE_DATA_DIR": str(data)}
    with (data / "server.log").open("w") as log:
        server = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    auth = {"Authorization": f"Bearer {KEY}"}
    parquet = {"Content-Type": "application/vnd.apache.parquet"}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=auth, timeout=None) as c:
            for _ in range(300):
                try:
                    if c.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            reg = c.post("/v1/contracts", json=contract())
            assert reg.status_code == 201, (data / "server.log").read_text()[-2000:] + reg.text
            for p in (warm, path):
                with p.open("rb") as body:  # streamed from disk, never held by the client
                    before, t0 = _vm(server.pid, "VmRSS"), time.perf_counter()
                    r = c.post(f"/v1/contracts/{NAME}/batches", content=body, headers=parquet)
                    took = time.perf_counter() - t0
                assert r.status_code == 201, r.text[:500]
        rep, hwm = r.json(), _vm(server.pid, "VmHWM")
        summary = _summary(rep["status"], rep["rows_quarantined"], rep["checks"])
        return {"s": took, "rss": hwm, "before": before, "client": _vm("self", "VmHWM"), **summary}
    finally:
        server.terminate()
        server.wait(60)
        shutil.rmtree(data)


def measure_pandas(path: Path, warm: Path) -> dict[str, Any]:
    import pandas as pd  # type: ignore[import-untyped]
    import pandera.pandas as pp
    from pandera.errors import SchemaErrors

    chk, cols = pp.Check, {}
    for c in contract()["columns"]:
        checks = []
        for rule in c["checks"]:
            warn = {"raise_warning": rule.get("severity") == "warning"}
            if "in_range" in rule:
                b = {k: pd.Timestamp(v) if c["type"] == "timestamp" else v
                     for k, v in rule["in_range"].items()}  # fmt: skip
                checks += [chk.ge(b["min"], **warn)] if "min" in b else []
                checks += [chk.le(b["max"], **warn)] if "max" in b else []
            elif "in_set" in rule:
                checks.append(chk.isin(rule["in_set"], **warn))
            elif "matches" in rule:
                checks.append(chk.str_matches(f"^(?:{rule['matches']})$", **warn))
            else:
                lo, hi = rule.get("min_length"), rule.get("max_length")
                checks.append(chk.str_length(min_value=lo, max_value=hi, **warn))
        cols[c["name"]] = pp.Column(None, checks, nullable=c["nullable"], unique=c["unique"])
    since = pd.Timestamp(datetime.now(UTC) - timedelta(days=max_age_days()))
    frame_checks = [chk(lambda d: 1 <= len(d) <= 50_000_000), chk(lambda d: d["ts"].max() >= since)]
    schema = pp.DataFrameSchema(cols, checks=frame_checks, unique=["session_id", "position"])
    for p in (warm, path):
        before, t0 = _vm("self", "VmRSS"), time.perf_counter()
        with contextlib.suppress(SchemaErrors):
            schema.validate(pq.read_table(p).to_pandas(), lazy=True)
        took = time.perf_counter() - t0
    return {"s": took, "rss": _vm("self", "VmHWM"), "before": before}


MEASURES = {
    "bare pq.read_table": measure_read,
    "engine (in process)": measure_engine,
    "HTTP upload → 201 report": measure_http,
    "pandera pandas baseline": measure_pandas,
}


def spawn(kind: str, path: Path, warm: Path) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--measure", kind, str(path), str(warm)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{kind} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# files of nothing but failures, derived from the bench file: each has every row failing unique
WORST = {
    "every key twice (the first half, twice)": "twice",
    "one constant key (an upstream bug)": "constant",
}


def ensure_worst(out: Path, rows: int, how: str) -> Path:
    path = out / f"search_events_{rows}_g{GEN}_{how}.parquet"
    if not path.exists():
        table = pq.read_table(ensure_file(out, rows)[0])
        if how == "twice":
            half = table.slice(0, rows // 2)
            table = pa.concat_tables([half, half])
        else:
            constant = pa.array(["7f1c2d3e-0000-4000-8000-000000000000"] * table.num_rows)
            table = table.set_column(0, "event_id", constant)
        tmp = path.with_suffix(".tmp")
        pq.write_table(table, tmp, row_group_size=GROUP, compression="zstd")
        tmp.rename(path)
    return path


def worst_cases(out: Path, rows: int, warm: Path, runs: int) -> None:
    """The engine on files where every row fails `unique`: median time and peak RSS, against a
    bare read of the same file (the runs interleaved)."""
    print(f"### worst cases: {rows - rows % 2:,} rows where every row fails unique, median of "
          f"{runs} runs\n")  # fmt: skip
    print("| file | bare read s | engine s | x bare read | engine peak RSS MiB | engine outcome |")
    print("|---|---:|---:|---:|---:|---|")
    for label, how in WORST.items():
        path = ensure_worst(out, rows, how)
        got: dict[str, list[dict[str, Any]]] = {"bare pq.read_table": [], "engine (in process)": []}
        for _ in range(runs):
            for kind, results in got.items():
                results.append(spawn(kind, path, warm))
        bare = statistics.median(r["s"] for r in got["bare pq.read_table"])
        engine = statistics.median(r["s"] for r in got["engine (in process)"])
        rss = statistics.median(r["rss"] for r in got["engine (in process)"])
        last = got["engine (in process)"][-1]
        failed = dict(last["failed"])["unique:event_id"]
        outcome = f"{last['outcome']}, unique:event_id failed {failed:,} rows"
        print(f"| {label} | {bare:.2f} | {engine:.2f} | {engine / bare:.2f}x | {rss:.0f} "
              f"| {outcome} |")  # fmt: skip
    print()


def sane(kind: str, got: dict[str, Any], meta: dict[str, Any]) -> str:
    """Each check's failed rows must be exactly what was injected; the outcome partial."""
    bad = [f"{i}: {n} != {meta['expected'].get(i, 0)}" for i, n in got["failed"]
           if n != meta["expected"].get(i, 0)]  # fmt: skip
    if got["outcome"] != "partial" or got["quarantined"] != meta["quarantined"]:
        bad.append(f"{got['outcome']}, {got['quarantined']} quarantined != {meta['quarantined']}")
    return f"- {kind}: " + ("; ".join(bad) or "report OK, every check's failed rows as injected")


def facts() -> None:
    import pandas
    import pandera
    import polars

    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text()
                .splitlines() if ln.startswith("model name")), "?")  # fmt: skip
    print(f"machine: {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
          f"polars {polars.__version__}, pandera {pandera.__version__}, pyarrow {pa.__version__}, "
          f"pandas {pandas.__version__}, numpy {np.__version__}\n")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path("/tmp/tollgate-bench"))
    ap.add_argument(
        "--worst-cases", action="store_true", help="also time files where every row fails unique"
    )
    ap.add_argument("--measure", nargs=3, help=argparse.SUPPRESS)  # KIND FILE WARM_FILE
    args = ap.parse_args()
    if args.measure:
        kind, path, warm = args.measure
        print(json.dumps(MEASURES[kind](Path(path), Path(warm))))
        return
    args.out.mkdir(parents=True, exist_ok=True)
    facts()
    print(f"Each figure: median of {args.runs} runs, each in a fresh process that first makes one "
          "untimed pass over a 10,000-row file (one-time costs out). Peak RSS = VmHWM of that "
          "process; RSS before = VmRSS just before the timed call.\n")  # fmt: skip
    warm = ensure_file(args.out, 10_000)[0]
    med: dict[int, dict[str, tuple[float, float, float]]] = {}
    for rows in sorted(args.rows):
        path, meta = ensure_file(args.out, rows)
        with path.open("rb") as f:  # warm the page cache for every measurement alike
            while f.read(1 << 24):
                pass
        runs: dict[str, list[dict[str, Any]]] = {k: [] for k in MEASURES}
        for _ in range(args.runs):  # interleaved, so drift hits every measurement alike
            for kind in MEASURES:
                runs[kind].append(spawn(kind, path, warm))
        med[rows] = {
            k: tuple(statistics.median(r[f] for r in v) for f in ("s", "before", "rss"))
            for k, v in runs.items()
        }
        base = med[rows]["bare pq.read_table"][0]
        mib = path.stat().st_size / 2**20
        print(f"### {rows:,} rows ({mib:.0f} MiB zstd, {-(-rows // GROUP)} row groups), "
              f"median of {args.runs} runs\n")  # fmt: skip
        print("| measurement | median s | fastest s | slowest s | x bare read | RSS before MiB "
              "| peak RSS MiB |")  # fmt: skip
        print("|---|---:|---:|---:|---:|---:|---:|")
        for kind, (s, before, rss) in med[rows].items():
            times = [r["s"] for r in runs[kind]]
            spread = f"{min(times):.2f} | {max(times):.2f}"
            print(f"| {kind} | {s:.2f} | {spread} | {s / base:.2f}x | {before:.0f} | {rss:.0f} |")
        rounds = zip(runs["engine (in process)"], runs["bare pq.read_table"], strict=True)
        paired = " ".join(f"{e['s'] / b['s']:.2f}x" for e, b in rounds)
        print(f"\nengine / bare read, round by round: {paired}")
        client = max(r["client"] for r in runs["HTTP upload → 201 report"])
        print(f"\nHTTP RSS is the server's (VmRSS, VmHWM); the client peaked at {client:.0f} MiB.")
        for kind in ("engine (in process)", "HTTP upload → 201 report"):
            print("\n".join(sorted({sane(kind, r, meta) for r in runs[kind]})))
        print()
    big, small = max(med), min(med)
    bare, eng, http = (med[big][k] for k in list(MEASURES)[:3])
    growth = eng[2] / med[small]["engine (in process)"][2] - 1
    e, h = eng[0] / bare[0], http[0] / bare[0]
    targets = [
        (f"engine / bare read ≤ 1.5x ({big:,} rows)", e <= 1.5, f"{e:.2f}x"),
        (f"HTTP / bare read ≤ 2.5x ({big:,} rows)", h <= 2.5, f"{h:.2f}x"),
        (f"engine peak RSS ≤ 700 MiB ({big:,} rows)", eng[2] <= 700, f"{eng[2]:.0f} MiB"),
        (f"engine peak RSS growth {small:,} → {big:,} rows < 30%", growth < 0.3, f"{growth:+.1%}"),
    ]  # fmt: skip
    for label, ok, value in targets:
        print(f"- {'PASS' if ok else 'MISS'} {label}: {value}")
    if args.worst_cases:
        print()
        worst_cases(args.out, big, warm, args.runs)


if __name__ == "__main__":
    main()
