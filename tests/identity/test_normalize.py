from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omnicrm.errors import InvalidTypeError, ValidationError
from omnicrm.identity import (
    normalize_address,
    normalize_email,
    normalize_kana,
    normalize_name,
    normalize_phone,
    normalize_postal_code,
    parse_date,
)
from omnicrm.testing.strategies import (
    FAMILY_NAMES,
    emails,
    japanese_addresses,
    phone_numbers,
    postal_codes,
)
from omnicrm.testing.strategies_identity import (
    kana_spellings,
    variant_kanji_names,
    written_dates,
)

FAST = settings(max_examples=60, deadline=None)


@FAST
@given(phone_numbers())
def test_every_written_phone_gives_the_canonical_key(pair: tuple[str, str]) -> None:
    canonical, written = pair
    assert normalize_phone(written) == canonical
    assert normalize_phone(normalize_phone(written)) == canonical


@pytest.mark.parametrize(
    "written",
    [
        "090-1234-5678",
        "０９０１２３４５６７８",
        "+81 90 1234 5678",
        "(090)1234-5678",
        "+81-90-1234-5678",
        "81 90 1234 5678",
    ],
)
def test_issue_phone_forms(written: str) -> None:
    assert normalize_phone(written) == "09012345678"


def test_landline_in_parentheses() -> None:
    assert normalize_phone("(03)1234-5678") == "0312345678"


def test_foreign_numbers_become_e164() -> None:
    assert normalize_phone("+1 (415) 555-0123") == "+14155550123"
    assert normalize_phone("+44 20 7946 0958") == "+442079460958"
    assert normalize_phone("020 7946 0958", region="GB") == "+442079460958"


@pytest.mark.parametrize("bad", ["hello", "12", "+", "0" * 40])
def test_unreadable_phone_is_a_precise_error(bad: str) -> None:
    with pytest.raises(ValidationError) as info:
        normalize_phone(bad)
    assert info.value.field == "phone"


def test_phone_of_wrong_type() -> None:
    with pytest.raises(InvalidTypeError):
        normalize_phone(9012345678)  # type: ignore[arg-type]


@FAST
@given(postal_codes())
def test_every_written_postal_code_gives_one_key(pair: tuple[str, str]) -> None:
    canonical, written = pair
    assert normalize_postal_code(written) == canonical
    assert normalize_postal_code(canonical) == canonical


def test_postal_code_with_minus_sign_and_foreign_codes() -> None:
    assert normalize_postal_code("〒１００−０００５") == "1000005"
    assert normalize_postal_code("sw1a 1aa") == "SW1A1AA"
    with pytest.raises(ValidationError):
        normalize_postal_code("〒")


@FAST
@given(emails())
def test_email_is_trimmed_and_lower_cased_idempotently(written: str) -> None:
    key = normalize_email(written)
    assert key == written.strip().lower()
    assert normalize_email(key) == key


def test_email_provider_rules_are_optional() -> None:
    assert normalize_email("A.B+shop@GMail.com") == "a.b+shop@gmail.com"
    assert normalize_email("A.B+shop@GMail.com", provider_rules=True) == "ab@gmail.com"
    assert normalize_email("a.b+x@example.jp", provider_rules=True) == "a.b@example.jp"
    with pytest.raises(ValidationError):
        normalize_email("not an address")


@FAST
@given(written_dates())
def test_every_written_date_gives_the_date(pair: tuple[date, object]) -> None:
    day, written = pair
    assert parse_date(written) == day  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("昭和60年4月1日", date(1985, 4, 1)),
        ("S60.4.1", date(1985, 4, 1)),
        ("平成元年1月8日", date(1989, 1, 8)),
        ("令和2年2月29日", date(2020, 2, 29)),
        ("1985/4/1", date(1985, 4, 1)),
        ("1/4/1985", date(1985, 4, 1)),
        ("13/4/1985", date(1985, 4, 13)),
        ("4/13/1985", date(1985, 4, 13)),
    ],
)
def test_date_forms(written: str, expected: date) -> None:
    assert parse_date(written) == expected


