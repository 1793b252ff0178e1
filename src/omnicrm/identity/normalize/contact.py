"""E-mail addresses and postal codes."""

from __future__ import annotations

import re

from omnicrm.errors import InvalidTypeError, ValidationError
from omnicrm.identity.normalize.text import nfkc

__all__ = ["DOT_INSENSITIVE_DOMAINS", "normalize_email", "normalize_postal_code"]

DOT_INSENSITIVE_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
"""Providers that ignore dots in the local part (used only with ``provider_rules=True``)."""

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_POSTAL_JUNK = re.compile(r"[\s〒\-‐‑–—―ー−]")


def normalize_email(text: str, *, provider_rules: bool = False) -> str:
    """Return the matching form of an e-mail address: trimmed, NFKC, lower-cased.

    With ``provider_rules=True`` a ``+tag`` is dropped from the local part, and dots
    too for providers that ignore them (Gmail); off by default, because for most
    providers ``a.b@`` and ``ab@`` are different mailboxes. Raises ``ValidationError``
    for text that is not an address.
    """
    if not isinstance(text, str):
        raise InvalidTypeError("email", text, f"must be a str, not {type(text).__name__}")
    folded = nfkc(text).strip().lower()
    if len(folded) > 320 or not _EMAIL.fullmatch(folded):
        raise ValidationError("email", text, "is not an e-mail address")
    if provider_rules:
        local, _, domain = folded.rpartition("@")
        local = local.split("+", 1)[0]
        if domain in DOT_INSENSITIVE_DOMAINS:
            local = local.replace(".", "")
            domain = "gmail.com"
        folded = f"{local}@{domain}"
    return folded


def normalize_postal_code(text: str) -> str:
    """Return a postal code's matching form: ``〒100-0005`` and ``１００００05`` give ``1000005``.

    Japanese codes become their seven digits; other countries' codes are upper-cased
    with spaces and hyphens removed (``sw1a 1aa`` → ``SW1A1AA``). Raises
    ``ValidationError`` for an empty or implausible code.
    """
    if not isinstance(text, str):
        raise InvalidTypeError("postal_code", text, f"must be a str, not {type(text).__name__}")
    folded = _POSTAL_JUNK.sub("", nfkc(text)).upper()
    if not folded or len(folded) > 12 or not folded.isalnum() or not folded.isascii():
        raise ValidationError("postal_code", text, "is not a postal code")
    return folded
