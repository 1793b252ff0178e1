"""The ledger-keeping inside one unit of work: postings, grant updates, lazy settlement.

A :class:`Books` belongs to one command of one program. It writes the grant, hold,
account and order rows through the repositories (version-checked) and collects the
ledger entries, appended together by :meth:`Books.flush` before the commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import ClassVar

from omnicrm.errors import NotFoundError, RuleViolationError
from omnicrm.ids import IdGenerator
from omnicrm.loyalty import _calendar as cal
from omnicrm.loyalty._summary import summarize
from omnicrm.loyalty.errors import InsufficientPointsError
from omnicrm.loyalty.model import (
    Account,
    Allocation,
    EntryKind,
    Grant,
    GrantKind,
    Hold,
    HoldState,
    LedgerEntry,
    Order,
    OrderPart,
    evolve,
)
from omnicrm.loyalty.ports import LoyaltyUnitOfWork
from omnicrm.loyalty.program import Program

__all__ = ["ACTIVITY", "POSTINGS", "Books", "MoreLocksNeeded", "spending_order"]

AVAILABLE, PENDING, HELD, DEBT = "member.available", "member.pending", "member.held", "member.debt"
ISSUED, REDEEMED, EXPIRED = "company.issued", "company.redeemed", "company.expired"
REVERSED, ADJUSTED, RECOVERED = "company.reversed", "company.adjusted", "company.recovered"
TRANSFER = "company.transfer"

POSTINGS: dict[str, tuple[str, str]] = {
    EntryKind.EARN: (ISSUED, AVAILABLE),
    EntryKind.EARN_PENDING: (ISSUED, PENDING),
    EntryKind.CONFIRM: (PENDING, AVAILABLE),
    EntryKind.CANCEL: (PENDING, REVERSED),
    EntryKind.SPEND: (AVAILABLE, REDEEMED),
    EntryKind.HOLD: (AVAILABLE, HELD),
    EntryKind.CAPTURE: (HELD, REDEEMED),
    EntryKind.RELEASE: (HELD, AVAILABLE),
    EntryKind.LAPSE: (HELD, AVAILABLE),
    EntryKind.EXPIRE: (AVAILABLE, EXPIRED),
    EntryKind.REVERSE: (AVAILABLE, REVERSED),
    EntryKind.RESTORE: (REDEEMED, AVAILABLE),
    EntryKind.DEBT: (DEBT, REVERSED),
    EntryKind.RECOVER: (AVAILABLE, REDEEMED),
    EntryKind.RECOVERED: (RECOVERED, DEBT),
    EntryKind.ADJUST_UP: (ADJUSTED, AVAILABLE),
    EntryKind.ADJUST_DOWN: (AVAILABLE, ADJUSTED),
}
"""Debit and credit account of each entry kind (merges choose theirs by grant state)."""

ACTIVITY = frozenset(
    {EntryKind.EARN, EntryKind.EARN_PENDING, EntryKind.SPEND, EntryKind.HOLD, EntryKind.CAPTURE}
)
"""Entry kinds that count as member activity (they extend a rolling expiry)."""


class MoreLocksNeeded(Exception):  # noqa: N818 - a signal, caught by the service
    """A command wrote the books of members its unit of work did not lock.

    Raised before the command's last writes; the unit of work rolls back and the
    service runs the command again locking ``members`` (e.g. a return on an order whose
    grants a merge moved to another member).
    """

    def __init__(self, members: frozenset[str]) -> None:
        super().__init__(sorted(members))
        self.members = members


def spending_order(grant: Grant, expiry: datetime | None) -> tuple[bool, datetime, datetime, str]:
    """Sort key: limited-time first, then soonest expiry, then oldest, then id."""
    assert expiry is not None
    return (not grant.limited, expiry, grant.granted_at, grant.id)


class Books:
    """One command's view of one program's ledger.

    Args:
        uow: the open unit of work.
        program: the program.
        now: the instant the command runs at (``recorded_at`` of its entries).
        ids: the id generator for new grants and holds.

    """

    summary_from: ClassVar[int] = 24
    """Members left with at least this many live grants get a balance summary row, so
    a balance reads one row; fewer grants are counted directly (and no summary is kept,
    sparing the write)."""

    def __init__(
        self, uow: LoyaltyUnitOfWork, program: Program, now: datetime, ids: IdGenerator
    ) -> None:
        self.uow = uow
        self.program = program
        self.now = now
        self.ids = ids
        self.entries: list[LedgerEntry] = []
        self.lapsed: dict[str, Hold] = {}
        """Holds :meth:`settle` lapsed in this command, by id (as written)."""
        self._accounts: dict[str, Account] = {}
        self._live: dict[str, dict[str, Grant]] = {}
        self._holds: dict[str, dict[str, Hold]] = {}
        self._touched: dict[str, None] = {}
        """Members whose grants, holds or account this command wrote (in order)."""
        self._counted: dict[str, int] = {}
        """Live grants of each member as committed (read before this command wrote any)."""
        self._as_of = now
        """The latest instant the command brought an account up to."""
        self.locked: frozenset[str] | None = None
        """The members whose books the unit of work locked (``None``: it runs alone)."""

    # -- rows ---------------------------------------------------------------------------

    def account(self, member_id: str) -> Account:
        """Return the member's account, or raise ``NotFoundError``."""
        found = self._accounts.get(member_id)
        if found is None:
            found = self.uow.loyalty_accounts.get(self.program.id, member_id)
            if found is None:
                raise NotFoundError("loyalty member", (self.program.id, member_id))
            self._accounts[member_id] = found
        return found

    def ensure_account(self, member_id: str) -> Account:
        """Return the member's account, opening it if needed."""
        try:
            return self.account(member_id)
        except NotFoundError:
            new = Account(program_id=self.program.id, member_id=member_id, created_at=self.now)
            self._accounts[member_id] = self.uow.loyalty_accounts.add(new)
            self._touched[member_id] = None
            return self._accounts[member_id]

    def save_account(self, account: Account) -> Account:
        """Write a changed account (version-checked)."""
        stored = self.uow.loyalty_accounts.update(account)
        self._accounts[account.member_id] = stored
        self._touched[account.member_id] = None
        return stored

    # -- grants (read once per command, written through) ---------------------------------

    def live(self, member_id: str) -> list[Grant]:
        """The member's grants with points left, as of this command's writes.

        Read from the repository once per command; every grant write of the command goes
        through :meth:`save_grant` / :meth:`new_grant`, which keep this view current.
        """
        found = self._live.get(member_id)
        if found is None:
            rows = self.uow.loyalty_grants.live(self.program.id, member_id)
            found = self._live[member_id] = {g.id: g for g in rows}
            if member_id not in self._touched:
                self._counted[member_id] = len(found)
        return list(found.values())

    def grants(self, grant_ids: Iterable[str]) -> dict[str, Grant]:
        """The existing grants among ``grant_ids``, current ones from this command's view."""
        known = {g.id: g for live in self._live.values() for g in live.values()}
        wanted = list(dict.fromkeys(grant_ids))
        missing = [i for i in wanted if i not in known]
        if missing:
            known.update(self.uow.loyalty_grants.get_many(missing))
        return {i: known[i] for i in wanted if i in known}

    def grant(self, grant_id: str) -> Grant:
        """One grant (``NotFoundError`` if unknown), current as of this command's writes."""
        found = self.grants((grant_id,)).get(grant_id)
        if found is None:
            raise NotFoundError("grant", grant_id)
        return found

    def _track(self, grant: Grant) -> Grant:
        for member_id, cached in self._live.items():
            if cached.pop(grant.id, None) is not None:
                self._touched[member_id] = None
        self._touched[grant.member_id] = None
        live = self._live.get(grant.member_id)
        if live is not None and grant.remaining > 0:
            live[grant.id] = grant
        return grant

    def save_grant(self, grant: Grant) -> Grant:
        """Write a changed grant (version-checked) and keep the live view current."""
        return self._track(self.uow.loyalty_grants.update(grant))

    def expiry(self, grant: Grant) -> datetime | None:
        """The grant's effective expiry (a rolling grant follows its member's account)."""
        if grant.kind == GrantKind.ROLLING:
            return self.account(grant.member_id).rolling_expires_at
        return grant.expires_at

    def expired(self, grant: Grant, at: datetime) -> bool:
        """Whether the grant has expired at ``at`` (a rolling grant without a date has)."""
        expiry = self.expiry(grant)
        return expiry is None or expiry <= at

    def touch(self, member_id: str, at: datetime) -> None:
        """Record activity: a rolling program's expiry moves out from ``at``."""
        if not self.program.rolling:
            return
        account = self.account(member_id)
        until = cal.fixed_expiry(self.program, at)
        if account.rolling_expires_at is None or account.rolling_expires_at < until:
            self.save_account(evolve(account, rolling_expires_at=until))

    # -- postings -----------------------------------------------------------------------

    def post(
        self,
        kind: str,
        *,
        member_id: str,
        company: str,
        amount: int,
        at: datetime,
        grant_id: str | None = None,
        counterparty: str | None = None,
        ref: str | None = None,
        accounts: tuple[str, str] | None = None,
    ) -> None:
        """Collect one entry moving ``amount`` points."""
        debit, credit = accounts or POSTINGS[kind]
        self.entries.append(
            LedgerEntry(
                program_id=self.program.id,
                member_id=member_id,
                company=company,
                grant_id=grant_id,
                kind=kind,
                debit=debit,
                credit=credit,
                amount=amount,
                counterparty=counterparty,
                ref=ref,
                effective_at=at,
                recorded_at=self.now,
            )
        )

    def flush(self) -> None:
        """Append the collected entries; bring the changed members' summaries up to date.

        A member left with :attr:`summary_from` live grants or more gets their summary
        written; one with fewer has it dropped, unless they had fewer already (then they
        have none: every command keeps it so).
        """
        if self.locked is not None:
            wrote = {*self._touched, *(e.member_id for e in self.entries)}
            if not wrote <= self.locked:
                raise MoreLocksNeeded(frozenset(wrote))
        if self.entries:
            self.uow.loyalty_ledger.append(self.entries)
        least = self.summary_from
        for member_id in self._touched:
            if member_id not in self._live:
                self.live(member_id)
            live = self._live[member_id]
            if len(live) >= least:
                account = self.account(member_id)
                holds = self.active_holds(member_id)
                summary = summarize(self.program, account, self._as_of, live.values(), holds)
                self.uow.loyalty_summaries.put(summary)
            elif self._counted.get(member_id, least) >= least:
                self.uow.loyalty_summaries.drop(self.program.id, member_id)

    def points(self, kind: str) -> int:
        """Sum of the collected entries of ``kind``."""
        return sum(e.amount for e in self.entries if e.kind == kind)

    def change(self, grant: Grant, delta: int) -> Grant:
        """Add ``delta`` to the grant's remaining points (version-checked write)."""
        return self.save_grant(evolve(grant, remaining=grant.remaining + delta))

    def new_grant(
        self,
        member_id: str,
        *,
        company: str,
        kind: str,
        amount: int,
        at: datetime,
        expires_at: datetime | None,
        confirm_at: datetime | None = None,
        order_id: str | None = None,
        entry: str = EntryKind.EARN,
    ) -> Grant:
        """Store a new grant and post its issue."""
        pending = confirm_at is not None
        grant = self.add_grant(
            Grant(
                id=self.ids.new_id("grt"),
                program_id=self.program.id,
                member_id=member_id,
                company=company,
                kind=kind,
                amount=amount,
                remaining=amount,
                granted_at=at,
                expires_at=expires_at,
                pending=pending,
                confirm_at=confirm_at,
                order_id=order_id,
            )
        )
        self.post(
            EntryKind.EARN_PENDING if pending else entry,
            member_id=member_id,
            company=company,
            amount=amount,
            at=at,
            grant_id=grant.id,
            ref=order_id,
        )
        return grant

    def add_grant(self, grant: Grant) -> Grant:
        """Store a new grant (no posting) and keep the live view current."""
        return self._track(self.uow.loyalty_grants.add(grant))

    def expire_now(self, grant: Grant, at: datetime) -> Grant:
        """Expire whatever is left of ``grant`` at ``at``."""
        if grant.remaining <= 0 or grant.pending:
            return grant
        return self.write_off(grant, EntryKind.EXPIRE, at)

    def write_off(self, grant: Grant, kind: str, at: datetime, *, ref: str | None = None) -> Grant:
        """Take everything left on ``grant`` off by one ``kind`` entry at ``at``."""
        self.post(
            kind,
            member_id=grant.member_id,
            company=grant.company,
            amount=grant.remaining,
            at=at,
            grant_id=grant.id,
            ref=ref,
        )
        return self.change(grant, -grant.remaining)

    def give_back(
        self,
        grant: Grant,
        points: int,
        kind: str,
        at: datetime,
        *,
        counterparty: str | None = None,
        ref: str | None = None,
    ) -> Grant:
        """Credit ``points`` back onto ``grant``; expire them at once if it has expired."""
        self.post(
            kind,
            member_id=grant.member_id,
            company=grant.company,
            amount=points,
            at=at,
            grant_id=grant.id,
            counterparty=counterparty,
            ref=ref,
        )
        grant = self.change(grant, points)
        if self.expired(grant, at):
            grant = self.expire_now(grant, at)
        return grant

    # -- spending -----------------------------------------------------------------------

    def spendable(self, member_id: str, at: datetime) -> list[Grant]:
        """The member's confirmed, unexpired grants with points left, in spending order."""
        ranked = []
        for grant in self.live(member_id):
            if grant.pending:
                continue
            expiry = self.expiry(grant)
            if expiry is not None and expiry > at:
                ranked.append((spending_order(grant, expiry), grant))
        ranked.sort()  # the keys end with the grant id: no two tie, grants never compared
        return [grant for _, grant in ranked]

    def take(
        self,
        member_id: str,
        points: int,
        kind: str,
        at: datetime,
        *,
        field: str = "points",
        counterparty: str | None = None,
        ref: str | None = None,
        grants: Iterable[Grant] | None = None,
    ) -> list[Allocation]:
        """Debit ``points`` from the member's grants, soonest-first; refuse if short."""
        candidates = list(self.spendable(member_id, at) if grants is None else grants)
        available = sum(g.remaining for g in candidates)
        if available < points:
            raise InsufficientPointsError(
                field, points, f"only {available} points are available to {member_id}"
            )
        taken: list[Allocation] = []
        left = points
        for grant in candidates:
            if left == 0:
                break
            part = min(left, grant.remaining)
            if part <= 0:
                continue
            self.post(
                kind,
                member_id=member_id,
                company=grant.company,
                amount=part,
                at=at,
                grant_id=grant.id,
                counterparty=counterparty,
                ref=ref,
            )
            self.change(grant, -part)
            taken.append(Allocation(grant.id, grant.company, part, self.expiry(grant)))
            left -= part
        return taken

    # -- debt ---------------------------------------------------------------------------

    def add_debt(self, member_id: str, company: str, points: int, at: datetime) -> None:
        """Record that the member owes ``points`` to ``company``."""
        self.post(EntryKind.DEBT, member_id=member_id, company=company, amount=points, at=at)
        account = self.account(member_id)
        debt = dict(account.debt)
        debt[company] = debt.get(company, 0) + points
        self.save_account(evolve(account, debt=tuple(sorted(debt.items()))))

    def recover(self, grant: Grant, at: datetime) -> Grant:
        """Pay the member's debt out of a new grant (provisional points too)."""
        account = self.account(grant.member_id)
        if not account.debt:
            return grant
        debt = dict(account.debt)
        for owed_to, owed in account.debt:
            part = min(owed, grant.remaining)
            if part <= 0:
                break
            common = {"member_id": grant.member_id, "amount": part, "at": at}
            self.post(
                EntryKind.RECOVER,
                company=grant.company,
                grant_id=grant.id,
                counterparty=owed_to,
                accounts=(PENDING if grant.pending else AVAILABLE, REDEEMED),
                **common,  # type: ignore[arg-type]
            )
            self.post(
                EntryKind.RECOVERED,
                company=owed_to,
                counterparty=grant.company,
                **common,  # type: ignore[arg-type]
            )
            grant = self.change(grant, -part)
            debt[owed_to] = owed - part
        left = tuple(sorted((c, a) for c, a in debt.items() if a > 0))
        self.save_account(evolve(account, debt=left))
        return grant

    # -- holds --------------------------------------------------------------------------

    def release(
        self, hold: Hold, points_by_grant: list[tuple[Allocation, int]], kind: str, at: datetime
    ) -> None:
        """Return held points to their grants (expiring them at once if they have expired)."""
        grants = self.grants(a.grant_id for a, _ in points_by_grant)
        for allocation, points in points_by_grant:
            if points > 0:
                self.give_back(grants[allocation.grant_id], points, kind, at, ref=hold.id)

    # -- orders -------------------------------------------------------------------------

    def allocation(self, grant: Grant) -> Allocation:
        """The allocation describing a whole grant."""
        return Allocation(grant.id, grant.company, grant.amount, self.expiry(grant))

    @staticmethod
    def part(grant: Grant) -> OrderPart:
        """The order part describing what a purchase earned on ``grant``."""
        return OrderPart(grant.id, grant.company, grant.amount)

    def record_spent(
        self, member_id: str, order_id: str, taken: list[Allocation], spender: str
    ) -> None:
        """Note on the order which grants paid for it, so a return can give them back."""
        orders = self.uow.loyalty_orders
        parts = tuple(OrderPart(a.grant_id, a.company, a.points, 0, spender) for a in taken)
        order = orders.get(self.program.id, order_id)
        if order is None:
            orders.add(
                Order(
                    program_id=self.program.id, order_id=order_id, member_id=member_id, spent=parts
                )
            )
        elif order.member_id != member_id:
            raise RuleViolationError("order_id", order_id, f"belongs to member {order.member_id}")
        else:
            orders.update(evolve(order, spent=order.spent + parts))

    # -- holds (read once per command, written through) ----------------------------------

    def active_holds(self, member_id: str) -> list[Hold]:
        """The member's active holds by id, as of this command's writes."""
        found = self._holds.get(member_id)
        if found is None:
            rows = self.uow.loyalty_holds.active(self.program.id, member_id)
            found = self._holds[member_id] = {h.id: h for h in rows}
        return [found[i] for i in sorted(found)]

    def _track_hold(self, hold: Hold) -> Hold:
        self._touched[hold.member_id] = None
        active = self._holds.get(hold.member_id)
        if active is not None:
            if hold.state == HoldState.ACTIVE:
                active[hold.id] = hold
            else:
                active.pop(hold.id, None)
        return hold

    def add_hold(self, hold: Hold) -> Hold:
        """Store a new hold and keep the active view current."""
        return self._track_hold(self.uow.loyalty_holds.add(hold))

    def save_hold(self, hold: Hold) -> Hold:
        """Write a changed hold (version-checked) and keep the active view current."""
        return self._track_hold(self.uow.loyalty_holds.update(hold))

    # -- lazy settlement ----------------------------------------------------------------

    def settle(self, member_id: str, at: datetime) -> None:
        """Bring the member's account up to ``at``: lapse holds, confirm, then expire.

        Each entry takes effect when it should have (the hold's timeout, the confirmation
        date, the expiry), so the ledger read at any instant tells the truth.
        """
        self._as_of = max(self._as_of, at)
        self.live(member_id)  # read before lapsing holds, so the view sees their give-backs
        for hold in self.active_holds(member_id):
            if hold.expires_at <= at:
                pairs = [(a, a.points) for a in hold.allocations]
                self.release(hold, pairs, EntryKind.LAPSE, hold.expires_at)
                self.lapsed[hold.id] = self.save_hold(evolve(hold, state=HoldState.LAPSED))
        live = self._live[member_id]  # read above
        for grant in [live[i] for i in sorted(live)]:
            if grant.pending and grant.confirm_at is not None and grant.confirm_at <= at:
                self.post(
                    EntryKind.CONFIRM,
                    member_id=member_id,
                    company=grant.company,
                    amount=grant.remaining,
                    at=grant.confirm_at,
                    grant_id=grant.id,
                )
                grant = self.save_grant(evolve(grant, pending=False))
            if not grant.pending and grant.remaining > 0 and self.expired(grant, at):
                self.expire_now(grant, self.expiry(grant) or at)
        account = self.account(member_id)
        if account.rolling_expires_at is not None and account.rolling_expires_at <= at:
            self.save_account(evolve(account, rolling_expires_at=None))
