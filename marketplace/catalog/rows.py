"""What the columns of a catalog spreadsheet mean: header aliases, cell vocabularies, row validation.

Owns: the canonical product columns (``COLUMNS``) and the header names accepted for each
(``HEADER_ALIASES``, Chinese and English); the words accepted in cells (categories by code or
Chinese/English name, units, yes/no, stock locations, CCC states, countries, certification kinds);
turning a ``spreadsheet.Table`` into typed ``ProductInput`` values with a ``Problem`` naming the row
and column of every bad cell; and the reverse, formatting product values into cells for the
template and exports. Plain data in and out: no database, no Flask views or forms.

Header matching ignores case, spaces, full-/half-width forms, a leading or trailing ``*`` and,
when the full text is not known, a trailing bracketed note such as ``单价(元)`` or ``Price (CNY)``.
"""
from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache

from marketplace.catalog import hs
from marketplace.catalog.categories import CATEGORIES, CATEGORY_BY_CODE, CERTIFICATION_CODES, UNITS
from marketplace.catalog.models import CccStatus, StockLocation
from marketplace.catalog.spreadsheet import (
    HEADER_SEARCH_ROWS,
    WARNING,
    Problem,
    SpreadsheetError,
    Table,
    split_cell_ref,
    unneutralise,
)
from marketplace.i18n import _l, fen_to_yuan, yuan_to_fen

logger = logging.getLogger(__name__)

MAX_INT = 2_000_000_000
MAX_PRICE_FEN = 10_000_000_000  # ¥100,000,000 a unit
MAX_PRICE_TIERS = 10
MAX_CERTIFICATIONS = 20
MAX_SPECS = 50
MAX_SPEC_KEY = 50
MAX_SPEC_VALUE = 200
MAX_LEAD_TIME_DAYS = 3650


# --------------------------------------------------------------------------- columns


@dataclass(frozen=True)
class Column:
    """A canonical column: its template headers, other accepted headers, rules and help text."""

    key: str
    zh: str
    en: str
    required: bool = False
    max_length: int | None = None
    aliases: tuple[str, ...] = ()
    help_zh: str = ""
    help_en: str = ""
    multiline: bool = False
    #: ``price`` is accepted on import but the template offers ``price_tiers`` instead
    in_template: bool = True
    width: int = 14


