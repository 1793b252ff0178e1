"""The SQLite timing repositories (tables ``timing_*``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from omnicrm.clock import from_micros, to_micros
from omnicrm.errors import ConcurrencyError, DuplicateError
from omnicrm.persistence._sql import INTEGRITY_ERRORS, SQLConnection, translate_errors
from omnicrm.timing.codec import (
    action_from_json,
    action_to_json,
    enrollment_from_json,
    enrollment_to_json,
)
from omnicrm.timing.records import ActionStatus, DueAction, Enrollment, EntryRecord, Outcome
from omnicrm.validation import check_aware, check_id, check_int

__all__ = [
    "MIGRATION",
    "MIGRATION_V2",
    "SQLiteActionRepository",
    "SQLiteEnrollmentRepository",
    "SQLiteEntryRepository",
    "SQLiteMergeRepository",
    "SQLiteOutcomeRepository",
    "SQLiteProcessedEventRepository",
    "TimingRepositories",
]


MIGRATION: tuple[str, ...] = (
    """CREATE TABLE timing_seen (
            event_id TEXT PRIMARY KEY,
            at_us INTEGER NOT NULL
        ) WITHOUT ROWID""",
    """CREATE TABLE timing_positions (
            customer_id TEXT NOT NULL,
            journey_id TEXT NOT NULL,
            run INTEGER NOT NULL,
            step_id TEXT NOT NULL,
            active INTEGER NOT NULL,
            due_us INTEGER,
            wait_event TEXT,
            version INTEGER NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (customer_id, journey_id)
        ) WITHOUT ROWID""",
    "CREATE INDEX timing_positions_due ON timing_positions (due_us, customer_id, "
    "journey_id) WHERE active = 1 AND due_us IS NOT NULL",
    """CREATE TABLE timing_entries (
            customer_id TEXT NOT NULL,
            journey_id TEXT NOT NULL,
            run INTEGER NOT NULL,
            at_us INTEGER NOT NULL,
            holdout INTEGER NOT NULL,
            PRIMARY KEY (customer_id, journey_id, run)
        ) WITHOUT ROWID""",
    """CREATE TABLE timing_actions (
            action_id TEXT PRIMARY KEY,
            customer_id TEXT NOT NULL,
            due_us INTEGER NOT NULL,
            channel TEXT,
            is_send INTEGER NOT NULL,
            data TEXT NOT NULL
        ) WITHOUT ROWID""",
    "CREATE INDEX timing_actions_sends ON timing_actions (customer_id, due_us) WHERE is_send = 1",
    "CREATE INDEX timing_actions_due ON timing_actions (due_us, action_id)",
    """CREATE TABLE timing_outcomes (
            action_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            at_us INTEGER NOT NULL,
            PRIMARY KEY (action_id, kind)
        ) WITHOUT ROWID""",
)
"""Version 1 of the ``timing`` schema component (listed in :mod:`.schema`)."""

MIGRATION_V2: tuple[str, ...] = (
    """CREATE TABLE timing_merges (
            survivor TEXT NOT NULL,
            absorbed TEXT NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (survivor, absorbed)
        ) WITHOUT ROWID""",
    "CREATE INDEX timing_merges_absorbed ON timing_merges (absorbed)",
    "CREATE INDEX timing_actions_customer ON timing_actions (customer_id, due_us, action_id)",
)
"""Version 2: merge records (for unmerge) and an index of actions by customer."""

_POSITION_COLUMNS = (
    "customer_id, journey_id, run, step_id, active, due_us, wait_event, version, data"
)


class SQLiteProcessedEventRepository:
    """Processed event ids in ``timing_seen``."""

    def __init__(self, conn: SQLConnection) -> None:
        self._conn = conn

    def add(self, event_id: str, at: datetime) -> bool:
        """Remember ``event_id``; ``False`` if known."""
        with translate_errors("remember an event"):
            cursor = self._conn.execute(
                "INSERT INTO timing_seen (event_id, at_us) VALUES (?, ?) ON CONFLICT DO NOTHING",
                (event_id, to_micros(check_aware("at", at))),
            )
        return cursor.rowcount == 1


class SQLiteEnrollmentRepository:
    """Positions in ``timing_positions``."""

    def __init__(self, conn: SQLConnection) -> None:
        self._conn = conn

    def _rows(self, sql: str, params: Sequence[object]) -> list[Enrollment]:
        with translate_errors("read journey positions"):
            rows = self._conn.execute(sql, params).fetchall()
        return [enrollment_from_json(*row) for row in rows]

    def get(self, customer_id: str, journey_id: str) -> Enrollment | None:
        """Return the position, or ``None``."""
        rows = self._rows(
            f"SELECT {_POSITION_COLUMNS} FROM timing_positions "
            "WHERE customer_id = ? AND journey_id = ?",
            (customer_id, journey_id),
        )
        return rows[0] if rows else None

    def for_customer(self, customer_id: str) -> Sequence[Enrollment]:
        """Return the customer's positions, by journey id."""
        return tuple(
            self._rows(
                f"SELECT {_POSITION_COLUMNS} FROM timing_positions "
                "WHERE customer_id = ? ORDER BY journey_id",
                (customer_id,),
            )
        )

    def put(self, enrollment: Enrollment) -> Enrollment:
        """Insert or replace if the version matches; return it with the next version."""
        stored = enrollment.with_version(enrollment.version + 1)
        values = (
            stored.run,
            stored.step_id,
            int(stored.active),
            None if stored.due_at is None else to_micros(stored.due_at),
            stored.wait_event,
            stored.version,
            enrollment_to_json(stored),
        )
        key = (enrollment.customer_id, enrollment.journey_id)
        with translate_errors("write a journey position"):
            if enrollment.version == 0:
                cursor = self._conn.execute(
                    f"INSERT INTO timing_positions ({_POSITION_COLUMNS}) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (*key, *values),
                )
            else:
                cursor = self._conn.execute(
                    "UPDATE timing_positions SET run = ?, step_id = ?, active = ?, due_us = ?, "
                    "wait_event = ?, version = ?, data = ? "
                    "WHERE customer_id = ? AND journey_id = ? AND version = ?",
                    (*values, *key, enrollment.version),
                )
            if cursor.rowcount != 1:
                row = self._conn.execute(
                    "SELECT version FROM timing_positions WHERE customer_id = ? AND journey_id = ?",
                    key,
                ).fetchone()
                raise ConcurrencyError(
                    "enrollment", key, enrollment.version, None if row is None else int(row[0])
                )
        return stored

    def close_many(self, closes: Sequence[tuple[Enrollment, str]]) -> None:
        """End each position at its step if its version matches (one statement prepared)."""
        with translate_errors("close journey positions"):
            for position, step_id in closes:
                ended = position.moved(
                    step_id=step_id, active=False, due_at=None, wait_event=None,
                    facts=position.facts, deferrals=0,
                )  # fmt: skip
                key = (position.customer_id, position.journey_id)
                cursor = self._conn.execute(
                    "UPDATE timing_positions SET step_id = ?, active = 0, due_us = NULL, "
                    "wait_event = NULL, version = ?, data = ? "
                    "WHERE customer_id = ? AND journey_id = ? AND version = ?",
                    (step_id, position.version + 1, enrollment_to_json(ended), *key,
                     position.version),
                )  # fmt: skip
                if cursor.rowcount != 1:
                    found = self.get(*key)
                    raise ConcurrencyError(
                        "enrollment", key, position.version,
                        None if found is None else found.version,
                    )  # fmt: skip

    def due(self, until: datetime, limit: int) -> Sequence[Enrollment]:
        """Return up to ``limit`` active positions due at or before ``until``, oldest first."""
        check_int("limit", limit, minimum=1)
        return tuple(
            self._rows(
                f"SELECT {_POSITION_COLUMNS} FROM timing_positions "
                "WHERE active = 1 AND due_us IS NOT NULL AND due_us <= ? "
                "ORDER BY due_us, customer_id, journey_id LIMIT ?",
                (to_micros(check_aware("until", until)), limit),
            )
        )

    def count_active(self) -> int:
        """Return the number of active positions."""
        with translate_errors("count journey positions"):
            row = self._conn.execute(
                "SELECT COUNT(*) FROM timing_positions WHERE active = 1"
            ).fetchone()
        return int(row[0])

    def insert(self, enrollment: Enrollment) -> None:
        """Store the position as given where none is; ``DuplicateError`` otherwise."""
        with translate_errors("insert a journey position"):
            _insert_position(self._conn, enrollment)

    def enter(self, positions: Sequence[Enrollment]) -> None:
        """Store new positions as given and log their entries (two statements each)."""
        with translate_errors("enter journeys"):
            for position in positions:
                _insert_position(self._conn, position)
                _insert_entry(
                    self._conn, position.customer_id, position.journey_id, position.run,
                    position.entered_at, position.holdout,
                )  # fmt: skip

    def remove(self, customer_id: str, journey_id: str) -> bool:
        """Delete the position; ``False`` if there was none."""
        with translate_errors("remove a journey position"):
            cursor = self._conn.execute(
                "DELETE FROM timing_positions WHERE customer_id = ? AND journey_id = ?",
                (customer_id, journey_id),
            )
        return cursor.rowcount == 1


