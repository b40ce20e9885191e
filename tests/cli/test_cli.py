"""The `tollgate` console script, run as a user runs it: a subprocess against the test database."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.config import Settings
from app.db.engine import make_engine
from tests.conftest import PG_URL

REPO = Path(__file__).parents[2]
TOLLGATE = [sys.executable, "-m", "app.cli"]


def run(
    settings: Settings, *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TOLLGATE_DATABASE_URL": settings.database_url,
        "TOLLGATE_DATA_DIR": str(settings.data_dir),
        "PYTHONPATH": str(REPO),
    }
    return subprocess.run(
        [*TOLLGATE, *args], capture_output=True, text=True, env=env, cwd=cwd or REPO, timeout=120
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "contracts"
    shutil.copytree(REPO / "contracts", target)
    return target


def test_apply_registers_every_file_then_is_idempotent(settings: Settings, folder: Path) -> None:
    first = run(settings, "apply", str(folder))
    assert first.returncode == 0, first.stderr
    assert re.search(r"^created\s+\S+search_events.yaml\s+search_events 1.0.0$", first.stdout, re.M)
    assert re.search(r"^created\s+\S+card_transactions.yaml", first.stdout, re.M)
    again = run(settings, "apply", str(folder))
    assert again.returncode == 0
    assert again.stdout.count("unchanged") == 2
    assert "created" not in again.stdout


def test_apply_reports_refused_files_and_exits_1(settings: Settings, folder: Path) -> None:
    assert run(settings, "apply", str(folder)).returncode == 0
    path = folder / "card_transactions.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["columns"][5]["type"] = "float64"  # amount_minor int64 → float64: breaking
    path.write_text(yaml.safe_dump(doc))
    (folder / "broken.yaml").write_text("name: broken\ncolumns: [{name: x, type: varchar}]\n")
    result = run(settings, "apply", str(folder))
    assert result.returncode == 1
    lines = {
        line.split()[1].rsplit("/", 1)[-1]: line.split()[0] for line in result.stdout.splitlines()
    }
    assert lines == {
        "broken.yaml": "refused",
        "card_transactions.yaml": "refused",
        "search_events.yaml": "unchanged",
    }
    assert "columns[0].type" in result.stdout
    assert "type of amount_minor int64 → float64" in result.stdout


def test_apply_migrates_a_fresh_embedded_database(tmp_path: Path, folder: Path) -> None:
    fresh = Settings(data_dir=tmp_path / "fresh", database_url="")  # the embedded default
    result = run(fresh, "apply", str(folder))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("created") == 2


@pytest.mark.skipif(not PG_URL, reason="needs a server database (TOLLGATE_TEST_DATABASE_URL)")
def test_commands_refuse_an_unmigrated_server_database(tmp_path: Path, folder: Path) -> None:
    scratch = f"tollgate_unmigrated_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{scratch}"'))
    try:
        url = make_url(PG_URL).set(database=scratch).render_as_string(hide_password=False)
        bare = Settings(data_dir=tmp_path, database_url=url)
        for args in (("apply", str(folder)), ("keys", "create", "--role", "consumer")):
            result = run(bare, *args)
            assert result.returncode == 1
            assert "run `tollgate db upgrade` first" in result.stderr
            assert "Traceback" not in result.stderr
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{scratch}" WITH (FORCE)'))
        admin.dispose()


def test_apply_with_nothing_to_apply_fails(settings: Settings, tmp_path: Path) -> None:
    result = run(settings, "apply", str(tmp_path))
    assert result.returncode == 1
    assert "no contract files" in result.stderr


def test_keys_create_prints_a_working_secret(settings: Settings) -> None:
    result = run(settings, "keys", "create", "--role", "producer", "--contracts", "search_*")
    assert result.returncode == 0, result.stderr
    secret = result.stdout.strip()
    assert secret.startswith("tg_")
    assert "producer key" in result.stderr
    bad = run(settings, "keys", "create", "--role", "consumer", "--contracts", "x")
    assert bad.returncode == 2


@pytest.fixture
def served(settings: Settings) -> Iterator[tuple[str, str]]:
    """`tollgate serve` on a fresh data dir; yields (base url, generated admin key)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "TOLLGATE_DATA_DIR": str(settings.data_dir)}
    env.pop("TOLLGATE_ADMIN_KEY", None)
    env.pop("TOLLGATE_DATABASE_URL", None)
    proc = subprocess.Popen(
        [*TOLLGATE, "serve", "--port", "0"], stderr=subprocess.PIPE, text=True, env=env, cwd=REPO
    )
    assert proc.stderr is not None
    key, url = "", ""
    for line in proc.stderr:  # the server tells us when it is up: no sleeping
        key = key or next(iter(re.findall(r"\b(tg_\S+)", line)), "")
        found = re.search(r"Uvicorn running on (http://\S+)", line)
        if found:
            url = found.group(1)
            break
    try:
        assert url, "tollgate serve did not start"
        yield url, key
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        proc.stderr.close()


def test_serve_migrates_the_embedded_database_and_shows_the_first_admin_key(
    served: tuple[str, str], settings: Settings
) -> None:
    url, key = served
    assert key, "the first start must print a generated admin key"
    assert (settings.data_dir / "tollgate.db").is_file()
    assert httpx.get(f"{url}/readyz").json()["status"] == "ok"
    source = (REPO / "contracts" / "search_events.yaml").read_bytes()
    r = httpx.post(
        f"{url}/v1/contracts",
        content=source,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/yaml"},
    )
    assert r.status_code == 201, r.text
