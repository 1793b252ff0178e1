"""The SQLite identity repositories."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from typing import cast

import attrs

from omnicrm.errors import ConcurrencyError, DuplicateError, NotFoundError, StateError
from omnicrm.identity.codec import (
    audit_from_json,
    audit_to_json,
    decision_from_json,
    decision_to_json,
    profile_from_dict,
    profile_to_dict,
    record_from_json,
    record_to_json,
)
from omnicrm.identity.model import AuditEntry, IdentityProfile, PairDecision, StoredRecord, Verdict
from omnicrm.identity.records import SourceRef, stored_source, stored_value
from omnicrm.persistence._sql import INTEGRITY_ERRORS, SQLConnection, translate_errors
from omnicrm.validation import check_id

__all__ = [
    "MIGRATION",
    "MIGRATION_V2",
    "MIGRATION_V3",
    "MIGRATION_V4",
    "MIGRATION_V5",
    "SQLiteAuditRepository",
    "SQLiteDecisionRepository",
    "SQLiteIdentityRepositories",
    "SQLiteMatchKeyRepository",
    "SQLiteProfileRepository",
    "SQLiteSourceRecordRepository",
]


MIGRATION: tuple[str, ...] = (
    """CREATE TABLE identity_profiles (
            customer_id TEXT PRIMARY KEY,
            version INTEGER NOT NULL,
            data TEXT NOT NULL
        )""",
    """CREATE TABLE identity_records (
            source TEXT PRIMARY KEY,
            customer_id TEXT NOT NULL,
            data TEXT
        )""",
    "CREATE INDEX identity_records_customer ON identity_records (customer_id)",
    """CREATE TABLE identity_keys (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            key TEXT NOT NULL,
            source TEXT NOT NULL,
            UNIQUE (key, source)
        )""",
    "CREATE INDEX identity_keys_key ON identity_keys (key, seq)",
    "CREATE INDEX identity_keys_source ON identity_keys (source)",
    """CREATE TABLE identity_decisions (
            a TEXT NOT NULL,
            b TEXT NOT NULL,
            verdict TEXT NOT NULL,
            score REAL NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (a, b)
        ) WITHOUT ROWID""",
    "CREATE INDEX identity_decisions_b ON identity_decisions (b)",
    "CREATE INDEX identity_decisions_pending ON identity_decisions (verdict, score)",
    """CREATE TABLE identity_audit (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            entry_id TEXT NOT NULL UNIQUE,
            customer_id TEXT NOT NULL,
            other_id TEXT,
            data TEXT NOT NULL
        )""",
    "CREATE INDEX identity_audit_customer ON identity_audit (customer_id)",
    "CREATE INDEX identity_audit_other ON identity_audit (other_id)",
)
"""Version 1 of the ``identity`` schema component (listed in :mod:`.schema`)."""

MIGRATION_V2: tuple[str, ...] = (
    """CREATE TABLE identity_keys_v2 (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            key TEXT NOT NULL,
            source TEXT NOT NULL,
            UNIQUE (source, key)
        )""",
    "INSERT INTO identity_keys_v2 (seq, key, source) SELECT seq, key, source FROM identity_keys",
    "DROP TABLE identity_keys",
    "ALTER TABLE identity_keys_v2 RENAME TO identity_keys",
    "CREATE INDEX identity_keys_key ON identity_keys (key, seq)",
)
"""Version 2: ``identity_keys`` unique on ``(source, key)`` instead of ``(key, source)``.

A record's keys are hashes scattered over the whole key index; unique on ``(source,
key)`` they sit side by side (and that index serves lookups by source, so the separate
``identity_keys_source`` index goes). Placing a record then writes one scattered index
page per key instead of two: about a third fewer pages per placement.
"""

MIGRATION_V3: tuple[str, ...] = (
    "CREATE INDEX identity_keys_postings ON identity_keys (key, seq, source)",
    "DROP INDEX identity_keys_key",
)
"""Version 3: the key index covers the source, so reading a key's postings reads no rows.

A common key's newest postings (up to the resolver's limit of 50) then sit in one or two
index pages instead of costing a table page each: on a large store, where those pages
are seldom in memory, that was most of a placement's reads.
"""

MIGRATION_V4: tuple[str, ...] = ("ALTER TABLE identity_records ADD COLUMN prepared TEXT",)
"""Version 4: each record's prepared form beside it (:class:`SQLiteSourceRecordRepository`).

