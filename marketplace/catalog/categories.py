"""Product categories and certification kinds: fixed vocabularies with their labels.

Owns: category codes (stored on products), the HS chapters typical of each, whether the
category generally needs China Compulsory Certification (CCC) to be sold in China, and the one
vocabulary of category names: what the pages show (the label in every language), which is also
what templates and exports write, plus older names still accepted on import.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from marketplace.i18n import SUPPORTED_LOCALES, _l


@dataclass(frozen=True)
class Category:
    """A product category of the catalog."""

    code: str
    label: object  # lazy string
    hs_chapters: tuple[str, ...]
    ccc_required: bool
    #: other names accepted on import (earlier templates' names, common synonyms); the pages' names
    #: come from the label's translations
    aliases: tuple[str, ...] = ()


CATEGORIES: tuple[Category, ...] = (
    Category("small_appliances", _l("Small home appliances"), ("85", "84"), True,
             ("小家电", "小型家电", "家用电器", "家电", "生活电器", "厨房电器")),
    Category("textiles", _l("Textiles and apparel"), ("61", "62", "63", "60", "52", "54", "55"), False,
             ("纺织服装", "纺织品", "服装", "服饰", "纺织", "家纺")),
    Category("footwear", _l("Footwear"), ("64",), False, ("鞋类", "鞋", "鞋靴", "鞋子")),
    Category("hardware", _l("Hardware and tools"), ("82", "83", "73", "84"), False,
             ("五金工具", "五金", "工具", "手动工具", "电动工具")),
    Category("furniture", _l("Furniture and home furnishings"), ("94",), False,
             ("家具家居", "家具", "家居", "家居用品")),
    Category("toys", _l("Toys and games"), ("95",), True, ("玩具", "玩具游戏", "儿童玩具")),
    Category("lighting", _l("LED lighting"), ("94", "85"), True, ("LED照明", "照明", "灯具", "LED灯", "灯饰")),
    Category("auto_parts", _l("Auto parts"), ("87", "40", "85"), False, ("汽车配件", "汽车零部件", "汽配", "汽车用品")),
    Category("luggage", _l("Luggage and bags"), ("42",), False, ("箱包", "箱包皮具", "行李箱", "包袋")),
    Category("electronics", _l("Consumer electronics"), ("85",), True, ("消费电子", "电子产品", "数码", "数码产品", "电子")),
    Category("kitchenware", _l("Kitchenware and tableware"), ("73", "69", "70", "39"), False,
             ("厨具餐具", "厨具", "餐具", "厨房用品", "厨房用具")),
    Category("sports", _l("Sports and outdoor goods"), ("95", "63"), False,
             ("运动户外", "体育用品", "户外用品", "运动用品")),
    Category("building_materials", _l("Building materials"), ("68", "69", "70", "72", "76"), False,
             ("建材", "建筑材料", "装修材料")),
    Category("machinery", _l("Machinery and equipment"), ("84",), False, ("机械设备", "机械", "设备", "机器")),
    Category("chemicals_plastics", _l("Plastics and chemical products"), ("39", "38", "34"), False,
             ("塑料化工", "塑料制品", "化工产品", "化工", "塑料")),
    Category("food", _l("Food and agricultural products"), ("16", "17", "19", "20", "21", "08", "09"), False,
             ("食品农产品", "食品", "农产品", "食品饮料")),
    Category("other", _l("Other"), (), False, ("其他", "其它")),
)
CATEGORY_BY_CODE = {c.code: c for c in CATEGORIES}


def msgid(label) -> str:
    """The English source text of a lazy label (its msgid), whatever the current locale."""
    args = getattr(label, "_args", None)
    return args[0] if args else str(label)


@cache
def _translations(locale: str):
    """The compiled catalog of ``locale`` (read once; independent of any request's language)."""
    from babel.support import Translations

    from marketplace.config import PROJECT_ROOT

    return Translations.load(str(PROJECT_ROOT / "translations"), [locale])


def label_in(label, locale: str) -> str:
    """A lazy label as the pages show it in ``locale`` (zh_CN or en)."""
    return _translations(locale).gettext(msgid(label))


def category_name(code: str, lang: str) -> str:
    """The category's name as the pages show it and templates and exports write it (zh or en)."""
    category = CATEGORY_BY_CODE.get(code)
    if category is None:
        return code
    return label_in(category.label, "zh_CN" if lang == "zh" else "en")


def category_names(category: Category) -> tuple[str, ...]:
    """Every name accepted for a category: its code, its label in every language, its aliases."""
    shown = tuple(label_in(category.label, locale) for locale in SUPPORTED_LOCALES)
    return tuple(dict.fromkeys((category.code, msgid(category.label), *shown, *category.aliases)))

#: certification kinds a product may hold; CCC is the one Chinese law requires for some goods
CERTIFICATION_KINDS: tuple[tuple[str, object], ...] = (
    ("CCC", _l("CCC (China Compulsory Certification)")),
    ("CQC", _l("CQC voluntary certification")),
    ("ISO9001", _l("ISO 9001")),
    ("ISO14001", _l("ISO 14001")),
    ("CE", _l("CE")),
    ("FCC", _l("FCC")),
    ("UL", _l("UL")),
    ("ROHS", _l("RoHS")),
    ("FDA", _l("FDA")),
    ("GS", _l("GS")),
    ("OEKO_TEX", _l("OEKO-TEX")),
    ("BSCI", _l("BSCI")),
    ("OTHER", _l("Other")),
)
CERTIFICATION_CODES = frozenset(code for code, _label in CERTIFICATION_KINDS)

#: units of measure offered in forms and accepted in imports (stored as written here)
UNITS: tuple[str, ...] = ("件", "个", "台", "套", "双", "只", "箱", "包", "米", "千克", "吨", "平方米", "卷", "张", "把", "盏")
