"""Chinese/English analysis: tokens per mode as tables, positions and offsets, phrase consistency, synonyms."""
from __future__ import annotations

import random
import re

import pytest
import rjieba

from search_index import analysis
from search_index.analysis import (
    ChineseTokenizer,
    Synonyms,
    chinese_analyzer,
    index_terms,
    normalise,
    parse_synonym_lines,
    query_terms,
)

ANALYZER = chinese_analyzer()


def _tokens(value: str, **kwargs) -> list[tuple[str, int, int, int]]:
    """(text, position, startchar, endchar) of every token."""
    return [(t.text, t.pos, t.startchar, t.endchar) for t in ANALYZER(value, positions=True, chars=True, **kwargs)]


# ---------------------------------------------------------------------------- tokens per mode

TOKEN_TABLE = [
    # Chinese: coarse words; the index adds the sub-words at the same position
    ("智能电饭煲", "query", ["智能", "电饭煲"]),
    ("智能电饭煲", "index", ["智能", "电饭煲", "饭煲"]),
    ("不锈钢保温杯", "query", ["不锈钢保温杯"]),
    ("不锈钢保温杯", "index", ["不锈钢保温杯", "不锈", "保温", "不锈钢", "保温杯"]),
    ("304不锈钢电热水壶 1.8L", "query", ["304", "不锈钢", "电热水壶", "1.8l"]),
    ("304不锈钢电热水壶 1.8L", "index", ["304", "不锈钢", "不锈", "电热水壶", "电热", "热水", "水壶", "1.8l"]),
    ("空气炸锅", "query", ["空气炸锅"]),
    ("充电宝 移动电源", "query", ["充电宝", "移动电源"]),
    ("中华人民共和国", "index", ["中华人民共和国", "中华", "华人", "人民", "共和", "共和国", "中华人民", "人民共和国"]),
    # English: lowercased, stemmed, the emptiest stop words dropped
    ("Smart Rice Cookers", "query", ["smart", "rice", "cooker"]),
    ("Smart Rice Cookers", "index", ["smart", "rice", "cooker"]),
    ("Men's jackets for the winter", "query", ["men", "jacket", "winter"]),
    ("Oil-free air fryer", "query", ["oilfre", "air", "fryer"]),
    ("Oil-free air fryer", "index", ["oilfre", "oil", "free", "air", "fryer"]),
    # mixed Chinese and English
    ("Smart rice cooker智能电饭煲", "query", ["smart", "rice", "cooker", "智能", "电饭煲"]),
    ("电饭煲（rice cooker）！", "query", ["电饭煲", "rice", "cooker"]),
    ("LED灯带 12V 5米", "query", ["led灯带", "12v", "5", "米"]),
    ("LED灯带 12V 5米", "index", ["led灯带", "灯带", "led", "12v", "5", "米"]),
    ("T恤", "query", ["t恤"]),
    # model numbers: the whole without separators; the index adds the parts and the joined leading parts
    ("KFR-35GW", "query", ["kfr35gw"]),
    ("KFR-35GW", "index", ["kfr35gw", "kfr", "35gw"]),
    ("kfr35gw", "query", ["kfr35gw"]),
    ("KFR-35GW/BP3DN8Y", "query", ["kfr35gwbp3dn8y"]),
    ("KFR-35GW/BP3DN8Y", "index", ["kfr35gwbp3dn8y", "kfr", "35gw", "bp3dn8y", "kfr35gw"]),
    ("MB-FB40 电饭锅", "query", ["mbfb40", "电饭锅"]),
    ("MB-FB40 电饭锅", "index", ["mbfb40", "mb", "fb40", "电饭锅", "饭锅"]),
    ("GB/T 14272-2021", "query", ["gbt", "142722021"]),
    ("304不锈钢", "query", ["304", "不锈钢"]),
    ("304不锈钢", "index", ["304", "不锈钢", "不锈"]),
    # numbers with units stay one token; a decimal point is kept
    ("5L 1000W 220V", "index", ["5l", "1000w", "220v"]),
    ("1.5L 2.4G遥控越野车", "query", ["1.5l", "2.4g", "遥控", "越野车"]),
    ("100%棉", "query", ["100", "棉"]),
    # full-width input is the same as half-width
    ("ＫＦＲ－３５ＧＷ", "query", ["kfr35gw"]),
    ("Ｓｍａｒｔ\u3000Ｒｉｃｅ", "query", ["smart", "rice"]),
    ("２０２５年\u3000新款", "query", ["2025", "年", "新款"]),
    # punctuation, white space, symbols, emoji and control characters are dropped
    ("，。！？、；：“”（）《》【】…—～·", "index", []),
    ("!?.,;:()[]{}<>\"'-/", "index", []),
    ("😀🔥电饭煲\x07\x00abc\u200b", "query", ["电饭煲", "abc"]),
    ("", "index", []),
    ("", "query", []),
    (" \n\n\t \u3000", "index", []),
]


