"""The loyalty application service: one unit of work per command, idempotent by key."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from omnicrm.clock import to_utc
from omnicrm.errors import DuplicateError, InvalidTypeError, RuleViolationError
from omnicrm.loyalty import _calendar as cal
from omnicrm.loyalty._books import Books
from omnicrm.loyalty._checkout import CheckoutCommands
from omnicrm.loyalty._closing import forfeit_all
from omnicrm.loyalty._merge import move_grants
from omnicrm.loyalty._queries import LedgerQueries
from omnicrm.loyalty._returns import return_purchase
from omnicrm.loyalty._service_base import Command, positive_points
from omnicrm.loyalty.events import PointsEarned, PointsExpired, PointsReturned
from omnicrm.loyalty.model import EntryKind, GrantKind, Order, evolve
from omnicrm.loyalty.purchase import Purchase, plan_earning
from omnicrm.loyalty.results import ExpiryReport, Receipt
from omnicrm.validation import check_date, check_id, check_int

__all__ = ["LoyaltyService"]


class LoyaltyService(CheckoutCommands, LedgerQueries):
    """Earn, spend, hold, return and expire points on an exact integer ledger.

    Args:
        store: a store whose units of work carry the loyalty repositories.
        clock: the source of "now".
        programs: the programs this service runs.
        ids: the id generator for grants, holds and events (random by default).

    """

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
        return self._run("loyalty.enroll", idempotency_key, payload, program, command, [member_id])

    def earn(
        self, member_id: str, program_id: str, purchase: Purchase, *, idempotency_key: str
    ) -> Receipt:
        """Grant the points ``purchase`` earns: ordinary, limited-time, provisional as set.

        Debt from earlier returns is paid first out of the new points (provisional too).
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
            earned = evolve(
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
        return self._run("loyalty.earn", idempotency_key, payload, program, command, [member_id])

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
        positive_points("returned_amount", returned_amount)
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
        return self._run("loyalty.return", idempotency_key, payload, program, command, [member_id])

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
        return self._run("loyalty.adjust", idempotency_key, payload, program, command, [member_id])

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

        def command(books: Books) -> Receipt:
            if unmerge:
                moved = move_grants(
                    books,
                    source,
                    target,
                    lambda g: g.merge_id == merge_id and g.merged_from == target,
                    lambda g: evolve(g, merged_from=None, merge_id=None),
                )
            else:
                moved = move_grants(
                    books,
                    source,
                    target,
                    lambda _g: True,
                    lambda g: evolve(g, merged_from=source, merge_id=merge_id),
                )
            return Receipt(
                command=scope.removeprefix("loyalty."),
                program_id=books.program.id,
                member_id=target,
                points=moved,
            )

        payload = {"survivor": survivor_id, "absorbed": absorbed_id, "merge_id": merge_id}
        return self._each_program(source, scope, key, payload, command, (source, target))

    def _each_program(
        self,
        member_id: str,
        scope: str,
        key: str,
        payload: dict[str, Any],
        command: Command,
        members: tuple[str, ...] = (),
    ) -> list[Receipt]:
        """Run ``command`` once per program ``member_id`` has an account in (one UoW each).

        Each unit of work locks ``members``' books in that program (``member_id``'s if
        none are given).
        """
        with self._store.unit_of_work(read_only=True) as uow:
            program_ids = uow.loyalty_accounts.programs_of(member_id)
        receipts = []
        for program_id in program_ids:
            program = self._programs.get(program_id)
            if program is not None:
                receipts.append(
                    self._run(
                        scope,
                        f"{key}:{program_id}",
                        payload,
                        program,
                        command,
                        members or (member_id,),
                    )
                )
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

    def close_member(self, member_id: str, *, reason: str, idempotency_key: str) -> list[Receipt]:
        """Close a member's accounts: release their holds and forfeit every point left.

        For a member who leaves, or whose personal data is erased (``CustomerErased``):
        confirmed points expire now and provisional points are cancelled, each by a ledger
        entry whose ``ref`` is ``reason``, so every company's books still balance. One
        receipt per program the member belongs to (``points`` = points forfeited).
        """
        check_id("member_id", member_id)
        check_id("reason", reason)
        check_id("idempotency_key", idempotency_key)

        def command(books: Books) -> Receipt:
            forfeited = forfeit_all(books, member_id, reason)
            if forfeited:
                self._event(
                    books,
                    PointsExpired,
                    program_id=books.program.id,
                    member_id=member_id,
                    points=forfeited,
                )
            return Receipt(
                command="close",
                program_id=books.program.id,
                member_id=member_id,
                points=forfeited,
            )

        payload = {"member_id": member_id, "reason": reason}
        return self._each_program(member_id, "loyalty.close", idempotency_key, payload, command)

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
