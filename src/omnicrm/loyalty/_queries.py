"""Read-only queries: balances, expiring points, statements, settlements, company books."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from omnicrm.clock import to_utc
from omnicrm.errors import InvalidTypeError, NotFoundError, RuleViolationError
from omnicrm.loyalty._preview import settled
from omnicrm.loyalty._service_base import ServiceBase
from omnicrm.loyalty._views import balance_as_of, balance_now, company_books, settlement
from omnicrm.loyalty.model import LedgerEntry
from omnicrm.loyalty.results import Balance, CompanyBooks, ExpiringPoints, Settlement
from omnicrm.validation import check_id

__all__ = ["LedgerQueries"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class LedgerQueries(ServiceBase):
    """Reading the ledger: nothing here writes."""

    def balance(self, member_id: str, program_id: str, *, as_of: datetime | None = None) -> Balance:
        """Available, pending, held and expiring points now, or as of a past instant."""
        check_id("member_id", member_id)
        program = self.program(program_id)
        now = self._clock.now()
        at = now if as_of is None else to_utc("as_of", as_of)
        with self._store.unit_of_work(read_only=True) as uow:
            account = uow.loyalty_accounts.get(program.id, member_id)
            if account is None:
                raise NotFoundError("loyalty member", (program.id, member_id))
            if at >= now:
                return balance_now(uow, program, account, at)
            return balance_as_of(uow, program, account, at)

    def expiring_soon(
        self, member_id: str, program_id: str, within: timedelta
    ) -> tuple[ExpiringPoints, ...]:
        """Available points that expire within ``within`` from now, soonest first.

        Counted as of now: points confirmed, expired or given back by a lapsed hold since
        the member's last command count as such.
        """
        check_id("member_id", member_id)
        if not isinstance(within, timedelta):
            raise InvalidTypeError("within", within, "must be a timedelta")
        program = self.program(program_id)
        now = self._clock.now()
        with self._store.unit_of_work(read_only=True) as uow:
            books = settled(uow, program, member_id, now, self._ids)
            found = []
            for grant in books.live(member_id):
                expiry = books.expiry(grant)
                if not grant.pending and expiry is not None and now < expiry <= now + within:
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
        """The member's ledger entries effective in ``[start, end)``, in order, as of now.

        Confirmations, expiries and hold lapses already due but not yet written (the next
        command or :meth:`expire` writes them) are included, unnumbered (``seq`` 0), as
        they will be written.
        """
        check_id("member_id", member_id)
        program = self.program(program_id)
        low = None if start is None else to_utc("start", start)
        high = None if end is None else to_utc("end", end)
        now = self._clock.now()
        with self._store.unit_of_work(read_only=True) as uow:
            due = settled(uow, program, member_id, now, self._ids).entries
            entries = list(uow.loyalty_ledger.for_member(program.id, member_id))
        if due:  # appended after every written entry, effective when they took effect
            entries = sorted([*entries, *due], key=lambda e: e.effective_at)
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
        with self._store.unit_of_work(read_only=True) as uow:
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
        with self._store.unit_of_work(read_only=True) as uow:
            entries = uow.loyalty_ledger.between(program.id, _EPOCH, end)
        return company_books(program, entries, _EPOCH, end)
