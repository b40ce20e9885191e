"""Opaque keyset cursors and the list query parameters shared by every list endpoint."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from app.problems import InvalidInput

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000


class InvalidCursor(InvalidInput):
    type = "invalid-cursor"
    title = "Invalid cursor"


def encode_cursor(*values: Any) -> str:
    """Encode the sort key of the last item served as an opaque string."""
    plain = [v.isoformat() if isinstance(v, datetime) else str(v) for v in values]
    raw = json.dumps(plain, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[str]:
    """Decode a cursor made by encode_cursor; a tampered or foreign one is a 422."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # json recurses on "[[[…"
        values = None
    if not (
        isinstance(values, list)
        and len(values) == arity
        and all(isinstance(v, str) for v in values)
    ):
        raise InvalidCursor(f"cursor {cursor[:80]!r} was not issued by this endpoint")
    return values