@pytest.mark.parametrize(("text", "mode", "expected"), TOKEN_TABLE)
def test_analyzer_tokens(text, mode, expected):
    assert [t.text for t in ANALYZER(text, mode=mode)] == expected


POSITION_TABLE = [
    ("智能电饭煲 5L", "index", {},
     [("智能", 0, 0, 2), ("电饭煲", 1, 2, 5), ("饭煲", 1, 3, 5), ("5l", 2, 6, 8)]),
    ("不锈钢保温杯", "index", {},
     [("不锈钢保温杯", 0, 0, 6), ("不锈", 0, 0, 2), ("保温", 0, 3, 5), ("不锈钢", 0, 0, 3), ("保温杯", 0, 3, 6)]),
    # lines: positions continue, offsets count the "\n"
    ("电饭煲\nrice cooker", "index", {},
     [("电饭煲", 0, 0, 3), ("饭煲", 0, 1, 3), ("rice", 1, 4, 8), ("cooker", 2, 9, 15)]),
    ("电饭煲\nrice cooker", "query", {"start_pos": 10, "start_char": 100},
     [("电饭煲", 10, 100, 103), ("rice", 11, 104, 108), ("cooker", 12, 109, 115)]),
    # offsets point into the original (full-width) text; each part has its own span
    ("ＫＦＲ－３５ＧＷ空调", "index", {},
     [("kfr35gw", 0, 0, 8), ("kfr", 0, 0, 3), ("35gw", 0, 4, 8), ("空调", 1, 8, 10)]),
    # stop words take no position
    ("cooker with timer", "query", {}, [("cooker", 0, 0, 6), ("timer", 1, 12, 17)]),
]


@pytest.mark.parametrize(("text", "mode", "kwargs", "expected"), POSITION_TABLE)
def test_analyzer_positions_and_chars(text, mode, kwargs, expected):
    assert _tokens(text, mode=mode, **kwargs) == expected


def test_tokenizer_without_tokenize_yields_the_whole_value():
    tokens = [(t.text, t.pos, t.startchar, t.endchar)
              for t in ChineseTokenizer()("智能 电饭煲", tokenize=False, positions=True, chars=True, start_pos=3,
                                          start_char=5)]
    assert tokens == [("智能 电饭煲", 3, 5, 11)]


def test_tokenizer_keeporiginal_gives_the_written_form():
    originals = [(t.text, t.original) for t in ANALYZER("ＫＦＲ－３５ＧＷ Cookers", mode="query", keeporiginal=True)]
    assert originals == [("kfr35gw", "ＫＦＲ－３５ＧＷ"), ("cooker", "Cookers")]


def test_tokenizer_keeps_stop_words_flagged_when_asked():
    tokens = [(t.text, t.stopped, t.pos) for t in ANALYZER("cooker with timer", mode="query", removestops=False,
                                                           positions=True)]
    assert tokens == [("cooker", False, 0), ("with", True, 1), ("timer", False, 1)]


def test_tokenizer_reuses_one_token_object():
    assert len({id(t) for t in ANALYZER("智能电饭煲 rice cooker", mode="index")}) == 1


def test_normalise_keeps_the_length():
    for text in ("ＫＦＲ－３５ＧＷ", "Ａｂｃ１２３　", "İstanbul ﬁ ™ ①", "电饭煲 Rice", "²µ"):
        assert len(normalise(text)) == len(text)
    assert normalise("ＫＦＲ－３５ＧＷ") == "kfr-35gw"


def test_ten_thousand_characters_are_analysed_with_valid_offsets():
    text = ("格力KFR-35GW/BP3DN8Y挂壁式空调，一级能效😀 Smart rice cooker 5L！\n" * 200)[:10_000]
    assert len(text) == 10_000
    tokens = [(t.text, t.pos, t.startchar, t.endchar)
              for t in ChineseTokenizer()(text, mode="index", positions=True, chars=True)]
    assert len(tokens) > 1000
    positions = [pos for _text, pos, _s, _e in tokens]
    assert positions == sorted(positions)
    for term, _pos, start, end in tokens:
        assert 0 <= start < end <= len(text)
        written = normalise(text[start:end])
        # a term is the written text, or a compound with its separators removed
        assert re.fullmatch(".*?".join(map(re.escape, term)), written), (term, written)


