"""Customers as plain JSON text: for SQL adapters and for idempotent replays."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import attrs

from omnicrm.clock import from_micros, to_micros
from omnicrm.customers.model import Customer, IdentifierKey, Profile

__all__ = ["customer_from_json", "customer_to_json", "profile_from_dict", "profile_to_dict"]


def profile_to_dict(profile: Profile) -> dict[str, Any]:
    """Return the profile as JSON-ready data; empty fields are left out."""
    data: dict[str, Any] = {}
    for field in attrs.fields(Profile):
        value = getattr(profile, field.name)
        if value is None or (field.name in ("identifiers", "attributes") and not value):
            continue
        if field.name == "birth_date":
            value = value.isoformat()
        elif field.name == "identifiers":
            value = sorted([k.kind, k.value] for k in value)
        elif field.name == "attributes":
            value = dict(value)
        data[field.name] = value
    return data


def profile_from_dict(data: dict[str, Any]) -> Profile:
    """Inverse of :func:`profile_to_dict`."""
    fields = dict(data)
    if "birth_date" in fields:
        fields["birth_date"] = date.fromisoformat(fields["birth_date"])
    fields["identifiers"] = frozenset(IdentifierKey(k, v) for k, v in fields.get("identifiers", ()))
    return Profile(**fields)


def customer_to_json(customer: Customer) -> str:
    """Encode a customer as compact JSON, instants as epoch microseconds."""
    data = {
        "id": customer.id,
        "version": customer.version,
        "created_at": to_micros(customer.created_at),
        "updated_at": to_micros(customer.updated_at),
        "profile": profile_to_dict(customer.profile),
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def customer_from_json(text: str, version: int | None = None) -> Customer:
    """Decode :func:`customer_to_json` output; ``version`` overrides the encoded one."""
    data: dict[str, Any] = json.loads(text)
    return Customer(
        id=data["id"],
        version=data["version"] if version is None else version,
        created_at=from_micros(data["created_at"]),
        updated_at=from_micros(data["updated_at"]),
        profile=profile_from_dict(data["profile"]),
    )
