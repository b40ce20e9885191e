"""examples/train_model.py runs end to end against the real service and learns the relation."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from app.config import Settings
from tests.builders.live import running_server
from tests.conftest import ADMIN_KEY

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "train_model.py"


def test_example_trains_a_model_from_a_training_set(settings: Settings) -> None:
    with running_server(settings) as server:
        done = subprocess.run(
            [
                sys.executable,
                str(EXAMPLE),
                "--url",
                server.url,
                "--key",
                ADMIN_KEY,
                "--drivers",
                "100",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count(": accepted, 1000 rows") == 3
    assert "training set: 4000 rows at snapshot 3" in done.stdout
    r2 = float(re.search(r"r2=([0-9.]+)", done.stdout).group(1))  # type: ignore[union-attr]
    assert r2 > 0.9, done.stdout
    assert "saved training set" in done.stdout
