from datetime import date

import pytest

from omnicrm.errors import ConfigurationError, InvalidTypeError
from omnicrm.identity import (
    AttributeComparator,
    CustomerRecord,
    Decision,
    MatchConfig,
    SourceRef,
    cannot_link,
    decide,
    deterministic_rule,
    prepare,
    weight_from_probabilities,
)
from omnicrm.identity.compare import (
    compare_address,
    compare_birth_date,
    compare_name_part,
    compare_postal_code,
)
from omnicrm.identity.normalize import normalize_address, normalize_name


def rec(ref: str, **fields: object) -> CustomerRecord:
    return CustomerRecord(source=SourceRef.parse(ref), **fields)  # type: ignore[arg-type]


def pair(a: CustomerRecord, b: CustomerRecord, config: MatchConfig | None = None):  # type: ignore[no-untyped-def]
    return decide(prepare(a), prepare(b), config or MatchConfig())


TARO = {
    "family_name": "髙橋",
    "given_name": "太郎",
    "family_name_kana": "ﾀｶﾊｼ",
    "given_name_kana": "ﾀﾛｳ",
}


def test_same_member_card_is_a_rule() -> None:
    e = pair(rec("store:1", member_card_no="M001"), rec("app:1", member_card_no="ｍ００１"))
    assert (e.decision, e.rule) == (Decision.MERGE, "same_member_card")


def test_same_verified_email_is_a_rule_unverified_is_not() -> None:
    a = rec("ec:1", email="Taro@Example.jp", email_verified=True)
    b = rec("app:1", email="taro@example.jp ", email_verified=True)
    assert deterministic_rule(prepare(a), prepare(b)) == "same_verified_email"
    c = rec("app:2", email="taro@example.jp")
    assert deterministic_rule(prepare(a), prepare(c)) is None


def test_same_phone_and_kana_name_is_a_rule() -> None:
    a = rec("store:1", phone="090-1234-5678", **TARO)
    b = rec(
        "call_center:1",
        phone="+81 90 1234 5678",
        family_name_kana="たかはし",
        given_name_kana="たろう",
    )
    e = pair(a, b)
    assert (e.decision, e.rule) == (Decision.MERGE, "same_phone_and_name")


def test_family_sharing_phone_and_address_is_not_merged() -> None:
    home = {"phone": "03-1234-5678", "address": "千代田区丸の内1-2-3", "postal_code": "100-0005"}
    father = rec("store:1", family_name="高橋", given_name="太郎", birth_date="S35.1.2", **home)
    daughter = rec("ec:1", family_name="高橋", given_name="花子", birth_date="2001-05-06", **home)
    e = pair(father, daughter)
    assert e.decision == Decision.CANNOT_LINK
    assert e.guard == "different_birth_dates"


def test_twins_are_not_merged() -> None:
    home = {"phone": "03-1234-5678", "address": "千代田区丸の内1-2-3", "birth_date": "2001-05-06"}
    a = rec(
        "store:1",
        family_name="高橋",
        given_name="翔太",
        family_name_kana="タカハシ",
        given_name_kana="ショウタ",
        **home,
    )
    b = rec(
        "ec:1",
        family_name="高橋",
        given_name="陽菜",
        family_name_kana="タカハシ",
        given_name_kana="ヒナ",
        **home,
    )
    assert pair(a, b).decision in (Decision.NO_MATCH, Decision.REVIEW)


def test_one_person_across_channels_scores_a_merge_with_explanation() -> None:
    a = rec("store:1", birth_date="昭和60年4月1日", **TARO)
    b = rec("ec:1", family_name="高橋", given_name="太郎", birth_date="1985-04-01")
    e = pair(a, b)
    assert e.decision == Decision.MERGE
    levels = {c.field: c.level for c in e.fields}
    assert levels["family_name"] == "exact"
    assert levels["birth_date"] == "exact"
    assert levels["email"] == "missing"
    assert e.score == pytest.approx(sum(c.weight for c in e.fields))
    assert "birth_date" in str(e)
    assert "merge" in str(e)


def test_name_alone_is_no_match_name_and_postal_code_go_to_review() -> None:
    assert pair(rec("store:1", **TARO), rec("ec:1", **TARO)).decision == Decision.NO_MATCH
    a, b = (
        rec("store:1", postal_code="100-0005", **TARO),
        rec("ec:1", postal_code="1000005", **TARO),
    )
    assert pair(a, b).decision == Decision.REVIEW


def test_swapped_name_order_counts_as_exact() -> None:
    a = rec("ec:1", family_name="Smith", given_name="John", birth_date="1980-01-02")
    b = rec("ec:2", family_name="John", given_name="Smith", birth_date="1980-01-02")
    assert pair(a, b).decision == Decision.MERGE


