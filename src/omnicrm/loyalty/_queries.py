"""Read-only queries: balances, expiring points, statements, settlements, company books."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from omnicrm.clock import to_utc
from omnicrm.errors import InvalidTypeError, NotFoundError, RuleViolationError
from omnicrm.loyalty._books import Books
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
