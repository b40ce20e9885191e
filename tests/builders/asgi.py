"""Drive the ASGI app directly, for what a TestClient cannot send (disconnects, endless bodies)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from tests.conftest import ADMIN_KEY

Receive = Callable[[], Awaitable[dict[str, Any]]]


def post(
    app: Any, path: str, receive: Receive, headers: list[tuple[bytes, bytes]]
) -> list[dict[str, Any]]:
    """POST to `path` as the admin with the body `receive` yields; returns the messages sent."""
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
        "state": {},
        "headers": [
            (b"host", b"testserver"),
            (b"authorization", f"Bearer {ADMIN_KEY}".encode()),
            *headers,
        ],
    }
    anyio.run(app, scope, receive, send)
    return sent
