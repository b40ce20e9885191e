"""Requests sent at once: threads released together by a barrier."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def at_once(send: Callable[[int], T], n: int = 8) -> list[T]:
    """`send(0)` … `send(n - 1)`, each in its own thread, started together; their results."""
    start = threading.Barrier(n)

    def run(i: int) -> T:
        start.wait(timeout=10)
        return send(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))
