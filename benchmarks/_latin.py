"""A generator of large Western (Latin-script) person records with ground truth.

Benchmark-only. Each person has an original record and, with a skewed count, duplicate
records carrying FEBRL-like corruption: typos in the names (a letter inserted, dropped,
replaced or two neighbours swapped), a given name or a birth date replaced, the names
written the other way round, a mistyped postcode, house number or street, a value left
out. Names, streets and suburbs are drawn with a Zipf-like skew from a vocabulary, so
common names (``smith``, ``james``) are shared by many strangers, with a long tail of
rare names built from syllables. Optionally a share of people live in households (one
surname and address, other given names and birth dates).

Everything is drawn from one ``random.Random(seed)``: the same arguments give the same
records in the same order.
"""

from __future__ import annotations

import bisect
import itertools
import random
import string
from collections.abc import Sequence
from datetime import date, timedelta

from omnicrm.identity import CustomerRecord
from omnicrm.identity.records import SourceRef
from omnicrm.testing.japanese_records import LabelledRecord

__all__ = ["generate_latin"]


def _words(text: str) -> list[str]:
    return text.split()


_GIVEN = _words(
    "james john robert michael william david richard joseph thomas charles christopher "
    "daniel matthew anthony mark paul steven andrew joshua kevin brian george timothy "
    "ronald jason edward jeffrey ryan jacob gary nicholas eric jonathan stephen larry "
    "justin scott brandon benjamin samuel gregory alexander patrick frank raymond jack "
    "dennis jerry tyler aaron henry adam peter nathan zachary douglas harold kyle noah "
    "mary patricia jennifer linda elizabeth barbara susan jessica sarah karen lisa nancy "
    "betty margaret sandra ashley kimberly emily donna michelle carol amanda melissa "
    "deborah stephanie rebecca sharon laura cynthia kathleen amy angela shirley anna "
    "brenda pamela emma nicole helen samantha katherine christine debra rachel carolyn "
    "janet catherine maria heather diane ruth julie olivia joyce virginia victoria kelly "
    "lauren christina joan evelyn judith megan andrea cheryl hannah jacqueline martha "
    "grace chloe ella isabella charlotte lily zoe mia ava sophie jasmine madison bridget"
)
_FAMILY = _words(
    "smith johnson williams brown jones garcia miller davis wilson anderson taylor "
    "thomas moore jackson martin lee thompson white harris clark lewis robinson walker "
    "young allen king wright scott hill green adams baker nelson carter mitchell roberts "
    "turner phillips campbell parker evans edwards collins stewart morris murphy cook "
    "rogers morgan cooper peterson reed bailey bell kelly howard ward cox richardson "
    "wood watson brooks bennett gray james hughes price sanders myers long ross foster "
    "powell jenkins perry russell sullivan fisher henderson coleman simmons patterson "
    "jordan reynolds hamilton graham wallace west cole hayes gibson ellis stevens murray "
    "ford marshall owens harrison fernandez mcdonald woods washington kennedy wells "
    "henry tucker porter hunter hicks crawford boyd mason morrison singleton ryan white"
)
_STREETS = _words(
    "main high church park victoria george king queen station railway albert william "
    "elizabeth john charles hill bridge mill market north south east west river forest "
    "oak elm maple cedar pine spring lake garden school water wattle gum banksia acacia "
    "hunter macquarie bourke darling murray lachlan flinders collins swanston bay beach"
)
_TYPES = _words("street road avenue place crescent drive lane court parade circuit close way")
_SUBURBS = _words(
    "springfield riverside hillcrest westmead kingsford belmont ashfield newtown "
    "glenroy brighton fairfield mayfield oakleigh northcote richmond carlton hawthorn "
    "kensington paddington randwick bondi manly mosman chatswood hornsby penrith "
    "liverpool campbelltown parramatta blacktown bankstown hurstville kogarah "
    "sutherland cronulla wollongong gosford maitland tamworth dubbo orange bathurst "
    "goulburn albury wagga ballarat bendigo geelong"
)
_STATES = _words("nsw vic qld wa sa tas act nt")
_SYLLABLES = _words(
    "ba be bo da de di ka ke ko la le li lo ma me mi mo na ne ni no ra re ri ro sa se"
)
_SYLLABLES += _words("si so ta te ti to va ve vi wa we wi ya yo za zi")