# Headers, help texts and cell words exist in both languages as data, not as translations: a
# file's language is the one its user chose (the template's lang), whatever the page's locale,
# and an import must accept both languages at once.
COLUMNS: tuple[Column, ...] = (
    Column("sku", "货号", "SKU", True, 64,
           ("商品编码", "产品编号", "产品编码", "商品货号", "商品编号", "货品编号", "物料编码", "料号", "款号", "编号",
            "SKU编码", "Item No", "Item number", "Article number", "Product code", "Product ID", "SKU code"),
           "您的商品编码，同一公司内唯一；再次导入时按货号更新", "Your own article number, unique in your company; "
           "re-importing updates products by SKU", width=16),
    Column("title_zh", "产品名称", "Title (Chinese)", True, 200,
           ("中文名称", "品名", "中文品名", "商品名称", "名称", "中文标题", "标题", "产品名称(中文)", "产品中文名称",
            "Chinese title", "Chinese name", "Product name (Chinese)", "Name (Chinese)", "Product name", "Name",
            "Title", "title_zh"),
           "中文产品名称，最多 200 字", "Product name in Chinese, at most 200 characters", width=28),
    Column("title_en", "英文名称", "Title (English)", False, 200,
           ("英文品名", "英文标题", "产品名称(英文)", "产品英文名称", "English title", "English name",
            "Product name (English)", "Name (English)", "title_en"),
           "英文产品名称（选填）", "Product name in English (optional)", width=28),
    Column("description_zh", "产品描述", "Description (Chinese)", False, 10000,
           ("中文描述", "描述", "产品介绍", "商品描述", "详细描述", "产品详情", "描述(中文)", "Description",
            "Chinese description", "description_zh"),
           "中文描述，可换行", "Description in Chinese; line breaks allowed", multiline=True, width=40),
    Column("description_en", "英文描述", "Description (English)", False, 10000,
           ("描述(英文)", "英文介绍", "English description", "description_en"),
           "英文描述（选填）", "Description in English (optional)", multiline=True, width=40),
    Column("hs_code", "HS编码", "HS code", False, 13,
           ("HS编号", "海关编码", "海关商品编码", "海关编号", "税号", "税则号", "HS", "HS code", "HTS code",
            "Tariff code", "Customs code", "hs_code"),
           "海关 HS 编码：2、4、6、8 或 10 位，如 8516.60；以 0 开头时请把该列设为文本",
           "Customs HS code of 2, 4, 6, 8 or 10 digits, e.g. 8516.60; format the column as text if it starts with 0",
           width=12),
    Column("category", "类目", "Category", True, 100,
           ("分类", "产品类别", "类别", "品类", "产品分类", "商品类目", "商品分类", "行业类目", "Product category",
            "category"),
           "见下方类目表（中文名、英文名或代码）", "See the categories below (Chinese or English name, or code)"),
    Column("brand", "品牌", "Brand", False, 100, ("商标", "品牌名称", "Brand name", "Trademark")),
    Column("model", "型号", "Model", False, 100,
           ("规格型号", "产品型号", "型号规格", "Model No", "Model number", "Item model"), width=12),
    Column("specs", "规格参数", "Specifications", False, None,
           ("规格", "参数", "产品参数", "技术参数", "产品规格", "Specs", "Spec", "Attributes", "Parameters"),
           "名称:值，多项用分号分隔，如 颜色:白色; 功率:1200W",
           "name:value pairs separated by semicolons, e.g. Colour:white; Power:1200W", multiline=True, width=30),
    Column("unit", "单位", "Unit", True, 20,
           ("计量单位", "计价单位", "销售单位", "UOM", "Unit of measure", "Units"),
           "见下方单位表，如 台、件、套；也可写英文 pcs、set、kg",
           "See the units below (件, 台, 套 …); English pcs, set, kg … are accepted", width=10),
    Column("moq", "起订量", "MOQ", True, None,
           ("最小起订量", "最低起订量", "起批量", "最小订购量", "起订数量", "Minimum order quantity", "Min order",
            "Min order quantity", "Minimum order"),
           "正整数（按上面的单位计）", "A positive whole number, in the unit above", width=10),
    Column("price_tiers", "阶梯价", "Price tiers", True, None,
           ("批发价", "阶梯价格", "价格阶梯", "批发价格", "阶梯批发价", "Tiered prices", "Tier prices",
            "Wholesale prices", "Wholesale price", "Price breaks", "price_tiers"),
           "数量:单价（元，含最多两位小数），多档用分号分隔，第一档从起订量开始，如 200:89.00; 1000:82.50；"
           "只有一个价格时直接写单价",
           "quantity:unit price in yuan (at most two decimals), tiers separated by semicolons, the first from the "
           "MOQ, e.g. 200:89.00; 1000:82.50; a single price may be written alone",
           multiline=True, width=26),
    Column("price", "单价", "Price", False, None,
           ("价格", "出厂价", "批发单价", "单价(元)", "含税单价", "Unit price", "Price (CNY)", "Price (RMB)"),
           "单价（元），即起订量时的价格", "Unit price in yuan at the MOQ", in_template=False),
    Column("monthly_capacity", "月产能", "Monthly capacity", False, None,
           ("产能", "月产量", "每月产能", "月供应量", "Capacity", "Capacity per month", "Monthly output"),
           "每月可生产数量（整数）", "Units you can make per month (whole number)", width=12),
    Column("stock_quantity", "库存数量", "Stock quantity", False, None,
           ("库存", "现货数量", "现货", "现有库存", "库存量", "Stock", "In stock", "Inventory", "Stock on hand"),
           "现有库存（整数）", "Units in stock (whole number)", width=12),
    Column("stock_location", "库存地点", "Stock location", False, None,
           ("库存位置", "货物所在地", "存放地点", "存货地点", "库存所在地", "Stock at", "Where stocked",
            "Stock place", "Warehouse"),
           "工厂、港口或保税仓", "factory, port or bonded (bonded warehouse)", width=12),
    Column("lead_time_days", "交货期(天)", "Lead time (days)", False, None,
           ("交货期", "交期", "交期(天)", "交货周期", "生产周期", "发货期", "Lead time", "Delivery time",
            "Lead time days"),
           "下单后几天交货（整数）", "Days from order to delivery (whole number)", width=12),
    Column("former_export_market", "原出口市场", "Former export market", False, None,
           ("出口市场", "原出口国", "原出口国家", "出口国家", "出口国", "原销售市场", "Export market",
            "Former market", "Export country"),
           "国家或地区名称，或两位代码，如 美国、US", "Country or region name, or two-letter code, e.g. United States, US",
           width=14),
    Column("tariff_note", "关税说明", "Tariff note", False, 300,
           ("关税情况", "关税备注", "关税影响", "Tariff", "Tariff impact", "Tariff notes"),
           "受关税影响的情况（选填，最多 300 字）", "How tariffs hit this product (optional, at most 300 characters)",
           width=30),
    Column("ccc_status", "CCC认证", "CCC status", False, None,
           ("CCC", "3C认证", "3C", "CCC状态", "CCC认证状态", "是否有CCC", "CCC certification"),
           "已获得、不需要或未获得", "held, not_needed or missing", width=10),
    Column("gb_standard", "执行国标", "GB standard", False, 100,
           ("国标", "执行标准", "国家标准", "标准号", "产品标准", "国标号", "Standard", "GB standard number"),
           "如 GB 4706.19-2008", "e.g. GB 4706.19-2008", width=18),
    Column("gb_standard_met", "符合国标", "GB standard met", False, None,
           ("是否符合国标", "国标达标", "符合国家标准", "Meets GB standard", "GB compliant"),
           "是或否", "yes or no", width=10),
    Column("chinese_label_ready", "中文标签包装", "Chinese label ready", False, None,
           ("中文标签", "中文包装", "中文标签/包装", "中文标识", "Chinese label", "Chinese labelling",
            "Chinese packaging"),
           "是或否", "yes or no", width=12),
    Column("vat_invoice", "可开增值税专用发票", "VAT invoice", False, None,
           ("增值税专用发票", "专票", "可开专票", "能开专票", "增值税发票", "可开发票", "Special VAT invoice",
            "Can issue VAT invoice", "VAT special invoice"),
           "是或否", "yes or no", width=12),
    Column("certifications", "认证证书", "Certifications", False, None,
           ("认证", "资质证书", "证书", "产品认证", "认证信息", "Certificates", "Certification"),
           "类型:编号:有效期至（YYYY-MM-DD），多项用分号分隔，如 CCC:2020011234567:2027-05-01",
           "kind:number:expiry (YYYY-MM-DD), separated by semicolons, e.g. CCC:2020011234567:2027-05-01",
           multiline=True, width=36),
)
COLUMN_BY_KEY: dict[str, Column] = {column.key: column for column in COLUMNS}
TEMPLATE_COLUMNS: tuple[Column, ...] = tuple(column for column in COLUMNS if column.in_template)
REQUIRED_KEYS: tuple[str, ...] = tuple(column.key for column in COLUMNS if column.required)

