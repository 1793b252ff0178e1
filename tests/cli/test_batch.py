import io
import json
from pathlib import Path

import pytest

from omnicrm.cli.batch import (
    Progress,
    RowError,
    parse_datetime,
    parse_int,
    read_rows,
    require,
    run_batch,
)
from omnicrm.errors import ConfigurationError, NaiveDatetimeError, ValidationError


def test_csv_rows_with_bom_and_bad_row(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("\ufeffid,amount\nc1,100\nc2,1,extra\nc3,\n", encoding="utf-8")
    rows = list(read_rows(path))
    assert rows[0] == (2, {"id": "c1", "amount": "100"})
    assert isinstance(rows[1][1], RowError)
    assert rows[1][0] == 3
    assert rows[2] == (4, {"id": "c3"})


def test_jsonl_rows(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": "a"}\n\n[1]\n{broken\n{"id": "b"}\n', encoding="utf-8")
    rows = list(read_rows(path))
    assert [line for line, _ in rows] == [1, 3, 4, 5]
    assert [isinstance(r, RowError) for _, r in rows] == [False, True, True, False]


def test_unknown_format_or_missing_file(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("")
    with pytest.raises(ConfigurationError):
        list(read_rows(tmp_path / "x.txt"))
    with pytest.raises(ConfigurationError):
        list(read_rows(tmp_path / "missing.csv"))


def test_field_parsers_name_the_field() -> None:
    assert parse_int({"n": "1,980"}, "n") == 1980
    assert parse_int({"n": 7}, "n") == 7
    for bad in ({"n": "1.5"}, {"n": 1.5}, {"n": "x"}, {}):
        with pytest.raises(ValidationError) as caught:
            parse_int(bad, "n")
        assert caught.value.field == "n"
    assert parse_datetime({"at": "2026-04-01T10:00:00+09:00"}, "at").utcoffset() is not None
    with pytest.raises(NaiveDatetimeError):
        parse_datetime({"at": "2026-04-01T10:00:00"}, "at")
    with pytest.raises(ValidationError):
        parse_datetime({"at": "yesterday"}, "at")
    with pytest.raises(ValidationError):
        require({"x": "  "}, "x")


def test_run_batch_rejects_bad_rows_and_keeps_going(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(
        '{"amount": "10"}\n{"amount": "ten"}\nnot json\n{"amount": "30"}\n', encoding="utf-8"
    )
    total: list[int] = []
    stream = io.StringIO()
    report = run_batch(
        path,
        lambda row: total.append(parse_int(row, "amount")),
        reject_path=tmp_path / "rejects.jsonl",
        progress=Progress(every=2, stream=stream),
    )
    assert total == [10, 30]
    assert (report.processed, report.rejected) == (2, 2)
    assert str(report.errors[0]) == "in.jsonl:2: amount: must be a whole number"
    assert str(report.errors[1]).startswith("in.jsonl:3: not valid JSON")
    rejected = [json.loads(x) for x in (tmp_path / "rejects.jsonl").read_text().splitlines()]
    assert rejected[0]["amount"] == "ten"
    assert rejected[0]["_line"] == 2
    assert "... 2 rows (1 rejected)" in stream.getvalue()


def test_run_batch_csv_rejects(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("amount\n5\nfive\n", encoding="utf-8")
    report = run_batch(
        path, lambda row: print(parse_int(row, "amount")), reject_path=tmp_path / "r.csv"
    )
    assert report.rejected == 1
    assert "five" in (tmp_path / "r.csv").read_text()
