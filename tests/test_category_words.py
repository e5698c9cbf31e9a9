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
    ("LED灯带 客厅吊顶灯条 超亮", "lighting"),  # 灯带, LED and the 灯 of 灯条 outweigh the ceiling (吊顶) they go on
    ("折叠床单人午休陪护床", "furniture"),  # 折叠床 and 床 outweigh the 床单 read across 折叠床|单人
    ("遥控汽车 儿童玩具", "toys"),  # as much of each: the word ending last
    ("汽车遮阳挡 前挡风玻璃", "auto_parts"),  # the 玻璃 of 挡风玻璃 does not count apart
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


def test_a_long_text_is_read_in_its_first_part():
    assert guess_category("沙发" + "，" * 100_000 + "刹车片" * 1000) == "furniture"
