import json
from datetime import UTC, datetime, time

import pytest
from dateutil.relativedelta import relativedelta

from omnicrm.errors import NaiveDatetimeError, OmniCRMError, ValidationError
from omnicrm.timing import (
    Action,
    Branch,
    Case,
    Condition,
    Exit,
    Journey,
    JourneyDefinitionError,
    Trigger,
    Wait,
    WaitForEvent,
    WaitRelative,
    WaitUntil,
    journey_from_dict,
    load_journeys,
    load_journeys_json,
    load_journeys_toml,
    parse_duration,
)


def base(**over: object) -> dict[str, object]:
    data: dict[str, object] = {
        "id": "j",
        "triggers": [{"event_type": "plan_searched"}],
        "start": "w",
        "steps": [
            {
                "id": "w",
                "type": "wait_for_event",
                "event_type": "booking_made",
                "timeout": {"days": 2},
                "on_event": "end",
                "on_timeout": "a",
            },
            {"id": "a", "type": "action", "content": "reminder", "next": "end"},
            {"id": "end", "type": "exit"},
        ],
    }
    data.update(over)
    return data


def test_dict_json_and_toml_give_the_same_journey() -> None:
    from_dict = journey_from_dict(base())
    from_json = load_journeys_json(json.dumps({"journeys": [base()]}))
    toml = """
[[journeys]]
id = "j"
start = "w"
triggers = [{ event_type = "plan_searched" }]

  [[journeys.steps]]
  id = "w"
  type = "wait_for_event"
  event_type = "booking_made"
  timeout = "2 days"
  on_event = "end"
  on_timeout = "a"

  [[journeys.steps]]
  id = "a"
  type = "action"
  content = "reminder"
  next = "end"

  [[journeys.steps]]
  id = "end"
  type = "exit"
"""
    assert (from_dict,) == from_json == load_journeys_toml(toml)
    assert from_dict.step("w") == WaitForEvent(
        id="w",
        event_type="booking_made",
        timeout=relativedelta(days=2),
        on_event="end",
        on_timeout="a",
    )


def test_every_step_type_loads() -> None:
    journey = journey_from_dict(
        base(
            start="b",
            stages=[{"name": "trip", "channels": ["push"]}],
            steps=[
                {
                    "id": "b",
                    "type": "branch",
                    "cases": [
                        {"conditions": [{"field": "segment", "value": "vip"}], "next": "u"}
                    ],
                    "otherwise": "r",
                },
                {"id": "u", "type": "wait_until", "weekday": "saturday", "at": "10:00",
                 "next": "a"},
                {"id": "r", "type": "wait_relative", "field": "event.departure_date",
                 "offset": "-7 days", "at": "09:30", "next": "a", "stage": "trip"},
                {"id": "a", "type": "action", "content": "x", "kind": "call",
                 "channels": ["phone"], "guarded": False, "next": "w"},
                {"id": "w", "type": "wait", "duration": {"months": 1}, "next": "end"},
                {"id": "end", "type": "exit"},
            ],
        )
    )  # fmt: skip
    assert journey.step("u") == WaitUntil(id="u", weekday=5, at=time(10, 0), next="a")
    assert journey.step("r") == WaitRelative(
        id="r",
        field="event.departure_date",
        offset=relativedelta(days=-7),
        at=time(9, 30),
        next="a",
        stage="trip",
    )
    step = journey.step("b")
    assert isinstance(step, Branch)
    assert step.cases == (Case(conditions=(Condition("segment", "eq", "vip"),), next="u"),)


@pytest.mark.parametrize(
    ("change", "error", "field"),
    [
        ({"start": "nope"}, JourneyDefinitionError, "journey.start"),
        (
            {"steps": [{"id": "w", "type": "wait", "duration": {"days": 1}, "next": "gone"}],
             "start": "w"},
            JourneyDefinitionError,
            "journey.steps[w].next",
        ),
        (
            {"steps": [*base()["steps"], {"id": "lost", "type": "exit"}]},  # type: ignore[list-item]
            JourneyDefinitionError,
            "journey.steps",
        ),
        (
            {"start": "w", "steps": [{"id": "w", "type": "wait", "duration": {"days": -1},
                                      "next": "w"}]},
            JourneyDefinitionError,
            "journey.steps[0].duration",
        ),
        (
            {"start": "w", "steps": [{"id": "w", "type": "wait", "duration": "-2 hours",
                                      "next": "w"}]},
            JourneyDefinitionError,
            "journey.steps[0].duration",
        ),
        ({"starts_at": datetime(2026, 1, 1)}, NaiveDatetimeError, "journey.starts_at"),
        ({"starts_at": "2026-01-01T00:00:00"}, NaiveDatetimeError, "journey.starts_at"),
        ({"colour": "red"}, JourneyDefinitionError, "journey"),
        ({"triggers": []}, JourneyDefinitionError, "journey.triggers"),
        ({"reentry": "sometimes"}, JourneyDefinitionError, "journey.reentry"),
        ({"reentry": "per_period"}, JourneyDefinitionError, "journey.reentry_period"),
        (
            {"triggers": [{"event_type": "x", "conditions": [{"field": "age", "op": "eq"}]}]},
            JourneyDefinitionError,
            "journey.triggers[0].conditions[0].field",
        ),
        (
            {"triggers": [{"event_type": "x", "conditions": [{"field": "event.a", "op": "~"}]}]},
            JourneyDefinitionError,
            "journey.triggers[0].conditions[0].op",
        ),
        (
            {"steps": [{"id": "w", "type": "teleport"}], "start": "w"},
            JourneyDefinitionError,
            "journey.steps[0].type",
        ),
        (
            {"start": "w", "steps": [{"id": "w", "type": "wait", "duration": {"fortnights": 1},
                                      "next": "w"}]},
            JourneyDefinitionError,
            "journey.steps[0].duration",
        ),
    ],
)  # fmt: skip
def test_bad_journeys_are_refused_precisely(
    change: dict[str, object], error: type[OmniCRMError], field: str
) -> None:
    with pytest.raises(error) as info:
        journey_from_dict(base(**change))
    assert isinstance(info.value, ValidationError)
    assert info.value.field == field