#: canonical column → every header accepted for it (template Chinese, template English, aliases)
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    column.key: (column.zh, column.en, column.key, *column.aliases) for column in COLUMNS
}

_BRACKETS = str.maketrans({"【": "(", "】": ")", "〔": "(", "〕": ")", "[": "(", "]": ")", "{": "(", "}": ")",
                           "<": "(", ">": ")", "《": "(", "》": ")"})
_HEADER_NOISE = re.compile(r"[\s_\-–—/·.:：,，、'\"]+")
_TRAILING_NOTE = re.compile(r"\([^()]*\)$")


def _header_forms(text: str) -> tuple[str, str]:
    """The header as written (normalised) and without a trailing bracketed note."""
    text = unicodedata.normalize("NFKC", text or "").lower().translate(_BRACKETS)
    text = _HEADER_NOISE.sub("", text.replace("\ufeff", "")).strip("*")
    bare = text
    while True:
        stripped = _TRAILING_NOTE.sub("", bare).strip("*")
        if stripped == bare or not stripped:
            break
        bare = stripped
    return text, bare


def _build_alias_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for key, names in HEADER_ALIASES.items():
        for name in names:
            normal, _bare = _header_forms(name)
            if index.setdefault(normal, key) != key:
                raise RuntimeError(f"header alias {name!r} means both {index[normal]} and {key}")
    return index


_ALIAS_INDEX = _build_alias_index()


def column_for_header(text: str) -> str | None:
    """The canonical column a header names ('*单价(元)' → 'price'), or None."""
    normal, bare = _header_forms(text)
    if not normal:
        return None
    return _ALIAS_INDEX.get(normal) or _ALIAS_INDEX.get(bare)


def template_header(lang: str) -> list[str]:
    """The template's header row in ``zh`` or ``en``, required columns marked with *."""
    return [(column.zh if lang == "zh" else column.en) + ("*" if column.required else "")
            for column in TEMPLATE_COLUMNS]


def _reader_language() -> str:
    try:
        from marketplace.i18n import current_locale_code

        return "en" if current_locale_code() == "en" else "zh"
    except Exception:  # outside an app or request: Chinese, the first language
        return "zh"


class ColumnNames:
    """Column names that render in the language of whoever reads the message (for lazy messages)."""

    def __init__(self, keys: Sequence[str]):
        self.keys = tuple(keys)

    def __str__(self) -> str:
        if _reader_language() == "en":
            return ", ".join(COLUMN_BY_KEY[key].en for key in self.keys)
        return "、".join(COLUMN_BY_KEY[key].zh for key in self.keys)

    def __repr__(self) -> str:
        return f"ColumnNames({self.keys!r})"


# --------------------------------------------------------------------------- vocabularies


def _vocab_key(text: str) -> str:
    return re.sub(r"[\s_\-]+", "", unicodedata.normalize("NFKC", text).lower())


def _msgid(label) -> str:
    """The English source text of a lazy label (its msgid), whatever the current locale."""
    args = getattr(label, "_args", None)
    return args[0] if args else str(label)


#: Chinese names of the categories: the first is written in templates and exports
CATEGORY_NAMES_ZH: dict[str, tuple[str, ...]] = {
    "small_appliances": ("小家电", "小型家电", "家用电器", "家电", "生活电器", "厨房电器"),
    "textiles": ("纺织服装", "纺织品", "服装", "服饰", "纺织", "家纺"),
    "footwear": ("鞋类", "鞋", "鞋靴", "鞋子"),
    "hardware": ("五金工具", "五金", "工具", "手动工具", "电动工具"),
    "furniture": ("家具家居", "家具", "家居", "家居用品"),
    "toys": ("玩具", "玩具游戏", "儿童玩具"),
    "lighting": ("LED照明", "照明", "灯具", "LED灯", "灯饰"),
    "auto_parts": ("汽车配件", "汽配", "汽车零部件", "汽车用品"),
    "luggage": ("箱包", "箱包皮具", "行李箱", "包袋"),
    "electronics": ("消费电子", "电子产品", "数码", "数码产品", "电子"),
    "kitchenware": ("厨具餐具", "厨具", "餐具", "厨房用品", "厨房用具"),
    "sports": ("运动户外", "体育用品", "户外用品", "运动用品"),
    "building_materials": ("建材", "建筑材料", "装修材料"),
    "machinery": ("机械设备", "机械", "设备", "机器"),
    "chemicals_plastics": ("塑料化工", "塑料制品", "化工产品", "化工", "塑料"),
    "food": ("食品农产品", "食品", "农产品", "食品饮料"),
    "other": ("其他", "其它"),
}


@cache
def _category_index() -> dict[str, str]:
    index = {}
    for category in CATEGORIES:
        for name in (category.code, _msgid(category.label), *CATEGORY_NAMES_ZH.get(category.code, ())):
            index.setdefault(_vocab_key(name), category.code)
    return index


