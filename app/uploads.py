"""Spool an upload body to a temporary file while hashing it, never holding it in memory."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request

from app.problems import InvalidInput, PayloadTooLarge, UnsupportedMediaType

PARQUET_TYPES = frozenset({"application/vnd.apache.parquet", "application/octet-stream"})


@dataclass(frozen=True)
class Spooled:
    path: Path
    sha256: str
    size: int

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def require_parquet_type(content_type: str | None) -> None:
    media = (content_type or "").split(";")[0].strip().lower()
    if media not in PARQUET_TYPES:
        raise UnsupportedMediaType(
            f"content type {media or '(none)'!r} is not a Parquet upload: send the file as the "
            "raw body with application/vnd.apache.parquet or application/octet-stream"
        )


async def spool_request(request: Request, directory: Path) -> Spooled:
    """`spool` the request's body under the service's upload limit."""
    return await spool(
        request.stream(),
        directory=directory,
        limit=request.app.state.settings.max_upload_bytes,
        declared=request.headers.get("content-length"),
    )


async def spool(
    chunks: AsyncIterator[bytes], *, directory: Path, limit: int, declared: str | None
) -> Spooled:
    """Write the body to a temp file under `directory`; 413 past `limit`, 422 when empty.

    If the client disconnects, the partial file is removed and the error propagates:
    no batch, no partial object.
    """
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body is {declared} bytes; the limit is {limit}")
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=directory, prefix="upload-", suffix=".parquet")
    path, digest, size = Path(name), hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"the body passed the limit of {limit} bytes")
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise InvalidInput("the body is empty: send one Parquet file as the raw body")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Spooled(path, digest.hexdigest(), size)
