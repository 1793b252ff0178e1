"""Hypothesis strategies for omnicrm's values, registered for ``st.from_type``.

Importing this module registers strategies for :class:`~omnicrm.money.Money`,
:class:`~omnicrm.channel.Channel`, :class:`~omnicrm.customers.IdentifierKey`,
:class:`~omnicrm.customers.Profile` and :class:`~omnicrm.customers.Customer`. The
Japanese generators write one underlying value in the many ways people type it, so a
host can test that its matching sees through them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from omnicrm.channel import Channel
from omnicrm.customers.model import Customer, IdentifierKey, Profile
from omnicrm.money import MINOR_UNITS, Money
from omnicrm.testing._kana import to_halfwidth_katakana, to_hiragana

__all__ = [
    "FAMILY_NAMES",
    "GIVEN_NAMES",
    "aware_datetimes",
    "channels",
    "currencies",
    "customers",
    "emails",
    "identifier_keys",
    "ids",
    "japanese_addresses",
    "japanese_names",
    "kana_variants",
    "money",
    "phone_numbers",
    "postal_codes",
    "profiles",
]

FAMILY_NAMES: tuple[tuple[str, str], ...] = (
    ("佐藤", "さとう"),
    ("鈴木", "すずき"),
    ("高橋", "たかはし"),
    ("田中", "たなか"),
    ("伊藤", "いとう"),
    ("渡辺", "わたなべ"),
    ("山本", "やまもと"),
    ("中村", "なかむら"),
    ("小林", "こばやし"),
    ("加藤", "かとう"),
    ("吉田", "よしだ"),
    ("山田", "やまだ"),
    ("佐々木", "ささき"),
    ("斎藤", "さいとう"),
    ("松本", "まつもと"),
    ("井上", "いのうえ"),
    ("木村", "きむら"),
    ("林", "はやし"),
    ("清水", "しみず"),
    ("山崎", "やまざき"),
    ("髙橋", "たかはし"),
    ("渡邊", "わたなべ"),
    ("齋藤", "さいとう"),
    ("澤田", "さわだ"),
)
"""Common family names in kanji (with variant-kanji spellings) and their readings."""

GIVEN_NAMES: tuple[tuple[str, str], ...] = (
    ("太郎", "たろう"),
    ("花子", "はなこ"),
    ("翔太", "しょうた"),
    ("陽菜", "ひな"),
    ("健一", "けんいち"),
    ("美咲", "みさき"),
    ("大輔", "だいすけ"),
    ("愛", "あい"),
    ("拓也", "たくや"),
    ("さくら", "さくら"),
    ("翼", "つばさ"),
    ("結衣", "ゆい"),
    ("優子", "ゆうこ"),
    ("健太", "けんた"),
    ("由美", "ゆみ"),
    ("蓮", "れん"),
)
"""Common given names and their readings."""

_PREFECTURES = ("東京都", "大阪府", "神奈川県", "愛知県", "北海道", "福岡県", "京都府")
_CITIES = ("千代田区丸の内", "北区梅田", "横浜市中区山下町", "名古屋市中区栄", "札幌市中央区")
_BUILDINGS = ("", " 丸の内ビル305号室", " サンハイツ201", " グランドメゾン1203")
_KANJI_DIGITS = "〇一二三四五六七八九"
_ZONES = ("Asia/Tokyo", "UTC", "America/New_York", "Europe/London", "Australia/Sydney")


def ids(prefix: str = "id") -> st.SearchStrategy[str]:
    """Valid ids such as ``cus_3f9``."""
    return st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12).map(
        lambda s: f"{prefix}_{s}"
    )


def aware_datetimes(
    min_value: datetime = datetime(2000, 1, 1), max_value: datetime = datetime(2100, 1, 1)
) -> st.SearchStrategy[datetime]:
    """Timezone-aware datetimes in assorted zones (naive bounds are read as UTC wall time)."""
    zones: st.SearchStrategy[tzinfo] = st.sampled_from([UTC, *map(ZoneInfo, _ZONES)])
    return st.datetimes(min_value=min_value, max_value=max_value, timezones=zones)


def currencies() -> st.SearchStrategy[str]:
    """ISO 4217 codes omnicrm knows."""
    return st.sampled_from(sorted(MINOR_UNITS))


def money(currency: str | None = None, max_amount: int = 10**12) -> st.SearchStrategy[Money]:
    """Non-negative :class:`Money` (in ``currency`` if given)."""
    codes = st.just(currency) if currency else currencies()
    return st.builds(Money, st.integers(0, max_amount), codes)


def channels() -> st.SearchStrategy[Channel]:
    """The predefined channels and a few host-defined ones."""
    custom = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True).map(Channel)
    return st.sampled_from(Channel.predefined()) | custom


def kana_variants(reading: str) -> st.SearchStrategy[str]:
    """One hiragana reading written as hiragana, katakana or half-width katakana."""
    hira = to_hiragana(reading)
    katakana = "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in hira)
    return st.sampled_from([hira, katakana, to_halfwidth_katakana(hira)])


def japanese_names() -> st.SearchStrategy[tuple[str, str, str, str]]:
    """``(family, given, family_kana, given_kana)`` with the kana in a random script."""
    return st.tuples(st.sampled_from(FAMILY_NAMES), st.sampled_from(GIVEN_NAMES)).flatmap(
        lambda names: st.tuples(
            st.just(names[0][0]),
            st.just(names[1][0]),
            kana_variants(names[0][1]),
            kana_variants(names[1][1]),
        )
    )


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "0" <= c <= "9" or c == "-" else c for c in text)


def phone_numbers() -> st.SearchStrategy[tuple[str, str]]:
    """``(canonical, written)``: a Japanese number and one way a person may write it.

    The canonical form is the national digits (``09012345678``); written forms include
    hyphens, full-width digits, ``+81`` and parentheses.
    """

    def forms(parts: tuple[str, str, str]) -> st.SearchStrategy[tuple[str, str]]:
        a, b, c = parts
        national = a + b + c
        written = [
            f"{a}-{b}-{c}",
            national,
            _fullwidth(f"{a}-{b}-{c}"),
            f"+81 {a[1:]} {b} {c}",
            f"+81-{a[1:]}-{b}-{c}",
            f"({a}){b}-{c}",
        ]
        return st.sampled_from(written).map(lambda w: (national, w))

    digits = st.text("0123456789", min_size=4, max_size=4)
    mobile = st.tuples(st.sampled_from(["090", "080", "070"]), digits, digits)
    tokyo = st.tuples(st.just("03"), digits, digits)
    return (mobile | tokyo).flatmap(forms)


def postal_codes() -> st.SearchStrategy[tuple[str, str]]:
    """``(canonical, written)`` postal codes: ``1000005`` written as ``〒100-0005`` etc."""

    def forms(code: str) -> st.SearchStrategy[tuple[str, str]]:
        hyphen = f"{code[:3]}-{code[3:]}"
        written = [code, hyphen, f"〒{hyphen}", _fullwidth(hyphen), f"〒 {_fullwidth(code)}"]
        return st.sampled_from(written).map(lambda w: (code, w))

    return st.text("0123456789", min_size=7, max_size=7).flatmap(forms)


def japanese_addresses() -> st.SearchStrategy[str]:
    """Addresses with or without the prefecture, block numbers in several notations."""

    def render(parts: tuple[str, str, int, int, int, int, str, bool]) -> str:
        pref, city, chome, ban, go, style, building, with_pref = parts
        if style == 0:
            block = f"{chome}丁目{ban}番{go}号"
        elif style == 1:
            block = f"{chome}-{ban}-{go}"
        elif style == 2:
            block = _fullwidth(f"{chome}-{ban}-{go}")
        else:
            block = f"{_KANJI_DIGITS[chome]}丁目{ban}-{go}"
        return f"{pref if with_pref else ''}{city}{block}{building}"

    return st.tuples(
        st.sampled_from(_PREFECTURES),
        st.sampled_from(_CITIES),
        st.integers(1, 9),
        st.integers(1, 30),
        st.integers(1, 20),
        st.integers(0, 3),
        st.sampled_from(_BUILDINGS),
        st.booleans(),
    ).map(render)


def emails() -> st.SearchStrategy[str]:
    """E-mail addresses, sometimes with upper case or surrounding spaces."""
    local = st.from_regex(r"[a-z][a-z0-9._]{0,10}[a-z0-9]", fullmatch=True)
    domain = st.sampled_from(["example.jp", "docomo.ne.jp", "gmail.com", "ezweb.ne.jp"])
    base = st.builds(lambda a, d: f"{a}@{d}", local, domain)
    return base.flatmap(lambda e: st.sampled_from([e, e.upper(), f" {e} ", e.capitalize()]))


def identifier_keys() -> st.SearchStrategy[IdentifierKey]:
    """Identifier keys of every kind."""
    return st.one_of(
        emails().map(lambda e: IdentifierKey.email(e.strip().lower())),
        phone_numbers().map(lambda p: IdentifierKey.phone(p[0])),
        st.from_regex(r"M[0-9]{6}", fullmatch=True).map(IdentifierKey.member_card),
        st.builds(
            IdentifierKey.external,
            st.sampled_from(Channel.predefined()),
            st.from_regex(r"[a-z0-9]{1,10}", fullmatch=True),
        ),
    )


def profiles() -> st.SearchStrategy[Profile]:
    """Japanese customer profiles with written variants of each field."""
    return st.builds(
        lambda names, phone, postal, **kw: Profile(
            family_name=names[0],
            given_name=names[1],
            family_name_kana=names[2],
            given_name_kana=names[3],
            phone=phone[1] if phone else None,
            postal_code=postal[1] if postal else None,
            **kw,
        ),
        japanese_names(),
        st.none() | phone_numbers(),
        st.none() | postal_codes(),
        identifiers=st.frozensets(identifier_keys(), max_size=4),
        email=st.none() | emails(),
        birth_date=st.none() | st.dates(date(1930, 1, 1), date(2010, 12, 31)),
        address=st.none() | japanese_addresses(),
        time_zone=st.none() | st.sampled_from(_ZONES),
        attributes=st.dictionaries(
            st.sampled_from(["tier", "age_band", "segment"]), st.sampled_from(["a", "b", "30s"])
        ),
    )


def customers() -> st.SearchStrategy[Customer]:
    """Stored-looking customers (version 0: not yet added)."""
    return st.builds(
        lambda cid, at, later, profile: Customer(
            id=cid, created_at=at, updated_at=at + later, profile=profile
        ),
        ids("cus"),
        aware_datetimes(),
        st.timedeltas(timedelta(0), timedelta(days=365)),
        profiles(),
    )


def _register() -> None:
    st.register_type_strategy(Money, money())
    st.register_type_strategy(Channel, channels())
    st.register_type_strategy(IdentifierKey, identifier_keys())
    st.register_type_strategy(Profile, profiles())
    st.register_type_strategy(Customer, customers())


_register()
