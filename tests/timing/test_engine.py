from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from dateutil.relativedelta import relativedelta

from omnicrm.errors import InvalidTypeError, NaiveDatetimeError, NotFoundError, ValidationError
from omnicrm.persistence.memory import MemoryStore
from omnicrm.persistence.sqlite import SQLiteStore
from omnicrm.timing import (
    Action,
    ActionStatus,
    Branch,
    Campaign,
    CapPolicy,
    Case,
    ChannelPolicy,
    Condition,
    CustomerContext,
    CustomerEvent,
    Engine,
    Exit,
    FrequencyCap,
    GuardPolicy,
    Journey,
    LocalWindow,
    Reentry,
    StaticDirectory,
    Trigger,
    UnknownEventTypeError,
    Wait,
    WaitForEvent,
    WaitRelative,
    WaitUntil,
)
from omnicrm.timing._runner import in_holdout

T0 = datetime(2026, 4, 1, 3, 0, tzinfo=UTC)  # 12:00 in Tokyo
TOKYO = "Asia/Tokyo"


def ctx(cid: str = "c1", **kw: object) -> CustomerContext:
    fields: dict[str, object] = {
        "customer_id": cid,
        "time_zone": TOKYO,
        "consents": {"push", "email"},
    }
    fields.update(kw)
    return CustomerContext(**fields)  # type: ignore[arg-type]


def ev(n: int | str, kind: str, at: datetime, cid: str = "c1", **props: str) -> CustomerEvent:
    return CustomerEvent(
        event_id=f"e{n}", event_type=kind, customer_id=cid, occurred_at=at, properties=props
    )


def reminder(**over: object) -> Journey:
    fields: dict[str, object] = {
        "id": "remind",
        "triggers": (Trigger(event_type="searched"),),
        "exit_on": (Trigger(event_type="unsubscribed"),),
        "start": "wait",
        "steps": (
            WaitForEvent(
                id="wait",
                event_type="booked",
                timeout=relativedelta(days=2),
                on_event="end",
                on_timeout="send",
            ),
            Action(id="send", content="nudge", next="end"),
            Exit(id="end"),
        ),
    }
    fields.update(over)
    return Journey(**fields)  # type: ignore[arg-type]


