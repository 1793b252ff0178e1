import json
import subprocess
import sys

import pytest

from omnicrm.cli import main


def test_demo_prints_tables(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "== Customers signed up in three channels ==" in out
    assert "phone=09012345678        cus_000001, cus_000005" in out


def test_demo_json_is_machine_readable(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    signups = data["Customers signed up in three channels"]
    assert [row["channel"] for row in signups] == ["store", "ec", "app"]
    assert data["A POS retry with the same idempotency key"][0]["replayed"] == "True"


def test_help_shows_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["demo", "--help"])
    assert done.value.code == 0
    assert "omnicrm demo --json" in capsys.readouterr().out


def test_module_entry_point_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "omnicrm", "--version"], capture_output=True, text=True, check=True
    )
    assert result.stdout.startswith("omnicrm ")
