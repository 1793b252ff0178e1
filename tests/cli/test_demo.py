import json
import subprocess
import sys

import pytest

from omnicrm.cli import main


def test_demo_prints_tables(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    for heading in (
        "Sign-ups",
        "Merge",
        "Store points spent online",
        "EC page: Oxford shirt",
        "Try-on hold",
        "Ship-from-store order EC-9002",
        "RFM segments",
        "Sale notice targeting",
        "Journey actions",
        "Effectiveness per touchpoint",
    ):
        assert f"== {heading} ==" in out
    assert "quiet hours 21-09: deferred" in out


def test_demo_json_is_machine_readable(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [row["channel"] for row in data["Sign-ups"]] == ["store", "ec", "app"]
    (merge,) = data["Merge"]
    assert merge["pts before"] == merge["pts after"] == "128"
    assert data["Store points spent online"][0]["balance"] == "82"
    assert data["Try-on hold"][0]["held"] == "1"
    assert {row["kind"] for row in data["Ship-from-store order EC-9002"]} == {"store"}
    assert sum(int(row["customers"]) for row in data["RFM segments"]) == 17
    left = int(data["Sale notice targeting"][-1]["left"])
    assert len(data["Sale notice"]) == left > 0
    journeys = {row["journey"] for row in data["Journey actions"]}
    assert journeys == {"abandoned_search", "back_in_stock"}
    steps = {(row["journey"], row["step"]) for row in data["Effectiveness per touchpoint"]}
    assert ("abandoned_search", "remind") in steps


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
