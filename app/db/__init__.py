"""Database plumbing shared by every domain: base types, engine, transactions."""

from sqlalchemy.orm import Session

__all__ = ["Session"]
