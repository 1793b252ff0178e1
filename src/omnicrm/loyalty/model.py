"""The stored values of the loyalty ledger: accounts, grants, holds, orders and entries.

These rows are built by :class:`~omnicrm.loyalty.LoyaltyService` from validated commands
(so they carry no validators of their own, keeping reads cheap); repositories store and
return them unchanged. ``version`` fields drive optimistic concurrency: ``update`` succeeds
only while the stored version equals the one read.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

import attrs

__all__ = [
    "Account",
    "Allocation",
    "BalanceSummary",
    "EntryKind",
    "Grant",
    "GrantKind",
    "GrantSummary",
    "Hold",
    "HoldState",
    "LedgerEntry",
    "Order",
    "OrderPart",
    "evolve",
]

V = TypeVar("V")
_COPIERS: dict[type, Callable[[Any, dict[str, Any]], Any]] = {}


def _copier(cls: Any) -> Callable[[Any, dict[str, Any]], Any]:
    """Build a copy function for ``cls``: slots filled directly, ``__init__`` skipped.

    Only for classes with nothing for ``__init__`` to run (no validator, converter or
    post-init hook), like the values of this module; any other class gets
    ``attrs.evolve``.
    """
    fields = attrs.fields(cls)
    if hasattr(cls, "__attrs_post_init__") or any(
        f.validator is not None or f.converter is not None or not f.init for f in fields
    ):
        return lambda value, changes: attrs.evolve(value, **changes)
    names = tuple(f.name for f in fields)
    lines = ["def copy(value, changes):", "    new = make(cls)"]
    lines += [f"    put(new, {name!r}, value.{name})" for name in names]
    lines += [
        "    for name, item in changes.items():",
        "        if name not in known:",
        "            raise TypeError(f'{cls.__name__} has no field {name!r}')",
        "        put(new, name, item)",
        "    return new",
    ]
    scope: dict[str, Any] = {
        "make": object.__new__,
        "put": object.__setattr__,
        "cls": cls,
        "known": frozenset(names),
    }
    exec("\n".join(lines), scope)  # generated from attrs field names only
    copy: Callable[[Any, dict[str, Any]], Any] = scope["copy"]
    return copy


def evolve(value: V, **changes: Any) -> V:
    """Return a copy of ``value`` with ``changes``: ``attrs.evolve``, about twice as fast.

    The loyalty values have no validators (they are built from checked commands), so
    the copy fills their slots directly instead of running ``__init__``.
    """
    copier = _COPIERS.get(type(value))
    if copier is None:
        copier = _COPIERS[type(value)] = _copier(type(value))
    new: V = copier(value, changes)
    return new


class GrantKind:
    """How a grant expires."""

    STANDARD = "standard"
    """A fixed expiry: ``expires_at`` is set when the grant is made."""
    LIMITED = "limited"
    """Limited-time (campaign) points: spent first, own short expiry."""
    ROLLING = "rolling"
    """Expires with the account's rolling date (``Account.rolling_expires_at``)."""


class HoldState:
    """The life of a checkout hold."""

    ACTIVE = "active"
    CAPTURED = "captured"
    RELEASED = "released"
    LAPSED = "lapsed"


class EntryKind:
    """What a ledger entry records; each kind has fixed debit and credit accounts."""

    EARN = "earn"
    EARN_PENDING = "earn_pending"
    CONFIRM = "confirm"
    CANCEL = "cancel"
    SPEND = "spend"
    HOLD = "hold"
    CAPTURE = "capture"
    RELEASE = "release"
    LAPSE = "lapse"
    EXPIRE = "expire"
    REVERSE = "reverse"
    RESTORE = "restore"
    DEBT = "debt"
    RECOVER = "recover"
    RECOVERED = "recovered"
    ADJUST_UP = "adjust_up"
    ADJUST_DOWN = "adjust_down"
    MERGE_OUT = "merge_out"
    MERGE_IN = "merge_in"


@attrs.frozen(kw_only=True)
class Account:
    """A member's account in one program.

    Attributes:
        program_id: the program.
        member_id: the member (a customer id).
        created_at: when the member enrolled.
        version: optimistic-concurrency version (0 before it is stored).
        debt: points owed per issuing company, from returns, as sorted pairs.
        rolling_expires_at: for a rolling program, when its grants expire (or ``None``).

    """

    program_id: str
    member_id: str
    created_at: datetime
    version: int = 0
    debt: tuple[tuple[str, int], ...] = ()
    rolling_expires_at: datetime | None = None

    @property
    def total_debt(self) -> int:
        """All points owed, over every company."""
        return sum(amount for _, amount in self.debt)


@attrs.frozen(kw_only=True)
class Grant:
    """Points granted in one go, with their own issuer, expiry and remaining amount.

    Attributes:
        id: the grant id.
        program_id: the program.
        member_id: the member holding it now (a merge moves it).
        company: the company that issued it (whose liability it is).
        kind: a :class:`GrantKind` value.
        amount: the points granted.
        remaining: the points still unspent, unexpired and not held.
        granted_at: when it was earned.
        expires_at: when it expires; ``None`` for a rolling grant.
        pending: True while provisional (not yet spendable).
        confirm_at: when a provisional grant confirms.
        order_id: the purchase it was earned on, if any.
        merged_from: the absorbed member it came from in a merge, if any.
        merge_id: the merge that moved it, if any.
        version: optimistic-concurrency version.

    """

    id: str
    program_id: str
    member_id: str
    company: str
    kind: str
    amount: int
    remaining: int
    granted_at: datetime
    expires_at: datetime | None = None
    pending: bool = False
    confirm_at: datetime | None = None
    order_id: str | None = None
    merged_from: str | None = None
    merge_id: str | None = None
    version: int = 0

    @property
    def limited(self) -> bool:
        """True for limited-time (campaign) points."""
        return self.kind == GrantKind.LIMITED


