"""The columnar score bound never leaves out a pair that a batch would link or review."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from omnicrm.identity import CustomerRecord, resolve
from omnicrm.identity import batch as batch_module
from omnicrm.identity._prefilter import (
    RecordColumns,
    _close,
    _name_class,
    _typo_close,
    reachable,
    score_bounds,
)
from omnicrm.identity.batch import prepare_all, with_households
from omnicrm.identity.blocking import (
    _memberships,
    _primary_memberships,
    _secondary_memberships,
    blocking_keys,
    candidate_indexes,
    secondary_keys,
)
from omnicrm.identity.compare import (
    DIFFERENT,
    EXACT,
    MISSING,
    NEAR,
    compare_name_part,
    compare_text,
)
from omnicrm.identity.config import DEFAULT_WEIGHTS, AttributeComparator, MatchConfig
from omnicrm.identity.explain import Decision
from omnicrm.identity.frequencies import count_names
from omnicrm.identity.prepared import PreparedRecord, prepare
from omnicrm.identity.scoring import deterministic_rule, quick_decision, score_fields
from omnicrm.testing.japanese_records import generate_records

_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _latin() -> ModuleType:
    """``benchmarks/_latin.py``, the generator of FEBRL-like Western records."""
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "_latin.py"
    spec = importlib.util.spec_from_file_location("_latin_records", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("_latin_records", module)
    spec.loader.exec_module(module)
    return module


# --- the necessary conditions, one comparison at a time -----------------------------

_LETTERS = "abcdeé山田やまダ "


def _texts(alphabet: str = _LETTERS, size: int = 6) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, max_size=size)


@st.composite
def _text_pairs(draw: st.DrawFn, alphabet: str = _LETTERS) -> tuple[str, str]:
    """Two texts, often one edit or a swap apart."""
    a = draw(_texts(alphabet))
    edit = draw(st.sampled_from(["same", "insert", "drop", "swap", "replace", "other"]))
    at = draw(st.integers(0, max(len(a) - 1, 0)))
    letter = draw(st.sampled_from(alphabet))
    b = {
        "same": a,
        "insert": a[:at] + letter + a[at:],
        "drop": a[:at] + a[at + 1 :],
        "swap": a[:at] + a[at + 1 : at + 2] + a[at : at + 1] + a[at + 2 :],
        "replace": a[:at] + letter + a[at + 1 :],
        "other": draw(_texts(alphabet)),
    }[edit]
    return a, b


@_SETTINGS
@given(_text_pairs(alphabet="abcdefgh12é"))
def test_two_texts_compare_text_calls_near_are_close(pair: tuple[str, str]) -> None:
    a, b = pair
    assume(a.strip() and b.strip())
    records = [
        prepare(CustomerRecord.from_mapping({"source": f"x:{k}", "given_name": text}))
        for k, text in enumerate(pair)
    ]
    columns = RecordColumns(records)
    a, b = records[0].given, records[1].given
    found = _close(columns, columns.given[:1], columns.given[1:], precise=True)[0]
    if compare_text(a, b) in (EXACT, NEAR):
        assert found
    if a != b and found:
        assert _typo_close([a], [b])[0]


_ALLOWED = {
    0: {MISSING},
    1: {EXACT},
    2: {DIFFERENT},
    3: {NEAR, DIFFERENT},
    4: {EXACT, "reading", NEAR, DIFFERENT, MISSING},
}


@_SETTINGS
@given(_text_pairs(), _text_pairs("やまダあ"), st.booleans())
def test_a_name_part_falls_in_the_levels_its_class_allows(
    names: tuple[str, str], kana: tuple[str, str], precise: bool
) -> None:
    records = [
        prepare(CustomerRecord.from_mapping({"source": f"x:{k}", "family_name": n.strip() or None,
                                             "family_name_kana": r.strip() or None}))
        for k, (n, r) in enumerate(zip(names, kana, strict=True))
    ]  # fmt: skip
    a, b = records
    columns = RecordColumns(records)
    one, two = np.array([0]), np.array([1])
    found = _name_class(
        columns,
        columns.family[one],
        columns.family_kana[one],
        columns.family[two],
        columns.family_kana[two],
        precise=precise,
    )[0]
    level = compare_name_part(a.family, a.family_kana, b.family, b.family_kana)
    assert level in _ALLOWED[int(found)]


# --- the whole bound against the score, on pairs of records -------------------------

_FIELDS = {
    "family_name": ("exact", "reading", "near", "different"),
    "given_name": ("exact", "reading", "near", "different"),
    "birth_date": ("exact", "transposed", "near", "different"),
    "email": ("exact", "near", "different"),
    "phone": ("mobile", "exact", "near", "other_mobile", "different"),
    "postal_code": ("exact", "near", "different"),
    "address": ("exact", "near", "locality", "different"),
    "gender": ("exact", "different"),
    "member_card_no": ("exact", "different"),
}


@st.composite
def _configs(draw: st.DrawFn) -> MatchConfig:
    """Default or random weights (some levels and fields left out), any household
    setting, forgiveness, attribute comparators."""
    weights: Mapping[str, Mapping[str, float]] = DEFAULT_WEIGHTS
    if draw(st.booleans()):
        weight = st.floats(-25, 15, allow_nan=False).map(lambda w: round(w, 2))
        weights = {
            field: {level: draw(weight) for level in levels if draw(st.integers(0, 5))}
            for field, levels in _FIELDS.items()
            if draw(st.integers(0, 7))
        }
    comparators = {"rank": AttributeComparator()} if draw(st.booleans()) else {}
    return MatchConfig(
        weights=weights,
        review_threshold=draw(st.sampled_from([0.0, 5.0, 11.0])),
        match_threshold=14.5,
        households=draw(st.sampled_from([None, True, False])),
        forgive_one_difference=draw(st.booleans()),
        attribute_comparators=comparators,
    )


def _varied(draw: st.DrawFn, value: str | None, alphabet: str) -> str | None:
    """``value`` kept, mistyped, dropped or replaced."""
    choice = draw(st.sampled_from(["keep", "keep", "typo", "drop", "other"]))
    if choice == "keep" or (choice == "typo" and not value):
        return value
    if choice == "drop":
        return None
    if choice == "other":
        return draw(_texts(alphabet, 5)) or None
    assert value is not None
    at = draw(st.integers(0, len(value) - 1))
    return value[:at] + draw(st.sampled_from(alphabet)) + value[at + 1 :]


@st.composite
def _record_pairs(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two records' fields, the second derived from the first (so that they often agree)."""
    latin = draw(st.booleans())
    names = "abcdefghijklmn" if latin else "山田太郎花子川村"
    kana = "" if latin else "やまだたろう"
    day = draw(st.dates(date(1970, 1, 1), date(1970, 12, 31)))
    street = draw(st.sampled_from(["oak street north", "oak st", "main road", "丸の内"]))
    first: dict[str, Any] = {
        "family_name": draw(_texts(names, 6)) or None,
        "given_name": draw(_texts(names, 6)) or None,
        "family_name_kana": (draw(_texts(kana, 4)) or None) if kana else None,
        "given_name_kana": (draw(_texts(kana, 4)) or None) if kana else None,
        "birth_date": day.isoformat(),
        "postal_code": draw(st.sampled_from(["2000", "2001", "2010", "3000", None])),
        "address": f"{draw(st.integers(1, 30))} {street}",
        "email": draw(st.sampled_from(["a@x.jp", "b@x.jp", None])),
        "phone": draw(st.sampled_from(["09012345678", "0312345678", None])),
        "gender": draw(st.sampled_from(["m", "f", None])),
        "member_card_no": draw(st.sampled_from(["c1", None, None])),
        "email_verified": draw(st.booleans()),
        "attributes": {"rank": draw(st.sampled_from(["gold", "silver"]))},
    }
    second = dict(first)
    for field, alphabet in [("family_name", names), ("given_name", names),
                            ("family_name_kana", kana or "a"), ("given_name_kana", kana or "a"),
                            ("postal_code", "0123"), ("address", "0123 oakstre"),
                            ("email", "abx@."), ("phone", "0129"), ("gender", "mf"),
                            ("member_card_no", "c12")]:  # fmt: skip
        second[field] = _varied(draw, first[field], alphabet)
    if draw(st.booleans()):  # the names written the other way round
        second["family_name"], second["given_name"] = second["given_name"], second["family_name"]
    when = draw(st.sampled_from(["same", "transposed", "year", "other", "none"]))
    second["birth_date"] = {
        "same": day.isoformat(),
        "transposed": f"{day.year}-{day.day:02d}-{day.month:02d}" if day.day <= 12 else None,
        "year": f"{day.year + 1}-{day.month:02d}-{day.day:02d}",
        "other": draw(st.dates(date(1970, 1, 1), date(1971, 12, 31))).isoformat(),
        "none": None,
    }[when]
    return first, second


