"""Training-set answers as the `Accept` header asks: Parquet (default), Arrow IPC stream, JSON.

Parquet is written to a scratch file and streamed from disk (deterministically: the same rows
give the same bytes, which saved training sets rely on); Arrow and JSON stream batch by batch.
The joined table is the only full copy of the answer in memory.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pyarrow as pa

from app.contracts.parsing import shown
from app.features.encoding import json_value
from app.problems import TollgateError

PARQUET = "application/vnd.apache.parquet"
ARROW = "application/vnd.apache.arrow.stream"
JSON = "application/json"
CHUNK_ROWS = 65_536
ROW_GROUP = 131_072


class NotAcceptable(TollgateError):
    status = 406
    type = "not-acceptable"
    title = "Not acceptable"


def negotiate(accept: str | None) -> str:
    """The answer's media type for an `Accept` header (no header, or */*: Parquet)."""
    if not accept:
        return PARQUET
    offered = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    for media in offered:
        if media in (PARQUET, "application/octet-stream", "*/*", "application/*"):
            return PARQUET
        if media in (ARROW, JSON):
            return media
    raise NotAcceptable(
        f"cannot answer as {shown(accept)}: ask for {PARQUET} (default), {ARROW} or {JSON}"
    )


def write_parquet(frame: pl.DataFrame, path: Path) -> str:
    """Write `frame` deterministically (polars' writer: columns in parallel); its sha256."""
    frame.write_parquet(path, compression="zstd", row_group_size=ROW_GROUP, statistics=True)
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def arrow_stream(table: pa.Table) -> Iterator[bytes]:
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        for batch in table.to_batches(max_chunksize=CHUNK_ROWS):
            writer.write_batch(batch)
            yield _drain(sink)
    yield _drain(sink)


def _drain(sink: io.BytesIO) -> bytes:
    data = sink.getvalue()
    sink.seek(0)
    sink.truncate()
    return data


def json_stream(frame: pl.DataFrame, snapshot: int) -> Iterator[bytes]:
    """`{"snapshot": N, "rows": [{…}, …]}`, times as RFC 3339 in UTC."""
    yield f'{{"snapshot":{snapshot},"rows":['.encode()
    names = frame.columns
    first = True
    for offset in range(0, frame.height, CHUNK_ROWS):
        rows = frame.slice(offset, CHUNK_ROWS).iter_rows()
        parts = [
            json.dumps(
                {n: json_value(v) for n, v in zip(names, row, strict=True)},
                separators=(",", ":"),
                ensure_ascii=False,
                allow_nan=False,
            )
            for row in rows
        ]
        if parts:
            yield (("" if first else ",") + ",".join(parts)).encode()
            first = False
    yield b"]}"
