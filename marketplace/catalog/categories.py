"""Product categories and certification kinds: fixed vocabularies with their labels.

Owns: category codes (stored on products), the HS chapters typical of each, and whether the
category generally needs China Compulsory Certification (CCC) to be sold in China.
"""
from __future__ import annotations

from dataclasses import dataclass

from marketplace.i18n import _l


@dataclass(frozen=True)
class Category:
    """A product category of the catalog."""

    code: str
    label: object  # lazy string
    hs_chapters: tuple[str, ...]
    ccc_required: bool


CATEGORIES: tuple[Category, ...] = (
    Category("small_appliances", _l("Small home appliances"), ("85", "84"), True),
    Category("textiles", _l("Textiles and apparel"), ("61", "62", "63", "60", "52", "54", "55"), False),
    Category("footwear", _l("Footwear"), ("64",), False),
    Category("hardware", _l("Hardware and tools"), ("82", "83", "73", "84"), False),
    Category("furniture", _l("Furniture and home furnishings"), ("94",), False),
    Category("toys", _l("Toys and games"), ("95",), True),
    Category("lighting", _l("LED lighting"), ("94", "85"), True),
    Category("auto_parts", _l("Auto parts"), ("87", "40", "85"), False),
    Category("luggage", _l("Luggage and bags"), ("42",), False),
    Category("electronics", _l("Consumer electronics"), ("85",), True),
    Category("kitchenware", _l("Kitchenware and tableware"), ("73", "69", "70", "39"), False),
    Category("sports", _l("Sports and outdoor goods"), ("95", "63"), False),
    Category("building_materials", _l("Building materials"), ("68", "69", "70", "72", "76"), False),
    Category("machinery", _l("Machinery and equipment"), ("84",), False),
    Category("chemicals_plastics", _l("Plastics and chemical products"), ("39", "38", "34"), False),
    Category("food", _l("Food and agricultural products"), ("16", "17", "19", "20", "21", "08", "09"), False),
    Category("other", _l("Other"), (), False),
)
CATEGORY_BY_CODE = {c.code: c for c in CATEGORIES}

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