def category_name(code: str, lang: str) -> str:
    """The category's name as templates and exports write it."""
    if lang == "zh":
        return CATEGORY_NAMES_ZH.get(code, (code,))[0]
    category = CATEGORY_BY_CODE.get(code)
    return _msgid(category.label) if category else code


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
    index = {_vocab_key(unit): unit for unit in UNITS}
    for unit, words in UNIT_ALIASES.items():
        if unit in UNITS:
            for word in words:
                index.setdefault(_vocab_key(word), unit)
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
        for word in (zh, en, member.value, _msgid(member.label), *aliases):
            index.setdefault(_vocab_key(word), member)
    return index


_STOCK_INDEX = _enum_index(STOCK_LOCATION_WORDS)
_CCC_INDEX = _enum_index(CCC_WORDS)
_BOOL_INDEX = {**{_vocab_key(w): True for w in TRUE_WORDS}, **{_vocab_key(w): False for w in FALSE_WORDS}}

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
        index[_vocab_key(code)] = code
    for names in (names_en, names_zh):
        for code, name in names.items():
            index.setdefault(_vocab_key(name), code)
    for alias, code in COUNTRY_ALIASES.items():
        index.setdefault(_vocab_key(alias), code)
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


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class PriceTierInput:
    """From ``min_quantity`` units on, each costs ``unit_price_fen``."""

    min_quantity: int
    unit_price_fen: int


@dataclass(frozen=True)
class CertificationInput:
    """A certificate: kind (a CERTIFICATION_CODES code), number and expiry."""

    kind: str
    number: str | None = None
    expires_on: date | None = None


@dataclass
class ProductInput:
    """One valid row, typed and normalised, named as ``Product``'s attributes.

    ``provided`` holds the columns the file has (``price`` counts as ``price_tiers``): when a row
    updates an existing product by SKU, only those attributes should be overwritten; an empty cell
    in a provided column clears the value.
    """

    sku: str
    title_zh: str
    category: str
    unit: str
    moq: int
    price_tiers: list[PriceTierInput]
    title_en: str | None = None
    description_zh: str | None = None
    description_en: str | None = None
    hs_code: str | None = None  # digits only
    brand: str | None = None
    model: str | None = None
    specs: list[list[str]] = field(default_factory=list)
    monthly_capacity: int | None = None
    stock_quantity: int | None = None
    stock_location: StockLocation | None = None
    lead_time_days: int | None = None
    former_export_market: str | None = None  # ISO 3166-1 alpha-2
    tariff_note: str | None = None
    ccc_status: CccStatus = CccStatus.MISSING
    gb_standard: str | None = None
    gb_standard_met: bool = False
    chinese_label_ready: bool = False
    vat_invoice: bool = False
    certifications: list[CertificationInput] = field(default_factory=list)
    provided: frozenset[str] = field(default=frozenset(), compare=False)

    def as_row(self) -> dict:
        """The values as a dict of canonical keys (what ``export_rows`` takes), without ``provided``."""
        return {name: getattr(self, name) for name in PRODUCT_FIELDS}


PRODUCT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(ProductInput) if f.name != "provided")


def product_to_row(product) -> dict:
    """A Product (ORM object, only read) as the dict of canonical keys ``export_rows`` writes."""
    row = {name: getattr(product, name) for name in PRODUCT_FIELDS
           if name not in ("price_tiers", "certifications", "specs")}
    row["specs"] = [list(pair) for pair in (product.specs or [])]
    row["price_tiers"] = [PriceTierInput(tier.min_quantity, tier.unit_price_fen) for tier in product.price_tiers]
    row["certifications"] = [CertificationInput(c.kind, c.number, c.expires_on) for c in product.certifications]
    return row


@dataclass
class RowResult:
    """One data row: its values when it has no error, and every problem found in it."""

    row_number: int
    values: ProductInput | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the row can be imported."""
        return self.values is not None


@dataclass
class ValidationResult:
    """Every data row's result, plus problems of the file as a whole (unknown columns, skipped rows)."""

    rows: list[RowResult]
    problems: list[Problem]
    #: canonical key → the header text the file used for it
    columns: dict[str, str]
    header_row: int

    @property
    def valid_rows(self) -> list[RowResult]:
        """Rows without errors."""
        return [row for row in self.rows if row.ok]

    @property
    def invalid_rows(self) -> list[RowResult]:
        """Rows with at least one error."""
        return [row for row in self.rows if not row.ok]

    @property
    def has_errors(self) -> bool:
        """Whether any row or the file has an error (warnings do not count)."""
        return any(not row.ok for row in self.rows) or any(p.is_error for p in self.problems)

    def all_problems(self) -> list[Problem]:
        """File problems and row problems in row order (for the report and the command line)."""
        found = list(self.problems)
        for row in self.rows:
            found.extend(row.problems)
        return sorted(found, key=lambda p: (p.row or 0, 0 if p.is_error else 1))


# --------------------------------------------------------------------------- cell parsing


