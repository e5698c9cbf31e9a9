"""The catalog's cell vocabulary: the words accepted for units, yes/no, stock places, CCC states, markets,
certifications, price breaks, specifications and HS codes, and how products' values are written back.

Owns: the parsers that the spreadsheet import and the product form share (a form and an import
say the same thing about the same value) and the names templates, exports and pages write
(``unit_name``, ``country_name``; category names live with the categories in ``categories.py``).
Plain text in, typed values out: no database, no Flask views or forms.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from functools import cache

from marketplace.catalog import hs
from marketplace.catalog.categories import CATEGORIES, CERTIFICATION_CODES, UNITS, category_names, msgid
from marketplace.catalog.models import CccStatus, StockLocation
from marketplace.catalog.rows import (
    MAX_CERTIFICATIONS,
    MAX_LEAD_TIME_DAYS,
    MAX_PRICE_TIERS,
    MAX_SPEC_KEY,
    MAX_SPEC_VALUE,
    MAX_SPECS,
    CertificationInput,
)
from marketplace.i18n import _l, fen_to_yuan
from marketplace.imports.cells import (
    DATE,
    CellError,
    parse_date,
    parse_int,
    parse_price,
    show,
    split_items,
    vocab_key,
)
from marketplace.imports.columns import header_forms


@cache
def _category_index() -> dict[str, str]:
    index = {}
    for category in CATEGORIES:
        for name in category_names(category):
            index.setdefault(vocab_key(name), category.code)
    return index


#: English words for units, mapped to the stored Chinese unit
UNIT_ALIASES: dict[str, tuple[str, ...]] = {
    "件": ("piece", "pieces", "pcs", "pc", "item", "items"),
    "个": ("each", "ea"),
    "台": ("unit", "units", "machine", "machines"),
    "套": ("set", "sets", "kit", "kits"),
    "双": ("pair", "pairs", "prs"),
    "只": (),
    "箱": ("carton", "cartons", "ctn", "ctns", "box", "boxes", "case", "cases"),
    "包": ("pack", "packs", "bag", "bags", "pkg", "packet", "packets"),
    "米": ("m", "meter", "meters", "metre", "metres"),
    "千克": ("kg", "kgs", "kilogram", "kilograms", "公斤"),
    "吨": ("t", "ton", "tons", "tonne", "tonnes", "mt"),
    "平方米": ("sqm", "m2", "squaremeter", "squaremeters", "squaremetre", "squaremetres", "平米"),
    "卷": ("roll", "rolls"),
    "张": ("sheet", "sheets"),
    "把": (),
    "盏": ("lamp", "lamps"),
}
#: the English gloss written after a unit in English exports: "台 (unit)"
UNIT_GLOSS_EN = {"件": "piece", "个": "each", "台": "unit", "套": "set", "双": "pair", "只": "piece",
                 "箱": "carton", "包": "pack", "米": "metre", "千克": "kg", "吨": "tonne", "平方米": "sqm",
                 "卷": "roll", "张": "sheet", "把": "piece", "盏": "lamp"}


@cache
def _unit_index() -> dict[str, str]:
    index = {vocab_key(unit): unit for unit in UNITS}
    for unit, words in UNIT_ALIASES.items():
        if unit in UNITS:
            for word in words:
                index.setdefault(vocab_key(word), unit)
    return index


def unit_name(unit: str, lang: str) -> str:
    """The unit as templates and exports write it: 台 in Chinese, '台 (unit)' in English."""
    gloss = UNIT_GLOSS_EN.get(unit)
    return f"{unit} ({gloss})" if lang == "en" and gloss else unit



STOCK_LOCATION_WORDS: dict[StockLocation, tuple[str, str, tuple[str, ...]]] = {
    StockLocation.FACTORY: ("工厂", "factory", ("厂内", "工厂仓库", "厂仓", "本厂", "Factory warehouse")),
    StockLocation.PORT: ("港口", "port", ("港口仓", "码头", "港区", "Port warehouse", "Harbour")),
    StockLocation.BONDED: ("保税仓", "bonded", ("保税仓库", "保税区", "Bonded warehouse", "Bonded zone")),
}
CCC_WORDS: dict[CccStatus, tuple[str, str, tuple[str, ...]]] = {
    CccStatus.HELD: ("已获得", "held", ("已取得", "已有", "有", "持有", "是", "yes", "y", "CCC held", "✓", "√")),
    CccStatus.NOT_NEEDED: ("不需要", "not_needed", ("无需", "不适用", "免", "无需认证", "不需", "not required",
                                                 "CCC not required", "n/a", "na", "exempt")),
    CccStatus.MISSING: ("未获得", "missing", ("未取得", "没有", "无", "否", "no", "n", "CCC missing", "not held",
                                            "×", "✗")),
}
TRUE_WORDS = ("是", "yes", "y", "true", "t", "1", "✓", "✔", "√", "有", "对", "可以", "能", "可", "可开", "能开",
              "已完成", "ok")
FALSE_WORDS = ("否", "no", "n", "false", "f", "0", "✗", "✘", "×", "无", "没有", "不", "不可以", "不能", "不可",
               "不可开", "不能开", "未完成")


def _enum_index(words: Mapping) -> dict[str, object]:
    index = {}
    for member, (zh, en, aliases) in words.items():
        for word in (zh, en, member.value, msgid(member.label), *aliases):
            index.setdefault(vocab_key(word), member)
    return index


_STOCK_INDEX = _enum_index(STOCK_LOCATION_WORDS)
_CCC_INDEX = _enum_index(CCC_WORDS)
_BOOL_INDEX = {**{vocab_key(w): True for w in TRUE_WORDS}, **{vocab_key(w): False for w in FALSE_WORDS}}

_NOT_COUNTRIES = {"ZZ", "EZ", "UN", "XA", "XB", "QO"}
COUNTRY_ALIASES = {
    "USA": "US", "U.S.": "US", "U.S.A.": "US", "America": "US", "United States of America": "US",
    "UK": "GB", "Britain": "GB", "Great Britain": "GB", "England": "GB", "UAE": "AE", "Korea": "KR",
    "南韩": "KR", "Holland": "NL", "Russian Federation": "RU", "Viet Nam": "VN", "欧洲联盟": "EU",
}


@cache
def _countries() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(lookup key → code, code → English name, code → Chinese name) from Babel's territory names."""
    from babel import Locale

    names_en = {code: name for code, name in Locale("en").territories.items()
                if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES}
    zh_all = Locale.parse("zh_Hans_CN").territories
    names_zh = {code: zh_all.get(code, names_en[code]) for code in names_en}
    index = {}
    for code in names_en:
        index[vocab_key(code)] = code
    for names in (names_en, names_zh):
        for code, name in names.items():
            index.setdefault(vocab_key(name), code)
    for alias, code in COUNTRY_ALIASES.items():
        index.setdefault(vocab_key(alias), code)
    return index, names_en, names_zh