class _Skewed:
    """Draws from a vocabulary with weight ``1 / rank ** skew`` (Zipf-like)."""

    def __init__(self, words: Sequence[str], skew: float) -> None:
        self.words = list(dict.fromkeys(words))
        weights = [1 / (rank + 1) ** skew for rank in range(len(self.words))]
        self.cumulative = list(itertools.accumulate(weights))

    def draw(self, rng: random.Random) -> str:
        x = rng.random() * self.cumulative[-1]
        return self.words[bisect.bisect_left(self.cumulative, x)]


def _tail(rng: random.Random, count: int) -> list[str]:
    """Rare names built from two to four syllables (the long tail of a real vocabulary)."""
    return ["".join(rng.choices(_SYLLABLES, k=rng.randint(2, 4))) for _ in range(count)]


def _typo(rng: random.Random, word: str) -> str:
    if not word:
        return word
    if len(word) < 2:
        return word + rng.choice(string.ascii_lowercase)
    i = rng.randrange(len(word))
    kind = rng.randrange(4)
    letter = rng.choice(string.ascii_lowercase)
    if kind == 0:
        return word[:i] + letter + word[i:]
    if kind == 1:
        return word[:i] + word[i + 1 :]
    if kind == 2:
        return word[:i] + letter + word[i + 1 :]
    i = min(i, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def _digit_typo(rng: random.Random, digits: str) -> str:
    if not digits:
        return digits
    i = rng.randrange(len(digits))
    if rng.random() < 0.3 and len(digits) > 1:
        i = min(i, len(digits) - 2)
        return digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :]
    return digits[:i] + rng.choice(string.digits) + digits[i + 1 :]


