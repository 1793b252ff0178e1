"""Channels: an open set of names, with the usual ones predefined.

A channel is where a customer meets the business (``store``, ``ec``, ``app``,
``call_center``) or how a message reaches them (``email``, ``line``, ``sms``,
``push``, ``dm``, ``phone``). Hosts may use their own names: ``Channel("marketplace")``.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import attrs

from omnicrm.errors import ValidationError
from omnicrm.validation import check_text

__all__ = ["Channel"]

_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


def _check_name(_instance: Any, attribute: Any, value: Any) -> None:
    check_text(attribute.name, value, max_length=40)
    if not _NAME.fullmatch(value):
        raise ValidationError(
            attribute.name, value, "must be lower-case letters, digits and '_' (max 40)"
        )


@attrs.frozen(order=True)
class Channel:
    """A named channel. Equal by name; ``str(channel)`` is the name."""

    name: str = attrs.field(validator=_check_name)

    STORE: ClassVar[Channel]
    EC: ClassVar[Channel]
    APP: ClassVar[Channel]
    CALL_CENTER: ClassVar[Channel]
    EMAIL: ClassVar[Channel]
    LINE: ClassVar[Channel]
    SMS: ClassVar[Channel]
    PUSH: ClassVar[Channel]
    DM: ClassVar[Channel]
    PHONE: ClassVar[Channel]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def predefined(cls) -> tuple[Channel, ...]:
        """Return the channels omnicrm names out of the box."""
        return _PREDEFINED


Channel.STORE = Channel("store")
Channel.EC = Channel("ec")
Channel.APP = Channel("app")
Channel.CALL_CENTER = Channel("call_center")
Channel.EMAIL = Channel("email")
Channel.LINE = Channel("line")
Channel.SMS = Channel("sms")
Channel.PUSH = Channel("push")
Channel.DM = Channel("dm")
Channel.PHONE = Channel("phone")

_PREDEFINED = (
    Channel.STORE,
    Channel.EC,
    Channel.APP,
    Channel.CALL_CENTER,
    Channel.EMAIL,
    Channel.LINE,
    Channel.SMS,
    Channel.PUSH,
    Channel.DM,
    Channel.PHONE,
)