def _prepared(rows: Sequence[dict[str, Any]]) -> list[PreparedRecord]:
    def blank_as_none(value: object) -> object:
        return (value.strip() or None) if isinstance(value, str) else value

    return [
        prepare(
            CustomerRecord.from_mapping(
                {"source": f"x:{k}", **{f: blank_as_none(v) for f, v in row.items()}}
            )
        )
        for k, row in enumerate(rows)
    ]


@_SETTINGS
@given(_record_pairs(), _configs(), st.booleans())
def test_the_bound_is_at_least_the_score_and_keeps_every_link_and_review(
    rows: tuple[dict[str, Any], dict[str, Any]], config: MatchConfig, counted: bool
) -> None:
    records = _prepared([*rows, rows[0], rows[0]])  # repeated: names counted more than once
    frequencies = count_names(records) if counted else None
    columns = RecordColumns(records, frequencies)
    left, right = np.array([0, 1]), np.array([1, 0])
    bounds = score_bounds(columns, left, right, config)
    kept = reachable(columns, left, right, config)
    for k, (i, j) in enumerate([(0, 1), (1, 0)]):
        a, b = records[i], records[j]
        score, _ = score_fields(a, b, config, frequencies)
        if deterministic_rule(a, b) is None:
            assert bounds[k] >= score - 1e-9
        decision, _, _ = quick_decision(a, b, config, frequencies, corroborate=True, prune=True)
        if decision in (Decision.MERGE, Decision.REVIEW):
            assert kept[k], (decision, score, bounds[k])


