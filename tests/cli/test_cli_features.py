"""`tollgate features compact`: fewer files, the same answers (pinned and saved)."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from app.config import Settings
from app.contracts.parsing import parse_contract
from app.features.offline import OfflineStore
from tests.api.test_features import ask, events, seeded
from tests.builders.features import stats_doc
from tests.cli.test_cli import run


def test_compact_keeps_every_answer(client: TestClient, settings: Settings) -> None:
    seeded(client)
    rows = events((1, 11), (2, 3), (1, 4))
    saved = client.post(
        "/v1/training-sets", json={"view": "user_stats", "features": ["spend"], "rows": rows}
    ).json()
    before = client.get(f"/v1/training-sets/{saved['id']}/data").content
    pinned = ask(client, rows, "?snapshot=1").content
    store, columns = OfflineStore(settings.storage_url), parse_contract(stats_doc()).columns
    assert store.pinned("user_stats", columns, 2).ordered  # one file per batch, read in order
    result = run(settings, "features", "compact", "user_stats")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["files_removed"] == 2
    assert not store.pinned("user_stats", columns, 2).ordered  # now sorted on the tie columns
    assert client.get(f"/v1/training-sets/{saved['id']}/data").content == before
    assert ask(client, rows, "?snapshot=1").content == pinned
    missing = run(settings, "features", "compact", "nope")
    assert missing.returncode == 1
    assert "no offline table" in missing.stderr
