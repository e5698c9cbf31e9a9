"""Neighbouring provinces (data/province_neighbours.csv) and how near a region is to a delivery region."""
import csv

import pytest

from marketplace import regions

BEIJING, TIANJIN, HEBEI = "110000", "120000", "130000"
SHANGHAI, JIANGSU, ZHEJIANG, ANHUI, FUJIAN, JIANGXI = "310000", "320000", "330000", "340000", "350000", "360000"
GUANGDONG, GUANGXI, HAINAN = "440000", "450000", "460000"
SICHUAN, TIBET, GANSU, QINGHAI, XINJIANG = "510000", "540000", "620000", "630000", "650000"
HANGZHOU, NINGBO, NANJING = "330100", "330200", "320100"


def _rows():
    with regions.NEIGHBOURS_FILE.open(encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == ["province_code", "province_name", "neighbour_code", "neighbour_name"]
        return list(reader)


def test_every_code_and_name_is_a_province_of_the_gbt2260_file():
    known = {p.code: p.name for p in regions.provinces()}
    rows = _rows()
    assert rows
    for row in rows:
        assert None not in row.values() and None not in row
        assert known.get(row["province_code"]) == row["province_name"], row
        assert known.get(row["neighbour_code"]) == row["neighbour_name"], row
        assert row["province_code"] != row["neighbour_code"], row


def test_table_is_symmetric_without_duplicates_and_covers_all_31_provinces():
    pairs = [(row["province_code"], row["neighbour_code"]) for row in _rows()]
    assert len(pairs) == len(set(pairs))
    assert {(b, a) for a, b in pairs} == set(pairs)
    assert {a for a, _ in pairs} == {p.code for p in regions.provinces()}
    assert len(regions.provinces()) == 31
    for province in regions.provinces():
        for other in regions.neighbours(province.code):
            assert province.code in regions.neighbours(other)


@pytest.mark.parametrize(("code", "expected"), [
    (BEIJING, {TIANJIN, HEBEI}),
    (TIANJIN, {BEIJING, HEBEI}),
    (SHANGHAI, {JIANGSU, ZHEJIANG}),
    (ZHEJIANG, {SHANGHAI, JIANGSU, ANHUI, JIANGXI, FUJIAN}),
    (XINJIANG, {TIBET, QINGHAI, GANSU}),
    (HAINAN, {GUANGDONG, GUANGXI}),  # across the Qiongzhou Strait
    ("150000", {"230000", "220000", "210000", HEBEI, "140000", "610000", "640000", GANSU}),
    ("610000", {"140000", "150000", "640000", GANSU, SICHUAN, "500000", "420000", "410000"}),
])
def test_known_neighbours(code, expected):
    assert regions.neighbours(code) == frozenset(expected)


@pytest.mark.parametrize(("a", "b"), [
    (BEIJING, "370000"),   # 北京 and 山东 are separated by 河北 and 天津
    (TIANJIN, "370000"),
    (GANSU, TIBET),        # 青海 lies between
    (JIANGSU, "410000"),   # 江苏 and 河南 do not touch
    (FUJIAN, ANHUI),
    (HAINAN, FUJIAN),
])
def test_provinces_that_do_not_touch(a, b):
    assert b not in regions.neighbours(a)
    assert a not in regions.neighbours(b)


def test_neighbours_of_a_city_code_are_its_provinces_and_bad_codes_have_none():
    assert regions.neighbours(HANGZHOU) == regions.neighbours(ZHEJIANG)
    assert regions.neighbours(" 330000 ") == regions.neighbours(ZHEJIANG)
    for bad in (None, "", "  ", "990000", "abc", "3", "３３００００"):
        assert regions.neighbours(bad) == frozenset()


@pytest.mark.parametrize(("delivery", "supplier", "expected"), [
    ((ZHEJIANG, HANGZHOU), (ZHEJIANG, HANGZHOU), "city"),
    ((ZHEJIANG, HANGZHOU), (ZHEJIANG, NINGBO), "province"),
    ((ZHEJIANG, None), (ZHEJIANG, HANGZHOU), "province"),
    ((ZHEJIANG, HANGZHOU), (ZHEJIANG, None), "province"),
    ((ZHEJIANG, ""), (ZHEJIANG, ""), "province"),
    ((ZHEJIANG, HANGZHOU), (JIANGSU, NANJING), "neighbour"),
    ((JIANGSU, NANJING), (ZHEJIANG, HANGZHOU), "neighbour"),
    ((HAINAN, None), (GUANGDONG, "440100"), "neighbour"),
    ((ZHEJIANG, HANGZHOU), (XINJIANG, "650100"), "elsewhere"),
    ((BEIJING, "110100"), ("370000", "370100"), "elsewhere"),
    ((HANGZHOU, None), (ZHEJIANG, None), "province"),  # a city code given as the province
    ((None, HANGZHOU), (ZHEJIANG, HANGZHOU), "unknown"),
    ((ZHEJIANG, HANGZHOU), (None, HANGZHOU), "unknown"),
    (("", None), ("", None), "unknown"),
    ((ZHEJIANG, None), ("990000", None), "unknown"),
    ((ZHEJIANG, None), ("not a code", None), "unknown"),
])
def test_region_relation(delivery, supplier, expected):
    relation = regions.region_relation(*delivery, *supplier)
    assert relation == expected
    assert relation in regions.RELATIONS
