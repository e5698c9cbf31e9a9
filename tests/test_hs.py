"""HS chapters and headings: Chinese names, lookup, code validation and the picker's search."""
import csv

import pytest

from marketplace.catalog import hs


def _read(filename):
    with (hs.DATA_DIR / filename).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_hs_chapter_names_file_lists_01_to_97_in_order():
    rows = _read("hs_chapters_zh.csv")
    assert [row["code"] for row in rows] == [f"{n:02d}" for n in range(1, 98)]
    assert all(row["name_zh"].strip() and None not in row for row in rows)


def test_hs_chapters_all_have_chinese_names():
    chapters = hs.chapters()
    assert [c.code for c in chapters] == [f"{n:02d}" for n in range(1, 98) if n != 77]
    assert all(c.name_zh for c in chapters)
    assert hs.lookup("84").name("zh_CN") == "核反应堆、锅炉、机器、机械器具及其零件"
    assert hs.lookup("94").name("zh_CN").startswith("家具；寝具、褥垫、弹簧床垫、软坐垫")
    assert hs.lookup("95").name("zh_CN") == "玩具、游戏品、运动用品及其零件、附件"


def test_hs_headings_file_covers_demo_categories():
    rows = _read("hs_headings_zh.csv")
    codes = [row["code"] for row in rows]
    assert len(codes) >= 80 and codes == sorted(set(codes))
    assert all(row["name_zh"].strip() and None not in row for row in rows)
    for code in ("8516", "6109", "6403", "8205", "9403", "9405", "9503", "8708", "4202", "8517"):
        assert code in codes
    assert all(hs.lookup(code) is not None and hs.lookup(code).level == "heading" for code in codes)


def test_hs_lookup_returns_heading_with_both_names():
    entry = hs.lookup("8516")
    assert entry.code == "8516" and entry.level == "heading" and entry.chapter == "85"
    assert entry.name_en.startswith("Electric water, space, soil heaters")
    assert entry.name("en") == entry.name_en
    assert entry.name("zh_CN").startswith("电热的快速热水器")
    assert hs.lookup("85.16") == entry
    assert hs.lookup("9999") is None and hs.lookup("") is None and hs.lookup(None) is None


def test_hs_name_falls_back_to_english_without_chinese():
    entry = hs.lookup("0101")
    assert entry.name_zh == ""
    assert entry.name("zh_CN") == entry.name_en == "Horses, asses, mules and hinnies; live"
    assert hs.lookup("8516").name("en_US") == hs.lookup("8516").name_en


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("8516.60", "851660"), (" 8516 60 00 ", "85166000"), ("８５１６．６０", "851660"), ("", ""), (None, "")],
)
def test_hs_normalize_code_keeps_digits_only(raw, expected):
    assert hs.normalize_code(raw) == expected


@pytest.mark.parametrize(
    ("code", "known"),
    [
        ("85", True), ("8516", True), ("8516.60", True), ("8516600000", True), ("0101", True),
        ("9999", False), ("99", False), ("77", False), ("7701", False), ("101", False),
        ("85166", False), ("9899", False), ("abc", False), ("", False), (None, False),
    ],
)
def test_hs_is_known_code(code, known):
    assert hs.is_known_code(code) is known


def test_hs_search_by_code_prefix():
    assert [e.code for e in hs.search("8516")] == ["8516"]
    assert [e.code for e in hs.search("8516.60")] == ["8516"]
    results = hs.search("85", limit=100)
    assert results[0].code == "85" and all(e.code.startswith("85") for e in results)
    assert len(results) == 1 + len(hs.headings("85"))


def test_hs_search_by_chinese_word():
    codes = [e.code for e in hs.search("家具", limit=50)]
    assert codes[0] == "94" and "9403" in codes


def test_hs_search_by_english_words():
    codes = [e.code for e in hs.search("Furniture", locale="en", limit=50)]
    assert "94" in codes and "9403" in codes
    assert "8516" in [e.code for e in hs.search("hand dryers irons", limit=50)]


def test_hs_search_honours_limit():
    assert len(hs.search("85", limit=5)) == 5
    assert len(hs.search("", limit=3)) == 3
    assert hs.search("家具", limit=0) == []
    assert hs.search("no such goods anywhere") == []


def test_hs_headings_of_chapter():
    codes = [e.code for e in hs.headings("94")]
    assert codes[:3] == ["9401", "9402", "9403"] and all(c.startswith("94") for c in codes)
    assert hs.headings("77") == [] and hs.headings("9") == []