def test_day_first_can_be_turned_off() -> None:
    assert parse_date("1/4/1985", day_first=False) == date(1985, 1, 4)


@pytest.mark.parametrize(
    "bad", ["昭和1年1月1日", "令和0年5月1日", "1985-02-30", "yesterday", "x" * 100]
)
def test_unreadable_dates_are_precise_errors(bad: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_date(bad)
    assert info.value.field == "birth_date"


@FAST
@given(
    st.sampled_from(FAMILY_NAMES).flatmap(lambda n: kana_spellings(n[1]).map(lambda k: (n[1], k)))
)
def test_every_kana_script_gives_one_key(pair: tuple[str, str]) -> None:
    reading, written = pair
    assert normalize_kana(written) == normalize_kana(reading)
    assert normalize_kana(normalize_kana(written)) == normalize_kana(written)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("ゆうこ", "ユーコ"),
        ("ﾕｰｺ", "ユウコ"),
        ("きょうこ", "キヨウコ"),
        ("おおた", "オータ"),
        ("ヲノ", "オノ"),
    ],
)
def test_long_vowels_and_small_kana(a: str, b: str) -> None:
    assert normalize_kana(a) == normalize_kana(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("髙橋", "高橋"),
        ("山﨑", "山崎"),
        ("渡邊", "渡辺"),
        ("渡邉", "渡辺"),
        ("齋藤", "斎藤"),
        ("齊藤", "斎藤"),
        ("澤田", "沢田"),
    ],
)
def test_variant_kanji(a: str, b: str) -> None:
    assert normalize_name(a) == normalize_name(b)


@FAST
@given(
    st.sampled_from(FAMILY_NAMES).flatmap(
        lambda n: variant_kanji_names(n[0]).map(lambda w: (n[0], w))
    )
)
def test_every_written_kanji_name_gives_one_key(pair: tuple[str, str]) -> None:
    name, written = pair
    assert normalize_name(written) == normalize_name(name)


@FAST
@given(st.text(max_size=30))
def test_name_and_kana_normalisation_is_idempotent(text: str) -> None:
    assert normalize_name(normalize_name(text)) == normalize_name(text)
    assert normalize_kana(normalize_kana(text)) == normalize_kana(text)


def test_latin_names_lose_case_accents_and_punctuation() -> None:
    assert normalize_name("José  O'Brien") == normalize_name("jose obrien")
    assert normalize_name("ＴＡＲＯ") == "taro"


@pytest.mark.parametrize(
    "written",
    [
        "東京都千代田区丸の内1丁目2番3号 丸の内ビル305",
        "千代田区丸の内一丁目2-3",
        "千代田区丸の内１－２－３",
        "東京都千代田区丸の内1-2-3",
        "千代田区丸の内一丁目2番3号",
    ],
)
def test_address_forms_give_one_key(written: str) -> None:
    address = normalize_address(written)
    assert address.locality == "千代田区丸の内"
    assert address.block == "1-2-3"


def test_address_splits_building_and_prefecture() -> None:
    address = normalize_address("東京都千代田区丸の内1丁目2番3号 丸の内ビル305")
    assert address.prefecture == "東京都"
    assert address.building == "丸の内ビル305"
    assert normalize_address("横浜市中区山下町二十三番地").block == "23"


@FAST
@given(japanese_addresses())
def test_address_key_is_idempotent_on_its_parts(written: str) -> None:
    address = normalize_address(written)
    again = normalize_address(f"{address.prefecture}{address.locality}{address.block}")
    assert (again.locality, again.block) == (address.locality, address.block)


def test_western_addresses() -> None:
    a = normalize_address("12 Smith St., Kingsford")
    b = normalize_address("12 smith street kingsford")
    assert a.key == b.key