def country_name(code: str, lang: str) -> str:
    """A market's name as templates and exports write it (美国 / United States)."""
    _index, names_en, names_zh = _countries()
    return (names_zh if lang == "zh" else names_en).get(code, code)


_CERT_ALIASES = {"3c": "CCC", "中国强制性产品认证": "CCC", "强制性产品认证": "CCC", "强制认证": "CCC",
                 "中国质量认证": "CQC", "其他": "OTHER", "其它": "OTHER"}


def _cert_key(text: str) -> str:
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text).lower())


_CERT_INDEX = {**{_cert_key(code): code for code in CERTIFICATION_CODES}, **_CERT_ALIASES}


_PAIR = re.compile(r"\s*[:：]\s*")


def parse_price_tiers(text: str) -> list[tuple[int | None, int]]:
    """'100:12.50; 500:11.80' → [(100, 1250), (500, 1180)]; a lone price gives [(None, fen)] (from the MOQ)."""
    items = split_items(text)
    if len(items) == 1 and not re.search(r"[:：]", items[0]):
        return [(None, parse_price(items[0]))]
    if len(items) > MAX_PRICE_TIERS:
        raise CellError(_l("At most %(limit)s price breaks.", limit=MAX_PRICE_TIERS))
    tiers: list[tuple[int | None, int]] = []
    for item in items:
        parts = _PAIR.split(item, maxsplit=1)
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise CellError(_l(
                "Write price breaks as quantity:price separated by semicolons (for example 100:12.50; 500:11.80); "
                "%(value)s is not one.", value=show(item)))
        quantity_text, price_text = parts
        quantity_text = re.sub(r"^(?:≥|>=|>|从)|(?:\+|及以上|以上|起)$", "", quantity_text.strip())
        quantity_text = re.split(r"\s*(?:-|~|～|—|–|至|到)\s*", quantity_text)[0]
        quantity = parse_int(quantity_text, minimum=1)
        price = parse_price(price_text)
        if tiers:
            previous_quantity, previous_price = tiers[-1]
            if quantity == previous_quantity or any(q == quantity for q, _p in tiers):
                raise CellError(_l("The quantity %(quantity)s appears twice in the price breaks.",
                                   quantity=quantity))
            if quantity < previous_quantity:
                raise CellError(_l(
                    "Price breaks out of order: %(quantity)s comes after %(previous)s; list them from the "
                    "smallest quantity up.", quantity=quantity, previous=previous_quantity))
            if price > previous_price:
                raise CellError(_l(
                    "The price rises from %(previous)s to %(price)s at %(quantity)s: a larger quantity should "
                    "not cost more per unit.", previous=fen_to_yuan(previous_price), price=fen_to_yuan(price),
                    quantity=quantity))
        tiers.append((quantity, price))
    return tiers


