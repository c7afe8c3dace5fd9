"""What a complaint's words say, for comparing two complaints: the text normalised
(simplified characters, half-width, numerals read), durations dropped, the domain's
words and synonyms found first, the rest cut into words by jieba with its shipped
dictionary, and every word of a policy group replaced by the group's name. A lone
character counts only when it is a word of a group (臭, 堵, 退): the others (放, 开,
用) say little once the domain's words are found.

The domain's words are matched before jieba cuts the text (longest first) so that its
general dictionary cannot split them ("路灯不亮" would otherwise come out as 路 /
灯不亮). Single-character words of a group (臭, 堵, 坏) only count when jieba
cuts them out alone: 臭 in 臭豆腐 is not 臭 (smelly).

Loading jieba's dictionary takes one to two seconds (about 1.5 s to build it, a
little less from the cache jieba then keeps in the temporary directory); call
``load_segmenter`` at start so that the first complaint does not wait. Reading one
complaint then takes about 0.4 ms."""

from __future__ import annotations

import functools
import logging
import re
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import jieba  # type: ignore[import-untyped]  # ships no type hints

from services.routing.classify import fold
from services.routing.places import Places, find_places
from services.routing.policy import DuplicatePolicy

# jieba logs each dictionary load at DEBUG on its own stderr handler.
jieba.setLogLevel(logging.WARNING)

_segmenter = jieba.Tokenizer()
_segmenter_lock = threading.Lock()

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}  # fmt: skip
_MEASURES = (
    "号楼|栋|幢|座|号|楼|层|单元|室|区|期|天|日|周|星期|礼拜|个|月|年|次|辆|只|根|块|元|盏"
    "|户|台|小时|点|分钟|米|多|几"
)
_CN_NUMBER = re.compile(rf"[零〇一二两三四五六七八九十百]+(?=\s*(?:{_MEASURES}))")
# "一片", "几盏", "好几只": how many, which residents tell differently.
_COUNT = re.compile(
    r"^(?:\d+|一|两|几|好几|十几|半)(?:个|辆|盏|根|只|块|片|家|户|次|层|台|处|堆)?$"
)
# Not a number right after a building or unit ("30栋1103天花板" names flat 1103).
_DURATION = re.compile(
    r"(?:(?<![\d栋幢座楼层元号#\-])\d{1,2}(?!\d)|好几|几|十几|好多|半|大半|一两|两三|三四|四五|五六)"
    r"\s*(?:个)?\s*(?:多)?\s*(?:天(?![天花台井])|日|周|星期|礼拜|个月|月|年|小时|钟头|分钟)"
)

# Function words of the language; the policy's stop words add the domain's fillers.
_FUNCTION_WORDS_TEXT = """的 了 在 有 是 被 把 给 也 和 与 及 或 跟 同 我 你 他 她 它 我们 你们 他们 咱们 自己 人家
    这 那 这个 那个 这些 那些 这里 那里 这边 那边 这儿 那儿 哪 哪里 哪儿 里 里面 上 下 中 内 外
    就 都 又 还 再 才 很 太 挺 最 更 好 真 吗 呢 吧 啊 呀 啦 哦 嘛 哈 呐 着 过 得 地 么 个 些 人
    有人 没 没有 不 别 会 要 能 可以 让 到 从 往 向 对 为 为了 说 去 来 啥 什么 怎么 怎么办 谁
    今天 昨天 前天 明天 现在 最近 刚才 刚刚 以前 之前 以后 一下 一些 一点 点 次 个 辆 根 只 块
    元 盏 户 台 多 几 家 家里 我家 楼里 那家 这家 里头 旁边 附近 周围 一样 一起 全 全是 所有
    已经 然后 而且 但是 可是 所以 因为 如果 虽然 还是 还有 或者 就是 只是 就要 快 差点 差一点
    随时 可能 也许 估计 好像 感觉 觉得 知道 看到 发现 请 请问 求 求求 拜托 一定 马上 及时
    经常 每次 每回 总 老 整天 这样 那样 这么 那么 如此 非常 十分 特别 比较 有点 有些 各种 到处
    你好 您好 谢谢 再次 怎样 为啥 干嘛 咋 咋办 问 说了 讲 讲了 告诉 打电话 电话 打 找 找了 联系
    从来 从来不 从不 是不是 不是 任何 突然 得到 到处跑 应该 当初 按 但 过去 出去 进来 出来 下来 上来
    起来 开始 直接 还要 只能 一直都"""
_FUNCTION_WORDS = frozenset(_FUNCTION_WORDS_TEXT.split())


def _read_number(chinese: str) -> str | None:
    """一 → 1, 十二 → 12, 一百零二 → 102, 一五零二 → 1502; 三四 (a range) → None."""
    if "十" in chinese or "百" in chinese:
        value, current = 0, 0
        for char in chinese:
            if char == "百":
                value += (current or 1) * 100
                current = 0
            elif char == "十":
                value += (current or 1) * 10
                current = 0
            else:
                current = _CN_DIGITS[char]
        return str(value + current)
    if len(chinese) == 1 or len(chinese) >= 3:
        return "".join(str(_CN_DIGITS[char]) for char in chinese)
    return None


