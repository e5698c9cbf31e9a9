"""search_index.query.parse: what a search box's text becomes (concepts, phrases, exclusions, notices); it never raises."""
from __future__ import annotations

import random
import unicodedata

import pytest

from search_index.query import (
    MAX_CONCEPTS,
    MAX_QUERY_CHARS,
    NOTICE_NO_WORDS,
    NOTICE_ONLY_EXCLUSIONS,
    NOTICE_OPERATORS_IGNORED,
    NOTICE_TOO_MANY_WORDS,
    NOTICE_TRUNCATED,
    ParsedQuery,
    parse,
)


def heads(parsed: ParsedQuery) -> list[tuple[str, ...]]:
    """The user's own words of each concept (the first alternative; synonyms follow it)."""
    return [concept[0] for concept in parsed.concepts]


def alternatives(parsed: ParsedQuery, index: int = 0) -> set[tuple[str, ...]]:
    return set(parsed.concepts[index])


# (input, heads of the concepts, phrases, excluded, notices)
TABLE = [
    pytest.param("电饭煲", [("电饭煲",)], (), (), (), id="chinese-word"),
    pytest.param("不锈钢保温杯 500ml", [("不锈钢保温杯",), ("500ml",)], (), (), (), id="chinese-with-unit"),
    pytest.param("rice cooker", [("rice", "cooker")], (), (), (), id="english-synonym-span-is-one-concept"),
    pytest.param("stainless steel cups", [("stainless", "steel"), ("cup",)], (), (), (), id="english-stemmed"),
    pytest.param("304不锈钢", [("304",), ("不锈钢",)], (), (), (), id="number-glued-to-chinese"),
    pytest.param("不锈钢 thermos", [("不锈钢",), ("thermo",)], (), (), (), id="mixed-languages"),
    pytest.param("KFR-35GW", [("kfr35gw",)], (), (), (), id="model-number"),
    pytest.param("kfr35gw", [("kfr35gw",)], (), (), (), id="model-number-typed-plain"),
    pytest.param("ＫＦＲ－３５ＧＷ", [("kfr35gw",)], (), (), (), id="model-number-full-width"),
    pytest.param('"不锈钢 保温杯"', [], (("不锈钢", "保温杯"),), (), (), id="quoted-phrase"),
    pytest.param('"电饭煲"', [("电饭煲",)], (), (), (), id="quoted-single-word-is-a-word"),
    pytest.param('"不锈钢 保温杯', [("不锈钢",), ("保温杯",)], (), (), (), id="unbalanced-quote"),
    pytest.param('""', [], (), (), (NOTICE_NO_WORDS,), id="empty-quotes"),
    pytest.param("(电饭煲 空调)", [("电饭煲",), ("空调",)], (), (), (), id="parentheses-are-spaces"),
    pytest.param("((电饭煲", [("电饭煲",)], (), (), (), id="unbalanced-parentheses"),
    pytest.param("电饭煲 AND 空调", [("电饭煲",), ("空调",)], (), (), (), id="explicit-and"),
    pytest.param("电饭煲 -空调", [("电饭煲",)], (), ("空调",), (), id="minus-excludes"),
    pytest.param("电饭煲 NOT 空调", [("电饭煲",)], (), ("空调",), (), id="not-excludes"),
    pytest.param("-空调", [], (), ("空调",), (NOTICE_ONLY_EXCLUSIONS,), id="only-exclusion"),
    pytest.param("AND", [], (), (), (NOTICE_OPERATORS_IGNORED,), id="and-alone"),
    pytest.param("OR", [], (), (), (NOTICE_OPERATORS_IGNORED,), id="or-alone"),
    pytest.param("NOT", [], (), (), (NOTICE_OPERATORS_IGNORED,), id="not-alone"),
    pytest.param("AND OR NOT", [], (), (), (NOTICE_OPERATORS_IGNORED,), id="operators-alone"),
    pytest.param("电饭煲 OR", [("电饭煲",)], (), (), (), id="dangling-or"),
    pytest.param("*", [], (), (), (NOTICE_NO_WORDS,), id="star"),
    pytest.param("?", [], (), (), (NOTICE_NO_WORDS,), id="question-mark"),
    pytest.param("price:abc", [("price",), ("abc",)], (), (), (), id="field-syntax-is-words"),
    pytest.param("-", [], (), (), (NOTICE_NO_WORDS,), id="lone-minus"),
    pytest.param("电饭煲\x00\x07\u202e", [("电饭煲",)], (), (), (), id="control-characters"),
    pytest.param("😀", [], (), (), (NOTICE_NO_WORDS,), id="emoji-alone"),
    pytest.param("电饭煲😀", [("电饭煲",)], (), (), (), id="emoji-after-word"),
    pytest.param("", [], (), (), (), id="empty"),
    pytest.param("   \t\n ", [], (), (), (), id="white-space"),
    pytest.param(None, [], (), (), (), id="none"),
    pytest.param("手机 手机", [("手机",)], (), (), (), id="repeated-word-counts-once"),
]