class CellError(Exception):
    """A cell's value is wrong; ``message`` is a lazy string."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_LINE_BREAKS = re.compile(r"[\t\r\n\u2028\u2029]+")


def clean_text(text: str, multiline: bool = False) -> str:
    """Strip control and invisible formatting characters; single-line fields lose their line breaks."""
    text = unneutralise(text)
    if text.isprintable():
        return text.strip()
    if multiline:
        text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\t", " ")
        text = _CONTROL.sub("", text)
        text = "\n".join(line.strip() for line in text.split("\n"))
        return re.sub(r"\n{3,}", "\n\n", text).strip()
    return _CONTROL.sub("", _LINE_BREAKS.sub(" ", text)).strip()


def _show(text: str, limit: int = 40) -> str:
    """A cell value quoted in a message, cut short."""
    return text if len(text) <= limit else text[:limit] + "…"


_NUMBER_NOISE = re.compile(r"[\s,，_'’]")


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(_NUMBER_NOISE.sub("", unicodedata.normalize("NFKC", text)))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def parse_int(text: str, minimum: int = 0, maximum: int = MAX_INT) -> int:
    """A whole number ≥ minimum: '1,000' and '1000.0' are fine, '12.5', '-3' and 'abc' are not."""
    value = _decimal(text)
    if value is None:
        raise CellError(_l("Not a whole number: %(value)s.", value=_show(text)))
    if value != value.to_integral_value():
        raise CellError(_l("Must be a whole number, not %(value)s.", value=_show(text)))
    number = int(value)
    if number < 0 and minimum >= 0:
        raise CellError(_l("Must not be negative: %(value)s.", value=_show(text)))
    if number < minimum:
        raise CellError(_l("Must be at least %(minimum)s, not %(value)s.", minimum=minimum, value=_show(text)))
    if number > maximum:
        raise CellError(_l("Too large: %(value)s; at most %(maximum)s.", value=_show(text), maximum=maximum))
    return number


_CURRENCY = re.compile(r"^(?:¥|RMB|CNY|人民币)\s*|\s*(?:元|RMB|CNY|yuan)$", re.IGNORECASE)


def parse_price(text: str) -> int:
    """A unit price in yuan ('12.50', '¥12.5', '12.50元') as integer fen; positive, at most two decimals."""
    cleaned = _CURRENCY.sub("", unicodedata.normalize("NFKC", text).strip())
    value = _decimal(cleaned)
    if value is None:
        raise CellError(_l("Not a price: %(value)s (write the yuan amount, like 12.50).", value=_show(text)))
    if value < 0:
        raise CellError(_l("The price %(value)s is negative.", value=_show(text)))
    try:
        fen = yuan_to_fen(value)
    except ValueError:
        raise CellError(_l("The price %(value)s has more than two decimals.", value=_show(text))) from None
    if fen == 0:
        raise CellError(_l("The price must be more than zero."))
    if fen > MAX_PRICE_FEN:
        raise CellError(_l("The price %(value)s is too high.", value=_show(text)))
    return fen


_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]0{1,2}:00(?::00)?)?$")
_EXCEL_EPOCH = date(1899, 12, 30)


def parse_date(text: str) -> date:
    """YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD, YYYY年M月D日, YYYYMMDD, or an Excel day number."""
    text = unicodedata.normalize("NFKC", text).strip()
    match = _DATE.match(text)
    try:
        if match:
            return date(*(int(part) for part in match.groups()))
        if re.fullmatch(r"(19|20|21)\d{6}", text):
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        if re.fullmatch(r"[2-9]\d{4}(\.0+)?", text):  # Excel serial, 1954–2173
            return _EXCEL_EPOCH + timedelta(days=int(float(text)))
    except ValueError:
        pass
    raise CellError(_l("The date %(value)s is not valid: write it as YYYY-MM-DD, for example 2027-05-01.",
                       value=_show(text)))


def _split_items(text: str) -> list[str]:
    """Entries of a list cell: one per line, or separated by ; ； |, or by commas when every entry has a colon."""
    if "\n" in text:
        parts = text.split("\n")
    elif re.search(r"[;；|]", text):
        parts = re.split(r"[;；|]", text)
    else:
        parts = re.split(r"[,，、]", text)
        if len(parts) > 1 and not all(re.search(r"[:：]", part) for part in parts):
            parts = [text]
    return [part.strip() for part in parts if part.strip()]


_PAIR = re.compile(r"\s*[:：]\s*")


def parse_price_tiers(text: str) -> list[tuple[int | None, int]]:
    """'100:12.50; 500:11.80' → [(100, 1250), (500, 1180)]; a lone price gives [(None, fen)] (from the MOQ)."""
    items = _split_items(text)
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
                "%(value)s is not one.", value=_show(item)))
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
    for item in _split_items(text):
        parts = re.split(r"\s*[:：=]\s*", item, maxsplit=1)
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise CellError(_l(
                "Write specifications as name:value separated by semicolons (for example 颜色:白色; 功率:1200W); "
                "%(value)s is not one.", value=_show(item)))
        key, value = parts
        if len(key) > MAX_SPEC_KEY or len(value) > MAX_SPEC_VALUE:
            raise CellError(_l("The specification %(value)s is too long.", value=_show(item)))
        specs.append([key, value])
    if len(specs) > MAX_SPECS:
        raise CellError(_l("At most %(limit)s specifications.", limit=MAX_SPECS))
    return specs


def _certification_kinds() -> str:
    return ", ".join(sorted(CERTIFICATION_CODES))


def parse_certifications(text: str) -> list[CertificationInput]:
    """'CCC:2020011234567:2027-05-01; CE:ABC123' → certifications (kind, number, expiry)."""
    found = []
    for item in _split_items(text):
        parts = [part.strip() for part in re.split(r"[:：]", item)]
        kind = _CERT_INDEX.get(_cert_key(parts[0]))
        if not parts[0]:
            raise CellError(_l(
                "Write certifications as kind:number:expiry separated by semicolons (for example "
                "CCC:2020011234567:2027-05-01); %(value)s is not one.", value=_show(item)))
        if kind is None:
            raise CellError(_l("Unknown certification %(value)s; use one of: %(kinds)s.",
                               value=_show(parts[0]), kinds=_certification_kinds()))
        number, expires = None, None
        if len(parts) == 2:
            if _DATE.match(parts[1]):
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
                        "for example 2027-05-01.", value=_show(parts[-1]), kind=kind)) from None
        if number and len(number) > 100:
            raise CellError(_l("The certificate number %(value)s is too long.", value=_show(number)))
        found.append(CertificationInput(kind, number, expires))
    if len(found) > MAX_CERTIFICATIONS:
        raise CellError(_l("At most %(limit)s certifications.", limit=MAX_CERTIFICATIONS))
    return found


def parse_hs_code(text: str) -> str:
    """'8516.60' → '851660' if the chapter or heading exists."""
    if re.search(r"[^\d.\s]", unicodedata.normalize("NFKC", text)):
        raise CellError(_l("Not an HS code: %(value)s (digits only, like 8516.60).", value=_show(text)))
    digits = hs.normalize_code(unicodedata.normalize("NFKC", text))
    if hs.is_known_code(digits):
        return digits
    if len(digits) % 2 == 1 and hs.is_known_code("0" + digits):
        raise CellError(_l(
            "HS code %(value)s does not exist; if it starts with 0, format the column as text and write "
            "0%(value)s.", value=digits))
    if len(digits) not in (2, 4, 6, 8, 10):
        raise CellError(_l("An HS code has 2, 4, 6, 8 or 10 digits; %(value)s does not exist.", value=_show(text)))
    raise CellError(_l("HS code %(value)s does not exist.", value=_show(text)))


def parse_category(text: str) -> str:
    """A category code from its code or its Chinese or English name."""
    code = _category_index().get(_vocab_key(text))
    if code is None:
        raise CellError(_l("Unknown category %(value)s; the Instructions sheet of the template lists the "
                           "categories.", value=_show(text)))
    return code


def parse_unit(text: str) -> str:
    """A unit of UNITS, from Chinese or English ('pcs' → 件, '台 (unit)' → 台)."""
    index = _unit_index()
    unit = index.get(_vocab_key(text))
    if unit is None:
        _normal, bare = _header_forms(text)  # '台 (unit)' → '台'
        unit = index.get(_vocab_key(bare))
    if unit is None:
        raise CellError(_l("Unknown unit %(value)s; use one of: %(units)s.", value=_show(text),
                           units="、".join(UNITS)))
    return unit


def parse_bool(text: str) -> bool:
    """是/否, yes/no, y/n, 1/0, true/false, ✓/✗; empty is no."""
    if not text:
        return False
    value = _BOOL_INDEX.get(_vocab_key(text))
    if value is None:
        raise CellError(_l("Write yes or no (是 or 否), not %(value)s.", value=_show(text)))
    return value


def parse_stock_location(text: str) -> StockLocation:
    """工厂/港口/保税仓 or factory/port/bonded."""
    value = _STOCK_INDEX.get(_vocab_key(text))
    if value is None:
        raise CellError(_l("Unknown stock location %(value)s; write 工厂, 港口 or 保税仓 (factory, port or "
                           "bonded).", value=_show(text)))
    return value


def parse_ccc_status(text: str) -> CccStatus:
    """已获得/不需要/未获得 or held/not_needed/missing; empty is missing."""
    if not text:
        return CccStatus.MISSING
    value = _CCC_INDEX.get(_vocab_key(text))
    if value is None:
        raise CellError(_l("Unknown CCC status %(value)s; write 已获得, 不需要 or 未获得 (held, not_needed or "
                           "missing).", value=_show(text)))
    return value


def parse_country(text: str) -> str:
    """An ISO 3166-1 alpha-2 code from a code or a Chinese or English name."""
    index, _en, _zh = _countries()
    code = index.get(_vocab_key(text))
    if code is None:
        raise CellError(_l("Unknown country or region %(value)s; write its name or a two-letter code such as US "
                           "or DE.", value=_show(text)))
    return code


def parse_lead_time(text: str) -> int:
    """Days: '15', '15天', '15 days'."""
    text = re.sub(r"\s*(?:天|日|days?|d)$", "", text, flags=re.IGNORECASE)
    return parse_int(text, minimum=0, maximum=MAX_LEAD_TIME_DAYS)


def _optional_int(text: str) -> int:
    return parse_int(text, minimum=0)


#: canonical key → parser of a non-empty cleaned cell (text columns are handled apart)
PARSERS = {
    "hs_code": parse_hs_code,
    "category": parse_category,
    "unit": parse_unit,
    "moq": lambda text: parse_int(text, minimum=1),
    "price_tiers": parse_price_tiers,
    "price": parse_price,
    "specs": parse_specs,
    "monthly_capacity": _optional_int,
    "stock_quantity": _optional_int,
    "stock_location": parse_stock_location,
    "lead_time_days": parse_lead_time,
    "former_export_market": parse_country,
    "ccc_status": parse_ccc_status,
    "gb_standard_met": parse_bool,
    "chinese_label_ready": parse_bool,
    "vat_invoice": parse_bool,
    "certifications": parse_certifications,
}
#: the value of an empty cell in a provided column
EMPTY_VALUES = {"specs": [], "certifications": [], "ccc_status": CccStatus.MISSING, "gb_standard_met": False,
                "chinese_label_ready": False, "vat_invoice": False}


# --------------------------------------------------------------------------- header and rows


def _looks_like_data(cells: Sequence[str]) -> bool:
    return any(_decimal(cell) is not None for cell in cells if cell)


def _map_header(cells: Sequence[str]) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for index, text in enumerate(cells):
        key = column_for_header(text) if text else None
        if key:
            found.setdefault(key, []).append(index)
    return found


def _locate_header(table: Table) -> tuple[int, list[str], list[tuple[int, list[str]]], list[Problem]]:
    """The header row (the first row naming two known columns, within the first few) and the rows after it."""
    candidates = [(table.header_row, table.header)] + table.rows[: HEADER_SEARCH_ROWS - 1]
    for position, (number, cells) in enumerate(candidates):
        if len(_map_header(cells)) >= 2:
            skipped = [Problem(row, None, _l("This row is above the column names and was skipped."), WARNING)
                       for row, _cells in candidates[:position]]
            return number, cells, table.rows[position:], skipped
    if _map_header(table.header):
        return table.header_row, table.header, table.rows, []
    examples = ColumnNames(("sku", "title_zh", "unit", "moq"))
    if _looks_like_data(table.header):
        raise SpreadsheetError(_l(
            "The first row must hold the column names (for example %(examples)s); row %(row)s looks like data. "
            "Download the template to see the columns.", examples=examples, row=table.header_row))
    raise SpreadsheetError(_l(
        "None of the column names in row %(row)s is known (known names are, for example, %(examples)s). "
        "Download the template to see the columns.", examples=examples, row=table.header_row))


def validate_rows(table: Table) -> ValidationResult:
    """Check every row of a table; raise SpreadsheetError when the header is unusable."""
    header_row, header, data_rows, file_problems = _locate_header(table)
    found = _map_header(header)
    for key, indexes in found.items():
        if len(indexes) > 1:
            raise SpreadsheetError(_l(
                "Columns %(first)s and %(second)s both mean %(meaning)s; keep one of them.",
                first=header[indexes[0]], second=header[indexes[1]], meaning=ColumnNames([key])))
    mapping = {key: indexes[0] for key, indexes in found.items()}
    missing = [key for key in REQUIRED_KEYS
               if key not in mapping and not (key == "price_tiers" and "price" in mapping)]
    if missing:
        raise SpreadsheetError(_l(
            "Required columns are missing: %(columns)s. Download the template to see every column.",
            columns=ColumnNames(missing)))
    mapped_indexes = set(mapping.values())
    for index, text in enumerate(header):
        if text and index not in mapped_indexes:
            file_problems.append(Problem(header_row, text, _l("Unknown column: it is ignored."), WARNING))

    names = {key: header[index] for key, index in mapping.items()}
    data_numbers = {number for number, _cells in data_rows}
    cell_problems: dict[int, list[Problem]] = {}
    for problem in table.problems:
        _row, column = split_cell_ref(problem.cell or "")
        column_name = header[column - 1] if 0 < column <= len(header) and header[column - 1] else problem.column
        renamed = Problem(problem.row, column_name, problem.message, problem.severity, problem.cell)
        if problem.row in data_numbers:
            cell_problems.setdefault(problem.row, []).append(renamed)
        elif problem.row is not None and problem.row <= header_row:
            file_problems.append(Problem(renamed.row, renamed.column, renamed.message, WARNING, renamed.cell))
        else:
            file_problems.append(renamed)

    provided = frozenset("price_tiers" if key == "price" else key for key in mapping)
    plan = [(key, index, names[key], COLUMN_BY_KEY[key]) for key, index in mapping.items()]
    seen_skus: dict[str, int] = {}
    results = []
    for number, cells in data_rows:
        results.append(_validate_row(number, cells, plan, names, provided, seen_skus,
                                     cell_problems.get(number, [])))
    return ValidationResult(results, file_problems, names, header_row)


def _validate_row(number, cells, plan, names, provided, seen_skus, cell_problems) -> RowResult:
    problems = list(cell_problems)
    values: dict[str, object] = {}
    width = len(cells)
    for key, index, name, column in plan:
        text = clean_text(cells[index], column.multiline) if index < width else ""
        if not text:
            if column.required and key != "price_tiers":
                problems.append(Problem(number, name, _l("Required: this cell is empty.")))
            elif key in EMPTY_VALUES:
                values[key] = EMPTY_VALUES[key]
            continue
        if column.max_length and len(text) > column.max_length:
            problems.append(Problem(number, name, _l("Too long: %(length)s characters; at most %(limit)s.",
                                                     length=len(text), limit=column.max_length)))
            continue
        parser = PARSERS.get(key)
        if parser is None:
            values[key] = text
            continue
        try:
            values[key] = parser(text)
        except CellError as error:
            problems.append(Problem(number, name, error.message))
            values[key] = _FAILED

    sku = values.get("sku")
    if isinstance(sku, str):
        first = seen_skus.setdefault(sku, number)
        if first != number:
            problems.append(Problem(number, names["sku"], _l("SKU %(sku)s already appears in row %(row)s.",
                                                              sku=_show(sku), row=first)))
    tiers = _resolve_tiers(number, values, names, problems)
    if problems:
        return RowResult(number, None, problems)
    values["price_tiers"] = tiers
    values.pop("price", None)
    return RowResult(number, ProductInput(**values, provided=provided), problems)


_FAILED = object()  # a cell that had a problem (keeps dependent checks quiet)


def _resolve_tiers(number, values, names, problems) -> list[PriceTierInput]:
    """Price tiers from ``price_tiers`` (or a lone ``price``), the first starting at the MOQ."""
    raw = values.get("price_tiers")
    price = values.get("price")
    moq = values.get("moq")
    column = names.get("price_tiers") or names.get("price")
    if raw is _FAILED or price is _FAILED:
        return []
    if not raw:
        if price is None:
            problems.append(Problem(number, column, _l("Required: give at least one price.")))
            return []
        raw = [(None, price)]
        column = names["price"]
    if not isinstance(moq, int):
        return []
    first_quantity = raw[0][0]
    if first_quantity is not None and first_quantity != moq:
        problems.append(Problem(number, column, _l(
            "The first price break must start at the MOQ (%(moq)s), not at %(quantity)s.",
            moq=moq, quantity=first_quantity)))
        return []
    return [PriceTierInput(moq if quantity is None else quantity, fen) for quantity, fen in raw]


# --------------------------------------------------------------------------- formatting (template, export)


def _tier_parts(tier) -> tuple[int, int]:
    if isinstance(tier, Mapping):
        return int(tier["min_quantity"]), int(tier["unit_price_fen"])
    if isinstance(tier, (tuple, list)):
        return int(tier[0]), int(tier[1])
    return int(tier.min_quantity), int(tier.unit_price_fen)


def _cert_parts(cert) -> tuple[str, str | None, date | None]:
    if isinstance(cert, Mapping):
        return cert["kind"], cert.get("number"), cert.get("expires_on")
    if isinstance(cert, (tuple, list)):
        return tuple(cert) + (None,) * (3 - len(cert))
    return cert.kind, cert.number, cert.expires_on


def _join_items(items: list[str]) -> str:
    # a value holding a separator forces one entry per line, which the parser reads back unchanged
    if any(re.search(r"[;；|]", item) for item in items):
        return "\n".join(items)
    return "; ".join(items)


def format_cells(row: Mapping, lang: str) -> list:
    """A product's canonical values as template-ordered cells in ``zh`` or ``en`` (ints stay ints)."""
    cells = []
    for column in TEMPLATE_COLUMNS:
        value = row.get(column.key)
        cells.append(_format_value(column.key, value, lang))
    return cells


