"""The travel company's journeys from the issue, as a test (the example runs them)."""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from zoneinfo import ZoneInfo

import pytest

TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture(scope="module")
def travel() -> ModuleType:
    path = Path(__file__).parents[2] / "examples" / "travel_journey.py"
    spec = importlib.util.spec_from_file_location("travel_journey", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["travel_journey"] = module
    spec.loader.exec_module(module)
    return module


def local(action: object) -> str:
    return action.due_at.astimezone(TOKYO).strftime("%m-%d %H:%M")  # type: ignore[attr-defined]


def test_the_travel_journey_sends_the_right_thing_at_the_right_moment(
    travel: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    actions = travel.main()
    got = [(a.customer_id, a.step_id, a.kind, a.channel, local(a)) for a in actions]
    assert got == [
        # over-60s: a store call, within the store's hours (no e-mail first: the rule)
        ("hiroshi", "remind_senior", "call", "store", "04-03 14:00"),
        # under-30s: an app push; the 2 days end at 22:30, quiet hours defer it to 09:00
        ("aoi", "remind_push", "send", "push", "04-04 09:00"),
        # kenji booked: the reminder exited; 7 days before departure (20 April) at 10:00
        ("kenji", "checklist", "send", "push", "04-13 10:00"),
        # the day after return (24 April) at 08:00 -> quiet hours -> 09:00
        ("kenji", "ask_review", "send", "push", "04-25 09:00"),
        # a bad review at 20:00 opens a phone follow-up in the phone window (10:00-18:00)
        ("kenji", "phone_follow_up", "call", "phone", "04-26 10:00"),
        # 60 days later a repeat proposal
        ("kenji", "repeat_offer", "send", "push", "06-25 10:00"),
    ]
    assert all(a.reasons for a in actions)
    printed = capsys.readouterr().out
    assert "why: " in printed
    assert "KPI bookings: 1 of 2" in printed


def test_a_booking_exits_the_reminder(travel: ModuleType) -> None:
    crm = travel.engine()
    crm.handle(travel.event(1, "plan_searched", "aoi", travel.jst(1, 12)))
    crm.handle(
        travel.event(2, "booking_made", "aoi", travel.jst(2, 12), departure_date="2026-05-01",
                     return_date="2026-05-03")
    )  # fmt: skip
    actions = crm.tick(travel.jst(10, 12))
    assert [a.journey_id for a in actions] == []
    later = crm.tick(travel.jst(30, 12))
    assert [a.step_id for a in later] == ["checklist"]