Adding a column rewrites no row: existing records have no form until one is written
(``Resolver.fill_prepared_forms``, or the record's next write); the resolver prepares a
record without a current form as before.
"""

MIGRATION_V5: tuple[str, ...] = ("DROP INDEX identity_records_customer",)
"""Version 5: no index of records by person.

No statement reads records by ``customer_id`` (a person's members are listed in their
profile), yet every placement and every merge kept the index up to date: about one page
of the write-ahead log a placement (of 28) and one B-tree insert into a random leaf.
"""

_CHUNK = 500
_KEYS_PER_QUERY = 100  # well under SQLite's limit of 500 terms in a compound SELECT


def _chunks(items: Sequence[str], size: int = _CHUNK) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _Repo:
    def __init__(self, conn: SQLConnection) -> None:
        self._conn = conn

    def _all(self, action: str, sql: str, params: Sequence[object]) -> list[tuple[object, ...]]:
        with translate_errors(action):
            return self._conn.execute(sql, params).fetchall()


def _profile(data: object) -> IdentityProfile:
    return profile_from_dict(json.loads(str(data)), stored=True)


class SQLiteProfileRepository(_Repo):
    """:class:`~omnicrm.identity.ports.ProfileRepository` on ``identity_profiles``."""

    def add(self, profile: IdentityProfile) -> IdentityProfile:
        """Store a new profile with version 1."""
        stored = attrs.evolve(profile, version=1)
        with translate_errors("add an identity profile"):
            try:
                self._conn.execute(
                    "INSERT INTO identity_profiles (customer_id, version, data) VALUES (?, 1, ?)",
                    (stored.customer_id, json.dumps(profile_to_dict(stored))),
                )
            except INTEGRITY_ERRORS as exc:
                raise DuplicateError("identity profile", profile.customer_id) from exc
        return stored

    def get(self, customer_id: str) -> IdentityProfile:
        """Return the profile or raise ``NotFoundError``."""
        check_id("customer_id", customer_id)
        rows = self._all(
            "read a profile",
            "SELECT data FROM identity_profiles WHERE customer_id = ?",
            (customer_id,),
        )
        if not rows:
            raise NotFoundError("identity profile", customer_id)
        return _profile(rows[0][0])

    def get_many(self, customer_ids: Iterable[str]) -> Mapping[str, IdentityProfile]:
        """Return the existing profiles among ``customer_ids``."""
        ids = list(dict.fromkeys(customer_ids))
        found: dict[str, IdentityProfile] = {}
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            for (data,) in self._all(
                "read profiles",
                f"SELECT data FROM identity_profiles WHERE customer_id IN ({marks})",
                chunk,
            ):
                profile = _profile(data)
                found[profile.customer_id] = profile
        return found

    def update(self, profile: IdentityProfile) -> IdentityProfile:
        """Replace the profile if the version matches; return it with the next version."""
        stored = attrs.evolve(profile, version=profile.version + 1)
        with translate_errors("update an identity profile"):
            cursor = self._conn.execute(
                "UPDATE identity_profiles SET version = ?, data = ? "
                "WHERE customer_id = ? AND version = ?",
                (
                    stored.version,
                    json.dumps(profile_to_dict(stored)),
                    profile.customer_id,
                    profile.version,
                ),
            )
            if cursor.rowcount != 1:
                row = self._conn.execute(
                    "SELECT version FROM identity_profiles WHERE customer_id = ?",
                    (profile.customer_id,),
                ).fetchone()
                if row is None:
                    raise NotFoundError("identity profile", profile.customer_id)
                raise ConcurrencyError(
                    "identity profile", profile.customer_id, profile.version, int(row[0])
                )
        return stored


@lru_cache(maxsize=1 << 16)
def _decoded(source: str, customer_id: str, data: str | None) -> StoredRecord:
    """A row read back; the same row text gives the same (immutable) value, decoded once."""
    values = {
        "source": stored_source(source),
        "customer_id": customer_id,
        "record": None if data is None else record_from_json(data, stored=True),
    }
    return stored_value(StoredRecord, values)


def _stored(source: object, customer_id: object, data: object) -> StoredRecord:
    return _decoded(str(source), str(customer_id), None if data is None else str(data))


class SQLiteSourceRecordRepository(_Repo):
    """:class:`~omnicrm.identity.ports.SourceRecordRepository` on ``identity_records``."""

    def put(self, stored: StoredRecord) -> None:
        """Insert or replace the row (a tombstone also drops every decoded row kept).

        The stored prepared form stays while the record is unchanged (a merge moves it to
        another person) and goes with any other change (an erasure among them).
        """
        self.put_form(stored, None)

    def put_form(self, stored: StoredRecord, form: str | None) -> None:
        """:meth:`put` with the record's prepared form (``None``: keep it if unchanged)."""
        data = None if stored.record is None else record_to_json(stored.record)
        if data is None:  # erasure: keep no decoded copy of personal data in memory
            _decoded.cache_clear()
        with translate_errors("store a source record"):
            self._conn.execute(
                "INSERT INTO identity_records (source, customer_id, data, prepared) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (source) DO UPDATE SET "
                "customer_id = excluded.customer_id, data = excluded.data, "
                "prepared = CASE WHEN excluded.prepared IS NULL "
                "AND identity_records.data = excluded.data "
                "THEN identity_records.prepared ELSE excluded.prepared END",
                (str(stored.source), stored.customer_id, data, form),
            )

    def get(self, source: SourceRef) -> StoredRecord | None:
        """Return the row or ``None``."""
        rows = self._all(
            "read a source record",
            "SELECT source, customer_id, data FROM identity_records WHERE source = ?",
            (str(source),),
        )
        return _stored(*rows[0]) if rows else None

    def get_many(self, sources: Iterable[SourceRef]) -> Mapping[SourceRef, StoredRecord]:
        """Return the existing rows among ``sources``."""
        keys = [str(s) for s in dict.fromkeys(sources)]
        found: dict[SourceRef, StoredRecord] = {}
        for chunk in _chunks(keys):
            marks = ",".join("?" * len(chunk))
            for row in self._all(
                "read source records",
                f"SELECT source, customer_id, data FROM identity_records WHERE source IN ({marks})",
                chunk,
            ):
                stored = _stored(*row)
                found[stored.source] = stored
        return found

    def current_forms(
        self, sources: Iterable[SourceRef], *, fingerprint: str
    ) -> Mapping[SourceRef, tuple[str, str]]:
        """``(customer_id, form)`` of the rows among ``sources`` whose form is current.

        Those whose form starts with ``fingerprint``; the record text is not read (the
        resolver's forms hold their records), nor kept in the decoded-row cache.
        """
        refs = {str(s): s for s in sources}
        found: dict[SourceRef, tuple[str, str]] = {}
        for chunk in _chunks(list(refs)):
            marks = ",".join("?" * len(chunk))
            rows = self._all(
                "read source records",
                f"SELECT source, customer_id, prepared FROM identity_records "
                f"WHERE source IN ({marks}) AND substr(prepared, 1, ?) = ?",
                [*chunk, len(fingerprint), fingerprint],
            )
            for source, customer_id, form in cast("list[tuple[str, str, str]]", rows):
                found[refs[source]] = (customer_id, form)
        return found

    def rows_without_form(
        self, after: SourceRef | None, *, fingerprint: str, limit: int
    ) -> Sequence[StoredRecord]:
        """Up to ``limit`` rows after ``after``, in source order, lacking a current form.

        Rows holding a record whose form does not start with ``fingerprint``. For
        filling in forms over the whole table, a batch at a time (the test runs in SQL,
        so a table already filled is read through once); the rows are not kept in the
        decoded-row cache.
        """
        rows = self._all(
            "read source records",
            "SELECT source, customer_id, data FROM identity_records WHERE source > ? "
            "AND data IS NOT NULL AND (prepared IS NULL OR substr(prepared, 1, ?) <> ?) "
            "ORDER BY source LIMIT ?",
            ("" if after is None else str(after), len(fingerprint), fingerprint, limit),
        )
        return [_decoded.__wrapped__(str(s), str(c), str(d)) for s, c, d in rows]

    def set_forms(self, forms: Iterable[tuple[StoredRecord, str]]) -> None:
        """Store prepared forms of rows read in this unit of work, if still unchanged."""
        with translate_errors("store prepared forms"):
            self._conn.executemany(
                "UPDATE identity_records SET prepared = ? WHERE source = ? AND data = ?",
                [
                    (form, str(row.source), record_to_json(row.record))
                    for row, form in forms
                    if row.record is not None
                ],
            )


class SQLiteMatchKeyRepository(_Repo):
    """:class:`~omnicrm.identity.ports.MatchKeyRepository` on ``identity_keys``."""

    def add(self, source: SourceRef, keys: Iterable[str]) -> None:
        """Index ``source`` under ``keys``."""
        with translate_errors("index match keys"):
            self._conn.executemany(
                "INSERT INTO identity_keys (key, source) VALUES (?, ?) ON CONFLICT DO NOTHING",
                [(key, str(source)) for key in sorted(keys)],
            )

    def remove(self, source: SourceRef) -> None:
        """Drop every key of ``source``."""
        with translate_errors("remove match keys"):
            self._conn.execute("DELETE FROM identity_keys WHERE source = ?", (str(source),))

    def find(self, keys: Iterable[str], *, limit: int) -> frozenset[SourceRef]:
        """Return the sources carrying any of ``keys``: per key the ``limit`` latest indexed."""
        return frozenset(s for refs in self.postings(keys, limit=limit).values() for s in refs)

    def postings(self, keys: Iterable[str], *, limit: int) -> Mapping[str, tuple[SourceRef, ...]]:
        """Return each key's sources (those that have any), the ``limit`` latest first.

        One statement with a ``LIMIT`` per key, so a very common key reads only its
        ``limit`` newest index entries (``identity_keys_postings``: key, seq, source).
        """
        return {
            key: tuple(stored_source(s) for s in texts)
            for key, texts in self.posting_texts(keys, limit=limit).items()
        }

    def posting_counts(self, keys: Iterable[str], *, limit: int) -> Mapping[str, int]:
        """How many sources each key has (those that have any), counted up to ``limit``.

        One row per key instead of its postings: the resolver asks which keys are rare
        before reading any key's sources (a common key's ``limit`` index entries are
        counted, not returned).
        """
        arm = "SELECT ?, count(*) FROM (SELECT seq FROM identity_keys WHERE key = ? "
        arm += "ORDER BY seq DESC LIMIT ?) AS newest"
        rows = self._per_key("count match keys", arm, keys, lambda key: (key, key, limit))
        return {key: n for key, n in cast("list[tuple[str, int]]", rows) if n}

    def posting_texts(self, keys: Iterable[str], *, limit: int) -> Mapping[str, tuple[str, ...]]:
        """:meth:`postings` with each source as stored (``"channel:id"``), not yet parsed.

        The resolver reads the sources of a record's rare keys only (found with
        :meth:`posting_counts`) and parses them when it needs them.
        """
        arm = "SELECT * FROM (SELECT key, seq, source FROM identity_keys WHERE key = ? "
        arm += "ORDER BY seq DESC LIMIT ?) AS newest"
        rows = self._per_key("find match keys", arm, keys, lambda key: (key, limit))
        found: dict[str, list[tuple[int, str]]] = {}
        for key, seq, source in cast("list[tuple[str, int, str]]", rows):
            found.setdefault(key, []).append((-seq, source))
        return {key: tuple(text for _, text in sorted(refs)) for key, refs in found.items()}

    def _per_key(
        self,
        action: str,
        arm: str,
        keys: Iterable[str],
        params: Callable[[str], tuple[object, ...]],
    ) -> list[tuple[object, ...]]:
        """``arm`` once per key (with ``params(key)``), ``UNION ALL``, in chunks of keys.

        One statement with a ``LIMIT`` per key, so a very common key reads only its
        newest entries (``identity_keys_postings``: key, seq, source).
        """
        rows: list[tuple[object, ...]] = []
        for chunk in _chunks(sorted(set(keys)), _KEYS_PER_QUERY):
            values = [v for key in chunk for v in params(key)]
            rows += self._all(action, " UNION ALL ".join([arm] * len(chunk)), values)
        return rows

    def keys_of(self, source: SourceRef) -> frozenset[str]:
        """Return the keys ``source`` is indexed under."""
        rows = self._all(
            "read match keys",
            "SELECT key FROM identity_keys WHERE source = ?",
            (str(source),),
        )
        return frozenset(str(r[0]) for r in rows)


class SQLiteDecisionRepository(_Repo):
    """:class:`~omnicrm.identity.ports.DecisionRepository` on ``identity_decisions``."""

    def put(self, decision: PairDecision) -> None:
        """Insert or replace the pair's decision."""
        with translate_errors("store a decision"):
            self._conn.execute(
                "INSERT INTO identity_decisions (a, b, verdict, score, data) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (a, b) DO UPDATE SET "
                "verdict = excluded.verdict, score = excluded.score, data = excluded.data",
                (
                    str(decision.a),
                    str(decision.b),
                    decision.verdict,
                    decision.score,
                    decision_to_json(decision),
                ),
            )

    def get(self, a: SourceRef, b: SourceRef) -> PairDecision | None:
        """Return the pair's decision or ``None``."""
        x, y = sorted((a, b))
        rows = self._all(
            "read a decision",
            "SELECT data FROM identity_decisions WHERE a = ? AND b = ?",
            (str(x), str(y)),
        )
        return decision_from_json(str(rows[0][0])) if rows else None

    def involving(self, sources: Iterable[SourceRef]) -> Sequence[PairDecision]:
        """Return the decisions touching any of ``sources``."""
        keys = [str(s) for s in dict.fromkeys(sources)]
        found: dict[tuple[SourceRef, SourceRef], PairDecision] = {}
        for chunk in _chunks(keys):
            marks = ",".join("?" * len(chunk))
            for (data,) in self._all(
                "read decisions",
                f"SELECT data FROM identity_decisions WHERE a IN ({marks}) OR b IN ({marks})",
                [*chunk, *chunk],
            ):
                decision = decision_from_json(str(data))
                found[decision.a, decision.b] = decision
        return tuple(found[k] for k in sorted(found))

    def pending(self, *, limit: int | None = None) -> Sequence[PairDecision]:
        """Return the review queue, highest score first."""
        sql = "SELECT data FROM identity_decisions WHERE verdict = ? ORDER BY score DESC, a, b"
        params: tuple[object, ...] = (Verdict.PENDING,)
        if limit is not None:
            sql, params = f"{sql} LIMIT ?", (*params, limit)
        rows = self._all("read the review queue", sql, params)
        return tuple(decision_from_json(str(r[0])) for r in rows)

    def delete(self, a: SourceRef, b: SourceRef) -> None:
        """Remove the pair's decision."""
        x, y = sorted((a, b))
        with translate_errors("delete a decision"):
            self._conn.execute(
                "DELETE FROM identity_decisions WHERE a = ? AND b = ?", (str(x), str(y))
            )


class SQLiteAuditRepository(_Repo):
    """:class:`~omnicrm.identity.ports.AuditRepository` on ``identity_audit``."""

    def add(self, entry: AuditEntry) -> None:
        """Append an entry."""
        with translate_errors("append to the audit trail"):
            try:
                self._conn.execute(
                    "INSERT INTO identity_audit (entry_id, customer_id, other_id, data) "
                    "VALUES (?, ?, ?, ?)",
                    (entry.entry_id, entry.customer_id, entry.other_id, audit_to_json(entry)),
                )
            except INTEGRITY_ERRORS as exc:
                raise DuplicateError("audit entry", entry.entry_id) from exc

    def get(self, entry_id: str) -> AuditEntry:
        """Return the entry or raise ``NotFoundError``."""
        rows = self._all(
            "read the audit trail",
            "SELECT data FROM identity_audit WHERE entry_id = ?",
            (entry_id,),
        )
        if not rows:
            raise NotFoundError("audit entry", entry_id)
        return audit_from_json(str(rows[0][0]))

    def mark_undone(self, entry_id: str) -> AuditEntry:
        """Mark a merge as reversed, once."""
        entry = self.get(entry_id)
        if entry.undone:
            raise StateError(f"audit entry {entry_id!r} was already undone")
        changed = attrs.evolve(entry, undone=True)
        with translate_errors("update the audit trail"):
            self._conn.execute(
                "UPDATE identity_audit SET data = ? WHERE entry_id = ?",
                (audit_to_json(changed), entry_id),
            )
        return changed

    def for_customer(self, customer_id: str) -> Sequence[AuditEntry]:
        """Return the entries naming ``customer_id``, oldest first."""
        rows = self._all(
            "read the audit trail",
            "SELECT data FROM identity_audit WHERE customer_id = ? OR other_id = ? ORDER BY seq",
            (customer_id, customer_id),
        )
        return tuple(audit_from_json(str(r[0])) for r in rows)


class SQLiteIdentityRepositories:
    """The five identity repositories of one SQLite unit of work."""

    def __init__(self, conn: SQLConnection) -> None:
        self.profiles = SQLiteProfileRepository(conn)
        self.records = SQLiteSourceRecordRepository(conn)
        self.keys = SQLiteMatchKeyRepository(conn)
        self.decisions = SQLiteDecisionRepository(conn)
        self.audit = SQLiteAuditRepository(conn)