def _format_value(key: str, value, lang: str):
    if value is None:
        return ""
    zh = lang == "zh"
    if key == "category":
        return category_name(value, lang)
    if key == "unit":
        return unit_name(value, lang)
    if key == "price_tiers":
        return _join_items([f"{quantity}:{fen_to_yuan(fen)}" for quantity, fen in map(_tier_parts, value)])
    if key == "specs":
        return _join_items([f"{k}:{v}" for k, v in value])
    if key == "certifications":
        items = []
        for kind, number, expires in map(_cert_parts, value):
            if expires:
                text = f"{kind}:{number or ''}:{expires.isoformat()}"
            elif number:
                # a trailing colon keeps a number with colons, or one shaped like a date, a number
                ambiguous = ":" in number or "：" in number or _DATE.match(number)
                text = f"{kind}:{number}:" if ambiguous else f"{kind}:{number}"
            else:
                text = kind
            items.append(text)
        return _join_items(items)
    if key == "stock_location":
        member = value if isinstance(value, StockLocation) else StockLocation(value)
        return STOCK_LOCATION_WORDS[member][0 if zh else 1]
    if key == "ccc_status":
        member = value if isinstance(value, CccStatus) else CccStatus(value)
        return CCC_WORDS[member][0 if zh else 1]
    if key in ("gb_standard_met", "chinese_label_ready", "vat_invoice"):
        return ("是" if value else "否") if zh else ("yes" if value else "no")
    if key == "former_export_market":
        return country_name(value, lang)
    if key == "hs_code":
        value = str(value)
        return f"{value[:4]}.{value[4:]}" if len(value) > 4 else value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return value
    return str(value)