@attrs.frozen(kw_only=True)
class GrantSummary:
    """Remaining points of a member's live grants sharing pending state and dates.

    Attributes:
        kind: the :class:`GrantKind`.
        pending: whether they are provisional.
        confirm_at: when they confirm (provisional only).
        expires_at: when they expire (``None``: the account's rolling date).
        remaining: the sum of their remaining points.

    """

    kind: str
    pending: bool
    confirm_at: datetime | None
    expires_at: datetime | None
    remaining: int


@attrs.frozen(kw_only=True)
class BalanceSummary:
    """A member's balance kept up to date by every command: one row instead of every grant.

    It is what :meth:`~omnicrm.loyalty.LoyaltyService.balance` would compute from the
    member's live grants and active holds at any instant in ``[computed_at,
    valid_until)``: no grant expires or confirms and no hold lapses in between.

    Attributes:
        program_id: the program.
        member_id: the member.
        computed_at: the instant it was computed at (the command's).
        valid_until: the first instant something changes by time alone, or ``None``.
        time_zone: the program's time zone the expiry dates were counted in.
        available: spendable points.
        pending: provisional points.
        held: points in active holds.
        limited: the limited-time part of ``available``.
        expiring: available points by the local date they expire on, soonest first.

    """

    program_id: str
    member_id: str
    computed_at: datetime
    valid_until: datetime | None
    time_zone: str
    available: int = 0
    pending: int = 0
    held: int = 0
    limited: int = 0
    expiring: tuple[tuple[date, int], ...] = ()

    def valid_at(self, at: datetime, time_zone: str) -> bool:
        """Whether it is the balance at ``at`` for a program in ``time_zone``."""
        return (
            self.time_zone == time_zone
            and self.computed_at <= at
            and (self.valid_until is None or at < self.valid_until)
        )


@attrs.frozen
class Allocation:
    """Points taken from (or given to) one grant.

    Attributes:
        grant_id: the grant.
        company: the company that issued the grant.
        points: how many points.
        expires_at: the grant's expiry when the points were taken (``None``: rolling).

    """

    grant_id: str
    company: str
    points: int
    expires_at: datetime | None = None


@attrs.frozen(kw_only=True)
class Hold:
    """Points reserved for a checkout.

    Attributes:
        id: the hold id.
        program_id: the program.
        member_id: the member.
        company: the company where the points will be spent.
        channel: the channel of the checkout.
        order_id: the order, if known.
        points: the points reserved.
        allocations: the grants they were taken from, in spending order.
        created_at: when it was placed.
        expires_at: when it lapses by itself.
        state: a :class:`HoldState` value.
        captured: points captured (spent).
        version: optimistic-concurrency version.

    """

    id: str
    program_id: str
    member_id: str
    company: str
    channel: str
    order_id: str | None
    points: int
    allocations: tuple[Allocation, ...]
    created_at: datetime
    expires_at: datetime
    state: str = HoldState.ACTIVE
    captured: int = 0
    version: int = 0


@attrs.frozen
class OrderPart:
    """Points an order earned on one grant, or spent from one grant.

    Attributes:
        grant_id: the grant.
        company: the grant's issuer.
        points: points earned on it (or spent from it).
        undone: points since reversed (or restored) by returns.
        forgiven: of the reversed points, those not charged as debt because the grant
            had expired (the member never had them to spend).
        spender: for a spend, the company where the points were spent.

    """

    grant_id: str
    company: str
    points: int
    undone: int = 0
    spender: str | None = None
    forgiven: int = 0


@attrs.frozen(kw_only=True)
class Order:
    """What a purchase earned and spent, so returns can undo it in proportion.

    Attributes:
        program_id: the program.
        order_id: the host's order id.
        member_id: the member.
        gross: the purchase amount in minor units (0 until points are earned on it).
        points_used: the points used on it, as the earn command said.
        earned: the grants it earned, with what returns reversed.
        spent: the grants its spends used, with what returns restored.
        returned: the gross amount returned so far.
        earned_at: when points were earned on it (``None``: not yet).
        version: optimistic-concurrency version.

    """

    program_id: str
    order_id: str
    member_id: str
    gross: int = 0
    points_used: int = 0
    earned: tuple[OrderPart, ...] = ()
    spent: tuple[OrderPart, ...] = ()
    returned: int = 0
    earned_at: datetime | None = None
    version: int = 0


@attrs.frozen(kw_only=True)
class LedgerEntry:
    """One movement of points: ``amount`` from ``debit`` to ``credit``, in one company's books.

    Member accounts (``member.available``, ``member.pending``, ``member.held``,
    ``member.debt``) are scoped by ``member_id`` and ``company``; company accounts
    (``company.issued``, ``company.redeemed``, ...) by ``company``. Entries are only ever
    appended; a correction is a new entry.

    Attributes:
        seq: the ledger sequence number (0 before it is appended).
        program_id: the program.
        member_id: the member.
        company: the issuing company whose books the entry is in.
        grant_id: the grant it moves points of, if any.
        kind: an :class:`EntryKind` value.
        debit: the account debited.
        credit: the account credited.
        amount: the points moved (> 0).
        counterparty: the other company (where points were spent), if any.
        ref: the order or hold it belongs to, if any.
        effective_at: when the movement took effect.
        recorded_at: when it was written.

    """

    seq: int = 0
    program_id: str
    member_id: str
    company: str
    grant_id: str | None
    kind: str
    debit: str
    credit: str
    amount: int
    counterparty: str | None = None
    ref: str | None = None
    effective_at: datetime
    recorded_at: datetime
