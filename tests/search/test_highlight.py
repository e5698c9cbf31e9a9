"""Highlighting: marks on the matched words of the original text, everything else escaped, fragments."""
from __future__ import annotations

import re

import pytest

from search_index.analysis import query_terms
from search_index.highlight import highlight, match_spans


def _visible(fragment: str) -> str:
    """The text a reader sees: marks removed, entities decoded."""
    import html

    return html.unescape(re.sub(r"</?mark>", "", fragment))


@pytest.mark.parametrize(("text", "terms", "expected"), [
    # a word inside a longer coarse segmentation
    ("智能电饭煲 5L", {"电饭煲"}, "智能<mark>电饭煲</mark> 5L"),
    # a sub-word of the index marks just its span
    ("不锈钢保温杯", {"保温杯"}, "不锈钢<mark>保温杯</mark>"),
    ("不锈钢保温杯", {"不锈钢"}, "<mark>不锈钢</mark>保温杯"),
    # English: the stem matches, the written form is kept
    ("Smart Rice Cookers", {"cooker"}, "Smart Rice <mark>Cookers</mark>"),
    # adjacent and overlapping matches become one mark
    ("智能电饭煲", {"智能", "电饭煲"}, "<mark>智能电饭煲</mark>"),
    ("不锈钢保温杯", {"不锈钢保温杯", "保温杯", "不锈"}, "<mark>不锈钢保温杯</mark>"),
    # model numbers, also written in full-width characters
    ("格力 KFR-35GW/26 空调", {"kfr35gw"}, "格力 <mark>KFR-35GW</mark>/26 空调"),
    ("ＫＦＲ－３５ＧＷ空调", {"kfr35gw"}, "<mark>ＫＦＲ－３５ＧＷ</mark>空调"),
    # several lines: offsets stay right after the "\n"
    ("电饭煲\nrice cooker", {"cooker"}, "电饭煲\nrice <mark>cooker</mark>"),
    # nothing matched: the escaped text
    ("<b>电饭煲</b>", {"空调"}, "&lt;b&gt;电饭煲&lt;/b&gt;"),
    ("", {"空调"}, ""),
])
def test_highlight_marks_matches(text, terms, expected):
    assert highlight(text, terms) == expected


def test_highlight_escapes_everything_else():
    marked = highlight('<script>alert("x")</script> 智能电饭煲 & \'304\'', {"电饭煲", "304"})
    assert marked == ("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; 智能<mark>电饭煲</mark> &amp; "
                      "&#x27;<mark>304</mark>&#x27;")


def test_highlight_escapes_inside_marks():
    assert highlight("a<b", {"a"}) == "<mark>a</mark>&lt;b"


def test_highlight_with_query_terms_of_the_other_language_form():
    terms = set(query_terms("rice cookers 电饭锅"))
    assert highlight("Rice Cooker 电饭锅", terms) == "<mark>Rice</mark> <mark>Cooker</mark> <mark>电饭锅</mark>"


def test_highlight_fragment_none_when_nothing_matched():
    assert highlight("智能电饭煲", {"空调"}, maxchars=50) is None
    assert highlight("智能电饭煲", set(), maxchars=50) is None


def test_highlight_fragment_short_text_is_whole():
    assert highlight("智能电饭煲 5L", {"电饭煲"}, maxchars=50) == "智能<mark>电饭煲</mark> 5L"


def test_highlight_fragment_cuts_with_ellipses_around_the_match():
    text = "甲" * 200 + "智能电饭煲" + "乙" * 200
    fragment = highlight(text, {"电饭煲"}, maxchars=60, surround=20)
    assert fragment.startswith("…") and fragment.endswith("…")
    assert "<mark>电饭煲</mark>" in fragment
    # ``surround`` characters before the match, the rest of the 60 after it
    assert _visible(fragment) == "…" + "甲" * 18 + "智能电饭煲" + "乙" * 37 + "…"


def test_highlight_fragment_prefers_the_cluster_with_most_terms():
    text = ("电饭煲说明。" + "无关的文字。" * 30 + "这款电饭煲的内胆是304不锈钢。" + "其他的文字。" * 30)
    fragment = highlight(text, {"电饭煲", "304", "不锈钢"}, maxchars=40, surround=10)
    assert "<mark>304不锈钢</mark>" in fragment
    assert "这款<mark>电饭煲</mark>" in fragment
    assert not fragment.startswith("<mark>")


def test_highlight_fragment_at_the_start_has_no_leading_ellipsis():
    text = "电饭煲" + "，说明文字" * 50
    fragment = highlight(text, {"电饭煲"}, maxchars=30)
    assert fragment.startswith("<mark>电饭煲</mark>") and fragment.endswith("…")
    assert len(_visible(fragment)) == 31


def test_highlight_fragment_at_the_end_fills_before():
    text = "说明文字，" * 50 + "电饭煲"
    fragment = highlight(text, {"电饭煲"}, maxchars=30)
    assert fragment.startswith("…") and fragment.endswith("<mark>电饭煲</mark>")
    assert len(_visible(fragment)) == 31


def test_highlight_fragment_does_not_cut_english_words():
    text = "A long description of the product that goes on and on, a Smart Rice Cooker and more text after it"
    fragment = highlight(text, {"cooker"}, maxchars=30, surround=10)
    assert fragment == "…Rice <mark>Cooker</mark> and more text…"


def test_highlight_fragment_escapes():
    text = "<i>" * 30 + "电饭煲" + "&" * 30
    fragment = highlight(text, {"电饭煲"}, maxchars=20, surround=5)
    # cut by characters of the text (5 before, 12 after), then escaped
    assert fragment == "…i&gt;&lt;i&gt;<mark>电饭煲</mark>" + "&amp;" * 12 + "…"


def test_match_spans_merges_and_sorts():
    assert match_spans("不锈钢保温杯 保温杯", {"保温杯", "不锈"}) == [(0, 2), (3, 6), (7, 10)]
