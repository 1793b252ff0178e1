"""The CLI batch jobs on files the tests write: good rows kept, bad rows reported."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from omnicrm.cli import _jobs, _merge, main

ORDERS = """customer_id,ordered_at,amount
c1,2026-03-01T10:00:00+09:00,5000
c1,2026-03-20T10:00:00+09:00,3000
c2,2026-01-05T10:00:00+09:00,1200
c3,2026-03-30T23:30:00+09:00,800
c3,yesterday,800
c4,2026-03-30T10:00:00,100
,2026-03-30T10:00:00+09:00,100
c5,2026-02-01T10:00:00+09:00,1.5
c6,2026-02-01T10:00:00+09:00,100,extra
"""

CUSTOMERS = """source,family_name,given_name,phone,email,birth_date,note
store:M1,山田,花子,090-1234-5678,,1990-04-01,vip
ec:u-1,山田,花子,+81 90 1234 5678,hanako@example.jp,1990-04-01,
store:M2,佐藤,健一,03-1111-2222,,,
nosource,佐藤,健一,,,,
store:M1,山田,花子,,,,
ec:u-2,佐藤,健一,03-1111-2222,ken@example.jp,,walk-in
"""

JOURNEYS_TOML = """
[[journeys]]
id = "abandoned_search"
start = "wait_booking"
triggers = [{ event_type = "plan_searched" }]
exit_on = [{ event_type = "booking_made" }]

  [[journeys.steps]]
  id = "wait_booking"
  type = "wait_for_event"
  event_type = "booking_made"
  timeout = { days = 1 }
  on_event = "done"
  on_timeout = "remind"

  [[journeys.steps]]
  id = "remind"
  type = "action"
  content = "plan_reminder"
  channels = ["email"]
  next = "done"

  [[journeys.steps]]
  id = "done"
  type = "exit"