class SQLiteEntryRepository:
    """Journey entries in ``timing_entries``."""

    def __init__(self, conn: SQLConnection) -> None:
        self._conn = conn

    def add(self, entry: EntryRecord) -> None:
        """Append an entry."""
        with translate_errors("add a journey entry"):
            _insert_entry(
                self._conn, entry.customer_id, entry.journey_id, entry.run, entry.at, entry.holdout
            )

    def all(self) -> Sequence[EntryRecord]:
        """Return every entry in order."""
        with translate_errors("read journey entries"):
            rows = self._conn.execute(
                "SELECT customer_id, journey_id, run, at_us, holdout FROM timing_entries "
                "ORDER BY at_us, customer_id, journey_id, run"
            ).fetchall()
        return _entries(rows)

    def for_customer(self, customer_id: str) -> Sequence[EntryRecord]:
        """Return the customer's entries by ``(journey_id, run)``."""
        with translate_errors("read journey entries"):
            rows = self._conn.execute(
                "SELECT customer_id, journey_id, run, at_us, holdout FROM timing_entries "
                "WHERE customer_id = ? ORDER BY journey_id, run",
                (customer_id,),
            ).fetchall()
        return _entries(rows)

    def remove(self, customer_id: str, journey_id: str, run: int) -> bool:
        """Delete one entry; ``False`` if there was none."""
        with translate_errors("remove a journey entry"):
            cursor = self._conn.execute(
                "DELETE FROM timing_entries WHERE customer_id = ? AND journey_id = ? AND run = ?",
                (customer_id, journey_id, run),
            )
        return cursor.rowcount == 1


