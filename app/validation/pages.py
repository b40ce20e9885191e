"""Count the values a Parquet column chunk really holds by walking its page headers.

pyarrow trusts the footer: a footer that says a row group has fewer rows than its pages hold is
read short without a word. The page headers (Thrift compact protocol) carry each data page's
value count, so summing them per column chunk tells the truth without decompressing anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

ReadAt = Callable[[int, int], bytes]
FieldHandler = Callable[[int, int], None]

_DATA_PAGE, _DICTIONARY_PAGE, _DATA_PAGE_V2 = 0, 2, 3
_FIRST_READ = 512
_MAX_HEADER = 16 * 1024 * 1024


class PageHeaderError(ValueError):
    """A page header that does not parse (or ends past the column chunk)."""


class _NeedMore(Exception):
    """Internal signal: the header runs past the buffer."""

    pass


@dataclass(frozen=True)
class PageHeader:
    kind: int
    compressed_size: int
    num_values: int
    num_rows: int | None  # data page v2 only
    header_size: int


class _Reader:
    """A minimal Thrift compact-protocol reader: enough to read PageHeader and skip the rest."""

    def __init__(self, buf: bytes) -> None:
        self.buf, self.pos = buf, 0

    def byte(self) -> int:
        if self.pos >= len(self.buf):
            raise _NeedMore
        b = self.buf[self.pos]
        self.pos += 1
        return b

    def varint(self) -> int:
        shift = result = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7
            if shift > 70:
                raise PageHeaderError("varint too long")

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def skip(self, ttype: int) -> None:
        if ttype in (1, 2):  # bool true/false: no payload in a field
            return
        if ttype == 3:
            self.byte()
        elif ttype in (4, 5, 6):
            self.varint()
        elif ttype == 7:
            self.pos += 8
        elif ttype == 8:
            size = self.varint()  # read first: `pos += varint()` would use the old pos
            self.pos += size
        elif ttype in (9, 10):
            self._skip_list()
        elif ttype == 11:
            self._skip_map()
        elif ttype == 12:
            self.struct(lambda _fid, t: self.skip(t))
        else:
            raise PageHeaderError(f"unknown Thrift type {ttype}")
        if self.pos > len(self.buf):
            raise _NeedMore

    def _skip_list(self) -> None:
        head = self.byte()
        size, etype = head >> 4, head & 0x0F
        if size == 15:
            size = self.varint()
        for _ in range(size):
            self.byte() if etype in (1, 2) else self.skip(etype)

    def _skip_map(self) -> None:
        size = self.varint()
        if size:
            types = self.byte()
            for _ in range(size):
                self.skip(types >> 4)
                self.skip(types & 0x0F)

    def struct(self, on_field: FieldHandler) -> None:
        last = 0
        while True:
            head = self.byte()
            if head == 0:
                return
            delta, ttype = head >> 4, head & 0x0F
            fid = last + delta if delta else self.zigzag()
            last = fid
            on_field(fid, ttype)


def parse_page_header(buf: bytes) -> PageHeader | None:
    """The header at the start of `buf`, or None when `buf` is too short to hold all of it."""
    fast = _fast_header(buf)
    return _slow_header(buf) if fast is _SLOW else fast  # type: ignore[return-value]


_SLOW = object()


def _fast_header(buf: bytes) -> PageHeader | object | None:
    """PageHeader in one loop without calls (it runs for every page of every upload)."""
    n, pos = len(buf), 0
    lasts, owners = [0], [0]
    top: dict[int, int] = {}
    inner: dict[int, int] = {}
    while lasts:
        if pos >= n:
            return None
        head = buf[pos]
        pos += 1
        if head == 0:
            lasts.pop()
            owners.pop()
            continue
        ttype = head & 0x0F
        if head >> 4:
            fid = lasts[-1] + (head >> 4)
        else:
            return _SLOW  # long-form field ids: never written for PageHeader in practice
        lasts[-1] = fid
        if ttype in (4, 5, 6, 8):
            value = shift = 0
            while True:
                if pos >= n:
                    return None
                b = buf[pos]
                pos += 1
                value |= (b & 0x7F) << shift
                if b < 0x80:
                    break
                shift += 7
            if ttype == 8:
                pos += value
                continue
            value = (value >> 1) ^ -(value & 1)
            if len(lasts) == 1:
                top[fid] = value
            elif len(lasts) == 2 and owners[-1] in (5, 7, 8):
                inner[fid] = value
        elif ttype == 12:
            owners.append(fid if len(lasts) == 1 else -1)
            lasts.append(0)
        elif ttype == 3:
            pos += 1
        elif ttype == 7:
            pos += 8
        elif ttype not in (1, 2):
            return _SLOW
    if pos > n:
        return None
    return _header(top, inner, pos)


def _header(top: dict[int, int], inner: dict[int, int], size: int) -> PageHeader:
    if 1 not in top or 3 not in top:
        raise PageHeaderError("page header without type or size")
    kind = top[1]
    rows = inner.get(3) if kind == _DATA_PAGE_V2 else None
    return PageHeader(kind, top[3], inner.get(1, 0), rows, size)


def _slow_header(buf: bytes) -> PageHeader | None:
    r = _Reader(buf)
    top: dict[int, int] = {}
    inner: dict[int, int] = {}

    def inner_field(fid: int, ttype: int) -> None:
        if ttype == 5 and fid in (1, 3):
            inner[fid] = r.zigzag()
        else:
            r.skip(ttype)

    def top_field(fid: int, ttype: int) -> None:
        if ttype == 5 and fid in (1, 2, 3):
            top[fid] = r.zigzag()
        elif ttype == 12 and fid in (5, 7, 8):
            r.struct(inner_field)
        else:
            r.skip(ttype)

    try:
        r.struct(top_field)
    except _NeedMore:
        return None
    return _header(top, inner, r.pos)


def count_chunk_values(read_at: ReadAt, start: int, length: int) -> int:
    """Sum the value counts of the data pages in bytes [start, start + length)."""
    end, pos, values = start + length, start, 0
    while pos < end:
        header = _header_at(read_at, pos, end)
        if header.compressed_size < 0:
            raise PageHeaderError(f"negative page size at byte {pos:,}")
        if header.kind in (_DATA_PAGE, _DATA_PAGE_V2):
            values += header.num_rows if header.num_rows is not None else header.num_values
        pos += header.header_size + header.compressed_size
    if pos != end:
        raise PageHeaderError(f"pages overrun the column chunk end (byte {end:,}) by {pos - end:,}")
    return values


def _header_at(read_at: ReadAt, pos: int, end: int) -> PageHeader:
    size = _FIRST_READ
    while True:
        want = min(size, end - pos)
        buf = read_at(want, pos)
        header = parse_page_header(buf)
        if header is not None:
            return header
        if want < size or size >= _MAX_HEADER:
            raise PageHeaderError(f"page header at byte {pos:,} runs past the column chunk")
        size *= 8
