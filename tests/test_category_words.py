"""The category a text's typical goods words name (matching's fallback when no product votes)."""
import pytest

from marketplace.catalog.categories import CATEGORY_BY_CODE
from marketplace.catalog.category_words import CATEGORY_WORDS, guess_category


@pytest.mark.parametrize(("text", "expected"), [
    ("安康科技布沙发 三人位", "furniture"),
    ("前轮刹车片 丰田卡罗拉", "auto_parts"),
    ("鑫达LED汽车大灯 H4", "auto_parts"),  # 大灯 (two characters) outweighs the three letters of LED
    ("LED护眼台灯 学生款", "lighting"),
    ("安康乳胶床垫 1.5×2.0m", "furniture"),  # the longer word: 床垫, not 胶
    ("不锈钢保温杯 500ml", "kitchenware"),  # the head of the compound, not its material
    ("智能电饭煲 4L", "small_appliances"),  # 电饭煲, not the 锅 of kitchenware
    ("Stainless steel cup 500ml", "kitchenware"),
    ("Japan sled", None),  # English words count whole: no "pan", no "led"
    ("采购需求 请尽快报价", None),
    ("", None),
])
def test_guess_category(text, expected):
    assert guess_category(text) == expected


def test_every_word_names_one_known_category():
    owners: dict[str, str] = {}
    for code, words in CATEGORY_WORDS.items():
        assert code in CATEGORY_BY_CODE and code != "other"
        for word in words:
            assert word == word.lower() and word.strip() == word
            assert owners.setdefault(word, code) == code, f"{word} in {owners[word]} and {code}"