def test_random_text_never_breaks_the_analyzer():
    """Seeded random strings over ASCII, CJK, full-width, emoji, private use, lone surrogates, specials."""
    rng = random.Random(2025)
    ranges = [(0, 0x80), (0x80, 0x800), (0x3000, 0x3100), (0x4E00, 0x4E80), (0xFF00, 0xFF60), (0x1F300, 0x1F650),
              (0xD800, 0xE000), (0xE000, 0xE010), (0xFFF0, 0x10000), (0x20000, 0x20010)]
    for _ in range(500):
        text = "".join(chr(rng.randrange(*rng.choice(ranges))) for _ in range(rng.randrange(60)))
        for mode in ("index", "query"):
            for term, _pos, start, end in _tokens(text, mode=mode):
                assert term and 0 <= start < end <= len(text), (text, term, start, end)


def test_same_line_in_two_fields_is_segmented_once():
    analysis._index_line.cache_clear()
    title = "鑫达智能电饭煲 5L 预约定时"
    list(ANALYZER(title, mode="index", positions=True))
    list(ANALYZER(f"{title}\n鑫达\n电饭煲 家用", mode="index"))
    info = analysis._index_line.cache_info()
    assert (info.hits, info.misses) == (1, 3)


# ---------------------------------------------------------------------------- phrase consistency

PHRASE_TEXTS = [
    "智能电饭煲 5L 预约定时", "IH电磁加热电饭煲 MB-FB40", "304不锈钢电热水壶 1.8L 防干烧",
    "格力KFR-35GW/BP3DN8Y挂壁式空调 1.5匹 一级能效", "不锈钢保温杯 500ml", "纯棉圆领短袖T恤 180g S-XXL",
    "男士连帽羽绒服 90%白鸭绒", "铬钒钢两用扳手套装 12件套", "人体工学办公椅 3D扶手", "LED灯带 5米 12V 60珠/米",
    "RFID防盗刷卡包 头层牛皮", "笔记本电脑包 15.6寸", "Smart rice cooker 5L with timer",
    "Men's hooded down jacket M-4XL", "Stainless steel electric kettle 1.7L", "中华人民共和国强制性产品认证",
    "2.4G遥控越野车 1:16 USB充电", "ＫＦＲ－５０ＧＷ　变频冷暖空调", "大容量充电宝 20000mAh 快充", "",
]


def _demo_titles() -> list[str]:
    from marketplace.demo_products import KINDS

    titles = []
    for kinds in KINDS.values():
        for kind in kinds:
            values = [options[-1].split("|")[0] for _key, options in kind.specs] + ["", ""]
            titles += [title.format(*values) for title in kind.titles_zh]
            values = [options[0].split("|")[-1] for _key, options in kind.specs] + ["", ""]
            titles += [title.format(*values) for title in kind.titles_en]
    return titles


@pytest.mark.parametrize("text", PHRASE_TEXTS + _demo_titles())
def test_every_query_token_is_in_the_index_at_the_same_position(text):
    indexed = {(term, pos) for term, pos, _s, _e in _tokens(text, mode="index")}
    queried = [(term, pos) for term, pos, _s, _e in _tokens(text, mode="query")]
    assert set(queried) <= indexed
    # and the positions of the query are 0, 1, 2, …: a phrase of them matches the index
    assert [pos for _term, pos in queried] == list(range(len(queried)))


@pytest.mark.parametrize(("document", "query"), [
    ("不锈钢保温杯 500ml", "保温杯"), ("不锈钢保温杯 500ml", "不锈钢"), ("格力KFR-35GW/BP3DN8Y挂壁式空调", "KFR-35GW"),
    ("格力KFR-35GW/BP3DN8Y挂壁式空调", "kfr35gw"), ("格力KFR-35GW/BP3DN8Y挂壁式空调", "空调"),
    ("Smart rice cookers", "rice cooker"), ("智能电饭煲", "电饭煲"), ("LED灯带 5米", "LED"), ("LED灯带 5米", "灯带"),
    ("笔记本电脑包", "笔记本电脑"), ("MB-FB40 家用电饭锅", "MB-FB40"), ("ＫＦＲ－３５ＧＷ", "KFR-35GW"),
])
def test_query_terms_are_found_among_index_terms(document, query):
    assert set(query_terms(query)) <= set(index_terms(document))


