"""Loyalty values as compact JSON: receipts for idempotent replays, rows for SQL adapters."""

from __future__ import annotations

import json
from typing import Any

from omnicrm.clock import from_micros, to_micros
from omnicrm.loyalty.model import Allocation, OrderPart
from omnicrm.loyalty.results import Receipt

__all__ = [
    "allocations_from_json",
    "allocations_to_json",
    "dumps",
    "parts_from_json",
    "parts_to_json",
    "receipt_from_json",
    "receipt_to_json",
]


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def dumps(data: Any) -> str:
    """Compact, deterministic JSON."""
    return _ENCODER.encode(data)


def _allocations(items: tuple[Allocation, ...]) -> list[list[Any]]:
    return [
        [a.grant_id, a.company, a.points, None if a.expires_at is None else to_micros(a.expires_at)]
        for a in items
    ]


def _from_allocations(items: list[list[Any]]) -> tuple[Allocation, ...]:
    return tuple(Allocation(g, c, p, None if e is None else from_micros(e)) for g, c, p, e in items)


def allocations_to_json(items: tuple[Allocation, ...]) -> str:
    """Encode allocations."""
    return dumps(_allocations(items))


def allocations_from_json(text: str) -> tuple[Allocation, ...]:
    """Decode :func:`allocations_to_json` output."""
    return _from_allocations(json.loads(text))


def parts_to_json(parts: tuple[OrderPart, ...]) -> str:
    """Encode order parts."""
    return dumps(
        [[p.grant_id, p.company, p.points, p.undone, p.spender, p.forgiven] for p in parts]
    )


def parts_from_json(text: str) -> tuple[OrderPart, ...]:
    """Decode :func:`parts_to_json` output."""
    return tuple(OrderPart(g, c, p, u, s, f) for g, c, p, u, s, f in json.loads(text))


def receipt_to_json(receipt: Receipt) -> str:
    """Encode a receipt (without its events) for the idempotency record."""
    return dumps(
        {
            "c": receipt.command,
            "p": receipt.program_id,
            "m": receipt.member_id,
            "n": receipt.points,
            "a": _allocations(receipt.allocations),
            "h": receipt.hold_id,
            "d": [list(d) for d in receipt.details],
        }
    )


def receipt_from_json(text: str) -> Receipt:
    """Decode :func:`receipt_to_json` output as a replayed receipt."""
    data = json.loads(text)
    return Receipt(
        command=data["c"],
        program_id=data["p"],
        member_id=data["m"],
        points=data["n"],
        allocations=_from_allocations(data["a"]),
        hold_id=data["h"],
        details=tuple((k, v) for k, v in data["d"]),
        replayed=True,
    )
