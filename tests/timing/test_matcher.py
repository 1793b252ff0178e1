"""The generated per-event-type matcher answers exactly like the rules one by one."""

from hypothesis import given, settings
from hypothesis import strategies as st

from omnicrm.timing import Condition, Facts
from omnicrm.timing._matcher import compile_matcher
from omnicrm.timing.conditions import compile_all_of

FAST = settings(max_examples=60, deadline=None)
TEXT = st.sampled_from(["", "x", "abc", "27", "3.5", "-1", "2026-05-01", "nan", "inf", "true"])
VALUES = st.one_of(
    st.integers(-5, 40),
    st.floats(allow_nan=False, width=32),
    TEXT,
    st.booleans(),
    st.lists(TEXT, max_size=3),
)
FIELDS = st.sampled_from(["event.a", "event.b", "profile.age", "segment"])


@st.composite
def conditions(draw: st.DrawFn) -> Condition:
    op = draw(st.sampled_from(["eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "exists"]))
    if op in ("in", "not_in"):
        return Condition(draw(FIELDS), op, draw(st.lists(TEXT, max_size=3)))
    if op == "exists":
        return Condition(draw(FIELDS), op)
    value = draw(VALUES.filter(lambda v: not isinstance(v, list)))
    return Condition(draw(FIELDS), op, value)


rules = st.lists(
    st.tuples(st.sampled_from(["j1", "j2", "j3"]), st.lists(conditions(), max_size=3).map(tuple)),
    max_size=6,
)
mappings = st.dictionaries(st.sampled_from(["a", "b", "age"]), TEXT, max_size=3)


@FAST
@given(rules, mappings, mappings, st.one_of(st.none(), TEXT))
def test_matcher_equals_rules_one_by_one(rules, event, profile, segment) -> None:
    slow = [(j, compile_all_of(c)) for j, c in rules]
    facts = Facts(event, profile, segment)
    expected: list[str] = []
    for journey_id, test in slow:
        if test(facts) and journey_id not in expected:
            expected.append(journey_id)
    assert compile_matcher(rules, slow)(facts) == expected


def test_text_where_a_number_is_expected_falls_back_to_the_rules() -> None:
    rules = [("j1", (Condition("event.a", "gt", 3),)), ("j2", (Condition("event.b", "eq", "x"),))]
    slow = [(j, compile_all_of(c)) for j, c in rules]
    assert compile_matcher(rules, slow)(Facts({"a": "lots", "b": "x"}, {}, None)) == ["j2"]
    assert compile_matcher(rules, slow)(Facts({"a": "4", "b": "y"}, {}, None)) == ["j1"]


def test_infinite_and_nan_values_compile() -> None:
    from omnicrm.timing.conditions import compile_all_of

    inf = compile_all_of((Condition("profile.age", "eq", float("inf")),))
    assert inf(Facts({}, {"age": "27"}, None)) is False
    assert inf(Facts({}, {"age": "inf"}, None)) is True
    nan = compile_all_of((Condition("profile.age", "ne", float("nan")),))
    assert nan(Facts({}, {"age": "27"}, None)) is True