def test_birth_date_levels() -> None:
    d = date(1985, 4, 1)
    assert compare_birth_date(d, d) == "exact"
    assert compare_birth_date(d, date(1985, 1, 4)) == "transposed"
    assert compare_birth_date(d, date(1985, 4, 7)) == "near"
    assert compare_birth_date(d, date(1990, 8, 20)) == "different"
    assert compare_birth_date(d, None) == "missing"


def test_name_part_levels() -> None:
    n = normalize_name
    assert compare_name_part(n("斎藤"), "サイトウ", n("齋藤"), "サイトウ") == "exact"  # variant
    assert compare_name_part(n("佐藤"), "サトウ", n("左藤"), "サトウ") == "reading"
    assert compare_name_part("", "タカハシ", "", "タカハツ") == "near"
    assert compare_name_part("高橋", "", "", "タカハシ") == "missing"


def test_address_levels() -> None:
    a = normalize_address("東京都千代田区丸の内1-2-3")
    assert compare_address(a, normalize_address("千代田区丸の内一丁目2番3号")) == "exact"
    assert compare_address(a, normalize_address("千代田区丸の内1-5-3")) == "locality"
    assert compare_address(a, normalize_address("大阪市北区梅田2-4-9")) == "different"


def test_guards() -> None:
    a = prepare(rec("ec:1", email="a@example.jp", email_verified=True))
    b = prepare(rec("ec:2", email="b@example.jp", email_verified=True))
    assert cannot_link(a, b) == "different_verified_emails"
    c = prepare(rec("ec:3", birth_date="1985-04-01"))
    d = prepare(rec("ec:4", birth_date="1985-01-04"))  # a transposition, not a guard
    assert cannot_link(c, d) is None


def test_unreadable_fields_are_left_unmatched() -> None:
    p = prepare(rec("ec:1", phone="call me", birth_date="someday", **TARO))
    assert set(p.unreadable) == {"phone", "birth_date"}
    assert p.phone == ""
    assert p.birth_date is None


def test_attribute_comparators() -> None:
    config = MatchConfig(attribute_comparators={"store_code": AttributeComparator(exact=5.0)})
    a = rec("store:1", attributes={"store_code": "S01"}, **TARO)
    b = rec("store:2", attributes={"store_code": "S01"}, **TARO)
    e = pair(a, b, config)
    assert ("attributes.store_code", "exact", 5.0) in [
        (c.field, c.level, c.weight) for c in e.fields
    ]


def test_config_validation() -> None:
    with pytest.raises(ConfigurationError):
        MatchConfig(match_threshold=1.0, review_threshold=5.0)
    with pytest.raises(InvalidTypeError):
        MatchConfig(weights={"email": {"exact": "high"}})
    with pytest.raises(ConfigurationError):
        MatchConfig(max_block_size=1)
    assert weight_from_probabilities(0.9, 0.9 / 1024) == pytest.approx(10.0)


def test_western_records_with_typos() -> None:
    a = rec("ec:1", family_name="Smith", given_name="Mia", birth_date="19800102",
            address="12 George St, Kingsford", postal_code="2032")  # fmt: skip
    b = rec("ec:2", family_name="Smiht", given_name="Mya", birth_date="1980-01-02",
            address="12 george street kingsford", postal_code="2032")  # fmt: skip
    e = pair(a, b)
    levels = {c.field: c.level for c in e.fields}
    assert levels["given_name"] == "near"
    assert levels["address"] == "exact"
    assert e.decision == Decision.MERGE


def test_swapped_names_with_a_typo_are_near() -> None:
    a = rec("ec:1", family_name="Smith", given_name="John", birth_date="1980-01-02")
    b = rec("ec:2", family_name="Jonh", given_name="Smith", birth_date="1980-01-02")
    levels = {c.field: c.level for c in pair(a, b).fields}
    assert levels["family_name"] == "exact"
    assert levels["given_name"] == "near"


def test_a_shared_mobile_weighs_more_than_a_shared_landline() -> None:
    mobile = pair(rec("a:1", phone="090-1234-5678"), rec("b:1", phone="09012345678"))
    landline = pair(rec("a:1", phone="03-1234-5678"), rec("b:1", phone="0312345678"))
    assert [c.level for c in mobile.fields if c.field == "phone"] == ["mobile"]
    assert [c.level for c in landline.fields if c.field == "phone"] == ["exact"]
    assert mobile.score > landline.score


def test_neighbouring_letters_swapped_are_a_typo() -> None:
    assert compare_name_part("pia", "", "pai", "") == "near"
    assert compare_name_part("mia", "", "ian", "") == "different"
    assert compare_postal_code("2034", "2043") == "near"
    assert compare_postal_code("1000005", "1000050") == "near"
    assert compare_postal_code("2034", "2430") == "different"


