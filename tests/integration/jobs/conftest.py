"""Job queue fixtures: a sessionmaker on the shared test database, emptied after each test, and
the scratch `job_effect` table."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from app.db.engine import make_sessionmaker
from tests.integration.jobs import support


@pytest.fixture
def maker(engine: Engine, clean_db: None) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


@pytest.fixture
def effect_table(engine: Engine) -> Iterator[None]:
    with engine.begin() as conn:
        conn.execute(text(support.DROP))
        conn.execute(text(support.CREATE))
    yield
    with engine.begin() as conn:
        conn.execute(text(support.DROP))
