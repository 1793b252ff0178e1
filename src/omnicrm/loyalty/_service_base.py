"""The plumbing every loyalty command shares: programs, idempotent units of work, events."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from omnicrm.clock import Clock
from omnicrm.errors import InvalidTypeError, NotFoundError
from omnicrm.idempotency import run_once
from omnicrm.ids import IdGenerator, UuidIds
from omnicrm.loyalty._books import Books, MoreLocksNeeded
from omnicrm.loyalty.codec import receipt_from_json, receipt_to_json
from omnicrm.loyalty.model import evolve
from omnicrm.loyalty.ports import LoyaltyStore
from omnicrm.loyalty.program import Program
from omnicrm.loyalty.results import Receipt
from omnicrm.validation import check_id, check_int, check_optional_id

__all__ = ["Command", "ServiceBase", "member_lock", "optional_id", "positive_points"]


Command = Callable[[Books], Receipt]


def member_lock(program_id: str, member_id: str) -> str:
    """The lock name of one member's books in one program (a unit of work's ``locks``).

    Everything a loyalty command writes hangs off one member in one program: the
    account, grants, holds, balance summary and ledger entries (the ledger is
    append-only); orders are keyed by order id and written conditionally.
    """
    return f"loyalty:{program_id}:{member_id}"


def positive_points(field: str, value: object) -> int:
    """Check that ``value`` is a positive int of points."""
    return check_int(field, value, minimum=1)


optional_id = check_optional_id
"""``None`` or a valid id (:func:`omnicrm.validation.check_optional_id`)."""


class ServiceBase:
    """Runs one command per unit of work, idempotent by key; see :class:`LoyaltyService`."""

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

    def program(self, program_id: str) -> Program:
        """Return the program, or raise ``NotFoundError``."""
        if type(program_id) is str and (known := self._programs.get(program_id)) is not None:
            return known  # a configured program's id is a checked id
        check_id("program_id", program_id)
        found = self._programs.get(program_id)
        if found is None:
            raise NotFoundError("program", program_id)
        return found

    def _company(self, program: Program, company: object) -> str:
        if type(company) is str and company in program.companies:
            return company  # a configured company is a checked id
        check_id("company", company)
        if company not in program.companies:
            raise NotFoundError("company", (program.id, company))
        return str(company)

    def _run(
        self,
        scope: str,
        key: str,
        payload: dict[str, Any],
        program: Program,
        command: Command,
        members: Iterable[str] = (),
    ) -> Receipt:
        """Run ``command`` once per ``key`` in a unit of work locking ``members``' books.

        ``members`` are every member whose rows the command writes (none: it runs alone).
        """
        now = self._clock.now()
        locked = frozenset(members)
        while True:
            try:
                return self._run_locked(scope, key, payload, program, command, now, locked)
            except MoreLocksNeeded as more:
                if not locked or more.members <= locked:
                    raise  # pragma: no cover - a command never writes unlocked otherwise
                locked |= more.members

    def _run_locked(
        self,
        scope: str,
        key: str,
        payload: dict[str, Any],
        program: Program,
        command: Command,
        now: datetime,
        members: frozenset[str],
    ) -> Receipt:
        locks = [member_lock(program.id, m) for m in members]
        with self._store.unit_of_work(locks=locks) as uow:

            def run() -> Receipt:
                books = Books(uow, program, now, self._ids)
                # a unit of work that shows its locks and holds none runs alone
                books.locked = members if members and getattr(uow, "locks", True) else None
                receipt = command(books)
                books.flush()
                return receipt

            receipt, replayed = run_once(
                uow,
                scope=scope,
                key=key,
                payload=payload,
                now=now,
                command=run,
                encode=receipt_to_json,
                decode=receipt_from_json,
                subject=lambda r: r.member_id,
            )
            if replayed:
                return receipt
            uow.commit()
        return evolve(receipt, events=uow.events)

    def _event(self, books: Books, event: type[Any], **fields: Any) -> None:
        books.uow.record(event(event_id=self._ids.new_id("evt"), occurred_at=books.now, **fields))