@pytest.mark.parametrize(("raw", "expected_heads", "phrases", "excluded", "notices"), TABLE)
def test_parse_table(raw, expected_heads, phrases, excluded, notices):
    parsed = parse(raw)
    assert heads(parsed) == expected_heads
    assert parsed.phrases == phrases
    # each excluded word comes first as itself, then its synonyms
    assert parsed.excluded[:len(excluded)] == tuple((term,) for term in excluded)
    assert parsed.notices == notices


def test_plain_word_carries_its_synonyms():
    parsed = parse("电饭煲")
    assert {("电饭锅",), ("rice", "cooker")} <= alternatives(parsed)


def test_english_words_carry_chinese_synonyms():
    parsed = parse("power bank")
    assert {("充电宝",), ("移动电源",)} <= alternatives(parsed)


@pytest.mark.parametrize("raw", ["电饭煲 OR 空调", "(电饭煲 OR 空调)", "电饭煲 || 空调", "电饭煲 或 空调"])
def test_or_makes_one_concept_of_either_word(raw):
    parsed = parse(raw)
    assert len(parsed.concepts) == 1
    assert {("电饭煲",), ("空调",), ("rice", "cooker")} <= alternatives(parsed)
    assert parsed.notices == ()


def test_or_joins_only_its_neighbours():
    parsed = parse("不锈钢 保温杯 OR 水杯")
    assert heads(parsed) == [("不锈钢",), ("保温杯",)]
    assert ("水杯",) in alternatives(parsed, 1)
    assert ("水杯",) not in alternatives(parsed, 0)


def test_not_before_a_phrase_excludes_the_phrase():
    parsed = parse('保温杯 NOT "塑料 水杯"')
    assert heads(parsed) == [("保温杯",)]
    assert parsed.phrases == ()
    assert parsed.excluded == (("塑料", "水杯"),)


def test_ten_thousand_characters_are_cut_with_a_notice():
    parsed = parse("x" * 10_000)
    assert NOTICE_TRUNCATED in parsed.notices
    assert len(parsed.text) <= MAX_QUERY_CHARS


def test_ten_thousand_chinese_characters_are_cut_with_a_notice():
    parsed = parse("电饭煲 保温杯 " * 1_250)  # 8 characters a repetition: the cut falls between words
    assert NOTICE_TRUNCATED in parsed.notices
    assert len(parsed.text) <= MAX_QUERY_CHARS
    assert heads(parsed) == [("电饭煲",), ("保温杯",)]


def test_text_under_the_limit_is_not_cut():
    parsed = parse("电饭煲 " * 20)
    assert NOTICE_TRUNCATED not in parsed.notices


def test_control_characters_never_reach_the_searched_text():
    parsed = parse("电饭煲\x00\x07\u202e 空调\x1b[31m")
    assert not any(unicodedata.category(ch).startswith("C") for ch in parsed.text)
    assert ("电饭煲",) in heads(parsed)