def normalise(text: str) -> str:
    """Simplified, lower case, half-width, numerals before a measure word as digits:
    "三棟２單元" → "3栋2单元"."""
    folded = fold(unicodedata.normalize("NFKC", text))
    return _CN_NUMBER.sub(lambda m: _read_number(m.group(0)) or m.group(0), folded)


@dataclass(frozen=True, eq=False)
class Lexicon:
    """A policy's word groups, ready for matching. Compared and hashed by identity (it
    is built once per policy), so that readings can be cached per lexicon."""

    group_of: dict[str, str]  # folded word → its group's (folded) first word
    faults: frozenset[str]  # the group names that are faults
    subjects: frozenset[str]  # the group names that are subjects
    facility_of: dict[str, str | None]  # folded word → facility, or None: not a place
    facility_words: re.Pattern[str]
    group_words: re.Pattern[str]  # words of two or more characters, longest first
    stop_words: frozenset[str]

    @property
    def group_names(self) -> frozenset[str]:
        return frozenset(self.group_of.values())


def _alternation(words: Iterable[str]) -> re.Pattern[str]:
    ordered = sorted(set(words), key=lambda w: (-len(w), w))
    return re.compile("|".join(map(re.escape, ordered)) or r"(?!)")


def build_lexicon(policy: DuplicatePolicy) -> Lexicon:
    group_of: dict[str, str] = {}
    kinds: dict[str, set[str]] = {"faults": set(), "subjects": set()}
    for section in ("synonyms", "faults", "subjects"):
        for group in getattr(policy, section):
            name = normalise(group[0])
            kinds.setdefault(section, set()).add(name)
            for word in group:
                group_of[normalise(word)] = name
    facility_of: dict[str, str | None] = {}
    for group in policy.facilities:
        for word in group:
            facility_of[normalise(word)] = normalise(group[0])
    # A group word that contains a facility's word ("广场舞" holds "广场") is not a
    # place: matching it too, longest first, keeps the facility from being found in it.
    for word in group_of:
        if len(word) > 1 and word not in facility_of and any(f in word for f in facility_of):
            facility_of[word] = None
    return Lexicon(
        group_of=group_of,
        faults=frozenset(kinds["faults"]),
        subjects=frozenset(kinds["subjects"]),
        facility_of=facility_of,
        facility_words=_alternation(facility_of),
        group_words=_alternation(w for w in group_of if len(w) > 1),
        stop_words=_FUNCTION_WORDS | {normalise(w) for w in policy.stop_words},
    )


_lexicons: dict[int, tuple[DuplicatePolicy, Lexicon]] = {}


def lexicon_of(policy: DuplicatePolicy) -> Lexicon:
    """The policy's lexicon, built once per policy object."""
    cached = _lexicons.get(id(policy))
    if cached is None or cached[0] is not policy:
        cached = (policy, build_lexicon(policy))
        _lexicons[id(policy)] = cached
    return cached[1]


def load_segmenter() -> None:
    """Load jieba's dictionary now rather than on the first complaint (~2 s)."""
    with _segmenter_lock:
        _segmenter.initialize()


def _segment(text: str) -> list[str]:
    if not _segmenter.initialized:
        load_segmenter()
    return list(_segmenter.cut(text, HMM=False))


@dataclass(frozen=True)
class Reading:
    """What one complaint says: where, and in which words."""

    places: Places
    words: tuple[str, ...]  # sorted, each once; group words as their group's name
    faults: tuple[str, ...]  # the words that are faults
    subjects: tuple[str, ...]  # the words that are subjects


@functools.lru_cache(maxsize=4096)
def read(description: str, location: str | None, lexicon: Lexicon) -> Reading:
    # Cached: routing reads a complaint when it compares it and again when it indexes
    # it as open, and jieba's cut was a sixth of routing's CPU at saturation (py-spy).
    # A Reading is immutable, so sharing one is safe.
    text = normalise(f"{location}，{description}" if location else description)
    text = _DURATION.sub(lambda m: " " * len(m.group(0)), text)
    places, rest = find_places(text, lexicon.facility_words, lexicon.facility_of)
    found: set[str] = set()

    def take(match: re.Match[str]) -> str:
        found.add(lexicon.group_of[match.group(0)])
        return " " * len(match.group(0))

    rest = lexicon.group_words.sub(take, rest)
    for token in _segment(rest):
        word = token.strip()
        if not word or not any(ch.isalpha() for ch in word) or (word.isascii() and len(word) < 2):
            continue
        if len(word) == 1 and word not in lexicon.group_of:
            continue  # a lone character says little unless the policy groups it (臭, 堵)
        word = lexicon.group_of.get(word, word)
        if word in lexicon.stop_words or _COUNT.match(word):
            continue
        found.add(word)
    # The facility is also what many complaints are about (电梯, 消防栓): a word too.
    found.update(places.facility)
    return Reading(
        places=places,
        words=tuple(sorted(found)),
        faults=tuple(sorted(found & lexicon.faults)),
        subjects=tuple(sorted(found & lexicon.subjects)),
    )