# ---------------------------------------------------------------------------- dictionary

@pytest.mark.parametrize("word", [
    "电饭煲", "电饭锅", "空气炸锅", "电热水壶", "不锈钢保温杯", "保温杯", "蓝牙耳机", "充电宝", "移动电源", "LED灯带",
])
def test_domain_words_are_one_query_term(word):
    assert query_terms(word) == [normalise(word)]


def test_default_dictionary_is_kept():
    assert query_terms("我们在北京买了一台电视机") == ["我们", "在", "北京", "买", "了", "一台", "电视机"]


def test_userdict_words_all_load():
    entries = analysis.parse_userdict(analysis.USERDICT_PATH.read_text(encoding="utf-8"))
    assert len(entries) > 100
    for word, _freq in entries:
        assert rjieba.has_word(normalise(word)), word


# ---------------------------------------------------------------------------- synonyms

SYNONYM_GROUPS = parse_synonym_lines(analysis.SYNONYMS_PATH.read_text(encoding="utf-8"))


def test_synonym_table_is_large_enough():
    assert Synonyms.default().group_count == len(SYNONYM_GROUPS) >= 220


def test_every_single_word_of_the_synonym_table_is_one_query_term():
    """Each alternative written without spaces is one term; a Chinese one is in the dictionary (not guessed
    by the HMM), so the index also finds it inside longer words."""
    wrong = []
    for alternative in sorted({alt for group in SYNONYM_GROUPS for alt in group if not re.search(r"\s", alt)}):
        terms = query_terms(alternative)
        if len(terms) != 1 or (re.search(r"[^\x00-\x7f]", alternative) and not rjieba.has_word(terms[0])):
            wrong.append((alternative, terms))
    assert wrong == []


def test_no_alternative_is_in_two_synonym_groups():
    owner: dict[tuple[str, ...], int] = {}
    for number, group in enumerate(SYNONYM_GROUPS):
        for alternative in group:
            terms = tuple(query_terms(alternative))
            assert terms, alternative
            assert owner.setdefault(terms, number) == number, (alternative, SYNONYM_GROUPS[owner[terms]])


@pytest.mark.parametrize(("query", "expected"), [
    ("rice cooker", [[("rice", "cooker"), ("电饭煲",), ("电饭锅",)]]),
    ("电饭锅 304不锈钢", [[("电饭锅",), ("电饭煲",), ("rice", "cooker")], [("304",)],
                      [("不锈钢",), ("stainless", "steel"), ("stainless",), ("inox",)]]),
    ("充电宝", [[("充电宝",), ("移动电源",), ("power", "bank"), ("portabl", "charger")]]),
    ("Stainless steel rice cookers 5L", [[("stainless", "steel"), ("不锈钢",), ("stainless",), ("inox",)],
                                         [("rice", "cooker"), ("电饭煲",), ("电饭锅",)], [("5l",)]]),
    ("", []),
])
def test_synonyms_expand(query, expected):
    assert Synonyms.default().expand(query_terms(query)) == expected


@pytest.mark.parametrize(("query", "alternative"), [
    ("手机", ("smartphon",)), ("智能手机", ("mobil", "phone")), ("smartphone", ("手机",)),
    ("拉杆箱", ("suitcas",)), ("suitcase", ("行李箱",)), ("trolley case", ("旅行箱",)), ("移动电源", ("充电宝",)),
    ("不锈钢", ("stainless", "steel")), ("t-shirt", ("t恤",)), ("T恤", ("tshirt",)),
])
def test_synonyms_cross_languages(query, alternative):
    (concept,) = Synonyms.default().expand(query_terms(query))
    assert alternative in concept


def test_synonyms_longest_match_wins():
    synonyms = Synonyms.parse("rice = 大米\nrice cooker = 电饭煲\n# a comment\n\nbank|银行")
    assert synonyms.group_count == 3
    assert synonyms.expand(["rice", "cooker", "rice", "bank"]) == [
        [("rice", "cooker"), ("电饭煲",)], [("rice",), ("大米",)], [("bank",), ("银行",)]]


def test_synonyms_default_is_loaded_once():
    assert Synonyms.default() is Synonyms.default()