def parse_specs(text: str) -> list[list[str]]:
    """'颜色:白色; 功率:1200W' → [['颜色', '白色'], ['功率', '1200W']]."""
    specs = []
    for item in split_items(text):
        parts = re.split(r"\s*[:：=]\s*", item, maxsplit=1)
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise CellError(_l(
                "Write specifications as name:value separated by semicolons (for example 颜色:白色; 功率:1200W); "
                "%(value)s is not one.", value=show(item)))
        key, value = parts
        if len(key) > MAX_SPEC_KEY or len(value) > MAX_SPEC_VALUE:
            raise CellError(_l("The specification %(value)s is too long.", value=show(item)))
        specs.append([key, value])
    if len(specs) > MAX_SPECS:
        raise CellError(_l("At most %(limit)s specifications.", limit=MAX_SPECS))
    return specs



def _certification_kinds() -> str:
    return ", ".join(sorted(CERTIFICATION_CODES))


def parse_certifications(text: str) -> list[CertificationInput]:
    """'CCC:2020011234567:2027-05-01; CE:ABC123' → certifications (kind, number, expiry)."""
    found = []
    for item in split_items(text):
        parts = [part.strip() for part in re.split(r"[:：]", item)]
        kind = _CERT_INDEX.get(_cert_key(parts[0]))
        if not parts[0]:
            raise CellError(_l(
                "Write certifications as kind:number:expiry separated by semicolons (for example "
                "CCC:2020011234567:2027-05-01); %(value)s is not one.", value=show(item)))
        if kind is None:
            raise CellError(_l("Unknown certification %(value)s; use one of: %(kinds)s.",
                               value=show(parts[0]), kinds=_certification_kinds()))
        number, expires = None, None
        if len(parts) == 2:
            if DATE.match(parts[1]):
                expires = parse_date(parts[1])
            else:
                number = parts[1] or None
        elif len(parts) >= 3:
            number = ":".join(parts[1:-1]).strip() or None
            if parts[-1]:
                try:
                    expires = parse_date(parts[-1])
                except CellError:
                    raise CellError(_l(
                        "The expiry date %(value)s of %(kind)s is not valid: write it as YYYY-MM-DD, "
                        "for example 2027-05-01.", value=show(parts[-1]), kind=kind)) from None
        if number and len(number) > 100:
            raise CellError(_l("The certificate number %(value)s is too long.", value=show(number)))
        found.append(CertificationInput(kind, number, expires))
    if len(found) > MAX_CERTIFICATIONS:
        raise CellError(_l("At most %(limit)s certifications.", limit=MAX_CERTIFICATIONS))
    return found



