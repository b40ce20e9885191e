"""Run the alembic history programmatically (`tollgate db upgrade`, `tollgate serve`, tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

import app


def migrations_dir() -> Path:
    """The `migrations/` folder beside the package (checkout, editable or image install)."""
    for base in (Path(app.__file__).resolve().parents[1], Path.cwd()):
        if (base / "migrations" / "env.py").is_file():
            return base / "migrations"
    raise FileNotFoundError("cannot find the migrations/ folder next to the app package or in .")


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def at_head(engine: Engine, url: str) -> bool:
    """True when the database's schema is the newest revision of the history."""
    heads = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    return current == heads
