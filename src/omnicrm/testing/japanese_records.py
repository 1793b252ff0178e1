"""A seeded generator of Japanese customer records with ground truth, for accuracy tests.

One person becomes one to four channel records (store, EC, app, call centre) written
the ways people really write them: kana in three scripts, variant kanji, full-width
digits, every phone form, era dates, typos, moved addresses and married-name changes.
Hard negatives are built in: households sharing a landline and an address, twins,
and very common names (佐藤, 鈴木) in one town.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta

import attrs

from omnicrm.identity.records import CustomerRecord, SourceRef
from omnicrm.testing._kana import to_halfwidth_katakana, to_katakana

__all__ = ["LabelledRecord", "generate_records", "pairwise_scores"]

_FAMILY = (
    ("佐藤", "さとう"), ("鈴木", "すずき"), ("高橋", "たかはし"), ("田中", "たなか"),
    ("伊藤", "いとう"), ("渡辺", "わたなべ"), ("山本", "やまもと"), ("中村", "なかむら"),
    ("小林", "こばやし"), ("加藤", "かとう"), ("吉田", "よしだ"), ("山田", "やまだ"),
    ("佐々木", "ささき"), ("山口", "やまぐち"), ("松本", "まつもと"), ("井上", "いのうえ"),
    ("木村", "きむら"), ("林", "はやし"), ("斎藤", "さいとう"), ("清水", "しみず"),
    ("山崎", "やまざき"), ("森", "もり"), ("池田", "いけだ"), ("橋本", "はしもと"),
    ("阿部", "あべ"), ("石川", "いしかわ"), ("山下", "やました"), ("中島", "なかじま"),
    ("石井", "いしい"), ("小川", "おがわ"), ("前田", "まえだ"), ("岡田", "おかだ"),
    ("長谷川", "はせがわ"), ("藤田", "ふじた"), ("後藤", "ごとう"), ("近藤", "こんどう"),
    ("村上", "むらかみ"), ("遠藤", "えんどう"), ("青木", "あおき"), ("坂本", "さかもと"),
    ("斉藤", "さいとう"), ("福田", "ふくだ"), ("太田", "おおた"), ("西村", "にしむら"),
    ("藤井", "ふじい"), ("金子", "かねこ"), ("岡本", "おかもと"), ("藤原", "ふじわら"),
    ("中野", "なかの"), ("三浦", "みうら"), ("原田", "はらだ"), ("松田", "まつだ"),
    ("竹内", "たけうち"), ("中川", "なかがわ"), ("小野", "おの"), ("田村", "たむら"),
    ("澤田", "さわだ"), ("濱田", "はまだ"), ("廣瀬", "ひろせ"), ("菊地", "きくち"),
)  # fmt: skip
_VARIANT_WRITING = {
    "高": "髙",
    "崎": "﨑",
    "辺": "邊",
    "斎": "齋",
    "沢": "澤",
    "浜": "濱",
    "広": "廣",
}
_MALE = (
    ("太郎", "たろう"), ("翔太", "しょうた"), ("健一", "けんいち"), ("大輔", "だいすけ"),
    ("拓也", "たくや"), ("翼", "つばさ"), ("健太", "けんた"), ("蓮", "れん"), ("誠", "まこと"),
    ("直樹", "なおき"), ("浩二", "こうじ"), ("隆", "たかし"), ("亮", "りょう"), ("悠真", "ゆうま"),
    ("陽翔", "はると"), ("大樹", "だいき"), ("和也", "かずや"), ("修", "おさむ"), ("学", "まなぶ"),
    ("剛", "つよし"), ("哲也", "てつや"), ("雄一", "ゆういち"), ("俊介", "しゅんすけ"),
    ("勇気", "ゆうき"), ("秀樹", "ひでき"), ("達也", "たつや"), ("正人", "まさと"),
    ("浩", "ひろし"), ("聡", "さとし"), ("涼", "りょう"),
)  # fmt: skip
_FEMALE = (
    ("花子", "はなこ"), ("陽菜", "ひな"), ("美咲", "みさき"), ("愛", "あい"), ("さくら", "さくら"),
    ("結衣", "ゆい"), ("優子", "ゆうこ"), ("由美", "ゆみ"), ("恵", "めぐみ"), ("真由美", "まゆみ"),
    ("京子", "きょうこ"), ("久美子", "くみこ"), ("智子", "ともこ"), ("裕子", "ゆうこ"),
    ("直美", "なおみ"), ("明美", "あけみ"), ("陽子", "ようこ"), ("彩", "あや"), ("葵", "あおい"),
    ("凛", "りん"), ("美優", "みゆ"), ("七海", "ななみ"), ("麻衣", "まい"), ("舞", "まい"),
    ("千尋", "ちひろ"), ("奈々", "なな"), ("香織", "かおり"), ("沙織", "さおり"),
    ("理恵", "りえ"), ("早苗", "さなえ"),
)  # fmt: skip
_TOWNS = (
    ("東京都", "千代田区丸の内", "100"), ("東京都", "世田谷区太子堂", "154"),
    ("東京都", "練馬区豊玉北", "176"), ("大阪府", "大阪市北区梅田", "530"),
    ("神奈川県", "横浜市中区山下町", "231"), ("愛知県", "名古屋市中区栄", "460"),
    ("北海道", "札幌市中央区大通西", "060"), ("福岡県", "福岡市博多区博多駅前", "812"),
    ("京都府", "京都市左京区下鴨", "606"), ("埼玉県", "さいたま市浦和区高砂", "330"),
)  # fmt: skip
_BUILDINGS = ("", "", "", "サンハイツ", "グランドメゾン", "コーポ松風", "パークタワー")
_DOMAINS = ("example.jp", "docomo.ne.jp", "gmail.com", "ezweb.ne.jp", "yahoo.co.jp")
_ROMA = dict(
    zip(
        "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわん",
        [
            "a",
            "i",
            "u",
            "e",
            "o",
            "ka",
            "ki",
            "ku",
            "ke",
            "ko",
            "sa",
            "shi",
            "su",
            "se",
            "so",
            "ta",
            "chi",
            "tsu",
            "te",
            "to",
            "na",
            "ni",
            "nu",
            "ne",
            "no",
            "ha",
            "hi",
            "fu",
            "he",
            "ho",
            "ma",
            "mi",
            "mu",
            "me",
            "mo",
            "ya",
            "yu",
            "yo",
            "ra",
            "ri",
            "ru",
            "re",
            "ro",
            "wa",
            "n",
        ],
        strict=True,
    )
)
_ERAS = (("平成", "H", date(1989, 1, 8), 1988), ("昭和", "S", date(1926, 12, 25), 1925))
_KANJI_DIGITS = "〇一二三四五六七八九"
_CHANNELS = ("store", "ec", "app", "call_center")


@attrs.frozen
class LabelledRecord:
    """A generated record and the person it truly belongs to.

    Attributes:
        record: the record.
        person: the ground-truth person id.

    """

    record: CustomerRecord
    person: int


@attrs.define
class _Person:
    pid: int
    family: tuple[str, str]
    given: tuple[str, str]
    gender: str
    birth: date
    mobile: str
    landline: str | None
    email: str
    town: tuple[str, str, str]
    block: tuple[int, int, int]
    postal: str
    building: str
    maiden: tuple[str, str] | None = None


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "0" <= c <= "9" or c == "-" else c for c in text)


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.pid = 0
        self.used_phones: set[str] = set()
        self.used_emails: set[str] = set()
        self.taken: set[tuple[str, str]] = set()
        self.email_space = 1000

    def _unique(self, make: Callable[[], str], used: set[str]) -> str:
        for attempt in range(1_000_000):
            value = make()
            if value not in used:
                used.add(value)
                return str(value)
            if attempt and attempt % 20 == 0:  # crowded: widen the space (very large runs)
                self.email_space *= 10
        raise RuntimeError("could not make a unique value")

    def mobile(self) -> str:
        r = self.rng
        return self._unique(
            lambda: f"{r.choice(['090', '080', '070'])}{r.randrange(10**8):08d}", self.used_phones
        )

    def landline(self) -> str:
        r = self.rng
        return self._unique(
            lambda: f"0{r.randrange(3, 10)}{r.randrange(10**8):08d}", self.used_phones
        )

    def email(self, given: str, family: str) -> str:
        r = self.rng

        def roma(kana: str) -> str:
            return "".join(_ROMA.get(c, "") for c in kana)

        return self._unique(
            lambda: (
                f"{roma(given)}.{roma(family)}{r.randrange(self.email_space)}@{r.choice(_DOMAINS)}"
            ),
            self.used_emails,
        )

    def person(
        self,
        family: tuple[str, str],
        gender: str,
        birth: date,
        household: _Person | None,
        given: tuple[str, str] | None = None,
        town: tuple[str, str, str] | None = None,
    ) -> _Person:
        r = self.rng
        self.pid += 1
        pool = [g for g in (_MALE if gender == "m" else _FEMALE) if g not in self.taken]
        given = given or r.choice(pool)
        if household is not None:
            self.taken.add(given)  # parents do not give a child a household member's name
            town, block, postal, building = (
                household.town,
                household.block,
                household.postal,
                household.building,
            )
            landline = household.landline
        else:
            town = town or r.choice(_TOWNS)
            block = (r.randint(1, 9), r.randint(1, 30), r.randint(1, 20))
            postal = f"{town[2]}{r.randrange(10**4):04d}"
            building = r.choice(_BUILDINGS)
            if building:
                building += f"{r.randint(1, 12)}0{r.randint(1, 9)}"
            landline = self.landline() if r.random() < 0.5 else None
        return _Person(
            self.pid, family, given, gender, birth, self.mobile(), landline,
            self.email(given[1], family[1]), town, block, postal, building,
        )  # fmt: skip

    def birth(self, low: int = 1940, high: int = 2005) -> date:
        return date(self.rng.randint(low, high), 1, 1) + timedelta(days=self.rng.randrange(365))

    # ---- writing one person's record in one channel's style -------------------------
    def kana(self, reading: str) -> str:
        r = self.rng.random()
        if r < 0.4:
            text = to_katakana(reading)
        elif r < 0.7:
            text = to_halfwidth_katakana(reading)
        else:
            text = reading
        if self.rng.random() < 0.02 and len(text) > 2:  # a typo
            i = self.rng.randrange(1, len(text))
            text = text[:i] + self.rng.choice("アイウカキクサシスタチツ") + text[i + 1 :]
        return text

    def kanji(self, name: str) -> str:
        if self.rng.random() < 0.3:
            name = "".join(_VARIANT_WRITING.get(c, c) for c in name)
        return name

    def phone(self, number: str) -> str:
        a, b, c = (
            (number[:3], number[3:7], number[7:])
            if number.startswith("0" + "9") or number[:3] in ("080", "070")
            else (number[:2], number[2:6], number[6:])
        )
        forms = [f"{a}-{b}-{c}", number, _fullwidth(f"{a}-{b}-{c}"), f"+81 {a[1:]} {b} {c}",
                 f"({a}){b}-{c}", f"+81-{a[1:]}-{b}-{c}"]  # fmt: skip
        return self.rng.choice(forms)

    def birth_text(self, born: date) -> str | date:
        r = self.rng.random()
        if self.rng.random() < 0.015:  # day and month swapped, or a digit slip
            if born.day <= 12 and born.day != born.month:
                born = born.replace(month=born.day, day=born.month)
            elif born.day < 28:
                born = born + timedelta(days=1)
        if r < 0.3:
            return born
        if r < 0.5:
            return born.isoformat()
        if r < 0.65:
            return f"{born.year}/{born.month}/{born.day}"
        for name, letter, start, offset in _ERAS:
            if born >= start:
                year = born.year - offset
                if r < 0.85:
                    return f"{name}{'元' if year == 1 else year}年{born.month}月{born.day}日"
                return f"{letter}{year}.{born.month}.{born.day}"
        return born.isoformat()

    def address(self, p: _Person, moved: bool) -> tuple[str, str]:
        r = self.rng
        pref, city, prefix = p.town
        chome, ban, go = p.block
        postal = p.postal
        if moved:
            pref, city, prefix = r.choice(_TOWNS)
            chome, ban, go = r.randint(1, 9), r.randint(1, 30), r.randint(1, 20)
            postal = f"{prefix}{r.randrange(10**4):04d}"
        style = r.randrange(4)
        if style == 0:
            block = f"{chome}丁目{ban}番{go}号"
        elif style == 1:
            block = f"{chome}-{ban}-{go}"
        elif style == 2:
            block = _fullwidth(f"{chome}-{ban}-{go}")
        else:
            block = f"{_KANJI_DIGITS[chome]}丁目{ban}-{go}"
        text = f"{pref if r.random() < 0.6 else ''}{city}{block}"
        if p.building and r.random() < 0.7:
            text += " " + p.building
        postal_forms = [postal, f"{postal[:3]}-{postal[3:]}", f"〒{postal[:3]}-{postal[3:]}",
                        _fullwidth(f"{postal[:3]}-{postal[3:]}")]  # fmt: skip
        return text, r.choice(postal_forms)

    def record(self, p: _Person, channel: str, serial: int, seen: datetime) -> CustomerRecord:
        r = self.rng

        def keep(prob: float) -> bool:
            return r.random() < prob

        family = p.family
        if p.maiden is not None and keep(0.5):
            family = p.maiden
        address, postal = self.address(p, moved=keep(0.08))
        fields: dict[str, object] = {}
        if channel != "call_center" or keep(0.3):
            fields["family_name"] = self.kanji(family[0])
            fields["given_name"] = self.kanji(p.given[0])
        if channel != "app" or keep(0.5) or "family_name" not in fields:
            fields["family_name_kana"] = self.kana(family[1])
            fields["given_name_kana"] = self.kana(p.given[1])
        if channel in ("ec", "app") or keep(0.3):
            email = p.email.upper() if keep(0.1) else p.email
            fields["email"] = email
            fields["email_verified"] = channel == "ec" and keep(0.8)
        if keep(0.85):
            number = p.landline if p.landline and keep(0.4) else p.mobile
            fields["phone"] = self.phone(number)
        if keep(0.8):
            fields["birth_date"] = self.birth_text(p.birth)
        if keep(0.6):
            fields["gender"] = r.choice(
                ["男性", "M", "male"] if p.gender == "m" else ["女性", "F", "female"]
            )
        if channel in ("store", "ec") or keep(0.4):
            fields["address"] = address
            fields["postal_code"] = postal
        if channel == "store" and keep(0.7):
            fields["member_card_no"] = f"M{p.pid:09d}"
        return CustomerRecord(
            source=SourceRef(channel, f"{channel[:2]}{serial:08d}"),
            observed_at=seen,
            **fields,  # type: ignore[arg-type]
        )


def generate_records(n_people: int, *, seed: int = 0) -> list[LabelledRecord]:
    """Generate about ``2.2 × n_people`` labelled records, shuffled, reproducibly by ``seed``.

    Roughly a third of people live in households (sharing a landline and the address,
    with twins among the children), one in ten has a married-name change, and extra
    people with the commonest names are put in one town.
    """
    gen = _Generator(seed)
    r = gen.rng
    people: list[_Person] = []
    while len(people) < n_people:
        roll = r.random()
        if roll < 0.3:  # a household: parents and children, sometimes twins
            family = r.choice(_FAMILY)
            gen.taken = set()
            head = gen.person(family, "m", gen.birth(1945, 1980), None)
            gen.taken.add(head.given)
            members = [head, gen.person(family, "f", gen.birth(1945, 1982), head)]
            born = gen.birth(1975, 2005)
            for _ in range(r.randint(0, 2)):
                gender = r.choice("mf")
                members.append(gen.person(family, gender, gen.birth(1975, 2005), head))
            if r.random() < 0.3:  # twins: one birth date, two given names
                first = gen.person(family, "m", born, head)
                second = gen.person(family, "f", born, head)
                members += [first, second]
            people += members
            gen.taken = set()
        elif roll < 0.38:  # the commonest names in one town
            town = r.choice(_TOWNS)
            family = r.choice(_FAMILY[:2])
            given = r.choice(_MALE[:3])
            people += [gen.person(family, "m", gen.birth(), None, given, town) for _ in range(3)]
        else:
            gender = r.choice("mf")
            person = gen.person(r.choice(_FAMILY), gender, gen.birth(), None)
            if gender == "f" and r.random() < 0.2:
                person.maiden = person.family
                person.family = r.choice(_FAMILY)
            people.append(person)
    records: list[LabelledRecord] = []
    serial = 0
    start = datetime(2020, 1, 1, tzinfo=UTC)
    for person in people[:n_people]:
        count = r.choices((1, 2, 3, 4), (0.25, 0.35, 0.25, 0.15))[0]
        for channel in r.sample(_CHANNELS, count):
            serial += 1
            seen = start + timedelta(minutes=r.randrange(5 * 365 * 24 * 60))
            records.append(LabelledRecord(gen.record(person, channel, serial, seen), person.pid))
    r.shuffle(records)
    return records


def _pairs(groups: Iterator[list[SourceRef]]) -> set[tuple[SourceRef, SourceRef]]:
    out: set[tuple[SourceRef, SourceRef]] = set()
    for group in groups:
        members = sorted(group)
        out.update(
            (members[i], members[j])
            for i in range(len(members))
            for j in range(i + 1, len(members))
        )
    return out


def pairwise_scores(
    truth: list[LabelledRecord], clusters: tuple[frozenset[SourceRef], ...]
) -> tuple[float, float, float]:
    """Pairwise precision, recall and F1 of ``clusters`` against the ground truth."""
    by_person: dict[int, list[SourceRef]] = {}
    for labelled in truth:
        by_person.setdefault(labelled.person, []).append(labelled.record.source)
    true_pairs = _pairs(iter(by_person.values()))
    found = _pairs(iter(list(c) for c in clusters))
    hits = len(true_pairs & found)
    precision = hits / len(found) if found else 1.0
    recall = hits / len(true_pairs) if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1
