"""Returns: reverse earned points and give back spent ones, in proportion to the refund."""

from __future__ import annotations

from datetime import datetime

from omnicrm.errors import NotFoundError, RuleViolationError
from omnicrm.loyalty import _calendar as cal
from omnicrm.loyalty._books import Books
from omnicrm.loyalty.model import EntryKind, Grant, GrantKind, OrderPart, evolve

__all__ = ["return_purchase"]


def _expired(books: Books, grant: Grant) -> int:
    entries = [*books.uow.loyalty_ledger.for_member(books.program.id, grant.member_id)]
    entries += books.entries  # this command's own, not yet appended
    return sum(e.amount for e in entries if e.grant_id == grant.id and e.kind == EntryKind.EXPIRE)


def _reverse(
    books: Books, member_id: str, part: OrderPart, points: int, at: datetime
) -> tuple[int, int]:
    """Take back ``points`` earned on ``part``; return (debt recorded, newly forgiven).

    Points that expired before the return are not charged: the member never had them.
    """
    grant = books.grant(part.grant_id)
    left = points
    if grant.pending:
        cut = min(left, grant.remaining)
        if cut:
            books.post(
                EntryKind.CANCEL,
                member_id=grant.member_id,
                company=grant.company,
                amount=cut,
                at=at,
                grant_id=grant.id,
            )
            books.change(grant, -cut)
            left -= cut
    else:
        own = grant.member_id == member_id  # a merge may have moved it to another member
        first: list[Grant] = [grant] if own and not books.expired(grant, at) else []
        same_issuer = [
            g
            for g in books.spendable(member_id, at)
            if g.company == part.company and g.id != grant.id
        ]
        candidates = first + same_issuer
        cut = min(left, sum(g.remaining for g in candidates))
        if cut:
            books.take(member_id, cut, EntryKind.REVERSE, at, grants=candidates, ref=grant.order_id)
            left -= cut
    forgiven = 0
    if left and books.expired(grant, at):
        forgiven = min(left, max(0, _expired(books, grant) - part.forgiven))
        left -= forgiven
    if left and books.program.shortfall == "debt":
        books.add_debt(member_id, part.company, left, at)
        return left, forgiven
    return 0, forgiven


def _restore(books: Books, part: OrderPart, points: int, at: datetime, ref: str) -> None:
    """Give back ``points`` spent from ``part``'s grant."""
    grant = books.grant(part.grant_id)
    if books.expired(grant, at) and books.program.expired_spent_on_return == "reissue":
        program = books.program
        kind = GrantKind.ROLLING if program.rolling else GrantKind.STANDARD
        expires = None if program.rolling else cal.fixed_expiry(program, at)
        grant = books.add_grant(
            Grant(
                id=books.ids.new_id("grt"),
                program_id=program.id,
                member_id=grant.member_id,
                company=grant.company,
                kind=kind,
                amount=points,
                remaining=0,
                granted_at=at,
                expires_at=expires,
            )
        )
        books.touch(grant.member_id, at)
    books.give_back(grant, points, EntryKind.RESTORE, at, counterparty=part.spender, ref=ref)


def return_purchase(
    books: Books, member_id: str, order_id: str, amount: int, at: datetime
) -> tuple[int, int, int]:
    """Apply a return of ``amount`` (gross) on an order; return (reversed, restored, debt)."""
    program = books.program
    order = books.uow.loyalty_orders.get(program.id, order_id)
    if order is None or order.earned_at is None:
        raise NotFoundError("earned order", (program.id, order_id))
    if order.member_id != member_id:
        raise RuleViolationError("order_id", order_id, f"belongs to member {order.member_id}")
    returned = order.returned + amount
    if returned > order.gross:
        raise RuleViolationError(
            "returned_amount",
            amount,
            f"only {order.gross - order.returned} of order {order_id} is left to return",
        )
    kept_share = order.gross - returned
    reversed_total = debt = 0
    earned: list[OrderPart] = []
    for part in order.earned:
        target = part.points - part.points * kept_share // order.gross
        delta = target - part.undone
        forgiven = 0
        if delta > 0:
            owed, forgiven = _reverse(books, member_id, part, delta, at)
            debt += owed
            reversed_total += delta
        earned.append(evolve(part, undone=target, forgiven=part.forgiven + forgiven))
    spent_total = sum(p.points for p in order.spent)
    to_restore = spent_total * returned // order.gross - sum(p.undone for p in order.spent)
    restored_total = to_restore
    spent = list(order.spent)
    for index in reversed(range(len(spent))):
        part = spent[index]
        give = min(to_restore, part.points - part.undone)
        if give <= 0:
            continue
        _restore(books, part, give, at, order_id)
        spent[index] = evolve(part, undone=part.undone + give)
        to_restore -= give
    books.uow.loyalty_orders.update(
        evolve(order, returned=returned, earned=tuple(earned), spent=tuple(spent))
    )
    return reversed_total, restored_total, debt
