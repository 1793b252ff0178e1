"""Latin-script records: names and addresses as FEBRL-like data writes them."""

import pytest

from omnicrm.identity import CustomerRecord, SourceRef, prepare
from omnicrm.identity._similarity import words_held
from omnicrm.identity.compare import compare_address, compare_text
from omnicrm.identity.config import MatchConfig
from omnicrm.identity.normalize import normalize_address
from omnicrm.identity.scoring import score_fields


@pytest.mark.parametrize(
    ("a", "b", "level"),
    [
        ("charlotte", "charlotye", "near"),  # one typo
        ("charlotte", "charles", "different"),  # another name sharing its beginning
        ("christina", "christian", "near"),  # two neighbours swapped
        ("matilda", "matild", "near"),
    ],
)
def test_a_latin_name_is_near_within_two_edits(a: str, b: str, level: str) -> None:
    assert compare_text(a, b) == level


@pytest.mark.parametrize(
    ("a", "b", "level"),
    [
        # a locality written in part, with a typo
        ("52 florey drive north stirling downs coolaroo qld",
         "52 north stirilng downs coolaroo qld", "near"),
        # words run together on either side
        ("144 hall street karoola delungra glenwood nsw",
         "144 karoola de lungra glenwood nsw", "near"),
        ("73 rhosewyn bynoe place lakeclifton qld",
         "73 bynoe place rhosewyn lake clifton qld", "near"),
        # one house number on one street, the property's name written differently
        ("11 cochrane crescent spyla w farm south perth wa",
         "11 cochrane crescent the rookery south perth wa", "near"),
        # a similar street with another number: a neighbour
        ("16 nicholson crescent villa32 mount evelyn nsw",
         "40 nicholson crescent villa 32 mount evelyn nsw", "locality"),
        ("12 high street springfield vic", "14 low road shelbyville vic", "different"),
        ("7 longstaff street graoville qld", "16 longstaff street loftus qld", "locality"),
        ("12 high street springfield vic", "12 low road shelbyville vic", "different"),
    ],
)  # fmt: skip
def test_latin_addresses(a: str, b: str, level: str) -> None:
    assert compare_address(normalize_address(a), normalize_address(b)) == level


def test_words_held() -> None:
    assert words_held("a b", "a b c", 1.0)
    assert words_held("high street", "high street springfield", 0.9)
    assert not words_held("springfield", "springfield vic", 0.5)  # one word: no measure
    assert words_held("high street x", "low road x", 1 / 3)
    assert not words_held("high street x", "low road x", 0.5)
    assert words_held("karoola de lungra", "hall street karoola delungra", 1.0)
    assert words_held("rhosewyn lakeclifton", "bynoe rhosewyn lake clifton", 1.0)
    assert words_held("north stirilng downs", "florey north stirling downs", 1.0)


def test_names_swapped_with_one_of_them_replaced_keep_the_agreeing_one() -> None:
    a = CustomerRecord(source=SourceRef("a", "1"), given_name="jonah", family_name="thorpe")
    b = CustomerRecord(source=SourceRef("b", "1"), given_name="thorpe", family_name="sayra")
    _, parts = score_fields(prepare(a), prepare(b), MatchConfig())
    levels = {p.field: p.level for p in parts}
    assert (levels["family_name"], levels["given_name"]) == ("exact", "different")