def parse_hs_code(text: str) -> str:
    """'8516.60' → '851660' if the chapter or heading exists."""
    if re.search(r"[^\d.\s]", unicodedata.normalize("NFKC", text)):
        raise CellError(_l("Not an HS code: %(value)s (digits only, like 8516.60).", value=show(text)))
    digits = hs.normalize_code(unicodedata.normalize("NFKC", text))
    if hs.is_known_code(digits):
        return digits
    if len(digits) % 2 == 1 and hs.is_known_code("0" + digits):
        raise CellError(_l(
            "HS code %(value)s does not exist; if it starts with 0, format the column as text and write "
            "0%(value)s.", value=digits))
    if len(digits) not in (2, 4, 6, 8, 10):
        raise CellError(_l("An HS code has 2, 4, 6, 8 or 10 digits; %(value)s does not exist.", value=show(text)))
    raise CellError(_l("HS code %(value)s does not exist.", value=show(text)))



def parse_category(text: str) -> str:
    """A category code from its code or any name of it (the pages' names in Chinese and English, older names)."""
    code = _category_index().get(vocab_key(text))
    if code is None:
        raise CellError(_l("Unknown category %(value)s; the Instructions sheet of the template lists the "
                           "categories.", value=show(text)))
    return code


def parse_unit(text: str) -> str:
    """A unit of UNITS, from Chinese or English ('pcs' → 件, '台 (unit)' → 台)."""
    index = _unit_index()
    unit = index.get(vocab_key(text))
    if unit is None:
        _normal, bare = header_forms(text)  # '台 (unit)' → '台'
        unit = index.get(vocab_key(bare))
    if unit is None:
        raise CellError(_l("Unknown unit %(value)s; use one of: %(units)s.", value=show(text),
                           units="、".join(UNITS)))
    return unit


def parse_bool(text: str) -> bool:
    """是/否, yes/no, y/n, 1/0, true/false, ✓/✗; empty is no."""
    if not text:
        return False
    value = _BOOL_INDEX.get(vocab_key(text))
    if value is None:
        raise CellError(_l("Write yes or no (是 or 否), not %(value)s.", value=show(text)))
    return value


def parse_stock_location(text: str) -> StockLocation:
    """工厂/港口/保税仓 or factory/port/bonded."""
    value = _STOCK_INDEX.get(vocab_key(text))
    if value is None:
        raise CellError(_l("Unknown stock location %(value)s; write 工厂, 港口 or 保税仓 (factory, port or "
                           "bonded).", value=show(text)))
    return value


def parse_ccc_status(text: str) -> CccStatus:
    """已获得/不需要/未获得 or held/not_needed/missing; empty is missing."""
    if not text:
        return CccStatus.MISSING
    value = _CCC_INDEX.get(vocab_key(text))
    if value is None:
        raise CellError(_l("Unknown CCC status %(value)s; write 已获得, 不需要 or 未获得 (held, not_needed or "
                           "missing).", value=show(text)))
    return value


def parse_country(text: str) -> str:
    """An ISO 3166-1 alpha-2 code from a code or a Chinese or English name."""
    index, _en, _zh = _countries()
    code = index.get(vocab_key(text))
    if code is None:
        raise CellError(_l("Unknown country or region %(value)s; write its name or a two-letter code such as US "
                           "or DE.", value=show(text)))
    return code


def parse_lead_time(text: str) -> int:
    """Days: '15', '15天', '15 days'."""
    text = re.sub(r"\s*(?:天|日|days?|d)$", "", text, flags=re.IGNORECASE)
    return parse_int(text, minimum=0, maximum=MAX_LEAD_TIME_DAYS)


def _optional_int(text: str) -> int:
    return parse_int(text, minimum=0)


