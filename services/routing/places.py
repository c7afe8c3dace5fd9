"""The places a complaint names (building, unit, floor, flat, zone, phase, gate, side,
entrance, facility) and whether two complaints name the same one.

Texts reach this module already normalised (``wording.normalise``: simplified
characters, lower case, half-width, Chinese numerals before a measure word read as
digits), so 三棟 arrives as 3栋 and 二單元 as 2单元. Finding a place blanks it out of
the text (same length, so positions stay valid) and the rest of the text is left to
the word comparison."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict

SLOTS = (
    "building",
    "unit",
    "floor",
    "flat",
    "zone",
    "phase",
    "gate",
    "side",
    "entrance",
    "facility",
)
"""The slots two complaints are compared on, besides ``storey_or_building``."""

_DIRECTION = "东北|东南|西北|西南|东|西|南|北"
_BUILDING = re.compile(
    r"(?<![\d.])(?:第)?(\d{1,3}|[a-z])\s*(?:号楼|号栋|栋|幢|座|#楼|#)"
    r"|(?<![\d.])(\d{1,3})号(?=\s*\d{1,2}\s*单元)"
)
_DASH_FLAT = re.compile(r"(?<![\d.\-])(\d{1,3})-(?:(\d{1,2})-)?(\d{3,4})(?![\d.\-])")
_UNIT = re.compile(r"(?<![\d.])(\d{1,2})\s*单元")
_STOREY = re.compile(r"(?<![\d.])(\d{1,2})\s*层")
_BASEMENT = re.compile(r"(?:负|地下|(?<![a-z])b)\s*(\d)\s*(?:层|楼)?(?![\d栋幢座号])")
# "5楼" is a floor when the complaint names a building; alone it may be either.
_LOU = re.compile(r"(?<![\d.])(\d{1,2})\s*楼(?![道梯顶])")
_GATE = re.compile(
    rf"(小区大门|小区门口|小区门|({_DIRECTION}|正|后|侧|主|大|\d{{1,2}}号)(?:侧|大|小)?门)"
    r"(?![禁卫铃锁窗框面帘牌店市])"
)
_ZONE = re.compile(rf"(?<![\da-z])([a-z]|\d{{1,2}})\s*区|({_DIRECTION}|中)区(?!域)")
_PHASE = re.compile(r"(?<![\d.])(\d{1,2})\s*期")
_SIDE = re.compile(rf"({_DIRECTION}|前|后)\s*(?:侧|边|面|头)")
_ENTRANCE = re.compile(r"出入口|出口|入口|进口")
_FLAT = re.compile(
    r"(?<![\d.\-])(\d{3,4})(?![\d.%\-])\s*(室|号|房|户|家|住户|业主|的|屋|门口|楼上|楼下)?"
)
# A three- or four-digit number is taken for a door number unless it reads as an
# amount ("200元", "300个车位", "涨到200", "打110") or, away from a building or unit,
# as a time ("2024年"). Taking a number for a door when it is none only keeps two
# complaints apart; missing a door could link two flats' complaints.
_AMOUNT_AFTER = re.compile(r"\s*(元|块|米|平|个|辆|次|斤|人|万|多|余|度|w|k|%)")
_AMOUNT_BEFORE = re.compile(
    r"(收|交|付|涨到|涨了|涨|降到|罚|花了|花|共|约|打|拨|电话|热线|第|到|了)\s*$"
)
_SERVICE_NUMBERS = frozenset({"110", "114", "119", "120", "122", "315"})
_NOT_A_FLAT_AFTER = re.compile(r"\s*(年|月|天(?![花台井天])|小时|分)")
_MAIN_GATE = {"小区大门", "小区门口", "小区门", "正", "主", "大"}


class Places(BaseModel):
    """What a complaint names, each slot a sorted tuple of values (a complaint may name
    two buildings: "3栋的人在5栋楼下充电"). ``storey_or_building`` holds "5楼" said with
    no building named: it agrees with a building 5 or a floor 5."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    building: tuple[str, ...] = ()
    unit: tuple[str, ...] = ()
    floor: tuple[str, ...] = ()
    flat: tuple[str, ...] = ()
    zone: tuple[str, ...] = ()
    phase: tuple[str, ...] = ()
    gate: tuple[str, ...] = ()
    side: tuple[str, ...] = ()
    entrance: tuple[str, ...] = ()
    facility: tuple[str, ...] = ()
    storey_or_building: tuple[str, ...] = ()

    def named(self) -> bool:
        return any(getattr(self, name) for name in type(self).model_fields)

    def describe(self) -> str:
        parts = [
            f"{name.replace('_', ' ')} {'/'.join(values)}"
            for name in type(self).model_fields
            if (values := getattr(self, name))
        ]
        return ", ".join(parts) or "no place"


