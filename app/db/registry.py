"""Imports every domain's models so Alembic and the tests see all tables."""

from app.auth import models as auth_models
from app.contracts import models as contracts_models
from app.db.base import Base

metadata = Base.metadata

__all__ = ["auth_models", "contracts_models", "metadata"]