def test_western_addresses_compared_word_by_word() -> None:
    a = normalize_address("1 Garanga Shoalhaven Avenue, Bulimba VIC")
    reordered = normalize_address("1 shoalhaven avenue garanga bulimba vic")
    run_together = normalize_address("1 garanga shoalhavenavenue bulimba vic")
    no_number = normalize_address("garanga shoalhaven ave bulimba vic")
    elsewhere = normalize_address("1 wittenoom crescent garran act")
    assert compare_address(a, reordered) == "near"
    assert compare_address(a, run_together) == "near"
    assert compare_address(a, no_number) == "near"
    assert compare_address(a, elsewhere) == "different"
    # a Japanese address with its block number on one side only stays a neighbour
    town = normalize_address("千代田区丸の内")
    assert compare_address(normalize_address("千代田区丸の内1-2-3"), town) == "locality"


def test_two_flats_of_one_building_are_neighbours() -> None:
    a = normalize_address("大阪市北区梅田8-11-15 グランドメゾン207")
    assert (
        compare_address(
            a, normalize_address("大阪府大阪市北区梅田８－１１－１５ グランドメゾン２０７号室")
        )
        == "exact"
    )
    assert (
        compare_address(a, normalize_address("大阪市北区梅田8-11-15 グランドメゾン208"))
        == "locality"
    )
    assert compare_address(a, normalize_address("大阪市北区梅田8-11-15")) == "exact"


def test_two_different_mobiles_weigh_against_more_than_a_mobile_and_a_landline() -> None:
    base = {"family_name": "山田", "given_name": "太郎", "birth_date": "1985-04-01"}
    mobile = pair(
        rec("ec:1", phone="090-1111-2222", **base), rec("app:2", phone="080-3333-4444", **base)
    )
    landline = pair(
        rec("ec:1", phone="090-1111-2222", **base), rec("app:2", phone="03-3333-4444", **base)
    )
    level = {e: {c.field: c.level for c in e.fields}["phone"] for e in (mobile, landline)}
    assert (level[mobile], level[landline]) == ("other_mobile", "different")
    assert mobile.score < landline.score


def test_same_email_and_full_name_is_a_rule_but_a_shared_email_alone_is_not() -> None:
    a = rec("ec:1", email="yamada.family@example.jp", **TARO)
    b = rec("app:2", email="Yamada.Family@example.jp", **TARO)
    assert deterministic_rule(prepare(a), prepare(b)) == "same_email_and_name"
    hanako = {**TARO, "given_name": "花子", "given_name_kana": "ハナコ"}
    c = rec("app:3", email="yamada.family@example.jp", **hanako)
    assert deterministic_rule(prepare(a), prepare(c)) is None


def test_same_mobile_and_given_name_links_a_married_name_change() -> None:
    a = rec("store:1", family_name="佐藤", given_name="花子", phone="090-1234-5678")
    b = rec("ec:2", family_name="鈴木", given_name="花子", phone="09012345678")
    assert deterministic_rule(prepare(a), prepare(b)) == "same_contact_and_given_name"
    e = rec("ec:3", family_name="鈴木", given_name="花子", email="hanako@example.jp")
    f = rec("app:4", family_name="佐藤", given_name="花子", email="HANAKO@example.jp")
    assert deterministic_rule(prepare(e), prepare(f)) == "same_contact_and_given_name"


def test_a_shared_landline_and_given_name_is_not_a_rule() -> None:
    a = rec("store:1", family_name="佐藤", given_name="花子", phone="03-1234-5678")
    b = rec("ec:2", family_name="鈴木", given_name="花子", phone="0312345678")
    assert deterministic_rule(prepare(a), prepare(b)) is None


def test_one_kana_typo_in_a_short_given_name_is_near_only_with_a_personal_contact() -> None:
    base = {"family_name_kana": "イシカワ", "birth_date": "1990-01-02"}
    typo = rec("call:1", given_name_kana="サカラ", phone="090-9255-3368", **base)
    right = rec("ec:2", given_name_kana="サクラ", phone="+81 90 9255 3368", **base)
    levels = {c.field: c.level for c in pair(typo, right).fields}
    assert levels["given_name"] == "near"
    assert pair(typo, right).decision == Decision.MERGE
    # twins: one birth date, one landline, one letter apart, no shared mobile or e-mail
    twin_a = rec("store:3", given_name_kana="ユウタ", phone="03-1111-2222", **base)
    twin_b = rec("ec:4", given_name_kana="ユウト", phone="03-1111-2222", **base)
    assert {c.field: c.level for c in pair(twin_a, twin_b).fields}["given_name"] == "different"
    assert pair(twin_a, twin_b).decision == Decision.NO_MATCH