#: the example row of the template: a rice cooker an exporter once sold to the US
EXAMPLE_PRODUCT = ProductInput(
    sku="RC-3018",
    title_zh="智能电饭煲 3L 预约定时",
    title_en="Smart rice cooker 3 L with timer",
    description_zh="24小时预约，不粘内胆，适合2-4人使用。\n原出口美国，现货充足。",
    description_en="24-hour timer, non-stick inner pot, serves 2-4.\nMade for the US market; stock on hand.",
    hs_code="851660",
    category="small_appliances",
    brand="美厨",
    model="MC-30A",
    specs=[["容量", "3L"], ["功率", "500W"], ["电压", "220V 50Hz"], ["颜色", "白色"]],
    unit="台",
    moq=200,
    price_tiers=[PriceTierInput(200, 8900), PriceTierInput(1000, 8250), PriceTierInput(5000, 7800)],
    monthly_capacity=20000,
    stock_quantity=8500,
    stock_location=StockLocation.PORT,
    lead_time_days=15,
    former_export_market="US",
    tariff_note="2025年美国加征关税后订单取消，现货转内销",
    ccc_status=CccStatus.HELD,
    gb_standard="GB 4706.19-2008",
    gb_standard_met=True,
    chinese_label_ready=True,
    vat_invoice=True,
    certifications=[CertificationInput("CCC", "2020011234567", date(2027, 5, 1)),
                    CertificationInput("CE", "ABC123", date(2026, 12, 31))],
)