"""

EVENTS = [
    '{"event_type": "plan_searched", "customer_id": "aoi",'
    ' "occurred_at": "2026-04-01T10:00:00+09:00", "plan": "okinawa"}',
    '{"event_type": "plan_searched", "customer_id": "ren",'
    ' "occurred_at": "2026-04-01T11:00:00+09:00"}',
    '{"event_type": "booking_made", "customer_id": "ren",'
    ' "occurred_at": "2026-04-01T15:00:00+09:00"}',
    '{"event_type": "unknown_thing", "customer_id": "ren",'
    ' "occurred_at": "2026-04-01T15:00:00+09:00"}',
    '{"event_type": "plan_searched", "customer_id": "mio", "occurred_at": "2026-04-01"}',
    "not json",
    '{"event_type": "plan_searched", "customer_id": "sho",'
    ' "occurred_at": "2026-04-01T22:30:00+09:00"}',
]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def read_jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# --- rfm ----------------------------------------------------------------------------


def test_rfm_keeps_good_rows_and_rejects_bad_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = write(tmp_path / "orders.csv", ORDERS)
    out, rejects = tmp_path / "rfm.csv", tmp_path / "bad.csv"
    code = main(
        ["rfm", str(orders), "--tz", "Asia/Tokyo", "--output", str(out), "--rejects", str(rejects)]
    )
    captured = capsys.readouterr()
    assert code == 0
    rows = {r["customer_id"]: r for r in read_csv(out)}
    assert sorted(rows) == ["c1", "c2", "c3"]
    assert rows["c1"]["frequency"] == "2"
    assert rows["c1"]["monetary_total"] == "8000"
    assert rows["c3"]["recency_days"] == "0"
    assert rows["c1"]["last_purchase"] == "2026-03-20T01:00:00Z"
    assert all(r["segment"] for r in rows.values())
    assert "segment" in captured.out
    assert "3 customers as of 2026-03-30T14:30:00+00:00" in captured.out
    for expected in (
        "orders.csv:6: ordered_at: is not an ISO 8601 date-time",
        "orders.csv:7: ordered_at: must be timezone-aware",
        "orders.csv:8: customer_id: is required",
        "orders.csv:9: amount: must be a whole number",
        "orders.csv:10: more cells than header columns",
    ):
        assert expected in captured.err
    assert f"4 rows processed, 5 rejected (see {rejects})" in captured.err
    bad = read_csv(rejects)
    assert [r["_line"] for r in bad] == ["6", "7", "8", "9", "10"]
    assert bad[0]["ordered_at"] == "yesterday"
    assert bad[2]["customer_id"] == ""  # every input column is kept in the reject file
    assert bad[2]["amount"] == "100"


def test_rfm_segment_table_counts_every_customer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        json.dumps(
            {"customer_id": f"c{i}", "ordered_at": f"2026-0{1 + i % 3}-10T12:00:00Z", "amount": i}
        )
        for i in range(20)
    ]
    orders = write(tmp_path / "orders.jsonl", "\n".join(lines) + "\n")
    out = tmp_path / "rfm.jsonl"
    assert main(["rfm", str(orders), "--quiet", "--output", str(out)]) == 0
    printed = capsys.readouterr()
    result = read_jsonl(out)
    assert len(result) == 20
    table = [line.split("  ") for line in printed.out.splitlines()[2:13]]
    assert sum(int([c for c in row if c.strip()][1].replace(",", "")) for row in table) == 20
    assert printed.err.strip() == "20 rows processed, 0 rejected"


def test_rfm_as_of_rejects_later_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    orders = write(
        tmp_path / "orders.csv",
        "customer_id,ordered_at,amount\n"
        "a,2026-03-01T10:00:00+09:00,100\n"
        "b,2026-05-01T10:00:00+09:00,100\n",
    )
    out = tmp_path / "rfm.csv"
    code = main(["rfm", str(orders), "--as-of", "2026-04-01T00:00:00+09:00", "--output", str(out)])
    err = capsys.readouterr().err
    assert code == 0
    assert [r["customer_id"] for r in read_csv(out)] == ["a"]
    assert "orders.csv:3: ordered_at: is after --as-of" in err
    assert "1 rows processed, 1 rejected (rerun with --rejects FILE to keep them)" in err


def test_rfm_progress_on_long_inputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_jobs, "PROGRESS_EVERY", 10)
    rows = "".join(f"c{i % 7},2026-03-01T10:00:00+09:00,{i}\n" for i in range(25))
    orders = write(tmp_path / "orders.csv", "customer_id,ordered_at,amount\n" + rows)
    assert main(["rfm", str(orders)]) == 0
    err = capsys.readouterr().err
    assert "... 10 rows (0 rejected)" in err
    assert "... 20 rows (0 rejected)" in err
    assert main(["rfm", str(orders), "--quiet"]) == 0
    assert "... 10 rows" not in capsys.readouterr().err


def test_rfm_every_row_bad_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    orders = write(tmp_path / "orders.csv", "customer_id,ordered_at,amount\nc1,soon,1\n")
    assert main(["rfm", str(orders)]) == 1
    err = capsys.readouterr().err
    assert "0 rows processed, 1 rejected" in err
    assert "no usable row" in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--tz", "Mars/Olympus"], "--tz"),
        (["--as-of", "tomorrow"], "--as-of"),
        (["--as-of", "2026-04-01T00:00:00"], "--as-of"),
        (["--output", "out.xlsx"], "--output"),
    ],
)
def test_rfm_unusable_arguments_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    orders = write(tmp_path / "orders.csv", ORDERS)
    assert main(["rfm", str(orders), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("omnicrm: error: ")
    assert message in err


def test_unusable_input_files_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rfm", str(tmp_path / "missing.csv")]) == 2
    assert "missing.csv" in capsys.readouterr().err
    assert main(["merge", str(write(tmp_path / "x.txt", "a"))]) == 2
    assert "must end in one of" in capsys.readouterr().err
    orders = write(tmp_path / "orders.csv", ORDERS)
    assert main(["rfm", str(orders), "--rejects", str(orders)]) == 2
    assert "--rejects" in capsys.readouterr().err
    assert main(["rfm", str(orders), "--output", str(tmp_path / "no" / "dir.csv")]) == 2
    assert "dir.csv" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "header", "message"),
    [
        (["rfm"], "customer,ordered_at,amount", "customer_id, ordered_at, amount"),
        (["merge"], "channel,family_name", "source or channel, id"),
        (["journey", "simulate", "J"], "type,customer_id,occurred_at", "event_type"),
    ],
)
def test_csv_without_the_required_columns_exits_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    header: str,
    message: str,
) -> None:
    journeys = write(tmp_path / "j.toml", JOURNEYS_TOML)
    data = write(tmp_path / "in.csv", header + "\na,b,c\n")
    argv = [str(journeys) if a == "J" else a for a in argv]
    assert main([*argv, str(data)]) == 2
    err = capsys.readouterr().err
    assert "in.csv" in err
    assert f"needs the columns {message}" in err


def test_shift_jis_input_with_encoding_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_bytes(
        "customer_id,ordered_at,amount\n顧客1,2026-03-01T10:00:00+09:00,500\n".encode("cp932")
    )
    assert main(["rfm", str(orders)]) == 2
    assert "is not utf-8-sig text" in capsys.readouterr().err
    out = tmp_path / "rfm.jsonl"
    assert main(["rfm", str(orders), "--encoding", "cp932", "--output", str(out)]) == 0
    assert read_jsonl(out)[0]["customer_id"] == "顧客1"
    assert main(["rfm", str(orders), "--encoding", "klingon"]) == 2
    assert "is not a known text encoding" in capsys.readouterr().err


# --- merge --------------------------------------------------------------------------


def test_merge_tags_every_row_with_its_person(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    customers = write(tmp_path / "customers.csv", CUSTOMERS)
    out, rejects = tmp_path / "people.csv", tmp_path / "bad.csv"
    code = main(
        ["merge", str(customers), "--output", str(out), "--rejects", str(rejects), "--explain"]
    )
    captured = capsys.readouterr()
    assert code == 0
    people = {r["source"]: r for r in read_csv(out)}
    header = out.read_text(encoding="utf-8").splitlines()[0]
    assert header == "person_id,source,family_name,given_name,phone,email,birth_date,note"
    assert list(people) == ["store:M1", "ec:u-1", "store:M2", "ec:u-2"]
    assert people["ec:u-1"]["person_id"] == people["store:M1"]["person_id"] == "store:M1"
    assert people["ec:u-2"]["person_id"] == "store:M2"
    assert people["store:M1"]["note"] == "vip"  # unmatched columns are carried through
    assert "4 records, 2 people (2 with more than one record)" in captured.out
    assert "ec:u-1 ~ store:M1: merge" in captured.out  # the --explain section
    assert "birth_date" in captured.out
    assert "customers.csv:5: source: must be written 'channel:id'" in captured.err
    assert "customers.csv:6: source: appears on an earlier row" in captured.err
    assert f"4 rows processed, 2 rejected (see {rejects})" in captured.err
    assert [r["_line"] for r in read_csv(rejects)] == ["5", "6"]


def test_merge_jsonl_with_channel_and_id_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        {
            "channel": "store",
            "id": "M1",
            "email": "a@example.jp",
            "email_verified": "true",
            "family_name": "Abe",
            "given_name": "Aoi",
            "observed_at": "2025-01-01T00:00:00Z",
        },
        {
            "channel": "ec",
            "id": "u1",
            "email": "a@example.jp",
            "email_verified": True,
            "family_name": "Abe",
            "given_name": "Aoi",
            "attributes": {"tier": "gold"},
        },
        {"channel": "app", "id": "p1", "email_verified": "maybe"},
        {"channel": "app", "id": "p2", "observed_at": "2025-01-01"},
        {"channel": "app", "id": "p3", "phone": 9012345678, "attributes.tier": "silver"},
    ]
    customers = write(tmp_path / "customers.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "people.jsonl"
    assert main(["merge", str(customers), "--output", str(out), "--quiet"]) == 0
    captured = capsys.readouterr()
    people = read_jsonl(out)
    assert [p["person_id"] for p in people] == ["store:M1", "store:M1", "app:p3"]
    assert people[1]["attributes"] == {"tier": "gold"}
    assert "customers.jsonl:3: email_verified: must be true or false" in captured.err
    assert "customers.jsonl:4: observed_at: must be timezone-aware" in captured.err
    assert "ec:u1 ~ store:M1" not in captured.out  # no --explain, no explanations


def test_merge_explain_large_clusters_and_review_pairs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_merge, "EXPLAIN_PAIRS_UP_TO", 1)
    customers = write(
        tmp_path / "customers.csv",
        "source,family_name,given_name,phone,postal_code\n"
        "store:M1,山田,花子,090-1234-5678,\n"
        "ec:u-1,山田,花子,+81 90 1234 5678,\n"
        "store:M9,勅使河原,健一,,100-0005\n"
        "ec:u-9,勅使河原,健一,,〒100-0005\n",
    )
    assert main(["merge", str(customers), "--explain", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "store:M1 ~ ec:u-1: merge" in out  # each record against the person's first
    assert "pairs for a person's review: 1" in out
    assert "== review ==" in out
    assert "store:M9 ~ ec:u-9: review (score +13.0)" in out


# --- journey simulate ---------------------------------------------------------------


def test_journey_simulate_prints_every_action(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journeys = write(tmp_path / "journeys.toml", JOURNEYS_TOML)
    events = write(tmp_path / "events.jsonl", "\n".join(EVENTS) + "\n")
    out, rejects = tmp_path / "actions.jsonl", tmp_path / "bad.jsonl"
    code = main(
        ["journey", "simulate", str(journeys), str(events), "--tz", "Asia/Tokyo",
         "--output", str(out), "--rejects", str(rejects)]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0
    actions = read_jsonl(out)
    assert [(a["customer_id"], a["status"], a["due_at"]) for a in actions] == [
        ("aoi", "due", "2026-04-02T01:00:00+00:00"),
        ("sho", "due", "2026-04-02T13:30:00+00:00"),
    ]
    assert "2026-04-02 10:00   aoi" in captured.out
    assert "when (Asia/Tokyo)" in captured.out
    assert "events.jsonl:4: event_type: no journey in the file uses it" in captured.err
    assert "events.jsonl:5: occurred_at: must be timezone-aware" in captured.err
    assert "events.jsonl:6: not valid JSON" in captured.err
    assert f"4 rows processed, 3 rejected (see {rejects})" in captured.err
    assert [r["_line"] for r in read_jsonl(rejects)] == [4, 5, 6]


def test_journey_simulate_quiet_hours_and_window(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from omnicrm.timing import journey_to_dict, load_journeys_toml

    document = {"journeys": [journey_to_dict(j) for j in load_journeys_toml(JOURNEYS_TOML)]}
    journeys = write(tmp_path / "journeys.json", json.dumps(document))
    events = write(
        tmp_path / "events.csv",
        "event_id,event_type,customer_id,occurred_at,plan\n"
        "e1,plan_searched,sho,2026-04-01T22:30:00+09:00,okinawa\n"
        "e1,plan_searched,sho,2026-04-01T22:30:00+09:00,okinawa\n"
        "e2,plan_searched,aoi,2026-05-01T10:00:00+09:00,\n",
    )
    out = tmp_path / "actions.csv"
    code = main(
        ["journey", "simulate", str(journeys), str(events), "--tz", "Asia/Tokyo",
         "--quiet-hours", "21:00-09:00", "--start", "2026-04-01T00:00:00+09:00",
         "--end", "2026-04-30T00:00:00+09:00", "--output", str(out)]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0
    actions = read_csv(out)
    assert [(a["customer_id"], a["status"]) for a in actions] == [
        ("sho", "deferred"),
        ("sho", "due"),
    ]
    assert actions[1]["due_at"] == "2026-04-03T00:00:00+00:00"  # 09:00 in Tokyo
    assert "2 action decisions, 1 sent" in captured.out
    assert "events outside --start/--end, not replayed: 1" in captured.out
    assert "3 rows processed, 0 rejected" in captured.err


BRANCHING_JSON = {
    "journeys": [
        {
            "id": "welcome",
            "start": "by_age",
            "triggers": [{"event_type": "signed_up"}],
            "steps": [
                {
                    "id": "by_age",
                    "type": "branch",
                    "otherwise": "mail",
                    "cases": [
                        {
                            "conditions": [{"field": "profile.age", "op": "lt", "value": 30}],
                            "next": "push",
                        }
                    ],
                },
                {"id": "push", "type": "action", "content": "hi_app", "channels": ["push"],
                 "next": "done"},
                {"id": "mail", "type": "action", "content": "hi_mail", "channels": ["email"],
                 "next": "done"},
                {"id": "done", "type": "exit"},
            ],
        }
    ]
}  # fmt: skip


def test_journey_simulate_with_a_customers_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journeys = write(tmp_path / "journeys.json", json.dumps(BRANCHING_JSON))
    events = write(
        tmp_path / "events.csv",
        "event_type,customer_id,occurred_at\n"
        + "".join(
            f"signed_up,{c},2026-04-01T12:00:00+09:00\n" for c in ("aoi", "ken", "mio", "zed")
        ),
    )
    customers = write(
        tmp_path / "customers.csv",
        "customer_id,time_zone,age,consents\n"
        "aoi,Asia/Tokyo,26,push email\n"
        "ken,Asia/Tokyo,70,none\n"
        "mio,Asia/Tokyo,45,\n",
    )
    out = tmp_path / "actions.jsonl"
    code = main(
        ["journey", "simulate", str(journeys), str(events), "--customers", str(customers),
         "--output", str(out), "--quiet"]
    )  # fmt: skip
    assert code == 0
    actions = {a["customer_id"]: a for a in read_jsonl(out)}
    assert (actions["aoi"]["step_id"], actions["aoi"]["status"]) == ("push", "due")
    assert (actions["ken"]["step_id"], actions["ken"]["status"]) == ("mail", "no_channel")
    assert (actions["mio"]["step_id"], actions["mio"]["status"]) == ("mail", "due")
    assert (actions["zed"]["step_id"], actions["zed"]["status"]) == ("mail", "due")
    capsys.readouterr()
    write(tmp_path / "customers.csv", "customer_id,time_zone\naoi,Asia/Tokyo\nken,Mars/Base\n")
    assert main(["journey", "simulate", str(journeys), str(events), "--customers",
                 str(customers)]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "--customers" in err
    assert "customers.csv:3: time_zone:" in err


@pytest.mark.parametrize(
    ("journey_text", "name", "extra", "message"),
    [
        ("[[journeys]]\nid = 'x'\n", "j.toml", [], "journeys[0]"),
        ("{not json", "j.json", [], "not valid JSON"),
        ("", "j.yaml", [], "must end in .json or .toml"),
        (JOURNEYS_TOML, "j.toml", ["--quiet-hours", "late"], "--quiet-hours"),
        (
            JOURNEYS_TOML,
            "j.toml",
            ["--start", "2026-04-02T00:00:00Z", "--end", "2026-04-01T00:00:00Z"],
            "--end",
        ),
    ],
)
def test_journey_simulate_unusable_files_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    journey_text: str,
    name: str,
    extra: list[str],
    message: str,
) -> None:
    journeys = write(tmp_path / name, journey_text)
    events = write(tmp_path / "events.jsonl", EVENTS[0] + "\n")
    assert main(["journey", "simulate", str(journeys), str(events), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("omnicrm: error: ")
    assert message in err


# --- help and the console entry -----------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "example"),
    [
        (["rfm", "--help"], "omnicrm rfm orders.csv"),
        (["merge", "--help"], "omnicrm merge customers.csv"),
        (["journey", "simulate", "--help"], "omnicrm journey simulate journeys.toml"),
        (["journey", "--help"], "omnicrm journey simulate journeys.toml"),
    ],
)
def test_help_shows_input_columns_and_an_example(
    capsys: pytest.CaptureFixture[str], argv: list[str], example: str
) -> None:
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "example:" in out
    assert example in out
    assert "columns" in out


def test_console_entry_runs_a_job(tmp_path: Path) -> None:
    orders = write(tmp_path / "orders.csv", ORDERS)
    rejects = tmp_path / "bad.csv"
    result = subprocess.run(
        [sys.executable, "-m", "omnicrm", "rfm", str(orders), "--rejects", str(rejects)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "champions" in result.stdout
    assert "4 rows processed, 5 rejected" in result.stderr
    assert rejects.is_file()


def test_the_command_loads_job_work_only_when_a_job_runs() -> None:
    code = (
        "import sys, omnicrm.cli.main\n"
        "print(sorted(m for m in ('omnicrm.cli._merge', 'omnicrm.cli._simulation')"
        " if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
