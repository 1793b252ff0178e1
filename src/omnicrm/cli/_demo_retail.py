"""The demo's story: a retailer with three stores, an EC site and an app, on one OmniCRM."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from omnicrm.analytics import consented, in_segment, rfm_scores, rfm_segments, select
from omnicrm.channel import Channel
from omnicrm.identity import CustomerRecord, SourceRef
from omnicrm.inventory import GeoPoint, HoldKind, HoldLine, OrderLine, SourcingRequest
from omnicrm.loyalty import Purchase, PurchaseLine
from omnicrm.money import Money
from omnicrm.omni import OmniCRM
from omnicrm.testing.fakes import FixedClock
from omnicrm.testing.retail_sample import PROGRAM, SALE, STORES
from omnicrm.timing import CustomerEvent, evaluate

__all__ = ["HISTORY", "START", "Add", "customers", "tell"]

START = datetime(2026, 4, 1, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo
TOKYO = ZoneInfo("Asia/Tokyo")
P = PROGRAM.id
HISTORY = tuple(f"ec:c{n:02d}" for n in range(1, 17))
"""Sixteen earlier EC customers, for the RFM segments."""
HANAKO_STORE = CustomerRecord(
    source=SourceRef("store", "M-000123"),
    family_name="山田",
    given_name="花子",
    family_name_kana="ヤマダ",
    given_name_kana="ハナコ",
    phone="090-1234-5678",
    member_card_no="M-000123",
)
HANAKO_EC = CustomerRecord(
    source=SourceRef("ec", "ec-88412"),
    given_name="Hanako",
    email="hanako@example.jp",
    email_verified=True,
)
KENTA_APP = CustomerRecord(
    source=SourceRef("app", "app-5521"),
    family_name="佐藤",
    given_name="健太",
    email="kenta@example.jp",
)
Add = Callable[[str, list[str], list[list[str]]], None]


def customers() -> tuple[str, ...]:
    """Every customer id the story gives a Tokyo context (consent to push and e-mail)."""
    return ("store:M-000123", "ec:ec-88412", "app:app-5521", *HISTORY)


def _jst(at: datetime) -> str:
    return f"{at.astimezone(TOKYO):%m-%d %H:%M}"


def _buy(order: str, channel: Channel, sku: str, amount: int, used: int = 0) -> Purchase:
    return Purchase(
        order_id=order,
        company="retail",
        channel=channel,
        lines=(PurchaseLine(sku, amount),),
        points_used=used,
    )


def tell(crm: OmniCRM, clock: FixedClock, add: Add) -> None:
    """Run the story on ``crm`` (set up by ``retail_crm``), adding a table per step."""
    _history(crm, clock)
    clock.set(START)
    hanako, kenta = _signups(crm, add)
    _merge(crm, hanako, add)
    hanako = "ec:ec-88412"
    _product_page(crm, hanako, add)
    _segments(crm, add)
    _journeys(crm, clock, hanako, kenta, add)


def _history(crm: OmniCRM, clock: FixedClock) -> None:
    for n, customer in enumerate(HISTORY):
        for k in range(1 + n % 4):
            clock.set(START - timedelta(days=20 + 23 * n - 9 * k))
            order = f"EC-{n:02d}{k}"
            amount = 1_500 + 700 * ((n * 7 + k) % 9)
            crm.record_purchase(
                customer, _buy(order, Channel.EC, "shirt", amount), idempotency_key=order
            )


def _signups(crm: OmniCRM, add: Add) -> tuple[str, str]:
    rows = []
    for n, record in enumerate((HANAKO_STORE, HANAKO_EC, KENTA_APP)):
        placed = crm.identity.resolve(record, idempotency_key=f"signup-{n}")
        rows.append(
            [
                record.source.channel.name,
                record.source.id,
                placed.customer_id,
                "new" if placed.created else "joined",
            ]
        )
    add("Sign-ups", ["channel", "source id", "person", "placed"], rows)
    hanako, kenta = rows[0][2], rows[2][2]
    crm.record_purchase(
        hanako, _buy("POS-7001", Channel.STORE, "pants", 12_800), idempotency_key="pos-7001"
    )
    b = crm.loyalty.balance(hanako, P)
    add(
        "Points earned in store",
        ["person", "order", "paid", "points"],
        [[hanako, "POS-7001", "¥12,800", str(b.available)]],
    )
    return hanako, kenta


def _merge(crm: OmniCRM, member: str, add: Add) -> None:
    account = "ec:ec-88412"
    before = crm.loyalty.balance(member, P).available
    crm.identity.merge(
        account, member, reason="same phone, card and e-mail", idempotency_key="merge-1"
    )
    rows = [
        [
            member,
            account,
            str(before),
            str(crm.loyalty.balance(account, P).available),
            str(sum(1 for r in crm.purchases() if r.merged_from == member)),
        ]
    ]
    add("Merge", ["absorbed", "survivor", "pts before", "pts after", "orders moved"], rows)
    hold = crm.loyalty.hold(
        account,
        P,
        100,
        company="retail",
        channel=Channel.EC,
        order_id="EC-9001",
        idempotency_key="ec-9001-hold",
    )
    crm.loyalty.capture(P, hold.hold_id or "", 100, idempotency_key="ec-9001-capture")
    crm.record_purchase(
        account, _buy("EC-9001", Channel.EC, "belt", 5_500, 100), idempotency_key="ec-9001"
    )
    add(
        "Store points spent online",
        ["person", "order", "points used", "paid", "balance"],
        [[account, "EC-9001", "100", "¥5,400", str(crm.loyalty.balance(account, P).available)]],
    )


def _product_page(crm: OmniCRM, hanako: str, add: Add) -> None:
    inv = crm.inventory
    for store, units in zip(STORES, (2, 3, 1), strict=True):
        inv.receive("shirt", store, units, reference="PO-100", idempotency_key=f"po-100-{store}")
    page = inv.availability("shirt", channel=Channel.EC, near=GeoPoint(35.6580, 139.7016), limit=3)
    add(
        "EC page: Oxford shirt",
        ["store", "km", "free", "pick up"],
        [
            [
                r.name,
                f"{r.distance_km:.1f}",
                str(r.quantity),
                f"today {r.ready_at.astimezone(TOKYO):%H:%M}" if r.ready_at else "-",
            ]
            for r in page.locations
        ],
    )
    try_on = inv.hold(
        [HoldLine("shirt", "st-shibuya", 1)],
        kind=HoldKind.TRY_ON,
        channel=Channel.APP,
        reference=f"try-on:{hanako}",
        idempotency_key="try-on-1",
    ).value
    level = inv.level("shirt", "st-shibuya")
    add(
        "Try-on hold",
        ["hold", "store", "until", "on hand", "held", "free"],
        [
            [
                try_on.id,
                "st-shibuya",
                _jst(try_on.expires_at),
                str(level.on_hand),
                str(level.held),
                str(level.available()),
            ]
        ],
    )
    order = SourcingRequest(
        lines=[OrderLine("shirt", 2, Money(4_900, "JPY"))],
        channel=Channel.EC,
        destination=GeoPoint(35.4437, 139.6380),
        region="kanto",
    )
    plan = inv.source(order)
    held = inv.hold(
        plan.hold_lines(), kind=HoldKind.ORDER, channel=Channel.EC, idempotency_key="ec-9002"
    )
    inv.confirm(held.value.id, idempotency_key="ec-9002-confirm")
    add(
        "Ship-from-store order EC-9002",
        ["ships from", "kind", "units", "km"],
        [
            [
                s.location_id,
                str(s.kind),
                str(sum(ln.quantity for ln in s.lines)),
                f"{s.distance_km:.1f}",
            ]
            for s in plan.shipments
        ],
    )


def _segments(crm: OmniCRM, add: Add) -> None:
    summary = crm.rfm(tz="Asia/Tokyo")
    segments = rfm_segments(rfm_scores(summary), default="others")
    add(
        "RFM segments",
        ["segment", "customers"],
        [[name, str(n)] for name, n in sorted(segments.counts().items()) if n],
    )
    targets = select(
        summary.customer_ids,
        in_segment(segments, "about to sleep", "at risk", "can't lose them", "hibernating"),
        consented("email", list(customers())),
    )
    add(
        "Sale notice targeting",
        ["step", "left"],
        [
            ["lapsing segments" if name.startswith("segment") else name, str(n)]
            for name, n in targets.counts
        ],
    )
    sent = crm.launch(SALE.id, [str(c) for c in targets.customer_ids])
    add(
        "Sale notice",
        ["person", "message", "channel", "due (JST)"],
        [[a.customer_id, a.content, a.channel or "-", _jst(a.due_at)] for a in sent],
    )
    told = crm.remind_expiring(HISTORY, timedelta(days=30))
    add("Points about to expire", ["members told", "journey"], [[str(told), "points_expiring"]])


def _journeys(crm: OmniCRM, clock: FixedClock, hanako: str, kenta: str, add: Add) -> None:
    clock.set(START + timedelta(hours=10, minutes=10))  # 20:10 in Tokyo
    for who in (hanako, kenta):
        crm.timing.handle(
            CustomerEvent(
                event_id=f"search-{who}",
                event_type="searched",
                customer_id=who,
                occurred_at=clock.now(),
            )
        )
    crm.watch(kenta, "pants")
    clock.advance(timedelta(minutes=30))
    crm.record_purchase(
        kenta, _buy("APP-3001", Channel.APP, "shirt", 4_900), idempotency_key="app-3001"
    )
    clock.advance(timedelta(hours=14))  # 10:40 the next morning
    crm.tick()
    crm.inventory.receive("shirt", "wh-chiba", 5, reference="PO-200", idempotency_key="po-200")
    crm.inventory.receive("pants", "wh-chiba", 5, reference="PO-200", idempotency_key="po-200p")
    clock.advance(timedelta(hours=2))
    crm.record_purchase(
        hanako, _buy("EC-9003", Channel.EC, "shirt", 4_900), idempotency_key="ec-9003"
    )
    crm.record_purchase(
        kenta, _buy("APP-3002", Channel.APP, "pants", 5_900), idempotency_key="app-3002"
    )
    add(
        "Journey actions",
        ["person", "journey", "message", "channel", "due (JST)", "note"],
        [
            [
                a.customer_id,
                a.journey_id,
                a.content,
                a.channel or "-",
                _jst(a.due_at),
                "quiet hours 21-09: deferred" if any("deferral" in r for r in a.reasons) else "-",
            ]
            for a in crm.due
            if a.customer_id in (hanako, kenta)
        ]
        or [["-", "-", "-", "-", "-"]],
    )
    conversions = [
        CustomerEvent(
            event_id=f"conv-{r.order_id}",
            event_type="purchase",
            customer_id=r.customer_id,
            occurred_at=r.at,
        )
        for r in crm.purchases()
    ]
    report = evaluate(
        crm.timing.history(),
        conversions=conversions,
        costs={"push": Money(1, "JPY"), "email": Money(2, "JPY")},
    )
    add(
        "Effectiveness per touchpoint",
        ["journey", "step", "sent", "converted", "cost"],
        [
            [j, s, str(t.sent), str(t.converted), str(t.cost) if t.cost else "-"]
            for (j, s), t in sorted(report.by_step.items())
        ],
    )
