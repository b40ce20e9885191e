"""BlobStore: immutable, content-addressed objects on any pyarrow filesystem."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs

CHUNK = 1 << 20


class BlobStore:
    """Objects under one root URL (`/abs/folder`, `file:///…` or `s3://bucket/prefix?…`).

    Objects are written once: `put_file` on an existing key is a no-op, so a content-addressed
    key (`uploads/<sha256>`) can never be overwritten by different bytes.
    """

    def __init__(self, url: str) -> None:
        target = url if "://" in url else Path(url).resolve().as_uri()
        self.fs, root = pafs.FileSystem.from_uri(target)
        self.root = root.rstrip("/")
        self.is_local = isinstance(self.fs, pafs.LocalFileSystem)
        if self.is_local:
            self.fs.create_dir(self.root, recursive=True)

    def _path(self, key: str) -> str:
        return f"{self.root}/{key}"

    def local_path(self, key: str) -> Path | None:
        """The object's path when the store is a local folder (zero-copy reads), else None."""
        return Path(self._path(key)) if self.is_local else None

    def exists(self, key: str) -> bool:
        return bool(self.fs.get_file_info(self._path(key)).type != pafs.FileType.NotFound)

    def size(self, key: str) -> int:
        info = self.fs.get_file_info(self._path(key))
        if info.type == pafs.FileType.NotFound:
            raise FileNotFoundError(key)
        return int(info.size)

    def put_file(self, key: str, source: Path, *, move: bool = False) -> None:
        """Store a local file under `key` unless the key exists; atomic on both kinds of store."""
        if self.exists(key):
            return
        final = self._path(key)
        if self.is_local:
            Path(final).parent.mkdir(parents=True, exist_ok=True)
            staging = Path(f"{final}.part-{uuid.uuid4().hex}")
            if move:
                shutil.move(source, staging)
            else:
                shutil.copyfile(source, staging)
            staging.replace(final)  # rename is atomic: readers never see a partial object
            return
        # An S3 PUT becomes visible only when complete, so streaming straight to the key is atomic.
        with source.open("rb") as src, self.fs.open_output_stream(final) as out:
            while chunk := src.read(CHUNK):
                out.write(chunk)

    def open(self, key: str) -> pa.NativeFile:
        """A random-access reader (Parquet needs to seek to the footer)."""
        return self.fs.open_input_file(self._path(key))

    def fetch(self, key: str, target: Path) -> Path:
        """A local copy of the object (a no-copy path for local stores)."""
        local = self.local_path(key)
        if local is not None:
            return local
        with self.open(key) as src, target.open("wb") as out:
            while chunk := src.read(CHUNK):
                out.write(chunk)
        return target

    def probe(self) -> None:
        """Raise if the store cannot be listed (readiness)."""
        self.fs.get_file_info(pafs.FileSelector(self.root, allow_not_found=True))
