"""Checkout commands: spend, and hold / capture / release."""

from __future__ import annotations

from typing import Any

from omnicrm.channel import Channel
from omnicrm.errors import InvalidTypeError, NotFoundError
from omnicrm.loyalty._books import Books
from omnicrm.loyalty._service_base import ServiceBase, optional_id, positive_points
from omnicrm.loyalty.errors import ExceedsHoldError, HoldNotActiveError
from omnicrm.loyalty.events import PointsSpent
from omnicrm.loyalty.model import EntryKind, Hold, HoldState, evolve
from omnicrm.loyalty.program import Program
from omnicrm.loyalty.results import Receipt
from omnicrm.unit_of_work import Capability
from omnicrm.validation import check_id

__all__ = ["CheckoutCommands"]


class CheckoutCommands(ServiceBase):
    """Spending points, directly or through a checkout hold."""

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
        program, spender, payload = self._checkout_command(
            member_id, program_id, points, company, channel, order_id
        )

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

        return self._run("loyalty.spend", idempotency_key, payload, program, command, [member_id])

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
        program, spender, payload = self._checkout_command(
            member_id, program_id, points, company, channel, order_id
        )

        def command(books: Books) -> Receipt:
            at = books.now
            books.settle(member_id, at)
            hold_id = self._ids.new_id("hld")
            taken = books.take(member_id, points, EntryKind.HOLD, at, ref=hold_id)
            books.touch(member_id, at)
            books.add_hold(
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

        return self._run("loyalty.hold", idempotency_key, payload, program, command, [member_id])

    def _checkout_command(
        self,
        member_id: str,
        program_id: str,
        points: int,
        company: str,
        channel: Channel,
        order_id: str | None,
    ) -> tuple[Program, str, dict[str, Any]]:
        """Check a spend's or a hold's arguments; return the program, the spending
        company and the idempotency payload."""  # noqa: D205, D209
        check_id("member_id", member_id)
        positive_points("points", points)
        program = self.program(program_id)
        spender = self._company(program, company)
        if not isinstance(channel, Channel):
            raise InvalidTypeError("channel", channel, "must be a Channel")
        optional_id("order_id", order_id)
        payload = {
            "member_id": member_id,
            "program_id": program_id,
            "points": points,
            "company": company,
            "channel": channel.name,
            "order_id": order_id,
        }
        return program, spender, payload

    def _holder(self, program: Program, hold_id: str) -> list[str]:
        """The member whose books a command on ``hold_id`` locks (a hold never changes
        member); none (the command runs alone) if there is no such hold, or if the store
        does not run locked units of work side by side (no need to read it)."""  # noqa: D205, D209
        if Capability.LOCKS not in self._store.capabilities:
            return []
        with self._store.unit_of_work(read_only=True) as uow:
            try:
                hold = uow.loyalty_holds.get(hold_id)
            except NotFoundError:
                return []
        return [hold.member_id] if hold.program_id == program.id else []

    def _active_hold(self, books: Books, hold_id: str) -> Hold:
        hold = books.uow.loyalty_holds.get(hold_id)
        if hold.program_id != books.program.id:
            raise NotFoundError("hold", (books.program.id, hold_id))
        books.settle(hold.member_id, books.now)
        hold = books.lapsed.get(hold_id, hold)  # settling may have lapsed it
        if hold.state != HoldState.ACTIVE:
            raise HoldNotActiveError("hold_id", hold_id, f"the hold is already {hold.state}")
        return hold

    def capture(
        self, program_id: str, hold_id: str, points: int, *, idempotency_key: str
    ) -> Receipt:
        """Spend ``points`` of a hold (at most what it holds); the rest returns to the member."""
        check_id("hold_id", hold_id)
        positive_points("points", points)
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
                    captured.append(evolve(allocation, points=part))
                rest.append((allocation, allocation.points - part))
            books.release(hold, rest, EntryKind.RELEASE, at)
            books.save_hold(evolve(hold, state=HoldState.CAPTURED, captured=points))
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
        owner = self._holder(program, hold_id)
        return self._run("loyalty.capture", idempotency_key, payload, program, command, owner)

    def release(self, program_id: str, hold_id: str, *, idempotency_key: str) -> Receipt:
        """Cancel a hold: its points return to the member."""
        check_id("hold_id", hold_id)
        program = self.program(program_id)

        def command(books: Books) -> Receipt:
            hold = self._active_hold(books, hold_id)
            books.release(
                hold, [(a, a.points) for a in hold.allocations], EntryKind.RELEASE, books.now
            )
            books.save_hold(evolve(hold, state=HoldState.RELEASED))
            return Receipt(
                command="release",
                program_id=program.id,
                member_id=hold.member_id,
                points=hold.points,
                allocations=hold.allocations,
                hold_id=hold_id,
            )

        payload = {"program_id": program_id, "hold_id": hold_id}
        owner = self._holder(program, hold_id)
        return self._run("loyalty.release", idempotency_key, payload, program, command, owner)