def engine(*journeys: Journey, store: object = None, **kw: object) -> Engine:
    directory = kw.pop("directory", StaticDirectory([ctx("c1"), ctx("c2")]))
    return Engine(
        store or MemoryStore(),  # type: ignore[arg-type]
        journeys or (reminder(),),
        directory=directory,  # type: ignore[arg-type]
        channels=kw.pop("channels", ChannelPolicy(default_channels=("push", "email"))),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


def steps(actions: object) -> list[tuple[str, str, datetime]]:
    return [(a.customer_id, a.step_id, a.due_at) for a in actions]  # type: ignore[attr-defined]


def test_no_booking_within_two_days_sends_once_with_a_stable_id() -> None:
    crm = engine()
    assert crm.handle(ev(1, "searched", T0)) == ()
    assert crm.tick(T0 + timedelta(days=1)) == ()
    (action,) = crm.tick(T0 + timedelta(days=3))
    assert (action.step_id, action.channel, action.due_at) == (
        "send",
        "push",
        T0 + timedelta(days=2),
    )
    assert action.reasons[-1] == "due now"
    assert crm.tick(T0 + timedelta(days=9)) == ()
    twin = engine()
    twin.handle(ev(1, "searched", T0))
    assert [a.action_id for a in twin.tick(T0 + timedelta(days=3))] == [action.action_id]


def test_a_booking_exits_the_reminder() -> None:
    crm = engine()
    crm.handle(ev(1, "searched", T0))
    crm.handle(ev(2, "booked", T0 + timedelta(hours=5)))
    assert crm.tick(T0 + timedelta(days=5)) == ()
    assert crm.active_positions() == 0


def test_a_late_event_first_resumes_what_was_due() -> None:
    crm = engine()
    crm.handle(ev(1, "searched", T0))
    actions = crm.handle(ev(2, "booked", T0 + timedelta(days=3)))  # nobody ticked
    assert steps(actions) == [("c1", "send", T0 + timedelta(days=2))]


def test_exit_on_event_leaves_from_anywhere() -> None:
    crm = engine()
    crm.handle(ev(1, "searched", T0))
    crm.handle(ev(2, "unsubscribed", T0 + timedelta(hours=1)))
    assert crm.tick(T0 + timedelta(days=5)) == ()


def test_duplicate_event_id_is_a_no_op() -> None:
    crm = engine(
        Journey(
            id="hi",
            triggers=(Trigger(event_type="signed_up"),),
            start="a",
            reentry=Reentry.ALWAYS,
            steps=(Action(id="a", content="welcome"),),
        )
    )
    assert len(crm.handle(ev(1, "signed_up", T0))) == 1
    assert crm.handle(ev(1, "signed_up", T0)) == ()
    assert len(crm.handle(ev(2, "signed_up", T0 + timedelta(hours=1)))) == 1


def test_bad_events_are_refused_and_nothing_is_written() -> None:
    crm = engine()
    with pytest.raises(UnknownEventTypeError) as info:
        crm.handle(ev(1, "teleported", T0))
    assert info.value.field == "event_type"
    assert crm.history().entries == ()
    with pytest.raises(NaiveDatetimeError):
        ev(2, "searched", datetime(2026, 4, 1, 12, 0))
    with pytest.raises(InvalidTypeError):
        crm.handle("searched")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        crm.handle(ev(3, "searched", T0), ctx("someone_else"))
    with pytest.raises(NaiveDatetimeError):
        crm.tick(datetime(2026, 4, 1))
    # the refused event id was not remembered
    assert crm.handle(ev(1, "searched", T0)) == ()
    assert len(crm.history().entries) == 1


def test_declared_event_types_are_accepted() -> None:
    crm = engine(event_types=("page_viewed",))
    assert crm.handle(ev(1, "page_viewed", T0)) == ()


def test_reentry_policies() -> None:
    def entries(policy: str, period: relativedelta | None = None, step: int = 4) -> int:
        crm = engine(reminder(reentry=policy, reentry_period=period))
        for day in range(0, 40, step):
            crm.handle(ev(day, "searched", T0 + timedelta(days=day)))
        return len(crm.history().entries)

    assert entries(Reentry.ONCE) == 1
    assert entries(Reentry.ALWAYS) == 10
    assert entries(Reentry.ALWAYS, step=1) == 20  # every other search finds it still running
    assert entries(Reentry.PER_PERIOD, relativedelta(days=10)) == 4


def test_priorities_and_exclusive_journeys() -> None:
    welcome = Journey(
        id="welcome",
        priority=10,
        exclusive=True,
        triggers=(
            Trigger(event_type="searched", conditions=(Condition("event.first", "eq", "y"),)),
        ),
        start="a",
        steps=(Action(id="a", content="welcome"),),
    )
    crm = engine(reminder(), welcome)
    assert [a.journey_id for a in crm.handle(ev(1, "searched", T0, first="y"))] == ["welcome"]
    assert len(crm.history().entries) == 1
    crm.handle(ev(2, "searched", T0, "c2", first="n"))
    assert [e.journey_id for e in crm.history().entries] == ["welcome", "remind"]


def test_conditions_on_profile_and_segment_choose_the_branch() -> None:
    journey = Journey(
        id="b",
        triggers=(Trigger(event_type="searched"),),
        start="by",
        steps=(
            Branch(
                id="by",
                cases=(
                    Case(conditions=(Condition("profile.age", "lt", 30),), next="young"),
                    Case(conditions=(Condition("segment", "in", ["vip", "gold"]),), next="vip"),
                ),
                otherwise="other",
            ),
            Action(id="young", content="app"),
            Action(id="vip", content="vip"),
            Action(id="other", content="mail"),
        ),
    )
    directory = StaticDirectory(
        [ctx("a", profile={"age": "25"}), ctx("b", profile={"age": "70"}, segment="gold"),
         ctx("c", profile={"age": "unknown"})]
    )  # fmt: skip
    crm = engine(journey, directory=directory)
    got = [crm.handle(ev(c, "searched", T0, c))[0].step_id for c in "abc"]
    assert got == ["young", "vip", "other"]


def test_quiet_hours_defer_to_the_next_morning_in_the_customer_zone() -> None:
    guards = GuardPolicy(quiet_hours=LocalWindow(time(21, 0), time(9, 0)))
    crm = engine(guards=guards)
    late = datetime(2026, 4, 1, 13, 30, tzinfo=UTC)  # 22:30 in Tokyo
    crm.handle(ev(1, "searched", late))
    assert crm.tick(late + timedelta(days=2)) == ()
    (action,) = crm.tick(late + timedelta(days=3))
    assert action.due_at == datetime(2026, 4, 4, 0, 0, tzinfo=UTC)  # 09:00 Tokyo
    assert "1 deferral" in action.reasons[-1]
    statuses = [a.status for a in crm.history().actions]
    assert statuses == [ActionStatus.DEFERRED, ActionStatus.DUE]


def test_waits_and_quiet_hours_across_daylight_saving() -> None:
    directory = StaticDirectory([ctx("ny", time_zone="America/New_York")])
    journey = Journey(
        id="dst",
        triggers=(Trigger(event_type="searched"),),
        start="w",
        steps=(
            Wait(id="w", duration=relativedelta(days=2), next="a"),
            Action(id="a", content="x"),
        ),
    )
    guards = GuardPolicy(quiet_hours=LocalWindow(time(21, 0), time(8, 0)))
    crm = engine(journey, directory=directory, guards=guards)
    # Fri 6 March 2026 10:00 EST; summer time starts Sunday 8 March
    crm.handle(ev(1, "searched", datetime(2026, 3, 6, 15, 0, tzinfo=UTC), "ny"))
    (action,) = crm.tick(datetime(2026, 3, 9, tzinfo=UTC))
    assert action.due_at == datetime(2026, 3, 8, 14, 0, tzinfo=UTC)  # 10:00 EDT
    # a search at 23:00 EST on Sat 7 March: due Mon 9 March 23:00 EDT -> 08:00 EDT Tuesday
    crm2 = engine(journey, directory=directory, guards=guards)
    crm2.handle(ev(2, "searched", datetime(2026, 3, 8, 4, 0, tzinfo=UTC), "ny"))
    (late,) = crm2.tick(datetime(2026, 3, 12, tzinfo=UTC))
    assert late.due_at == datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def test_wait_until_weekday_and_relative_dates() -> None:
    journey = Journey(
        id="dates",
        triggers=(Trigger(event_type="booked"),),
        start="before",
        steps=(
            WaitRelative(
                id="before",
                field="event.departure_date",
                offset=relativedelta(days=-7),
                at=time(10, 0),
                next="checklist",
            ),
            Action(id="checklist", content="checklist", next="saturday"),
            WaitUntil(id="saturday", weekday=5, at=time(11, 0), next="weekend"),
            Action(id="weekend", content="weekend", next="birthday"),
            WaitRelative(id="birthday", field="profile.birthday", anniversary=True, next="card"),
            Action(id="card", content="birthday_card"),
        ),
    )
    directory = StaticDirectory([ctx("c1", profile={"birthday": "1990-06-15"})])
    crm = engine(journey, directory=directory)
    crm.handle(ev(1, "booked", T0, departure_date="2026-04-20"))
    got = steps(crm.tick(datetime(2027, 1, 1, tzinfo=UTC)))
    assert got == [
        ("c1", "checklist", datetime(2026, 4, 13, 1, 0, tzinfo=UTC)),  # 10:00 JST Monday
        ("c1", "weekend", datetime(2026, 4, 18, 2, 0, tzinfo=UTC)),  # Saturday 11:00 JST
        ("c1", "card", datetime(2026, 6, 15, 0, 0, tzinfo=UTC)),  # 09:00 JST
    ]


def test_a_missing_or_past_date_goes_straight_on() -> None:
    journey = Journey(
        id="d",
        triggers=(Trigger(event_type="booked"),),
        start="w",
        steps=(
            WaitRelative(id="w", field="event.departure_date", next="a"),
            Action(id="a", content="x"),
        ),
    )
    crm = engine(journey)
    assert len(crm.handle(ev(1, "booked", T0))) == 1
    assert len(crm.handle(ev(2, "booked", T0, "c2", departure_date="2020-01-01"))) == 1


@pytest.mark.parametrize(
    ("policy", "statuses", "active"),
    [
        (CapPolicy.SKIP, ["due", "skipped"], 1),
        (CapPolicy.DROP, ["due", "dropped"], 0),
        (CapPolicy.DEFER, ["due", "deferred", "due"], 1),
    ],
)
def test_frequency_caps_skip_defer_or_drop(policy: str, statuses: list[str], active: int) -> None:
    journey = Journey(
        id="twice",
        triggers=(Trigger(event_type="searched"),),
        start="a",
        steps=(
            Action(id="a", content="one", next="b"),
            Action(id="b", content="two", next="w"),
            Wait(id="w", duration=relativedelta(days=30), next="end"),
            Exit(id="end"),
        ),
    )
    guards = GuardPolicy(caps=(FrequencyCap(limit=1, window=timedelta(hours=6), policy=policy),))
    crm = engine(journey, guards=guards)
    crm.handle(ev(1, "searched", T0))
    crm.tick(T0 + timedelta(hours=7))
    history = crm.history().actions
    assert [a.status for a in history] == statuses
    assert crm.active_positions() == active
    if policy == CapPolicy.DEFER:
        assert history[-1].due_at == T0 + timedelta(hours=6)
    assert "frequency cap 1 per 6:00:00 overall" in history[1].reasons[-1]


def test_per_channel_cap_counts_only_that_channel() -> None:
    journey = Journey(
        id="two",
        triggers=(Trigger(event_type="searched"),),
        start="a",
        steps=(
            Action(id="a", content="one", channels=("push",), next="b"),
            Action(id="b", content="two", channels=("email",), next="c"),
            Action(id="c", content="three", channels=("push",)),
        ),
    )
    guards = GuardPolicy(caps=(FrequencyCap(limit=1, window=timedelta(days=1), channel="push"),))
    crm = engine(journey, guards=guards)
    crm.handle(ev(1, "searched", T0))
    assert [a.status for a in crm.history().actions] == ["due", "due", "skipped"]


def test_no_consent_means_no_send_and_is_recorded() -> None:
    crm = engine(directory=StaticDirectory([ctx("c1", consents=())]))
    crm.handle(ev(1, "searched", T0))
    assert crm.tick(T0 + timedelta(days=3)) == ()
    (record,) = crm.history().actions
    assert record.status == ActionStatus.NO_CHANNEL
    assert "push: no consent" in record.reasons


def test_holdout_is_deterministic_and_nothing_is_sent_to_it() -> None:
    everyone = engine(reminder(holdout_basis_points=10_000))
    everyone.handle(ev(1, "searched", T0))
    assert everyone.tick(T0 + timedelta(days=3)) == ()
    (record,) = everyone.history().actions
    assert (record.status, record.holdout) == (ActionStatus.HELD_OUT, True)
    ids = [f"cust{i}" for i in range(400)]
    chosen = [c for c in ids if in_holdout("remind", c, 1000)]
    assert chosen == [c for c in ids if in_holdout("remind", c, 1000)]
    assert 20 < len(chosen) < 70


def test_failed_send_falls_back_and_outcomes_are_idempotent() -> None:
    crm = engine()
    crm.handle(ev(1, "searched", T0))
    (push,) = crm.tick(T0 + timedelta(days=3))
    assert push.fallbacks == ("email",)
    at = T0 + timedelta(days=3)
    (mail,) = crm.record_outcome(push.action_id, "failed", at)
    assert (mail.channel, mail.fallbacks, mail.due_at) == ("email", (), at)
    assert crm.record_outcome(push.action_id, "failed", at) == ()
    assert crm.record_outcome(mail.action_id, "failed", at) == ()
    assert crm.unacknowledged() == ()
    with pytest.raises(NotFoundError):
        crm.record_outcome("act_missing", "sent", at)
    with pytest.raises(ValidationError):
        crm.record_outcome(push.action_id, "exploded", at)


def test_unacknowledged_lists_due_actions_without_outcome() -> None:
    crm = engine()
    crm.handle(ev(1, "searched", T0))
    (action,) = crm.tick(T0 + timedelta(days=3))
    assert crm.unacknowledged() == (action,)
    crm.record_outcome(action.action_id, "sent", T0 + timedelta(days=3))
    assert crm.unacknowledged() == ()


def test_campaign_sends_once_through_the_same_guards() -> None:
    guards = GuardPolicy(quiet_hours=LocalWindow(time(21, 0), time(9, 0)))
    campaign = Campaign(id="spring_sale", content="sale", channels=("email",))
    crm = engine(guards=guards, campaigns=(campaign,))
    night = datetime(2026, 4, 1, 14, 0, tzinfo=UTC)  # 23:00 Tokyo
    assert crm.launch("spring_sale", ["c2", "c1", "c1"], T0) != ()
    assert crm.launch("spring_sale", ["c1", "c2"], T0) == ()
    assert len(crm.history().actions) == 2
    late = engine(guards=guards, campaigns=(campaign,))
    assert late.launch("spring_sale", ["c1"], night) == ()
    (action,) = late.tick(night + timedelta(hours=12))
    assert action.due_at == datetime(2026, 4, 2, 0, 0, tzinfo=UTC)
    with pytest.raises(NotFoundError):
        crm.launch("nope", ["c1"], T0)


def test_replay_is_deterministic_and_leaves_the_store_alone() -> None:
    crm = engine()
    log = [
        ev(1, "searched", T0),
        ev(2, "searched", T0 + timedelta(hours=1), "c2"),
        ev(3, "booked", T0 + timedelta(days=1), "c2"),
    ]
    first = crm.replay(reversed(log), T0, T0 + timedelta(days=10))
    assert first == crm.replay(log, T0, T0 + timedelta(days=10))
    assert steps(first) == [("c1", "send", T0 + timedelta(days=2))]
    assert crm.history().actions == ()
    assert crm.replay(log, T0, T0 + timedelta(days=1)) == ()
    with pytest.raises(ValidationError):
        crm.replay(log, T0, T0 - timedelta(days=1))


def test_journey_time_window() -> None:
    crm = engine(reminder(starts_at=T0 + timedelta(days=1)))
    crm.handle(ev(1, "searched", T0))
    assert crm.history().entries == ()


def test_restart_from_sqlite_keeps_waits(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "crm.db")
    engine(store=store).handle(ev(1, "searched", T0))
    store.close()
    again = SQLiteStore(tmp_path / "crm.db")
    try:
        restarted = engine(store=again)
        assert restarted.handle(ev(1, "searched", T0)) == ()
        assert steps(restarted.tick(T0 + timedelta(days=3))) == [
            ("c1", "send", T0 + timedelta(days=2))
        ]
    finally:
        again.close()


def test_a_journey_changed_under_waiting_customers_closes_their_positions() -> None:
    store = MemoryStore()
    engine(store=store).handle(ev(1, "searched", T0))
    renamed = reminder(
        start="wait2",
        steps=(
            WaitForEvent(
                id="wait2",
                event_type="booked",
                timeout=relativedelta(days=2),
                on_event="end",
                on_timeout="end",
            ),
            Exit(id="end"),
        ),
    )
    changed = engine(renamed, store=store)
    assert changed.active_positions() == 1
    assert changed.tick(T0 + timedelta(days=3)) == ()
    assert changed.active_positions() == 0
    assert changed.handle(ev(2, "booked", T0 + timedelta(days=4))) == ()


def test_a_per_channel_cap_switches_to_the_next_usable_channel() -> None:
    journey = Journey(
        id="two",
        triggers=(Trigger(event_type="searched"),),
        start="a",
        steps=(
            Action(id="a", content="one", channels=("push", "email"), next="b"),
            Action(id="b", content="two", channels=("push", "email")),
        ),
    )
    guards = GuardPolicy(caps=(FrequencyCap(limit=1, window=timedelta(days=1), channel="push"),))
    crm = engine(journey, guards=guards)
    first, second = crm.handle(ev(1, "searched", T0))
    assert (first.channel, second.channel) == ("push", "email")
    assert second.fallbacks == ()
    assert "push: frequency cap 1 per 1 day, 0:00:00 on push; switched to email" in second.reasons


def test_an_empty_directory_is_kept() -> None:
    from omnicrm.timing import StaticDirectory

    class Sized(StaticDirectory):
        def __len__(self) -> int:
            return 0

    directory = Sized()
    engine = Engine(MemoryStore(), [], directory=directory)
    assert engine.directory is directory