def test_cycle_without_a_wait_is_refused_and_named() -> None:
    steps = [
        {"id": "b", "type": "branch", "cases": [], "otherwise": "a"},
        {"id": "a", "type": "action", "content": "spam", "next": "b"},
    ]
    with pytest.raises(JourneyDefinitionError, match=r"b -> a -> b|a -> b -> a") as info:
        journey_from_dict(base(start="b", steps=steps))
    assert "no wait" in info.value.reason


def test_cycle_through_a_wait_is_fine() -> None:
    steps = [
        {"id": "a", "type": "action", "content": "monthly", "next": "w"},
        {"id": "w", "type": "wait", "duration": {"months": 1}, "next": "a"},
    ]
    assert journey_from_dict(base(start="a", steps=steps)).start == "a"


def test_cycle_through_a_zero_wait_is_refused() -> None:
    with pytest.raises(JourneyDefinitionError, match="no wait"):
        Journey(
            id="j",
            triggers=(Trigger(event_type="x"),),
            start="a",
            steps=(
                Action(id="a", content="c", next="w"),
                Wait(id="w", duration=relativedelta(), next="a"),
            ),
        )


def test_duplicate_ids_and_bad_documents() -> None:
    with pytest.raises(JourneyDefinitionError, match="share"):
        load_journeys([base(), base()])
    with pytest.raises(JourneyDefinitionError):
        load_journeys_json("{not json")
    with pytest.raises(JourneyDefinitionError):
        load_journeys_toml("journeys = [")
    with pytest.raises(JourneyDefinitionError):
        load_journeys("text")
    with pytest.raises(JourneyDefinitionError, match="share"):
        Journey(
            id="j",
            triggers=(Trigger(event_type="x"),),
            start="e",
            steps=(Exit(id="e"), Exit(id="e")),
        )


def test_window_and_timeout_rules() -> None:
    with pytest.raises(JourneyDefinitionError):
        WaitForEvent(id="w", event_type="e", timeout=relativedelta(), on_event="a", on_timeout="b")
    with pytest.raises(JourneyDefinitionError):
        WaitUntil(id="u", next="a")
    with pytest.raises(JourneyDefinitionError):
        journey_from_dict(
            base(starts_at=datetime(2026, 2, 1, tzinfo=UTC), ends_at="2026-01-01T00:00:00+09:00")
        )
    assert parse_duration("d", "3 weeks") == relativedelta(weeks=3)
    with pytest.raises(JourneyDefinitionError):
        parse_duration("d", "soon")


def test_event_types_outside_the_host_catalogue_are_refused_at_load() -> None:
    catalogue = {"plan_searched", "booking_made"}
    assert journey_from_dict(base(), event_types=catalogue).id == "j"
    data = base(exit_on=[{"event_type": "teleported"}])
    with pytest.raises(JourneyDefinitionError) as info:
        load_journeys([data], event_types=catalogue)
    assert (info.value.field, info.value.value) == ("journeys[0].event_type", "teleported")
    with pytest.raises(JourneyDefinitionError):
        load_journeys_json(json.dumps([data]), event_types=catalogue)


def test_a_naive_toml_datetime_is_refused() -> None:
    toml = """
[[journeys]]
id = "j"
start = "e"
starts_at = 2026-01-01T00:00:00
triggers = [{ event_type = "x" }]
steps = [{ id = "e", type = "exit" }]
"""
    with pytest.raises(NaiveDatetimeError) as info:
        load_journeys_toml(toml)
    assert info.value.field == "journeys[0].starts_at"
    aware = toml.replace("00:00:00", "00:00:00+09:00")
    assert load_journeys_toml(aware)[0].starts_at == datetime(2025, 12, 31, 15, 0, tzinfo=UTC)