# --- generated batches: Japanese, Western (FEBRL-like), Western with households -----


def _japanese() -> list[CustomerRecord]:
    return [d.record for d in generate_records(700, seed=5)]


def _western(households: float) -> Callable[[], list[CustomerRecord]]:
    def records() -> list[CustomerRecord]:
        data = _latin().generate_latin(3_000, seed=7, household_share=households)
        return [d.record for d in data]

    return records


_BATCHES = {
    "japanese": _japanese,
    "western": _western(0.0),
    "western with households": _western(0.3),
}


@pytest.mark.parametrize("batch", list(_BATCHES))
def test_no_pair_a_batch_links_or_reviews_is_left_out(batch: str) -> None:
    prepared, _ = prepare_all(_BATCHES[batch](), MatchConfig())
    config, _ = with_households(MatchConfig(), prepared)
    frequencies = count_names(prepared)
    left, right = candidate_indexes(
        prepared,
        max_block_size=config.max_block_size,
        window=config.window,
        secondary=config.households is False,
    )
    kept = reachable(RecordColumns(prepared, frequencies), left, right, config)
    decided = 0
    for k, (i, j) in enumerate(zip(left.tolist(), right.tolist(), strict=True)):
        decision, _, _ = quick_decision(
            prepared[i], prepared[j], config, frequencies, corroborate=True, prune=True
        )
        if decision in (Decision.MERGE, Decision.REVIEW):
            decided += 1
            assert kept[k], (i, j, decision)
    assert decided > 100  # the batch links people
    assert kept.sum() < len(left)  # and the filter left pairs out


@pytest.mark.parametrize("batch", list(_BATCHES))
def test_resolve_decides_the_same_with_and_without_the_filter(
    batch: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = _BATCHES[batch]()
    filtered = resolve(records)
    monkeypatch.setattr(
        batch_module, "reachable", lambda c, left, right, config: np.ones(len(left), dtype=bool)
    )
    unfiltered = resolve(records)
    assert sorted(map(sorted, filtered.clusters)) == sorted(map(sorted, unfiltered.clusters))
    assert filtered.review == unfiltered.review
    assert len(filtered.review) > 0


# --- blocks from integer codes are the blocks of the key strings ---------------------


def _blocks(
    memberships: tuple[np.ndarray, np.ndarray], *, ordered: bool = True
) -> list[tuple[int, ...]]:
    """Each block's members, in their order (a window over a block follows it)."""
    holders, blocks = memberships
    grouped: dict[int, list[int]] = {}
    for holder, block in zip(holders.tolist(), blocks.tolist(), strict=True):
        grouped.setdefault(block, []).append(holder)
    return sorted(tuple(m if ordered else sorted(m)) for m in grouped.values())


@pytest.mark.parametrize("batch", ["japanese", "western", "piped"])
def test_the_coded_blocks_are_the_key_strings_blocks(batch: str) -> None:
    if batch == "piped":  # a "|" in a text: the key strings themselves are used
        rows = [{"family_name": "a|b", "given_name": "c", "birth_date": "1970-01-02"},
                {"family_name": "a", "given_name": "b|c", "birth_date": "1970-01-02"},
                {"family_name": "a", "given_name": "a", "postal_code": "100-0001",
                 "address": "1 oak street"}] * 2  # fmt: skip
        records = _prepared(rows)
    else:
        records, _ = prepare_all(_BATCHES[batch]()[:1500], MatchConfig())
    assert _blocks(_primary_memberships(records)) == _blocks(
        _memberships(blocking_keys(p) for p in records)
    )
    assert _blocks(_secondary_memberships(records), ordered=False) == _blocks(
        _memberships(secondary_keys(p) for p in records), ordered=False
    )
