"""A Python client for Tollgate, for upstream jobs and training pipelines (httpx + pyarrow only).

    from app.client import Client

    with Client("http://tollgate:8000", key="tg_…") as tg:
        tg.register("contracts/user_stats.yaml")
        report = tg.upload("user_stats", "stats.parquet")      # a path, bytes, or any table
        table = tg.training_set("user_stats", entity_rows)     # → pyarrow.Table
        rows = tg.online("user_stats", [{"user_id": 42}])

Tables may be pyarrow Tables, polars or pandas DataFrames, or lists of dicts. Every error answer
becomes a `TollgateError` carrying the problem details (`status`, `type`, `title`, `detail`).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq

PARQUET = "application/vnd.apache.parquet"
ARROW = "application/vnd.apache.arrow.stream"


class TollgateError(Exception):
    """An error answer (RFC 9457 problem details) from the service."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.status = status
        self.problem = problem
        self.type = str(problem.get("type", ""))
        self.title = str(problem.get("title", ""))
        self.detail = str(problem.get("detail", ""))
        super().__init__(f"{status} {self.title}: {self.detail}")


def as_table(data: Any) -> pa.Table:
    """A pyarrow Table from a Table, a polars or pandas DataFrame, or a list of dicts."""
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, list):
        return pa.Table.from_pylist(data)
    if type(data).__module__.startswith("polars"):
        table: pa.Table = data.to_arrow()
        return table
    if type(data).__module__.startswith("pandas"):
        return pa.Table.from_pandas(data, preserve_index=False)
    raise TypeError(f"cannot send a {type(data).__name__} as a table")


def _parquet(data: Any) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, str | Path):
        return Path(data).read_bytes()
    out = io.BytesIO()
    pq.write_table(as_table(data), out)
    return out.getvalue()


class Client:
    """One service, one key. `http` lets a caller bring its own configured httpx.Client."""

    def __init__(
        self,
        base_url: str,
        key: str,
        *,
        timeout: float = 300.0,
        http: httpx.Client | None = None,
    ) -> None:
        self.http = http or httpx.Client(base_url=base_url, timeout=timeout)
        self.http.headers["Authorization"] = f"Bearer {key}"

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        r = self.http.request(method, path, **kw)
        if r.status_code >= 400:
            try:
                problem = r.json()
            except ValueError:
                problem = {"title": r.reason_phrase, "detail": r.text[:500]}
            raise TollgateError(r.status_code, problem if isinstance(problem, dict) else {})
        return r

    def register(
        self, document: dict[str, Any] | str | Path, *, allow_breaking: bool = False
    ) -> dict[str, Any]:
        """Register a contract version (a dict, or a YAML/JSON file); the stored version."""
        params = {"allow_breaking": "true"} if allow_breaking else None
        if isinstance(document, dict):
            r = self._call("POST", "/v1/contracts", json=document, params=params)
        else:
            text = Path(document).read_text()
            kind = "application/json" if str(document).endswith(".json") else "application/yaml"
            r = self._call(
                "POST", "/v1/contracts", content=text, params=params, headers={"Content-Type": kind}
            )
        body: dict[str, Any] = r.json()
        return body

    def upload(
        self,
        contract: str,
        data: Any,
        *,
        version: str | None = None,
        idempotency_key: str | None = None,
        wait: bool = True,
    ) -> dict[str, Any]:
        """Upload one batch (a Parquet path or bytes, or a table); its report (queued when
        `wait=False`: poll `report`)."""
        headers = {"Content-Type": PARQUET}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        params = {
            k: v for k, v in {"version": version, "mode": None if wait else "async"}.items() if v
        }
        r = self._call(
            "POST",
            f"/v1/contracts/{contract}/batches",
            content=_parquet(data),
            headers=headers,
            params=params,
        )
        body: dict[str, Any] = r.json()
        return body

    def report(self, batch_id: str) -> dict[str, Any]:
        body: dict[str, Any] = self._call("GET", f"/v1/batches/{batch_id}").json()
        return body

    def view(self, name: str) -> dict[str, Any]:
        body: dict[str, Any] = self._call("GET", f"/v1/features/{name}").json()
        return body

    def training_set(
        self,
        view: str,
        entities: Any,
        *,
        features: list[str] | None = None,
        snapshot: int | None = None,
        as_of: str | None = None,
        timestamp_column: str = "event_timestamp",
        lineage: bool = False,
    ) -> pa.Table:
        """Point-in-time features for `entities` (their columns come back unchanged, first).
        The snapshot used is in `table.schema.metadata[b"tollgate.snapshot"]`."""
        params: dict[str, Any] = {"timestamp_column": timestamp_column}
        if features is not None:
            params["features"] = ",".join(features)
        if snapshot is not None:
            params["snapshot"] = snapshot
        if as_of is not None:
            params["as_of"] = as_of
        if lineage:
            params["lineage"] = "true"
        r = self._call(
            "POST",
            f"/v1/features/{view}/training-set",
            content=_parquet(entities),
            params=params,
            headers={"Content-Type": PARQUET, "Accept": ARROW},
        )
        table = pa.ipc.open_stream(r.content).read_all()
        meta = {b"tollgate.snapshot": r.headers.get("X-Tollgate-Snapshot", "").encode()}
        return table.replace_schema_metadata({**(table.schema.metadata or {}), **meta})

    def save_training_set(
        self,
        view: str,
        entities: Any,
        *,
        features: list[str],
        snapshot: int | None = None,
        timestamp_column: str = "event_timestamp",
    ) -> dict[str, Any]:
        """Save a training set; its manifest (`id`, `snapshot`, `entity_sha256`, …)."""
        params: dict[str, Any] = {
            "view": view,
            "features": ",".join(features),
            "timestamp_column": timestamp_column,
        }
        if snapshot is not None:
            params["snapshot"] = snapshot
        r = self._call(
            "POST",
            "/v1/training-sets",
            content=_parquet(entities),
            params=params,
            headers={"Content-Type": PARQUET},
        )
        body: dict[str, Any] = r.json()
        return body

    def training_set_data(self, set_id: str) -> pa.Table:
        """A saved training set, rebuilt byte-identical by the service."""
        r = self._call("GET", f"/v1/training-sets/{set_id}/data")
        return pq.read_table(io.BytesIO(r.content))

    def online(self, view: str, entities: Any) -> list[dict[str, Any]]:
        """Latest values per entity, in order: `{entity, status, timestamp, values}`."""
        rows = entities if isinstance(entities, list) else as_table(entities).to_pylist()
        r = self._call(
            "POST",
            f"/v1/features/{view}/online",
            content=json.dumps({"entities": rows}),
            headers={"Content-Type": "application/json"},
        )
        out: list[dict[str, Any]] = r.json()["rows"]
        return out
