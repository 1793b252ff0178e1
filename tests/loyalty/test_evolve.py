"""The fast ``evolve`` of loyalty values matches ``attrs.evolve``."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs
import pytest

from omnicrm.loyalty.model import Allocation, Grant, GrantKind, evolve

AT = datetime(2026, 1, 1, tzinfo=UTC)


def test_evolve_matches_attrs_evolve() -> None:
    grant = Grant(
        id="g1",
        program_id="p",
        member_id="m",
        company="acme",
        kind=GrantKind.STANDARD,
        amount=10,
        remaining=10,
        granted_at=AT,
        expires_at=AT,
    )
    changed = evolve(grant, remaining=3, version=2)
    assert changed == attrs.evolve(grant, remaining=3, version=2)
    assert grant.remaining == 10
    assert evolve(Allocation("g1", "acme", 5), points=2) == Allocation("g1", "acme", 2)


def test_evolve_refuses_an_unknown_field() -> None:
    with pytest.raises(TypeError):
        evolve(Allocation("g1", "acme", 5), bogus=1)


def test_evolve_falls_back_to_attrs_for_validated_classes() -> None:
    @attrs.frozen
    class Checked:
        points: int = attrs.field(validator=attrs.validators.instance_of(int))

    assert evolve(Checked(1), points=2) == Checked(2)
    with pytest.raises(TypeError):
        evolve(Checked(1), points="2")