def _insert_position(conn: SQLConnection, enrollment: Enrollment) -> None:
    """Insert a position row as given; ``DuplicateError`` if the key has one."""
    key = (enrollment.customer_id, enrollment.journey_id)
    cursor = conn.execute(
        f"INSERT INTO timing_positions ({_POSITION_COLUMNS}) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (
            *key,
            enrollment.run,
            enrollment.step_id,
            int(enrollment.active),
            None if enrollment.due_at is None else to_micros(enrollment.due_at),
            enrollment.wait_event,
            enrollment.version,
            enrollment_to_json(enrollment),
        ),
    )
    if cursor.rowcount != 1:
        raise DuplicateError("enrollment", key)


def _insert_entry(
    conn: SQLConnection, customer_id: str, journey_id: str, run: int, at: datetime, holdout: bool
) -> None:
    """Insert an entry row; ``DuplicateError`` if ``(customer, journey, run)`` has one."""
    try:
        conn.execute(
            "INSERT INTO timing_entries (customer_id, journey_id, run, at_us, holdout) "
            "VALUES (?, ?, ?, ?, ?)",
            (customer_id, journey_id, run, to_micros(at), int(holdout)),
        )
    except INTEGRITY_ERRORS as exc:
        raise DuplicateError("journey entry", (customer_id, journey_id, run)) from exc


def _entries(rows: Sequence[tuple[str, str, int, int, int]]) -> tuple[EntryRecord, ...]:
    return tuple(
        EntryRecord(customer_id=c, journey_id=j, run=r, at=from_micros(at), holdout=bool(h))
        for c, j, r, at, h in rows
    )


class SQLiteActionRepository:
    """Action decisions in ``timing_actions``."""

    def __init__(self, conn: SQLConnection) -> None:
        self._conn = conn

    def add(self, action: DueAction) -> bool:
        """Store the action; ``False`` if its id exists."""
        is_send = action.status == ActionStatus.DUE and action.channel is not None
        with translate_errors("add an action"):
            cursor = self._conn.execute(
                "INSERT INTO timing_actions "
                "(action_id, customer_id, due_us, channel, is_send, data) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (
                    action.action_id,
                    action.customer_id,
                    to_micros(action.due_at),
                    action.channel,
                    int(is_send),
                    action_to_json(action),
                ),
            )
        return cursor.rowcount == 1

    def get(self, action_id: str) -> DueAction | None:
        """Return the action or ``None``."""
        check_id("action_id", action_id)
        with translate_errors("read an action"):
            row = self._conn.execute(
                "SELECT data FROM timing_actions WHERE action_id = ?", (action_id,)
            ).fetchone()
        return None if row is None else action_from_json(row[0])

    def sends(self, customer_id: str, since: datetime) -> Sequence[tuple[datetime, str]]:
        """Return the customer's due sends after ``since``."""
        with translate_errors("read sends"):
            rows = self._conn.execute(
                "SELECT due_us, channel FROM timing_actions "
                "WHERE customer_id = ? AND is_send = 1 AND due_us > ? ORDER BY due_us, action_id",
                (customer_id, to_micros(since)),
            ).fetchall()
        return tuple((from_micros(us), channel) for us, channel in rows)

    def all(self) -> Sequence[DueAction]:
        """Return every action by ``(due_at, action_id)``."""
        with translate_errors("read actions"):
            rows = self._conn.execute(
                "SELECT data FROM timing_actions ORDER BY due_us, action_id"
            ).fetchall()
        return tuple(action_from_json(r[0]) for r in rows)

    def for_customer(self, customer_id: str) -> Sequence[DueAction]:
        """Return the customer's actions by ``(due_at, action_id)``."""
        with translate_errors("read actions"):
            rows = self._conn.execute(
                "SELECT data FROM timing_actions WHERE customer_id = ? ORDER BY due_us, action_id",
                (customer_id,),
            ).fetchall()
        return tuple(action_from_json(r[0]) for r in rows)

    def remove(self, action_id: str) -> bool:
        """Delete the action; ``False`` if unknown."""
        with translate_errors("remove an action"):
            cursor = self._conn.execute(
                "DELETE FROM timing_actions WHERE action_id = ?", (action_id,)
            )
        return cursor.rowcount == 1


