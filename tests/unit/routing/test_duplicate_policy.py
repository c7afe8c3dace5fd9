"""The duplicates: section of the policy file: its shape and the refusals that keep a
broken or ambiguous file from starting the service."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from services.routing.policy import RoutingPolicy, load_policy
from services.routing.settings import default_policy_path
from shared.datafile import DataFileError


def edited(tmp_path: Path, old: str, new: str) -> Path:
    text = default_policy_path().read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "policy.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_shipped_duplicates_section(policy: RoutingPolicy) -> None:
    dups = policy.duplicates
    assert dups.window == timedelta(hours=24)
    assert policy.duplicate_window == dups.window
    assert dups.possible_score < dups.link_score <= dups.strong_score
    assert dups.synonyms[0][:2] == ["飛線", "私拉電線"]
    # The things a firm leaves lying are subjects: another one is another problem.
    assert ["電動車", "電瓶車"] in [group[:2] for group in dups.subjects]
    assert any(group[0] == "垃圾" for group in dups.subjects)
    assert any("不亮" in group and "失靈" in group for group in dups.faults)
    facilities = {group[0] for group in dups.facilities}
    assert {
        "車庫",
        "電梯",
        "公廁",
        "化糞池",
        "車棚",
        "健身器材",
        "垃圾站",
        "消防通道",
    } <= facilities


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("    - [露台]\n", "    - [露台, 電梯]\n", "'電梯' is in facilities"),
        (
            "    - [外賣]",
            "    - [外賣, 私家車]",
            "'私家車' is in synonyms[4] (汽車) and in subjects",
        ),
        ("  stop_words: [小區,", "  stop_words: [臭, 小區,", "stop word '臭' is also in faults"),
        (
            "  link_score: 0.7\n",
            "  link_score: 0.3\n",
            "possible_score < link_score <= strong_score",
        ),
        ("  window: PT24H ", "  window: PT0S ", "window must be positive"),
    ],
)
def test_a_broken_duplicates_section_is_refused(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    with pytest.raises(DataFileError) as caught:
        load_policy(edited(tmp_path, old, new))
    assert message in str(caught.value)
    assert "duplicates" in str(caught.value)


def test_the_old_keys_point_to_the_new_section(tmp_path: Path) -> None:
    path = edited(
        tmp_path,
        "default_category: other\n",
        "default_category: other\nduplicate_similarity: 0.5\n",
    )
    with pytest.raises(
        DataFileError, match=r"duplicate_similarity: replaced by the duplicates: section"
    ):
        load_policy(path)
