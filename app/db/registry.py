"""Imports every domain's models so Alembic and the tests see all tables."""

from app.auth import models as auth_models
from app.batches import models as batches_models
from app.contracts import models as contracts_models
from app.db.base import Base
from app.features import models as features_models
from app.jobs import models as jobs_models

metadata = Base.metadata

__all__ = [
    "auth_models",
    "batches_models",
    "contracts_models",
    "features_models",
    "jobs_models",
    "metadata",
]
