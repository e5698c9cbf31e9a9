"""Harmonized System 2022 chapters and headings, with Chinese names.

Owns: loading ``data/hs_chapters_headings.csv`` (English, UN Comtrade), ``data/hs_chapters_zh.csv``
(our Chinese names of all chapters) and ``data/hs_headings_zh.csv`` (Chinese names of the
headings of the marketplace's categories; other headings fall back to English) once, and
answering lookups for validation and the searchable HS picker. Codes are strings (leading
zeros kept). Chapter 77 is reserved in the HS and absent; Comtrade's residual chapter 99
("commodities not specified according to kind", heading 9999) is not an HS code and is skipped.
Pure data: imports nothing of the app, so forms, the importer and tests call it directly.
"""
from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
ZH_NAME_FILES = ("hs_chapters_zh.csv", "hs_headings_zh.csv")
#: Comtrade's section value for its non-HS residual rows (99, 9999)
_NOT_HS_SECTION = "TOTAL"


@dataclass(frozen=True)
class HsEntry:
    """A chapter (2 digits) or heading (4 digits)."""

    code: str
    level: str  # "chapter" or "heading"
    name_en: str
    name_zh: str
    chapter: str

    def name(self, locale: object) -> str:
        """The Chinese name unless the locale is English or we have none; else English."""
        if self.name_zh and not str(locale or "").lower().startswith("en"):
            return self.name_zh
        return self.name_en


def _read_zh_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for filename in ZH_NAME_FILES:
        path = DATA_DIR / filename
        if path.exists():
            with path.open(encoding="utf-8-sig") as handle:
                for row in csv.DictReader(handle):
                    names[row["code"].strip()] = row["name_zh"].strip()
    return names


@cache
def _entries() -> dict[str, HsEntry]:
    zh_names = _read_zh_names()
    entries: dict[str, HsEntry] = {}
    with (DATA_DIR / "hs_chapters_headings.csv").open(encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            if row["section"] == _NOT_HS_SECTION:
                continue
            code = row["code"].strip()
            name_zh = (row.get("name_zh") or "").strip() or zh_names.get(code, "")
            entries[code] = HsEntry(code, row["level"], row["name_en"], name_zh, code[:2])
    return entries


def normalize_code(raw: str | None) -> str:
    """ASCII digits only: '8516.60' → '851660', full-width '８５１６' → '8516'; a lost leading zero is not guessed."""
    text = unicodedata.normalize("NFKC", raw or "")
    return "".join(ch for ch in text if "0" <= ch <= "9")


def lookup(code: str | None) -> HsEntry | None:
    """The chapter or heading with this code, or None."""
    return _entries().get(normalize_code(code))


def is_known_code(code: str | None) -> bool:
    """Whether the code is a known chapter or heading, or a 6/8/10-digit code under a known heading."""
    digits = normalize_code(code)
    if len(digits) in (2, 4):
        return digits in _entries()
    if len(digits) in (6, 8, 10):
        return digits[:4] in _entries()
    return False


def chapters() -> list[HsEntry]:
    """The chapters in code order (96: 01–97 without the reserved 77)."""
    return sorted((e for e in _entries().values() if e.level == "chapter"), key=lambda e: e.code)


def headings(chapter: str | None) -> list[HsEntry]:
    """The headings of one chapter in code order (empty for an unknown chapter)."""
    prefix = normalize_code(chapter)
    if len(prefix) != 2:
        return []
    return sorted(
        (e for e in _entries().values() if e.level == "heading" and e.chapter == prefix),
        key=lambda e: e.code,
    )


def _is_code_query(query: str) -> bool:
    return any(ch.isdigit() for ch in query) and all(ch.isdigit() or ch in ". " for ch in query)


def search(query: str | None, locale: str = "zh_CN", limit: int = 20) -> list[HsEntry]:
    """Chapters and headings whose code starts with the query (a longer code finds its heading),
    or whose English or Chinese name contains every word of it; chapters first, then by code."""
    limit = max(limit, 0)
    query = unicodedata.normalize("NFKC", query or "").strip().lower()
    if not query:
        return chapters()[:limit]
    if _is_code_query(query):
        digits = normalize_code(query)
        matches = [
            e for e in _entries().values()
            if e.code.startswith(digits) or (len(digits) > 4 and e.code == digits[:4])
        ]
    else:
        terms = query.split()
        matches = [
            e for e in _entries().values()
            if all(term in e.name_en.lower() for term in terms)
            or (e.name_zh and all(term in e.name_zh.lower() for term in terms))
        ]
    matches.sort(key=lambda e: (len(e.code), e.code))
    return matches[:limit]
