"""The loyalty application service: one unit of work per command, idempotent by key."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import attrs

from omnicrm.channel import Channel
from omnicrm.clock import Clock, to_utc
from omnicrm.errors import DuplicateError, InvalidTypeError, NotFoundError, RuleViolationError
from omnicrm.idempotency import IdempotencyRecord, fingerprint, replay_or_none
from omnicrm.ids import IdGenerator, UuidIds
from omnicrm.loyalty import _calendar as cal
from omnicrm.loyalty._books import Books
from omnicrm.loyalty._merge import move_grants
from omnicrm.loyalty._returns import return_purchase
from omnicrm.loyalty._views import balance_as_of, balance_now, company_books, settlement
from omnicrm.loyalty.codec import receipt_from_json, receipt_to_json
from omnicrm.loyalty.errors import ExceedsHoldError, HoldNotActiveError
from omnicrm.loyalty.events import PointsEarned, PointsExpired, PointsReturned, PointsSpent
from omnicrm.loyalty.model import EntryKind, GrantKind, Hold, HoldState, LedgerEntry, Order
from omnicrm.loyalty.ports import LoyaltyStore
from omnicrm.loyalty.program import Program
from omnicrm.loyalty.purchase import Purchase, plan_earning
from omnicrm.loyalty.results import (
    Balance,
    CompanyBooks,
    ExpiringPoints,
    ExpiryReport,
    Receipt,
    Settlement,
)
from omnicrm.validation import check_date, check_id, check_int

__all__ = ["LoyaltyService"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Command = Callable[[Books], Receipt]


def _points(field: str, value: object) -> int:
    return check_int(field, value, minimum=1)


def _optional_id(field: str, value: object) -> str | None:
    return None if value is None else check_id(field, value)


class LoyaltyService:
    """Earn, spend, hold, return and expire points on an exact integer ledger.

    Args:
        store: a store whose units of work carry the loyalty repositories.
        clock: the source of "now".
        programs: the programs this service runs.
        ids: the id generator for grants, holds and events (random by default).

    """

    def __init__(
        self,
        store: LoyaltyStore,
        clock: Clock,
        programs: Iterable[Program],
        ids: IdGenerator | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._ids = ids or UuidIds()
        self._programs: dict[str, Program] = {}
        for program in programs:
            if not isinstance(program, Program):
                raise InvalidTypeError("programs", program, "must be a Program")
            self._programs[program.id] = program

    # -- plumbing -----------------------------------------------------------------------

    def program(self, program_id: str) -> Program:
        """Return the program, or raise ``NotFoundError``."""
        check_id("program_id", program_id)
        found = self._programs.get(program_id)
        if found is None:
            raise NotFoundError("program", program_id)
        return found

    def _company(self, program: Program, company: object) -> str:
        check_id("company", company)
        if company not in program.companies:
            raise NotFoundError("company", (program.id, company))
        return str(company)

    def _run(
        self, scope: str, key: str, payload: dict[str, Any], program: Program, command: Command
    ) -> Receipt:
        check_id("idempotency_key", key)
        digest = fingerprint(payload)
        now = self._clock.now()
        with self._store.unit_of_work() as uow:
            earlier = replay_or_none(uow.idempotency, scope, key, digest)
            if earlier is not None:
                return receipt_from_json(earlier)
            books = Books(uow, program, now, self._ids)
            receipt = command(books)
            books.flush()
            uow.idempotency.add(
                IdempotencyRecord(
                    scope=scope,
                    key=key,
                    fingerprint=digest,
                    result=receipt_to_json(receipt),
                    created_at=now,
                )
            )
            uow.commit()
        return attrs.evolve(receipt, events=uow.events)

    def _event(self, books: Books, event: type[Any], **fields: Any) -> None:
        books.uow.record(event(event_id=self._ids.new_id("evt"), occurred_at=books.now, **fields))

    # -- commands -----------------------------------------------------------------------

    def enroll(self, member_id: str, program_id: str, *, idempotency_key: str) -> Receipt:
        """Open a member's account in a program (``DuplicateError`` if already open)."""
        check_id("member_id", member_id)
        program = self.program(program_id)

        def command(books: Books) -> Receipt:
            if books.uow.loyalty_accounts.get(program.id, member_id) is not None:
                raise DuplicateError("loyalty member", (program_id, member_id))
            books.ensure_account(member_id)
            return Receipt(command="enroll", program_id=program_id, member_id=member_id, points=0)

        payload = {"member_id": member_id, "program_id": program_id}
        return self._run("loyalty.enroll", idempotency_key, payload, program, command)

    def earn(
        self, member_id: str, program_id: str, purchase: Purchase, *, idempotency_key: str
    ) -> Receipt:
        """Grant the points ``purchase`` earns: ordinary, limited-time, provisional as set.

        Debt from earlier returns is recovered first from points available at once.
        """
        check_id("member_id", member_id)
        program = self.program(program_id)
        if not isinstance(purchase, Purchase):
            raise InvalidTypeError("purchase", purchase, "must be a Purchase")
        company = self._company(program, purchase.company)

        def command(books: Books) -> Receipt:
            at = books.now
            books.settle(member_id, at)
            order = books.uow.loyalty_orders.get(program.id, purchase.order_id)
            if order is not None and order.earned_at is not None:
                raise DuplicateError("earned order", (program.id, purchase.order_id))
            if order is not None and order.member_id != member_id:
                raise RuleViolationError(
                    "order_id", purchase.order_id, f"belongs to member {order.member_id}"
                )
            books.touch(member_id, at)
            plan = plan_earning(program, purchase, at)
            confirm = cal.confirm_at(program, at)
            batches = []
            if plan.standard:
                kind = GrantKind.ROLLING if program.rolling else GrantKind.STANDARD
                expiry = None if program.rolling else cal.fixed_expiry(program, at)
                batches.append((kind, plan.standard, expiry))
            for _name, days, points in plan.limited:
                batches.append((GrantKind.LIMITED, points, cal.limited_expiry(program, at, days)))
            allocations, parts = [], []
            for kind, points, expiry in batches:
                grant = books.new_grant(
                    member_id,
                    company=company,
                    kind=kind,
                    amount=points,
                    at=at,
                    expires_at=expiry,
                    confirm_at=confirm,
                    order_id=purchase.order_id,
                )
                books.recover(grant, at)
                allocations.append(books.allocation(grant))
                parts.append(books.part(grant))
            base = order or Order(
                program_id=program.id, order_id=purchase.order_id, member_id=member_id
            )
            earned = attrs.evolve(
                base,
                gross=purchase.gross,
                points_used=purchase.points_used,
                earned=tuple(parts),
                earned_at=at,
            )
            if order is None:
                books.uow.loyalty_orders.add(earned)
            else:
                books.uow.loyalty_orders.update(earned)
            if plan.total:
                self._event(
                    books,
                    PointsEarned,
                    program_id=program.id,
                    member_id=member_id,
                    points=plan.total,
                    pending=confirm is not None,
                )
            return Receipt(
                command="earn",
                program_id=program.id,
                member_id=member_id,
                points=plan.total,
                allocations=tuple(allocations),
                details=(
                    ("pending", plan.total if confirm else 0),
                    ("recovered", books.points(EntryKind.RECOVER)),
                ),
            )

        payload = {"member_id": member_id, "program_id": program_id, "purchase": purchase}
        return self._run("loyalty.earn", idempotency_key, payload, program, command)

    def spend(
        self,
        member_id: str,
        program_id: str,
        points: int,
        *,
        company: str,
        channel: Channel,
        order_id: str | None = None,
        idempotency_key: str,
    ) -> Receipt:
        """Spend points at ``company``: limited-time first, then the soonest-expiring.

        Raises ``InsufficientPointsError`` (writing nothing) when the balance is short.
        """
        check_id("member_id", member_id)
        _points("points", points)
        program = self.program(program_id)
        spender = self._company(program, company)
        if not isinstance(channel, Channel):
            raise InvalidTypeError("channel", channel, "must be a Channel")
        _optional_id("order_id", order_id)

        def command(books: Books) -> Receipt:
            at = books.now
            books.settle(member_id, at)
            taken = books.take(
                member_id, points, EntryKind.SPEND, at, counterparty=spender, ref=order_id
            )
            books.touch(member_id, at)
            if order_id is not None:
                books.record_spent(member_id, order_id, taken, spender)
            self._event(
                books,
                PointsSpent,
                program_id=program.id,
                member_id=member_id,
                points=points,
                company=spender,
            )
            return Receipt(
                command="spend",
                program_id=program.id,
                member_id=member_id,
                points=points,
                allocations=tuple(taken),
            )

        payload = {
            "member_id": member_id,
            "program_id": program_id,
            "points": points,
            "company": company,
            "channel": channel.name,
            "order_id": order_id,
        }
        return self._run("loyalty.spend", idempotency_key, payload, program, command)

    def hold(
        self,
        member_id: str,
        program_id: str,
        points: int,
        *,
        company: str,
        channel: Channel,
        order_id: str | None = None,
        idempotency_key: str,
    ) -> Receipt:
        """Reserve points for a checkout; they lapse back after ``program.hold_timeout``."""
        check_id("member_id", member_id)
        _points("points", points)
        program = self.program(program_id)
        spender = self._company(program, company)
        if not isinstance(channel, Channel):
            raise InvalidTypeError("channel", channel, "must be a Channel")
        _optional_id("order_id", order_id)

        def command(books: Books) -> Receipt:
            at = books.now
            books.settle(member_id, at)
            hold_id = self._ids.new_id("hld")
            taken = books.take(member_id, points, EntryKind.HOLD, at, ref=hold_id)
            books.touch(member_id, at)
            books.uow.loyalty_holds.add(
                Hold(
                    id=hold_id,
                    program_id=program.id,
                    member_id=member_id,
                    company=spender,
                    channel=channel.name,
                    order_id=order_id,
                    points=points,
                    allocations=tuple(taken),
                    created_at=at,
                    expires_at=at + program.hold_timeout,
                )
            )
            return Receipt(
                command="hold",
                program_id=program.id,
                member_id=member_id,
                points=points,
                allocations=tuple(taken),
                hold_id=hold_id,
            )

        payload = {
            "member_id": member_id,
            "program_id": program_id,
            "points": points,
            "company": company,
            "channel": channel.name,
            "order_id": order_id,
        }
        return self._run("loyalty.hold", idempotency_key, payload, program, command)

    def _active_hold(self, books: Books, hold_id: str) -> Hold:
        hold = books.uow.loyalty_holds.get(hold_id)
        if hold.program_id != books.program.id:
            raise NotFoundError("hold", (books.program.id, hold_id))
        books.settle(hold.member_id, books.now)
        hold = books.uow.loyalty_holds.get(hold_id)
        if hold.state != HoldState.ACTIVE:
            raise HoldNotActiveError("hold_id", hold_id, f"the hold is already {hold.state}")
        return hold

    def capture(
        self, program_id: str, hold_id: str, points: int, *, idempotency_key: str
    ) -> Receipt:
        """Spend ``points`` of a hold (at most what it holds); the rest returns to the member."""
        check_id("hold_id", hold_id)
        _points("points", points)
        program = self.program(program_id)

        def command(books: Books) -> Receipt:
            at = books.now
            hold = self._active_hold(books, hold_id)
            if points > hold.points:
                raise ExceedsHoldError(
                    "points", points, f"hold {hold_id} holds only {hold.points} points"
                )
            captured, rest, left = [], [], points
            for allocation in hold.allocations:
                part = min(left, allocation.points)
                left -= part
                if part:
                    books.post(
                        EntryKind.CAPTURE,
                        member_id=hold.member_id,
                        company=allocation.company,
                        amount=part,
                        at=at,
                        grant_id=allocation.grant_id,
                        counterparty=hold.company,
                        ref=hold.id,
                    )
                    captured.append(attrs.evolve(allocation, points=part))
                rest.append((allocation, allocation.points - part))
            books.release(hold, rest, EntryKind.RELEASE, at)
            books.uow.loyalty_holds.update(
                attrs.evolve(hold, state=HoldState.CAPTURED, captured=points)
            )
            books.touch(hold.member_id, at)
            if hold.order_id is not None:
                books.record_spent(hold.member_id, hold.order_id, captured, hold.company)
            self._event(
                books,
                PointsSpent,
                program_id=program.id,
                member_id=hold.member_id,
                points=points,
                company=hold.company,
            )
            return Receipt(
                command="capture",
                program_id=program.id,
                member_id=hold.member_id,
                points=points,
                allocations=tuple(captured),
                hold_id=hold_id,
                details=(("released", hold.points - points),),
            )

        payload = {"program_id": program_id, "hold_id": hold_id, "points": points}
        return self._run("loyalty.capture", idempotency_key, payload, program, command)

    def release(self, program_id: str, hold_id: str, *, idempotency_key: str) -> Receipt:
        """Cancel a hold: its points return to the member."""
        check_id("hold_id", hold_id)
        program = self.program(program_id)

        def command(books: Books) -> Receipt:
            hold = self._active_hold(books, hold_id)
            books.release(
                hold, [(a, a.points) for a in hold.allocations], EntryKind.RELEASE, books.now
            )
            books.uow.loyalty_holds.update(attrs.evolve(hold, state=HoldState.RELEASED))
            return Receipt(
                command="release",
                program_id=program.id,
                member_id=hold.member_id,
                points=hold.points,
                allocations=hold.allocations,
                hold_id=hold_id,
            )

        payload = {"program_id": program_id, "hold_id": hold_id}
        return self._run("loyalty.release", idempotency_key, payload, program, command)

    def return_purchase(
        self,
        member_id: str,
        program_id: str,
        order_id: str,
        returned_amount: int,
        *,
        idempotency_key: str,
    ) -> Receipt:
        """Return goods worth ``returned_amount`` (gross) from an order.

        Earned points are reversed and spent points given back in proportion; provisional
        points are cancelled. A shortfall becomes debt (or is written off), never a
        negative balance.
        """
        check_id("member_id", member_id)
        check_id("order_id", order_id)
        _points("returned_amount", returned_amount)
        program = self.program(program_id)

        def command(books: Books) -> Receipt:
            books.settle(member_id, books.now)
            reversed_, restored, debt = return_purchase(
                books, member_id, order_id, returned_amount, books.now
            )
            self._event(
                books,
                PointsReturned,
                program_id=program.id,
                member_id=member_id,
                reversed=reversed_,
                restored=restored,
                debt=debt,
            )
            return Receipt(
                command="return",
                program_id=program.id,
                member_id=member_id,
                points=reversed_,
                details=(("reversed", reversed_), ("restored", restored), ("debt", debt)),
            )

        payload = {
            "member_id": member_id,
            "program_id": program_id,
            "order_id": order_id,
            "returned_amount": returned_amount,
        }
        return self._run("loyalty.return", idempotency_key, payload, program, command)

    def adjust(
        self,
        member_id: str,
        program_id: str,
        points: int,
        *,
        company: str,
        reason: str,
        expires_on: date | None = None,
        limited: bool = False,
        idempotency_key: str,
    ) -> Receipt:
        """Correct a balance by a new entry: ``points > 0`` grants, ``points < 0`` debits.

        A grant expires with the program's usual validity, or at the end of ``expires_on``
        (local date) when given; ``limited`` marks it limited-time (spent first).
        """
        check_id("member_id", member_id)
        check_int("points", points)
        if points == 0:
            raise RuleViolationError("points", points, "an adjustment must not be zero")
        check_id("reason", reason)
        if expires_on is not None:
            check_date("expires_on", expires_on)
        if not isinstance(limited, bool):
            raise InvalidTypeError("limited", limited, "must be a bool")
        program = self.program(program_id)
        issuer = self._company(program, company)

        def command(books: Books) -> Receipt:
            at = books.now
            books.settle(member_id, at)
            if points < 0:
                taken = books.take(member_id, -points, EntryKind.ADJUST_DOWN, at, ref=reason)
                return Receipt(
                    command="adjust",
                    program_id=program.id,
                    member_id=member_id,
                    points=points,
                    allocations=tuple(taken),
                )
            if expires_on is not None:
                kind, expiry = GrantKind.STANDARD, cal.day_end(program, expires_on)
                if expiry <= at:
                    raise RuleViolationError("expires_on", expires_on, "is already past")
            elif program.rolling:
                kind, expiry = GrantKind.ROLLING, None
                books.touch(member_id, at)
            else:
                kind, expiry = GrantKind.STANDARD, cal.fixed_expiry(program, at)
            grant = books.new_grant(
                member_id,
                company=issuer,
                kind=GrantKind.LIMITED if limited and expiry else kind,
                amount=points,
                at=at,
                expires_at=expiry,
                entry=EntryKind.ADJUST_UP,
            )
            books.recover(grant, at)
            return Receipt(
                command="adjust",
                program_id=program.id,
                member_id=member_id,
                points=points,
                allocations=(books.allocation(grant),),
            )

        payload = {
            "member_id": member_id,
            "program_id": program_id,
            "points": points,
            "company": company,
            "reason": reason,
            "expires_on": expires_on,
            "limited": limited,
        }
        return self._run("loyalty.adjust", idempotency_key, payload, program, command)

    def _merge(
        self, scope: str, survivor_id: str, absorbed_id: str, merge_id: str, key: str
    ) -> list[Receipt]:
        check_id("survivor_id", survivor_id)
        check_id("absorbed_id", absorbed_id)
        check_id("merge_id", merge_id)
        if survivor_id == absorbed_id:
            raise RuleViolationError(
                "absorbed_id", absorbed_id, "cannot merge a member into itself"
            )
        unmerge = scope.endswith("unmerge")
        source, target = (survivor_id, absorbed_id) if unmerge else (absorbed_id, survivor_id)
        with self._store.unit_of_work() as uow:
            program_ids = uow.loyalty_accounts.programs_of(source)
        receipts = []
        for program_id in program_ids:
            program = self._programs.get(program_id)
            if program is None:
                continue

            def command(books: Books) -> Receipt:
                if unmerge:
                    moved = move_grants(
                        books,
                        source,
                        target,
                        lambda g: g.merge_id == merge_id and g.merged_from == target,
                        lambda g: attrs.evolve(g, merged_from=None, merge_id=None),
                    )
                else:
                    moved = move_grants(
                        books,
                        source,
                        target,
                        lambda _g: True,
                        lambda g: attrs.evolve(g, merged_from=source, merge_id=merge_id),
                    )
                return Receipt(
                    command=scope.removeprefix("loyalty."),
                    program_id=books.program.id,
                    member_id=target,
                    points=moved,
                )

            payload = {"survivor": survivor_id, "absorbed": absorbed_id, "merge_id": merge_id}
            receipts.append(self._run(scope, f"{key}:{program_id}", payload, program, command))
        return receipts

    def merge_members(
        self, survivor_id: str, absorbed_id: str, *, merge_id: str, idempotency_key: str
    ) -> list[Receipt]:
        """Handle ``CustomersMerged``: move the absorbed member's live grants to the survivor.

        Grants keep their expiry and issuer; the absorbed member's active holds are
        released first. One receipt per program the absorbed member belongs to.
        """
        return self._merge("loyalty.merge", survivor_id, absorbed_id, merge_id, idempotency_key)

    def unmerge_members(
        self, survivor_id: str, absorbed_id: str, *, merge_id: str, idempotency_key: str
    ) -> list[Receipt]:
        """Handle ``CustomersUnmerged``: move the grants ``merge_id`` moved back (what is left)."""
        return self._merge("loyalty.unmerge", survivor_id, absorbed_id, merge_id, idempotency_key)

    def expire(self, now: datetime | None = None) -> ExpiryReport:
        """Bring every account up to ``now``: lapse holds, confirm, expire. Idempotent."""
        at = self._clock.now() if now is None else to_utc("now", now)
        members = expired = confirmed = lapsed = 0
        for program in self._programs.values():
            with self._store.unit_of_work() as uow:
                due = set(uow.loyalty_grants.due(program.id, at))
                due.update(uow.loyalty_holds.due(program.id, at))
                due.update(uow.loyalty_accounts.rolling_due(program.id, at))
            for member_id in sorted(due):
                with self._store.unit_of_work() as uow:
                    books = Books(uow, program, self._clock.now(), self._ids)
                    books.settle(member_id, at)
                    books.flush()
                    points = books.points(EntryKind.EXPIRE)
                    if points:
                        self._event(
                            books,
                            PointsExpired,
                            program_id=program.id,
                            member_id=member_id,
                            points=points,
                        )
                    uow.commit()
                members += 1
                expired += points
                confirmed += books.points(EntryKind.CONFIRM)
                lapsed += books.points(EntryKind.LAPSE)
        return ExpiryReport(members=members, expired=expired, confirmed=confirmed, lapsed=lapsed)

    # -- queries ------------------------------------------------------------------------

    def balance(self, member_id: str, program_id: str, *, as_of: datetime | None = None) -> Balance:
        """Available, pending, held and expiring points now, or as of a past instant."""
        check_id("member_id", member_id)
        program = self.program(program_id)
        now = self._clock.now()
        at = now if as_of is None else to_utc("as_of", as_of)
        with self._store.unit_of_work() as uow:
            account = uow.loyalty_accounts.get(program.id, member_id)
            if account is None:
                raise NotFoundError("loyalty member", (program.id, member_id))
            if at >= now:
                return balance_now(uow, program, account, at)
            return balance_as_of(uow, program, account, at)

    def expiring_soon(
        self, member_id: str, program_id: str, within: timedelta
    ) -> tuple[ExpiringPoints, ...]:
        """Available points that expire within ``within`` from now, soonest first."""
        check_id("member_id", member_id)
        if not isinstance(within, timedelta):
            raise InvalidTypeError("within", within, "must be a timedelta")
        program = self.program(program_id)
        now = self._clock.now()
        with self._store.unit_of_work() as uow:
            books = Books(uow, program, now, self._ids)
            books.account(member_id)
            found = []
            for grant in uow.loyalty_grants.live(program.id, member_id):
                expiry = books.expiry(grant)
                if grant.pending and grant.confirm_at is not None and grant.confirm_at > now:
                    continue
                if expiry is not None and now < expiry <= now + within:
                    found.append(
                        ExpiringPoints(
                            grant_id=grant.id,
                            company=grant.company,
                            points=grant.remaining,
                            expires_at=expiry,
                            limited=grant.limited,
                        )
                    )
        return tuple(sorted(found, key=lambda e: (e.expires_at, e.grant_id)))

    def statement(
        self,
        member_id: str,
        program_id: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> tuple[LedgerEntry, ...]:
        """The member's ledger entries effective in ``[start, end)``, in order."""
        check_id("member_id", member_id)
        program = self.program(program_id)
        low = None if start is None else to_utc("start", start)
        high = None if end is None else to_utc("end", end)
        with self._store.unit_of_work() as uow:
            if uow.loyalty_accounts.get(program.id, member_id) is None:
                raise NotFoundError("loyalty member", (program.id, member_id))
            entries = uow.loyalty_ledger.for_member(program.id, member_id)
        return tuple(
            e
            for e in entries
            if (low is None or e.effective_at >= low) and (high is None or e.effective_at < high)
        )

    def settlement(self, program_id: str, start: datetime, end: datetime) -> Settlement:
        """Points issued by each company and spent at each other one, in ``[start, end)``."""
        program = self.program(program_id)
        low, high = to_utc("start", start), to_utc("end", end)
        if high <= low:
            raise RuleViolationError("end", end, "must be after start")
        with self._store.unit_of_work() as uow:
            entries = uow.loyalty_ledger.between(program.id, low, high)
        return settlement(program, entries, low, high)

    def books(self, program_id: str, *, as_of: datetime | None = None) -> tuple[CompanyBooks, ...]:
        """Each company's ledger balances, members' points liability and net receivable.

        Everything effective at or before ``as_of`` (default: now) counts. Confirmations,
        expiries and lapses that are due but not yet written (see :meth:`expire`) are not
        included: run ``expire`` first for books as of now.
        """
        program = self.program(program_id)
        at = self._clock.now() if as_of is None else to_utc("as_of", as_of)
        end = at + timedelta(microseconds=1)
        with self._store.unit_of_work() as uow:
            entries = uow.loyalty_ledger.between(program.id, _EPOCH, end)
        return company_books(program, entries, _EPOCH, end)