class _Vocabulary:
    def __init__(self, rng: random.Random, people: int) -> None:
        tail = max(200, people // 20)
        self.given = _Skewed(_GIVEN + _tail(rng, tail), 0.9)
        self.family = _Skewed(_FAMILY + _tail(rng, tail * 2), 0.8)
        self.street = _Skewed(_STREETS + _tail(rng, tail // 2), 0.7)
        self.suburb = _Skewed(_SUBURBS + _tail(rng, tail // 4), 0.7)
        postcodes = max(50, people // 150)  # about 150 people a postcode: common postcodes
        self.postcode = _Skewed([f"{2000 + 7 * k:04d}" for k in range(postcodes)], 0.6)
        # each postcode is one suburb of one state (a town's streets are its own)
        self.place = {
            code: f"{self.suburb.draw(rng)} {rng.choice(_STATES)}" for code in self.postcode.words
        }


_EPOCH = date(1930, 1, 1)


def _person(rng: random.Random, vocab: _Vocabulary) -> dict[str, str]:
    postcode = vocab.postcode.draw(rng)
    return {
        "given": vocab.given.draw(rng),
        "family": vocab.family.draw(rng),
        "birth": (_EPOCH + timedelta(days=rng.randrange(75 * 365))).isoformat(),
        "number": str(rng.randint(1, 300)),
        "street": f"{vocab.street.draw(rng)} {rng.choice(_TYPES)}",
        "suburb": vocab.place[postcode],
        "postcode": postcode,
    }


_KINDS = (15, 15, 5, 5, 12, 4, 12, 10, 10, 12)
"""How often each modification is made: a name mistyped (family, given), a given name
replaced, names swapped, a birth date mistyped, replaced, a postcode, house number or
street mistyped, a value left out."""


def _corrupt(rng: random.Random, fields: dict[str, str], vocab: _Vocabulary) -> dict[str, str]:
    """One duplicate: one to three modifications, FEBRL-like."""
    out = dict(fields)
    for _ in range(rng.choice((1, 1, 2, 2, 3))):
        kind = rng.choices(range(10), weights=_KINDS)[0]
        if kind <= 1:
            name = rng.choice(("given", "family"))
            out[name] = _typo(rng, out[name])
        elif kind == 2:
            out["given"] = vocab.given.draw(rng)
        elif kind == 3:
            out["given"], out["family"] = out["family"], out["given"]
        elif kind == 4 and out["birth"]:
            year, month, day = out["birth"].split("-")
            part = rng.randrange(3)
            if part == 0:
                year = str(int(year) + rng.choice((-1, 1, -10, 10)))
            elif part == 1 and int(day) <= 12:
                month, day = day, month
            else:
                day = f"{rng.randint(1, 28):02d}"
            out["birth"] = f"{year}-{month}-{day}"
        elif kind == 5:
            out["birth"] = (_EPOCH + timedelta(days=rng.randrange(75 * 365))).isoformat()
        elif kind == 6:
            out["postcode"] = _digit_typo(rng, out["postcode"])
        elif kind == 7:
            out["number"] = _digit_typo(rng, out["number"])
        elif kind == 8 and out["street"]:
            street, kind_of = out["street"].split(" ", 1)
            out["street"] = f"{_typo(rng, street)} {kind_of}"
        else:
            out[rng.choice(("birth", "number", "suburb", "postcode", "given"))] = ""
    return out


def _record(ref: SourceRef, fields: dict[str, str]) -> CustomerRecord:
    address = " ".join(t for t in (fields["number"], fields["street"], fields["suburb"]) if t)
    return CustomerRecord(
        source=ref,
        given_name=fields["given"] or None,
        family_name=fields["family"] or None,
        birth_date=fields["birth"] or None,
        postal_code=fields["postcode"] or None,
        address=address or None,
    )


def generate_latin(
    records: int, *, seed: int = 1, household_share: float = 0.0
) -> list[LabelledRecord]:
    """About ``records`` labelled Western person records, shuffled.

    Each person has an original and 0–5 duplicates (skewed: most people none or one).
    ``household_share`` of the people are made members of another person's household:
    the same surname, address and postcode, another given name and birth date.
    """
    rng = random.Random(seed)
    people = max(1, round(records / 1.8))
    vocab = _Vocabulary(rng, people)
    out: list[LabelledRecord] = []
    persons: list[dict[str, str]] = []
    for person in range(people):
        fields = _person(rng, vocab)
        if persons and rng.random() < household_share:
            head = persons[rng.randrange(len(persons))]
            for name in ("family", "number", "street", "suburb", "postcode"):
                fields[name] = head[name]
        persons.append(fields)
        copies = rng.choices((0, 1, 2, 3, 4, 5), weights=(35, 35, 15, 8, 4, 3))[0]
        out.append(LabelledRecord(_record(SourceRef("latin", f"{person}-0"), fields), person))
        for k in range(1, copies + 1):
            dup = _corrupt(rng, fields, vocab)
            out.append(LabelledRecord(_record(SourceRef("latin", f"{person}-{k}"), dup), person))
        if len(out) >= records:
            break
    rng.shuffle(out)
    # the ids say nothing of the person: renumber them in shuffled order
    return [LabelledRecord(_renamed(d.record, f"r{n}"), d.person) for n, d in enumerate(out)]


def _renamed(record: CustomerRecord, rec_id: str) -> CustomerRecord:
    return CustomerRecord(
        source=SourceRef("latin", rec_id),
        given_name=record.given_name,
        family_name=record.family_name,
        birth_date=record.birth_date,
        postal_code=record.postal_code,
        address=record.address,
    )