def test_too_many_words_are_cut_with_a_notice():
    words = ["电饭煲", "空调", "冰箱", "洗衣机", "微波炉", "烤箱", "电磁炉", "吸尘器", "加湿器", "风扇",
             "台灯", "插座", "键盘", "鼠标"]
    parsed = parse(" ".join(words))
    assert len(parsed.concepts) == MAX_CONCEPTS
    assert NOTICE_TOO_MANY_WORDS in parsed.notices
    assert heads(parsed) == [(word,) for word in words[:MAX_CONCEPTS]]


def test_a_word_repeated_many_times_is_not_too_many_words():
    # FINDING: the MAX_CONCEPTS cut happens before duplicates are removed.
    parsed = parse("手机 " * (MAX_CONCEPTS + 1))
    assert heads(parsed) == [("手机",)]
    assert NOTICE_TOO_MANY_WORDS not in parsed.notices


def test_repeated_words_do_not_push_distinct_words_out():
    # FINDING: twelve distinct words each typed twice keep only six of them.
    words = ["电饭煲", "空调", "冰箱", "洗衣机", "微波炉", "烤箱", "电磁炉", "吸尘器", "加湿器", "风扇", "台灯", "插座"]
    parsed = parse(" ".join(word for word in words for _ in range(2)))
    assert heads(parsed) == [(word,) for word in words]


def test_all_terms_include_synonyms_and_phrase_words():
    parsed = parse('电饭煲 "不锈钢 保温杯"')
    assert {"电饭煲", "电饭锅", "不锈钢", "保温杯"} <= parsed.all_terms()


def test_words_are_the_users_words_for_did_you_mean():
    assert parse("电饭煲 rice cooker 电饭煲").words == ("电饭煲", "rice", "cooker")


def test_is_empty_for_browse_and_operators():
    assert parse("").is_empty
    assert parse("AND").is_empty
    assert not parse("电饭煲").is_empty
    assert not parse('"不锈钢 保温杯"').is_empty


# ----------------------------------------------------------------------------- fuzz

_ALPHABET = (
    list("电饭煲锅不锈钢保温杯空调充电宝移动电源手机壳家用304ml")
    + list("abcdefghijklmnopqrstuvwxyzKFRGW0123456789")
    + list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
    + list("\"\"\"''' \t\n　，。、；：？！（）【】《》“”")
    + ["\x00", "\x07", "\u202e", "\u200b", "\ufeff", "😀", "é", "ß", "\U0002a6a5", "\ud7ff"]
)
_TOKENS = ["AND", "OR", "NOT", "and", "or", "not", "&&", "||", "或", "非", "-", "--", '"', "*", "?", "price:",
           "title:", "(", ")", "KFR-35GW/26", "电饭煲", "rice cooker", "\\", "~2", "^3", "[1 TO 5]"]


def random_queries(count: int, seed: int) -> list[str]:
    """Deterministic random strings mixing CJK, ASCII punctuation, quotes and operators."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(0, 12)):
            if rng.random() < 0.3:
                parts.append(rng.choice(_TOKENS))
            else:
                parts.append("".join(rng.choice(_ALPHABET) for _ in range(rng.randint(1, 6))))
            parts.append(rng.choice([" ", "", " ", "  "]))
        text = "".join(parts)
        if rng.random() < 0.02:
            text = text * 400
        out.append(text)
    return out


def test_parse_never_raises_on_random_text():
    for raw in random_queries(2000, seed=20240601):
        parsed = parse(raw)
        assert len(parsed.text) <= MAX_QUERY_CHARS
        assert not any(unicodedata.category(ch).startswith("C") for ch in parsed.text)
        assert len(parsed.concepts) <= MAX_CONCEPTS
        assert all(concept and all(alt for alt in concept) for concept in parsed.concepts)
        assert all(len(phrase) >= 2 for phrase in parsed.phrases)
        assert all(alt and all(term.strip() for term in alt) for alt in parsed.excluded)
