"""Train a small model end to end from a Tollgate training set.

    .venv/bin/tollgate serve &                 # or any running Tollgate
    .venv/bin/python examples/train_model.py --url http://127.0.0.1:8000 --key tg_…

It registers a `driver_stats` feature view, uploads 30 days of daily driver statistics in three
batches (as an upstream team would), builds labelled events, asks for a point-in-time-correct
training set, fits a linear model with numpy least squares and reports R² on held-out rows. Then it
saves the training set, so the exact rows can be rebuilt later.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa

from app.client import Client, TollgateError

START = datetime(2026, 1, 1, tzinfo=UTC)
CONTRACT = {
    "name": "driver_stats",
    "owner": "mobility-data",
    "columns": [
        {"name": "driver_id", "type": "int64", "nullable": False},
        {"name": "ts", "type": "timestamp", "nullable": False},
        {"name": "trips", "type": "int32", "checks": [{"in_range": {"min": 0, "max": 500}}]},
        {"name": "rating", "type": "float64", "checks": [{"in_range": {"min": 1, "max": 5}}]},
        {"name": "acceptance", "type": "float64", "checks": [{"in_range": {"min": 0, "max": 1}}]},
    ],
    "features": {"entity": ["driver_id"], "timestamp": "ts", "ttl": "7d"},
}


def daily_stats(rng: np.random.Generator, drivers: int, days: range) -> pa.Table:
    ids = np.repeat(np.arange(drivers), len(days))
    day = np.tile(np.array(days), drivers)
    return pa.table(
        {
            "driver_id": pa.array(ids, pa.int64()),
            "ts": pa.array(
                [START + timedelta(days=int(d)) for d in day], pa.timestamp("us", "UTC")
            ),
            "trips": pa.array(rng.integers(0, 60, ids.size), pa.int32()),
            "rating": rng.uniform(3.0, 5.0, ids.size).round(2),
            "acceptance": rng.uniform(0.3, 1.0, ids.size).round(3),
        }
    )


def events(rng: np.random.Generator, drivers: int, n: int) -> pa.Table:
    """Moments to predict at: a driver and a time between day 1 and day 30."""
    hours = rng.integers(24, 24 * 30, n)
    return pa.table(
        {
            "driver_id": pa.array(rng.integers(0, drivers, n), pa.int64()),
            "event_timestamp": pa.array(
                [START + timedelta(hours=int(h)) for h in hours], pa.timestamp("us", "UTC")
            ),
        }
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", default=os.environ.get("TOLLGATE_URL", "http://127.0.0.1:8000"))
    ap.add_argument("--key", default=os.environ.get("TOLLGATE_KEY"))
    ap.add_argument("--drivers", type=int, default=300)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    if not args.key:
        ap.error("give --key (or TOLLGATE_KEY): a key that may register, upload and read features")
    rng = np.random.default_rng(args.seed)
    with Client(args.url, args.key) as tg:
        try:
            tg.register(CONTRACT)
        except TollgateError as exc:
            if exc.status != 409:
                raise
        for first in (0, 10, 20):  # three deliveries of ten days each
            report = tg.upload(
                "driver_stats", daily_stats(rng, args.drivers, range(first, first + 10))
            )
            print(f"batch {report['id']}: {report['status']}, {report['rows_accepted']} rows")
        rows = events(rng, args.drivers, 4000)
        table = tg.training_set("driver_stats", rows, features=["trips", "rating", "acceptance"])
        snapshot = table.schema.metadata[b"tollgate.snapshot"].decode()
        x = np.column_stack(
            [
                table.column(c).to_numpy(zero_copy_only=False).astype(float)
                for c in ("trips", "rating", "acceptance")
            ]
        )
        # The label a real system would log later: a noisy function of what was known then.
        y = 2.0 * x[:, 0] + 10.0 * x[:, 1] - 5.0 * x[:, 2] + rng.normal(0, 2.0, len(x))
        design = np.column_stack([x, np.ones(len(x))])
        train, test = slice(0, 3000), slice(3000, None)
        coef, *_ = np.linalg.lstsq(design[train], y[train], rcond=None)
        pred = design[test] @ coef
        r2 = 1 - np.sum((y[test] - pred) ** 2) / np.sum((y[test] - y[test].mean()) ** 2)
        print(f"training set: {table.num_rows} rows at snapshot {snapshot}")
        print("coefficients: " + ", ".join(f"{c:.2f}" for c in coef))
        print(f"r2={r2:.4f} on {len(pred)} held-out rows")
        saved = tg.save_training_set(
            "driver_stats", rows, features=["trips", "rating", "acceptance"]
        )
        print(
            f"saved training set {saved['id']} (entity rows sha256 {saved['entity_sha256'][:12]}…)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
