"""A match's parts and gaps in the reader's language ("无有效3C认证", "起订量 5,000 > 需求 2,000",
"单价 ¥26.50，高于目标 6%", "同省：浙江").

Matches store codes and numbers (``scoring.Fit.parts`` / ``gaps``); this module turns them into lazy
strings at read time, so each reader sees them in their own language. Used by pages, e-mails and
``flask match … `` (which prints them in the command's locale).
"""
from __future__ import annotations

from marketplace import regions
from marketplace.catalog.categories import CATEGORY_BY_CODE, CERTIFICATION_KINDS
from marketplace.i18n import _l, format_number, lazy_money
from marketplace.matching.requirements import REQUIREMENT_LABELS  # noqa: F401  (re-exported)
from marketplace.matching.scoring import is_neighbour
from marketplace.sourcing.states import READINESS_LABELS

_CERT_LABELS = dict(CERTIFICATION_KINDS)

WHY_NOT = {
    "not_public": _l("This product is not listed publicly (a draft, archived, or its company is not verified)."),
    "no_keywords": _l("The request names no goods words to match (only stop words, places or numbers)."),
    "no_words": _l("The product holds none of the request's goods words."),
    "excluded": _l("A requirement you marked as a must excludes it."),
    "not_relevant": _l("Too few of the request's goods words, and no close classification: not the goods asked for."),
    "neighbour": _l("Too few of the request's goods words, but of its category: listed as similar goods while fewer "
                    "than 10 products match the request."),
    "low_score": _l("It fits too little to be listed: its score is below the threshold."),
}


def _cert(code: str) -> str:
    label = _CERT_LABELS.get(code)
    return str(label) if label is not None else code


def _place(province: str, city: str = "") -> str:
    found_city = regions.city(city) if city else None
    found_province = regions.province(province) if province else None
    if found_city and found_province and found_city.name != found_province.name:
        return f"{found_province.name} {found_city.name}"
    return found_province.name if found_province else (province or "")


def _date(key: int) -> str:
    text = str(key)
    return f"{text[:4]}-{text[4:6]}-{text[6:]}" if len(text) == 8 else text


def gap_text(gap: dict):
    """One gap as a lazy string in the reader's language."""
    code = gap.get("code")
    if code == "cert_missing":
        return _l("No valid %(cert)s certificate", cert=_cert(gap["cert"]))
    if code == "cert_expires":
        return _l("%(cert)s certificate ends %(date)s, before the deadline", cert=_cert(gap["cert"]),
                  date=_date(gap["until"]))
    if code == "moq_over":
        return _l("MOQ %(moq)s > requested %(quantity)s", moq=format_number(gap["moq"]),
                  quantity=format_number(gap["quantity"]))
    if code == "price_over":
        return _l("Unit price %(price)s, %(pct)s%% above the target", price=lazy_money(gap["price_fen"]),
                  pct=gap["pct"])
    if code == "no_price":
        return _l("No price listed")
    if code == "capacity_short":
        return _l("Capacity %(capacity)s < requested %(quantity)s", capacity=format_number(gap["capacity"]),
                  quantity=format_number(gap["quantity"]))
    if code == "capacity_unknown":
        return _l("Capacity and stock not stated")
    if code == "readiness_missing":
        return _l("Not ready: %(item)s", item=READINESS_LABELS.get(gap["item"], gap["item"]))
    if code == "other_category":
        category = CATEGORY_BY_CODE.get(gap.get("category", ""))
        return _l("Another category: %(category)s", category=category.label if category else gap.get("category"))
    if code == "outside_province":
        return _l("Outside your delivery province: %(province)s", province=_place(gap.get("province", "")))
    return code or ""


def part_lines(parts: dict) -> list:
    """What speaks for the match, as lazy strings (matched words, classification, region, price, flags)."""
    lines = []
    if is_neighbour(parts):
        lines.append(_l("Similar goods: same category, few or none of the request's words"))
    text = parts.get("text") or {}
    words = list(text.get("title") or []) + list(text.get("text") or [])
    if words:
        lines.append(_l("Matches: %(words)s", words="、".join(words)))
    goods = parts.get("goods") or {}
    if goods.get("level") == "subheading":
        lines.append(_l("Same HS subheading %(code)s", code=(goods.get("hs") or "")[:6]))
    elif goods.get("level") == "heading":
        lines.append(_l("Same HS heading %(code)s", code=(goods.get("hs") or "")[:4]))
    elif goods.get("level") == "chapter":
        lines.append(_l("Same HS chapter %(code)s", code=(goods.get("hs") or "")[:2]))
    elif goods.get("level") == "category":
        category = CATEGORY_BY_CODE.get(goods.get("category", ""))
        lines.append(_l("Same category: %(category)s", category=category.label if category else ""))
    region = parts.get("region") or {}
    relation = region.get("relation")
    if relation == "city":
        lines.append(_l("Same city: %(place)s", place=_place(region.get("province", ""), region.get("city", ""))))
    elif relation == "province":
        lines.append(_l("Same province: %(place)s", place=_place(region.get("province", ""))))
    elif relation == "neighbour":
        lines.append(_l("Neighbouring province: %(place)s", place=_place(region.get("province", ""))))
    price = parts.get("price") or {}
    if price and price.get("points") == price.get("max") and price.get("price_fen") is not None:
        lines.append(_l("Unit price %(price)s within the target", price=lazy_money(price["price_fen"])))
    certs = parts.get("certifications") or {}
    if certs and certs.get("held") == certs.get("required"):
        lines.append(_l("Holds every required certification"))
    capacity = parts.get("capacity") or {}
    if capacity.get("points") == capacity.get("max"):
        lines.append(_l("Capacity covers the quantity"))
    bonus = parts.get("bonus") or {}
    if bonus.get("tariff_hit"):
        lines.append(_l("Tariff-hit exporter (出口转内销)"))
    if bonus.get("zjtx"):
        lines.append(_l("Specialised SME (专精特新)"))
    return lines


def as_json(score: float, parts: dict, gaps: list, **extra) -> dict:
    """The stable ``--json`` / API shape of one match: score, parts, missing (gaps with their text)."""
    return {**extra, "score": score, "parts": parts,
            "missing": [{**gap, "text": str(gap_text(gap))} for gap in gaps],
            "reasons": [str(line) for line in part_lines(parts)]}
