"""Spool an upload body to a temporary file while hashing it, never holding it in memory."""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request

from app.problems import InvalidInput, PayloadTooLarge, UnsupportedMediaType

PARQUET_TYPES = frozenset({"application/vnd.apache.parquet", "application/octet-stream"})
BLOCK_BYTES = 1 << 20  # body bytes hashed and written at a time, off the event loop
_SPOOLERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="spool")  # shared by uploads


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

    The body is hashed and written a block at a time in a helper thread (hashlib and file
    writes release the GIL) while the event loop receives the next block: sha256 runs at about
    250 MiB/s on a CPU without SHA extensions, as slow as receiving, and the two now overlap.
    If the client disconnects, the partial file is removed and the error propagates: no batch,
    no partial object.
    """
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body is {declared} bytes; the limit is {limit}")
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=directory, prefix="upload-", suffix=".parquet")
    path, digest, size = Path(name), hashlib.sha256(), 0
    pending: Future[None] | None = None  # the block being hashed and written: one at a time
    try:
        with os.fdopen(fd, "wb") as out:

            def take(block: bytearray) -> None:
                digest.update(block)
                out.write(block)

            block = bytearray()
            try:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > limit:
                        raise PayloadTooLarge(f"the body passed the limit of {limit} bytes")
                    block += chunk
                    if len(block) >= BLOCK_BYTES:
                        if pending is not None:
                            await asyncio.wrap_future(pending)  # in order: one block at a time
                        pending, block = _SPOOLERS.submit(take, block), bytearray()
                if pending is not None:
                    await asyncio.wrap_future(pending)
                take(block)
            finally:
                if pending is not None:  # never leave a thread writing to a closed file
                    wait([pending])  # its error: raised when awaited, or another is on its way
        if size == 0:
            raise InvalidInput("the body is empty: send one Parquet file as the raw body")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Spooled(path, digest.hexdigest(), size)
