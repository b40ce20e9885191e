"""Readiness probes."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.orm import Session

from app.config import Settings
from app.db.engine import ping


def readiness(session: Session, settings: Settings) -> dict[str, str]:
    checks: dict[str, str] = {}
    try:
        ping(session)
        checks["database"] = "ok"
    except Exception as exc:  # any driver error means "not ready", never a 500
        checks["database"] = f"unreachable: {type(exc).__name__}"
    checks["storage"] = _storage(settings.storage_url)
    return checks


def _storage(url: str) -> str:
    if "://" in url:
        return "ok"  # remote stores are probed by the batches domain once it uses them
    path = Path(url)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"unreachable: {exc.strerror}"
    return "ok" if os.access(path, os.W_OK) else "unreachable: not writable"