@dataclass
class _Finder:
    """Collects places from one text, blanking each as it is found."""

    original: str
    text: str = ""
    found: dict[str, set[str]] = field(default_factory=dict)
    ends: set[int] = field(default_factory=set)  # where a building, unit, floor... ended

    def __post_init__(self) -> None:
        self.text = self.original

    def follows_a_place(self, start: int) -> bool:
        """Whether only spaces, a dash or a comma stand between a building, unit,
        floor or facility and ``start``: "2号楼402", "3栋2单元 402", "顶楼1801", and
        a location field "3栋" before a description "1002装修"."""
        return any(
            end <= start and not self.original[end:start].strip(" -,:;") for end in self.ends
        )

    def add(self, slot: str, value: str) -> None:
        self.found.setdefault(slot, set()).add(value)

    def blank(self, start: int, end: int) -> None:
        self.text = self.text[:start] + " " * (end - start) + self.text[end:]

    def take(self, pattern: re.Pattern[str], on: Callable[[re.Match[str]], bool]) -> None:
        """Blank every match that ``on`` accepts (``on`` records what it means)."""
        for match in list(pattern.finditer(self.text)):
            if on(match):
                self.blank(match.start(), match.end())


def _number(value: str) -> str:
    return value.lstrip("0") or "0"


def find_places(
    text: str,
    facility_words: re.Pattern[str] | None = None,
    facility_of: Mapping[str, str | None] | None = None,
) -> tuple[Places, str]:
    """The places in a normalised text, and the text with them blanked out.

    ``facility_words`` matches the facilities' words, longest first, and
    ``facility_of`` names the facility of each (None: a word that only contains a
    facility's word, like 广场舞, and names no place)."""
    finder = _Finder(text)

    def dash(match: re.Match[str]) -> bool:
        building, unit, flat = match.groups()
        finder.add("building", _number(building))
        if unit:
            finder.add("unit", _number(unit))
        finder.add("flat", flat)
        finder.ends.add(match.end())
        return True

    def building(match: re.Match[str]) -> bool:
        finder.add("building", _number(match.group(1) or match.group(2)))
        finder.ends.add(match.end())
        return True

    def numbered(slot: str) -> Callable[[re.Match[str]], bool]:
        def record(match: re.Match[str]) -> bool:
            finder.add(slot, _number(match.group(1)))
            finder.ends.add(match.end())
            return True

        return record

    finder.take(_DASH_FLAT, dash)
    finder.take(_BUILDING, building)
    finder.take(_UNIT, numbered("unit"))

    def basement(match: re.Match[str]) -> bool:
        finder.add("floor", "-" + _number(match.group(1)))
        return True

    finder.take(_BASEMENT, basement)
    finder.take(_STOREY, numbered("floor"))
    if facility_words is not None and facility_of is not None:

        def facility(match: re.Match[str]) -> bool:
            name = facility_of[match.group(0)]
            if name is not None:
                finder.add("facility", name)
                finder.ends.add(match.end())  # "顶楼1801"
            return name is not None

        finder.take(facility_words, facility)

    def gate(match: re.Match[str]) -> bool:
        whole, which = match.group(1), match.group(2)
        value = whole if which is None else which
        finder.add("gate", "大门" if value in _MAIN_GATE else value.removesuffix("号") + "门")
        return True

    def zone(match: re.Match[str]) -> bool:
        finder.add("zone", (match.group(1) or match.group(2)) + "区")
        return True

    def side(match: re.Match[str]) -> bool:
        finder.add("side", match.group(1))
        return True

    def entrance(match: re.Match[str]) -> bool:
        word = match.group(0)
        for value in ("出口", "入口"):
            if word == "出入口" or (word == value) or (value == "入口" and word == "进口"):
                finder.add("entrance", value)
        return True

    finder.take(_GATE, gate)
    finder.take(_ZONE, zone)
    finder.take(_PHASE, numbered("phase"))
    finder.take(_SIDE, side)
    finder.take(_ENTRANCE, entrance)

    has_building = bool(finder.found.get("building"))
    finder.take(_LOU, numbered("floor" if has_building else "storey_or_building"))

    def flat(match: re.Match[str]) -> bool:
        number, marker = match.group(1), match.group(2)
        if number in _SERVICE_NUMBERS:
            return False
        after = finder.text[match.end(1) :]
        follows = finder.follows_a_place(match.start(1))
        if _AMOUNT_AFTER.match(after) or (not follows and _NOT_A_FLAT_AFTER.match(after)):
            return False
        if (
            marker is None
            and not follows
            and _AMOUNT_BEFORE.search(finder.original[: match.start(1)])
        ):
            return False
        finder.add("flat", number)
        return True

    finder.take(_FLAT, flat)
    for number in finder.found.get("flat", set()):
        finder.add("floor", _number(number[:-2]))
    places = Places(**{slot: tuple(sorted(values)) for slot, values in finder.found.items()})
    return places, finder.text


