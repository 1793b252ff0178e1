"""JSON forms of the identity values, for SQL rows and idempotency results."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from omnicrm.clock import from_micros, to_micros
from omnicrm.identity.model import AuditEntry, IdentityProfile, PairDecision
from omnicrm.identity.records import (
    CustomerRecord,
    SourceRef,
    stored_record,
    stored_source,
    stored_value,
)

__all__ = [
    "audit_from_json",
    "audit_to_json",
    "decision_from_json",
    "decision_to_json",
    "profile_from_dict",
    "profile_to_dict",
    "record_from_json",
    "record_to_dict",
    "record_to_json",
]

_TEXT_FIELDS = (
    "family_name",
    "given_name",
    "family_name_kana",
    "given_name_kana",
    "email",
    "phone",
    "gender",
    "postal_code",
    "address",
    "member_card_no",
)


def record_to_dict(record: CustomerRecord) -> dict[str, Any]:
    """A record as plain JSON-able values."""
    data: dict[str, Any] = {"source": str(record.source)}
    for name in _TEXT_FIELDS:
        value = getattr(record, name)
        if value is not None:
            data[name] = value
    if record.email_verified:
        data["email_verified"] = True
    birth = record.birth_date
    if isinstance(birth, date):
        data["birth_date"] = {"date": birth.isoformat()}
    elif birth is not None:
        data["birth_date"] = birth
    if record.observed_at is not None:
        data["observed_us"] = to_micros(record.observed_at)
    if record.attributes:
        data["attributes"] = dict(record.attributes)
    return data


def record_to_json(record: CustomerRecord) -> str:
    """A record as a JSON string."""
    return json.dumps(record_to_dict(record), ensure_ascii=False, sort_keys=True)


def record_from_json(
    text: str | dict[str, Any],
    *,
    stored: bool = False,
    source: SourceRef | None = None,
) -> CustomerRecord:
    """The record written by :func:`record_to_json` (or its dict).

    ``stored=True`` is for a store reading back a row it wrote: the record is built
    without running its validators again (:func:`~omnicrm.identity.records.stored_record`),
    its source kept for reuse. ``source``: the record's source, already known (a dict
    without ``"source"``, as a prepared form holds it).
    """
    data = dict(json.loads(text)) if isinstance(text, str) else dict(text)
    if source is None:
        source = (stored_source if stored else SourceRef.parse)(data.pop("source"))
    birth = data.pop("birth_date", None)
    if isinstance(birth, dict):
        data["birth_date"] = date.fromisoformat(birth["date"])
    elif birth is not None:
        data["birth_date"] = birth
    observed = data.pop("observed_us", None)
    if observed is not None:
        data["observed_at"] = from_micros(observed)
    if stored:
        return stored_record(source, data)
    return CustomerRecord(source=source, **data)


def profile_to_dict(profile: IdentityProfile) -> dict[str, Any]:
    """A profile as plain JSON-able values."""
    return {
        "customer_id": profile.customer_id,
        "members": sorted(str(m) for m in profile.members),
        "created_us": to_micros(profile.created_at),
        "updated_us": to_micros(profile.updated_at),
        "version": profile.version,
        "erased": profile.erased,
        "merged_into": profile.merged_into,
    }


def profile_from_dict(data: dict[str, Any], *, stored: bool = False) -> IdentityProfile:
    """The profile written by :func:`profile_to_dict`.

    ``stored=True`` is for a store reading back a row it wrote: built without running
    the profile's validators again (:func:`~omnicrm.identity.records.stored_value`).
    """
    values = {
        "customer_id": data["customer_id"],
        "members": frozenset(stored_source(m) for m in data["members"]),
        "created_at": from_micros(data["created_us"]),
        "updated_at": from_micros(data["updated_us"]),
        "version": data["version"],
        "erased": data["erased"],
        "merged_into": data["merged_into"],
    }
    return stored_value(IdentityProfile, values) if stored else IdentityProfile(**values)


def decision_to_json(decision: PairDecision) -> str:
    """A pair decision as a JSON string."""
    return json.dumps(
        {
            "a": str(decision.a),
            "b": str(decision.b),
            "verdict": decision.verdict,
            "score": decision.score,
            "levels": [list(level) for level in decision.levels],
            "decided_us": to_micros(decision.decided_at),
        },
        sort_keys=True,
    )


def decision_from_json(text: str) -> PairDecision:
    """The decision written by :func:`decision_to_json`."""
    data = json.loads(text)
    return PairDecision(
        a=stored_source(data["a"]),
        b=stored_source(data["b"]),
        verdict=data["verdict"],
        score=float(data["score"]),
        levels=tuple((f, lvl, float(w)) for f, lvl, w in data["levels"]),
        decided_at=from_micros(data["decided_us"]),
    )


def audit_to_json(entry: AuditEntry) -> str:
    """An audit entry as a JSON string."""
    return json.dumps(
        {
            "entry_id": entry.entry_id,
            "at_us": to_micros(entry.at),
            "action": entry.action,
            "customer_id": entry.customer_id,
            "other_id": entry.other_id,
            "reason": entry.reason,
            "before": {k: profile_to_dict(v) for k, v in entry.before.items()},
            "undone": entry.undone,
        },
        sort_keys=True,
        ensure_ascii=False,
    )


def audit_from_json(text: str) -> AuditEntry:
    """The audit entry written by :func:`audit_to_json`."""
    data = json.loads(text)
    return AuditEntry(
        entry_id=data["entry_id"],
        at=from_micros(data["at_us"]),
        action=data["action"],
        customer_id=data["customer_id"],
        other_id=data["other_id"],
        reason=data["reason"],
        before={k: profile_from_dict(v) for k, v in data["before"].items()},
        undone=data["undone"],
    )
