"""Shared fixtures: one migrated database per run (SQLite file, or PostgreSQL when
TOLLGATE_TEST_DATABASE_URL is set), emptied after each test; the app behind a TestClient."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.config import Settings
from app.db import migrate
from app.db.engine import make_engine
from app.db.registry import metadata
from app.main import create_app

ADMIN_KEY = "tg_test_admin_key_0123456789abcdef0123456789abcdef"
PG_URL = os.environ.get("TOLLGATE_TEST_DATABASE_URL", "")


def pytest_report_header() -> str:
    return f"tollgate database: {PG_URL or 'sqlite (temporary file)'}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if PG_URL:
        engine = make_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        url = PG_URL
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'tollgate.db'}"
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def clean_db(engine: Engine) -> Iterator[None]:
    """Empty every table after the test (the app under test commits for real)."""
    yield
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def settings(tmp_path: Path, database_url: str, clean_db: None) -> Settings:
    # No in-process worker: tests that need queued jobs run them with `drain` (deterministic).
    return Settings(data_dir=tmp_path, database_url=database_url, admin_key=ADMIN_KEY, workers=0)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        yield c


@pytest.fixture
def anon(client: TestClient) -> TestClient:
    """The same app without a key."""
    client.headers.pop("Authorization")
    return client


KeyMaker = Callable[..., str]


@pytest.fixture
def make_key(client: TestClient) -> KeyMaker:
    """Create a key through the API (as admin) and return its secret."""

    def make(role: str, contracts: list[str] | None = None, name: str = "test") -> str:
        body = {"name": name, "role": role, "contracts": contracts or []}
        response = client.post(
            "/v1/keys", json=body, headers={"Authorization": f"Bearer {ADMIN_KEY}"}
        )
        assert response.status_code == 201, response.text
        secret: str = response.json()["secret"]
        return secret

    return make


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}
