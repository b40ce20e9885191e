"""The alembic history is the only way the schema is made (SPEC §7): one head, upgrade from empty,
downgrade to base, a step-by-step round trip, models matching migrations, static migration files,
and `tollgate db upgrade`. Each test runs on a scratch database of its own, never the shared test
database: a temporary SQLite file, or (with TOLLGATE_TEST_DATABASE_URL) a PostgreSQL database
created for the test and dropped after it."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import make_url

from app.db import migrate
from app.db.engine import make_engine
from app.db.registry import metadata
from tests.conftest import PG_URL

ROOT = Path(__file__).parents[2]
VERSIONS = ROOT / "migrations" / "versions"
VERSION_TABLE = "alembic_version"


# -- scratch databases ---------------------------------------------------------------------------


@pytest.fixture
def scratch_url(tmp_path: Path) -> Iterator[str]:
    """An empty database for this test alone."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'scratch.db'}"
        return
    name = f"tollgate_scratch_{uuid.uuid4().hex[:16]}"
    admin = make_engine(PG_URL).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def scratch(scratch_url: str) -> Iterator[Engine]:
    engine = make_engine(scratch_url)
    yield engine
    engine.dispose()


def script() -> ScriptDirectory:
    return ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))


def revisions_base_to_head() -> list[str]:
    """Every revision, oldest first (the history is linear: see test_single_head)."""
    return [rev.revision for rev in reversed(list(script().walk_revisions()))]


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def snapshot(engine: Engine) -> dict[str, Any]:
    """The schema as the database reports it: tables, columns, keys, constraints, indexes."""
    insp = inspect(engine)
    shape: dict[str, Any] = {}
    for table in sorted(insp.get_table_names()):
        if table == VERSION_TABLE:
            continue
        shape[table] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns(table)
            ],
            "pk": insp.get_pk_constraint(table)["constrained_columns"],
            "fks": sorted(
                (
                    tuple(fk["constrained_columns"]),
                    fk["referred_table"],
                    tuple(fk["referred_columns"]),
                    fk.get("options", {}).get("ondelete"),
                )
                for fk in insp.get_foreign_keys(table)
            ),
            "unique": sorted(
                (u["name"], tuple(u["column_names"])) for u in insp.get_unique_constraints(table)
            ),
            "indexes": sorted(
                (i["name"], tuple(str(c) for c in i["column_names"]), i["unique"])
                for i in insp.get_indexes(table)
            ),
        }
    return shape


# -- the history ---------------------------------------------------------------------------------


def test_single_head_and_linear_history() -> None:
    scripts = script()
    assert len(scripts.get_heads()) == 1, f"several heads: {scripts.get_heads()}"
    assert len(scripts.get_bases()) == 1, f"several bases: {scripts.get_bases()}"
    for rev in scripts.walk_revisions():
        assert not rev.is_merge_point, f"merge revision {rev.revision}"
    assert len(revisions_base_to_head()) == len(list(VERSIONS.glob("*.py")))


def test_migration_files_never_import_the_app() -> None:
    """Static migrations: a later change to app/ must not rewrite the history."""
    files = sorted(VERSIONS.glob("*.py"))
    assert files
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""] if node.level == 0 else ["(relative import)"]
            else:
                continue
            for module in modules:
                assert module.split(".")[0] not in ("app", "(relative import)"), (
                    f"{path.name}:{node.lineno} imports {module}"
                )


def test_the_app_never_creates_tables_itself() -> None:
    """Only migrations make the schema: no metadata.create_all() anywhere in app/."""
    for path in sorted((ROOT / "app").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Attribute) and node.attr in ("create_all", "drop_all"):
                pytest.fail(f"{path.relative_to(ROOT)}:{node.lineno} calls {node.attr}")


# -- on a database -------------------------------------------------------------------------------


def test_upgrade_from_empty_creates_every_table(scratch_url: str, scratch: Engine) -> None:
    assert tables(scratch) == set()
    migrate.upgrade(scratch_url)
    assert tables(scratch) == set(metadata.tables) | {VERSION_TABLE}
    assert current_revision(scratch) == script().get_current_head()


def test_upgrade_twice_is_a_noop(scratch_url: str, scratch: Engine) -> None:
    migrate.upgrade(scratch_url)
    before = snapshot(scratch)
    migrate.upgrade(scratch_url)
    assert snapshot(scratch) == before
    assert current_revision(scratch) == script().get_current_head()


def test_downgrade_to_base_leaves_only_the_version_table(scratch_url: str, scratch: Engine) -> None:
    migrate.upgrade(scratch_url)
    migrate.downgrade(scratch_url, "base")
    assert tables(scratch) == {VERSION_TABLE}
    assert current_revision(scratch) is None
    with scratch.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {VERSION_TABLE}")).scalar_one() == 0


def test_downgrade_upgrade_round_trip_over_every_revision(
    scratch_url: str, scratch: Engine
) -> None:
    """Up one step, down one step, up again: each step's schema is restored exactly."""
    previous = snapshot(scratch)
    assert previous == {}
    for rev in revisions_base_to_head():
        migrate.upgrade(scratch_url, rev)
        after = snapshot(scratch)
        assert current_revision(scratch) == rev
        assert after != previous, f"revision {rev} changes nothing"

        migrate.downgrade(scratch_url, "-1")
        assert snapshot(scratch) == previous, f"downgrade of {rev} does not restore the schema"

        migrate.upgrade(scratch_url, rev)
        assert snapshot(scratch) == after, f"upgrade of {rev} differs the second time"
        assert current_revision(scratch) == rev
        previous = after
    assert current_revision(scratch) == script().get_current_head()


def test_models_match_migrations(scratch_url: str, scratch: Engine) -> None:
    """Autogenerate against the migrated database finds nothing to do."""
    migrate.upgrade(scratch_url)
    with scratch.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    assert diff == [], f"models and migrations differ: {diff}"


# -- the console script --------------------------------------------------------------------------


def test_tollgate_db_upgrade_console_script(tmp_path: Path) -> None:
    tollgate = Path(sys.executable).parent / "tollgate"
    assert tollgate.is_file(), f"{tollgate} missing: pip install -e ."
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLGATE_")}
    env.update(TOLLGATE_DATABASE_URL=url, TOLLGATE_DATA_DIR=str(tmp_path / "data"))
    result = subprocess.run(
        [str(tollgate), "db", "upgrade"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "database at head" in result.stdout
    engine = make_engine(url)
    try:
        assert tables(engine) == set(metadata.tables) | {VERSION_TABLE}
        assert current_revision(engine) == script().get_current_head()
    finally:
        engine.dispose()
