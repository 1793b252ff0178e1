"""Names written in kana on one channel and in kanji on another."""

from omnicrm.channel import Channel
from omnicrm.identity import CustomerRecord, SourceRef, resolve
from omnicrm.identity.compare import compare_name_part


def test_kana_written_name_is_compared_by_reading() -> None:
    assert compare_name_part("ヤマダ", "", "山田", "ヤマダ") == "exact"
    assert compare_name_part("ﾔﾏﾀﾞ", "", "山田", "やまだ") == "exact"
    assert compare_name_part("ヤマダ", "", "山田", "") == "missing"
    assert compare_name_part("ヤマダ", "", "山田", "サトウ") == "different"
    assert compare_name_part("Yamada", "", "山田", "") == "missing"


def test_app_user_in_katakana_joins_the_kanji_member() -> None:
    store = CustomerRecord(
        source=SourceRef(Channel.STORE, "1"),
        family_name="山田",
        given_name="花子",
        family_name_kana="ヤマダ",
        given_name_kana="ハナコ",
        phone="090-1234-5678",
    )
    app = CustomerRecord(
        source=SourceRef(Channel.APP, "2"),
        family_name="ヤマダ",
        given_name="ハナコ",
        phone="09012345678",
    )
    assert len(resolve([store, app]).clusters) == 1
