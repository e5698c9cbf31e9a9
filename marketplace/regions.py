"""China's provinces and prefecture-level cities (GB/T 2260, NBS 2023 codes).

Owns: loading ``data/gbt2260_province_city.csv`` once and answering picker and validation
questions. Grouping rows (市辖区, 县, 省直辖县级行政区划) are shown under the province's name.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA_FILE = Path(__file__).parent / "data" / "gbt2260_province_city.csv"


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