Relation = Literal["conflict", "same", "partial", "crossed", "unrelated", "one_sided", "neither"]


@dataclass(frozen=True)
class PlaceMatch:
    """How two complaints' places relate.

    ``same``: every slot either names, both name alike; ``partial``: they agree on
    some slot but one names more; ``crossed``: they agree on some slot but each
    names a part the other does not (C區車庫出口的道閘 and 西門的道閘: the same kind of
    barrier, at two places); ``unrelated``: both name places but no slot in
    common (3栋5楼 and C区车棚); ``one_sided``: one names a place, the other none;
    ``neither``: no place at all; ``conflict``: some slot both name differs
    (``differences`` says which)."""

    relation: Relation
    agreed: tuple[str, ...] = ()
    differences: tuple[str, ...] = ()


def compare_places(a: Places, b: Places) -> PlaceMatch:
    if not a.named() and not b.named():
        return PlaceMatch("neither")
    agreed: list[str] = []
    differences: list[str] = []
    uneven = False
    # Which side names a slot the other leaves out: both doing so is no "one names more".
    extra = {"a": False, "b": False}

    def compare(slot: str, left: set[str], right: set[str]) -> None:
        nonlocal uneven
        if left and right:
            if left & right:
                agreed.append(f"{slot} {'/'.join(sorted(left & right))}")
                uneven = uneven or left != right
            else:
                differences.append(f"{slot} {'/'.join(sorted(left))} vs {'/'.join(sorted(right))}")
        elif left or right:
            uneven = True
            extra["a" if left else "b"] = True

    for slot in SLOTS:
        compare(slot, set(getattr(a, slot)), set(getattr(b, slot)))
    mine, theirs = set(a.storey_or_building), set(b.storey_or_building)
    if mine and theirs:
        compare("storey", mine, theirs)
    elif mine or theirs:
        # "5楼" with no building named agrees with a building 5 or a floor 5.
        other = b if mine else a
        storeys = mine or theirs
        named = set(other.building) | set(other.floor)
        if storeys & named:
            agreed.append(f"storey {'/'.join(sorted(storeys & named))}")
        elif other.building and other.floor:
            differences.append(
                f"storey {'/'.join(sorted(storeys))} vs building {'/'.join(other.building)}"
                f" floor {'/'.join(other.floor)}"
            )
        else:
            uneven = True
            extra["a" if mine else "b"] = True
    if differences:
        return PlaceMatch("conflict", tuple(agreed), tuple(differences))
    if not agreed:
        return PlaceMatch("unrelated" if a.named() and b.named() else "one_sided")
    if extra["a"] and extra["b"]:
        return PlaceMatch("crossed", tuple(agreed))
    return PlaceMatch("partial" if uneven else "same", tuple(agreed))
