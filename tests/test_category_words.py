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
    ("遥控汽车 儿童玩具", "toys"),  # 遥控汽车 is a toy: the 汽车 inside it does not count
    # a tie goes to the category named first: the goods come before what they are for
    ("护眼台灯学习专用儿童书桌宿舍", "lighting"),
    ("腰包男士运动跑步手机包", "luggage"),
    ("保鲜膜 家用 一次性 微波炉专用", "chemicals_plastics"),
    # a word right before another category's word that ends a run of Chinese characters modifies it
    ("静音轴承合页 5寸", "hardware"),  # a hinge with bearings, not a bearing
    ("儿童书桌台灯", "lighting"),
    ("车载手机支架汽车出风口", "auto_parts"),  # 手机 is followed by 支架 (no word): no head known, nothing dropped
    # what a machine makes is not its goods; a machine's own word before 机 still counts
    ("家用米酒纳豆机 全自动", None),
    ("酸奶机家用米酒纳豆机", "small_appliances"),
    ("空调机 挂式", "small_appliances"),
    ("汽车机油 全合成", "auto_parts"),  # 机油 is a word: the 汽车 before it is no machine's product
    # where goods are used is not goods: the 桌 of 桌面, the 床 of 床上
    ("桌面小风扇USB充电学生宿舍床上", "small_appliances"),
    ("床头柜 实木", "furniture"),  # a word longer than the scene still wins at its place
    ("汽车遮阳挡 前挡风玻璃", "auto_parts"),  # the 玻璃 of 挡风玻璃 does not count apart
    ("Japan sled", None),  # English words count whole: no "pan", no "led"
    ("采购需求 请尽快报价", None),
    ("", None),
])
def test_guess_category(text, expected):
    assert guess_category(text) == expected


def test_scenes_and_machine_heads_are_no_category_words():
    from marketplace.catalog.category_words import MACHINE_HEADS, SCENES

    words = {word for words in CATEGORY_WORDS.values() for word in words}
    assert not words & set(SCENES) and not words & set(MACHINE_HEADS)


def test_every_word_names_one_known_category():
    owners: dict[str, str] = {}
    for code, words in CATEGORY_WORDS.items():
        assert code in CATEGORY_BY_CODE and code != "other"
        for word in words:
            assert word == word.lower() and word.strip() == word
            assert owners.setdefault(word, code) == code, f"{word} in {owners[word]} and {code}"


def test_a_long_text_is_read_in_its_first_part():
    assert guess_category("沙发" + "，" * 100_000 + "刹车片" * 1000) == "furniture"
