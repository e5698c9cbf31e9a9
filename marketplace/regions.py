"""China's provinces and prefecture-level cities (GB/T 2260, NBS 2023 codes).

Owns: loading ``data/gbt2260_province_city.csv`` once and answering picker and validation
questions. Grouping rows (市辖区, 县, 省直辖县级行政区划) are shown under the province's name.
Also owns which provinces border each other (``data/province_neighbours.csv``) and how near a
delivery region is to a company's region (``region_relation``), for matching.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA_FILE = Path(__file__).parent / "data" / "gbt2260_province_city.csv"
NEIGHBOURS_FILE = Path(__file__).parent / "data" / "province_neighbours.csv"

#: What ``region_relation`` answers, nearest first.
RELATIONS = ("city", "province", "neighbour", "elsewhere", "unknown")


@dataclass(frozen=True)
class Region:
    """A province or a city with its six-digit code."""

    code: str
    name: str
    province_code: str


@cache
def _load() -> tuple[dict[str, Region], dict[str, list[Region]]]:
    provinces: dict[str, Region] = {}
    cities: dict[str, list[Region]] = {}
    with DATA_FILE.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            code, province_code = row["code6"], row["province_code6"]
            if row["level"] == "province":
                provinces[code] = Region(code, row["name"], code)
                cities.setdefault(code, [])
                continue
            name = row["name"]
            if row["is_placeholder"] == "1":
                taken = {c.name for c in cities.get(province_code, [])}
                name = row["province_name"]
                if name in taken:  # 重庆市 has both 市辖区 and 县
                    name = f"{row['province_name']}（{row['name']}）"
            cities.setdefault(province_code, []).append(Region(code, name, province_code))
    return provinces, cities


def provinces() -> list[Region]:
    """All 31 provinces in code order."""
    return sorted(_load()[0].values(), key=lambda r: r.code)


def cities(province_code: str) -> list[Region]:
    """The cities of a province in code order; empty for an unknown province."""
    return list(_load()[1].get(province_code or "", []))


def province(code: str | None) -> Region | None:
    """The province with this code, or None."""
    return _load()[0].get(code or "")


def city(code: str | None) -> Region | None:
    """The city with this code, or None."""
    if not code:
        return None
    for region in _load()[1].get(code[:2] + "0000", []):
        if region.code == code:
            return region
    return None


def city_in_province(city_code: str, province_code: str) -> bool:
    """Whether the city belongs to the province."""
    found = city(city_code)
    return found is not None and found.province_code == province_code


def picker_data() -> dict[str, list[list[str]]]:
    """Province code → [[city code, city name], …], for the province/city picker script."""
    return {p.code: [[c.code, c.name] for c in cities(p.code)] for p in provinces()}


@cache
def _neighbour_table() -> dict[str, frozenset[str]]:
    table: dict[str, set[str]] = {}
    with NEIGHBOURS_FILE.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            table.setdefault(row["province_code"], set()).add(row["neighbour_code"])
    return {code: frozenset(found) for code, found in table.items()}


def _province_code(code: object) -> str | None:
    """The six-digit code of a known province from a province or city code, else None.

    Accepts "330000", a city code such as "330100" (its first two digits are its province),
    surrounding blanks, or an int; anything else (empty, not digits, no such province) is None.
    """
    text = str(code).strip() if code is not None else ""
    if len(text) < 2 or not text.isascii() or not text.isdigit():
        return None
    candidate = text[:2] + "0000"
    return candidate if candidate in _load()[0] else None


def neighbours(province_code: str | None) -> frozenset[str]:
    """The codes of the provinces bordering this one (a city code means its province).

    Read from ``data/province_neighbours.csv`` once. 海南 counts 广东 and 广西 as neighbours across
    the Qiongzhou Strait. Empty for a missing or unknown code.
    """
    code = _province_code(province_code)
    if code is None:
        return frozenset()
    return _neighbour_table().get(code, frozenset())


def region_relation(delivery_province: str | None, delivery_city: str | None,
                    province: str | None, city: str | None) -> str:
    """How near a region (say a supplier's) is to a delivery region, one of ``RELATIONS``.

    "city" when both cities are given and the same (in the same province), "province" when the
    provinces are the same, "neighbour" when they share a border (see ``neighbours``),
    "elsewhere" otherwise, and "unknown" when either province is missing or not a province code.
    A city code given as a province counts as its province; cities are compared as codes.
    """
    wanted, found = _province_code(delivery_province), _province_code(province)
    if wanted is None or found is None:
        return "unknown"
    if wanted == found:
        wanted_city = str(delivery_city).strip() if delivery_city is not None else ""
        found_city = str(city).strip() if city is not None else ""
        if wanted_city and wanted_city == found_city:
            return "city"
        return "province"
    if found in neighbours(wanted):
        return "neighbour"
    return "elsewhere"