class SQLiteOutcomeRepository:
    """Outcomes in ``timing_outcomes``."""

    def __init__(self, conn: SQLConnection) -> None:
        self._conn = conn

    def add(self, outcome: Outcome) -> bool:
        """Store the outcome; ``False`` if that kind was already reported."""
        with translate_errors("add an outcome"):
            cursor = self._conn.execute(
                "INSERT INTO timing_outcomes (action_id, kind, at_us) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (outcome.action_id, outcome.kind, to_micros(outcome.at)),
            )
        return cursor.rowcount == 1

    def all(self) -> Sequence[Outcome]:
        """Return every outcome in order."""
        with translate_errors("read outcomes"):
            rows = self._conn.execute(
                "SELECT action_id, kind, at_us FROM timing_outcomes ORDER BY at_us, action_id, kind"
            ).fetchall()
        return tuple(Outcome(action_id=a, kind=k, at=from_micros(at)) for a, k, at in rows)

    def remove(self, action_id: str) -> int:
        """Delete every outcome of ``action_id``; return how many."""
        with translate_errors("remove outcomes"):
            cursor = self._conn.execute(
                "DELETE FROM timing_outcomes WHERE action_id = ?", (action_id,)
            )
        return cursor.rowcount


class SQLiteMergeRepository:
    """Merge records in ``timing_merges``."""

    def __init__(self, conn: SQLConnection) -> None:
        self._conn = conn

    def add(self, survivor: str, absorbed: str, data: str) -> bool:
        """Store the record; ``False`` if the pair has one."""
        with translate_errors("add a merge record"):
            cursor = self._conn.execute(
                "INSERT INTO timing_merges (survivor, absorbed, data) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (survivor, absorbed, data),
            )
        return cursor.rowcount == 1

    def get(self, survivor: str, absorbed: str) -> str | None:
        """Return the record of the pair, or ``None``."""
        with translate_errors("read a merge record"):
            row = self._conn.execute(
                "SELECT data FROM timing_merges WHERE survivor = ? AND absorbed = ?",
                (survivor, absorbed),
            ).fetchone()
        return None if row is None else str(row[0])

    def remove(self, survivor: str, absorbed: str) -> bool:
        """Delete the record of the pair; ``False`` if none."""
        with translate_errors("remove a merge record"):
            cursor = self._conn.execute(
                "DELETE FROM timing_merges WHERE survivor = ? AND absorbed = ?",
                (survivor, absorbed),
            )
        return cursor.rowcount == 1

    def remove_customer(self, customer_id: str) -> int:
        """Delete every record naming ``customer_id``; return how many."""
        with translate_errors("remove merge records"):
            cursor = self._conn.execute(
                "DELETE FROM timing_merges WHERE survivor = ? OR absorbed = ?",
                (customer_id, customer_id),
            )
        return cursor.rowcount


class TimingRepositories:
    """The timing repositories of one unit of work, built together."""

    __slots__ = ("actions", "enrollments", "entries", "events", "merges", "outcomes")

    def __init__(self, conn: SQLConnection) -> None:
        self.events = SQLiteProcessedEventRepository(conn)
        self.enrollments = SQLiteEnrollmentRepository(conn)
        self.entries = SQLiteEntryRepository(conn)
        self.actions = SQLiteActionRepository(conn)
        self.outcomes = SQLiteOutcomeRepository(conn)
        self.merges = SQLiteMergeRepository(conn)
