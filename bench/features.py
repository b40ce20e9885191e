"""Feature-store benchmark: training sets (HTTP, engine, bare polars join_asof, pandas merge_asof)
and online lookups (HTTP vs one direct query of the online table).

    .venv/bin/pip install -e ".[bench]" && .venv/bin/python bench/features.py [--runs 3]

A feature table of 100,000 entities x 50 daily timestamps (5M rows, 8 features of mixed types) is
ingested through the service (`tollgate serve` in a subprocess, 10 uploads of 500,000 rows), then,
for entity frames of 100,000 and 1,000,000 rows (random entities, 2% unknown, random times), the
same point-in-time answer is timed four ways; then 2,000 online lookups of 100 entities over HTTP
against the same lookup as one query of the online table in process. Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

ENTITIES, DAYS, PER_UPLOAD, KEY = 100_000, 50, 5, "tg_bench_admin_key"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
TTL_DAYS = 7
FEATURES = ["f_int", "f_long", "f_float", "f_double", "f_bool", "f_cat", "f_text", "f_small"]
CONTRACT = {
    "name": "bench_users",
    "columns": [
        {"name": "user_id", "type": "int64", "nullable": False},
        {"name": "ts", "type": "timestamp", "nullable": False},
        {"name": "f_int", "type": "int32", "checks": [{"in_range": {"min": 0}}]},
        {"name": "f_long", "type": "int64"},
        {"name": "f_float", "type": "float32"},
        {"name": "f_double", "type": "float64", "checks": [{"in_range": {"min": 0, "max": 1}}]},
        {"name": "f_bool", "type": "bool"},
        {"name": "f_cat", "type": "string", "checks": [{"in_set": ["a", "b", "c", "d"]}]},
        {"name": "f_text", "type": "string"},
        {"name": "f_small", "type": "int16"},
    ],
    "features": {"entity": ["user_id"], "timestamp": "ts", "ttl": f"{TTL_DAYS}d"},
}


def feature_batch(rng: np.random.Generator, days: range) -> pa.Table:
    n = ENTITIES * len(days)
    ids = np.tile(np.arange(ENTITIES, dtype=np.int64), len(days))
    day = np.repeat(np.array(days, dtype=np.int64), ENTITIES)
    micros = int(T0.timestamp() * 1e6) + day * 86_400_000_000 + rng.integers(0, 3_600_000_000, n)
    return pa.table(
        {
            "user_id": ids,
            "ts": pa.array(micros, pa.timestamp("us", "UTC")),
            "f_int": pa.array(rng.integers(0, 1000, n), pa.int32()),
            "f_long": rng.integers(0, 10**12, n),
            "f_float": pa.array(rng.random(n), pa.float32()),
            "f_double": rng.random(n),
            "f_bool": rng.random(n) < 0.5,
            "f_cat": pa.array(np.array(["a", "b", "c", "d"])[rng.integers(0, 4, n)]),
            "f_text": pa.array([f"t{v}" for v in rng.integers(0, 10**6, n)]),
            "f_small": pa.array(rng.integers(0, 100, n), pa.int16()),
        }
    )


def entity_frame(rng: np.random.Generator, rows: int) -> pl.DataFrame:
    ids = rng.integers(0, int(ENTITIES * 1.02), rows)  # ~2% unknown entities
    hours = rng.integers(0, DAYS * 24 + 24 * TTL_DAYS, rows)
    times = int(T0.timestamp() * 1e6) + hours * 3_600_000_000
    return pl.DataFrame(
        {"user_id": ids, "event_timestamp": pl.Series(times).cast(pl.Datetime("us", "UTC"))}
    )


def start_server(data: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [str(Path(sys.executable).parent / "tollgate"), "serve", "--port", str(port)]
    env = {**os.environ, "TOLLGATE_ADMIN_KEY": KEY, "TOLLGATE_DATA_DIR": str(data)}
    log = (data / "server.log").open("w")
    server = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/healthz").status_code == 200:
                return server, url
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError((data / "server.log").read_text()[-2000:])


def ingest(http: httpx.Client, rng: np.random.Generator) -> float:
    assert http.post("/v1/contracts", json=CONTRACT).status_code == 201
    started = time.perf_counter()
    for first in range(0, DAYS, PER_UPLOAD):
        body = io.BytesIO()
        pq.write_table(feature_batch(rng, range(first, first + PER_UPLOAD)), body)
        r = http.post(
            "/v1/contracts/bench_users/batches",
            content=body.getvalue(),
            headers={"Content-Type": "application/vnd.apache.parquet"},
        )
        assert r.status_code == 201, r.text[:500]
        assert r.json()["status"] == "accepted", r.text[:500]
    return time.perf_counter() - started


def _vm(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def timed(fn: Any, runs: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def bare_join(uri: str, entities: pl.DataFrame) -> pl.DataFrame:
    """The floor: read the needed columns, sort, one join_asof with the ttl as tolerance."""
    feats = pl.scan_delta(uri).select("user_id", "ts", *FEATURES).sort("ts").collect()
    left = entities.sort("event_timestamp")
    return left.join_asof(
        feats,
        left_on="event_timestamp",
        right_on="ts",
        by="user_id",
        strategy="backward",
        tolerance=f"{TTL_DAYS}d",
        check_sortedness=False,
    )


def pandas_join(uri: str, entities: pl.DataFrame) -> Any:
    import pandas as pd  # type: ignore[import-untyped]

    feats = pl.scan_delta(uri).select("user_id", "ts", *FEATURES).collect().to_pandas()
    feats = feats.sort_values("ts")
    left = entities.to_pandas().sort_values("event_timestamp")
    return pd.merge_asof(
        left,
        feats,
        left_on="event_timestamp",
        right_on="ts",
        by="user_id",
        direction="backward",
        tolerance=pd.Timedelta(days=TTL_DAYS),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--lookups", type=int, default=2000)
    ap.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    args = ap.parse_args()
    from app.config import Settings
    from app.db.engine import make_engine, make_sessionmaker
    from app.features import repository, service
    from app.features.encoding import entity_key
    from app.features.offline import OfflineStore

    print(
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"polars {pl.__version__}, pyarrow {pa.__version__}\n"
    )
    rng = np.random.default_rng(20260101)
    data = Path(tempfile.mkdtemp(prefix="tollgate-features-bench-"))
    server, url = start_server(data)
    try:
        auth = {"Authorization": f"Bearer {KEY}"}
        with httpx.Client(base_url=url, headers=auth, timeout=None) as http:
            took = ingest(http, rng)
        server.terminate()  # a fresh server: its peak RSS then tells what reads cost
        server.wait(60)
        server, url = start_server(data)
        rss_start = _vm(server.pid, "VmRSS")
        with httpx.Client(base_url=url, headers=auth, timeout=None) as http:
            view = http.get("/v1/features/bench_users").json()
            print(
                f"ingested {view['rows']:,} rows in {DAYS // PER_UPLOAD} uploads over HTTP in "
                f"{took:.1f} s (validation, Delta append, online upsert); "
                f"snapshot {view['latest_snapshot']}\n"
            )
            settings = Settings(data_dir=data)
            offline = OfflineStore(settings.storage_url)
            engine = make_engine(settings.database_url)
            maker = make_sessionmaker(engine)
            with maker() as session:
                v = service.get_view(session, "bench_users")
            uri = offline.uri("bench_users")
            print("| entity rows | measurement | median s | x bare join |")
            print("|---:|---|---:|---:|")
            ratios: dict[int, dict[str, float]] = {}
            hwm: dict[int, float] = {}
            for rows in args.rows:
                frame = entity_frame(rng, rows)
                body = io.BytesIO()
                frame.write_parquet(body)
                payload = body.getvalue()

                def over_http(payload: bytes = payload) -> int:
                    r = http.post(
                        "/v1/features/bench_users/training-set",
                        content=payload,
                        headers={"Content-Type": "application/vnd.apache.parquet"},
                    )
                    assert r.status_code == 200, r.text[:300]
                    return pq.read_metadata(io.BytesIO(r.content)).num_rows  # received, checked

                def in_process(frame: pl.DataFrame = frame) -> pl.DataFrame:
                    return service.training_set(
                        offline,
                        v,
                        frame,
                        features=FEATURES,
                        snapshot=v.latest_snapshot,
                        timestamp_column="event_timestamp",
                        lineage=False,
                    )

                floor, _ = timed(lambda frame=frame: bare_join(uri, frame), args.runs)
                results = {
                    "bare polars join_asof": floor,
                    "engine (in process)": timed(in_process, args.runs)[0],
                    "HTTP training set (Parquet)": timed(over_http, args.runs)[0],
                    "pandas merge_asof": timed(lambda frame=frame: pandas_join(uri, frame), 1)[0],
                }
                ratios[rows] = {k: s / floor for k, s in results.items()}
                hwm[rows] = _vm(server.pid, "VmHWM")
                for k, s in results.items():
                    print(f"| {rows:,} | {k} | {s:.3f} | {s / floor:.2f}x |")
            print(
                f"\nserver RSS after start {rss_start:.0f} MiB; peak (VmHWM) after each size: "
                + ", ".join(f"{r:,} rows {m:.0f} MiB" for r, m in hwm.items())
            )
            keys = [rng.choice(ENTITIES, 100, replace=False).tolist() for _ in range(args.lookups)]
            lat = []
            for ids in keys:
                t0 = time.perf_counter()
                r = http.post(
                    "/v1/features/bench_users/online",
                    json={"entities": [{"user_id": i} for i in ids]},
                )
                lat.append(time.perf_counter() - t0)
                assert r.status_code == 200
            direct = []
            with maker() as session:
                for ids in keys[:500]:
                    t0 = time.perf_counter()
                    found = repository.online(
                        session, "bench_users", [entity_key([i]) for i in ids]
                    )
                    direct.append(time.perf_counter() - t0)
                    assert len(found) == 100
            engine.dispose()
        p50, p99 = np.percentile(lat, 50) * 1e3, np.percentile(lat, 99) * 1e3
        d50 = np.percentile(direct, 50) * 1e3
        print("\n| online lookup of 100 entities | p50 ms | p99 ms | x direct p50 |")
        print("|---|---:|---:|---:|")
        print(f"| HTTP ({args.lookups:,} requests) | {p50:.2f} | {p99:.2f} | {p50 / d50:.1f}x |")
        print(
            f"| one direct query in process (floor) | {d50:.2f} | "
            f"{np.percentile(direct, 99) * 1e3:.2f} | 1.0x |\n"
        )
        big = max(ratios)
        checks = [
            (f"engine ≤ 1.2x bare join ({big:,} rows)", ratios[big]["engine (in process)"], 1.2),
            (
                f"HTTP ≤ 2x bare join ({big:,} rows)",
                ratios[big]["HTTP training set (Parquet)"],
                2.0,
            ),
            ("online HTTP p50 ≤ 10x direct query", p50 / d50, 10.0),
        ]
        for label, got, limit in checks:
            print(f"- {'PASS' if got <= limit else 'MISS'} {label}: {got:.2f}x")
    finally:
        server.terminate()
        server.wait(60)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
