"""Readiness probes."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.db.engine import ping
from app.storage.blobs import BlobStore


def readiness(session: Session, blobs: BlobStore) -> dict[str, str]:
    """Each dependency's state: "ok" or why it is not; never raises."""
    checks: dict[str, str] = {}
    try:
        ping(session)
        checks["database"] = "ok"
    except Exception as exc:  # any driver error means "not ready", never a 500
        checks["database"] = f"unreachable: {type(exc).__name__}"
    try:
        blobs.probe()
        checks["storage"] = "ok"
    except Exception as exc:  # OSError locally, ArrowException/IOError from S3
        checks["storage"] = f"unreachable: {type(exc).__name__}"
    return checks
