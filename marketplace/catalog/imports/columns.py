"""The columns of a catalog spreadsheet: what each means, how its cells are read and written back.

Owns: the canonical product columns (``COLUMNS``, headers in Chinese and English and the other
names accepted for each), ``PRODUCT_ROWS`` (the row spec the import machinery of
``marketplace.imports`` checks every row with; a row becomes a ``rows.ProductInput``), and the
reverse, formatting product values into cells for the template and exports. Plain data in and
out: no database, no Flask views or forms.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from marketplace.catalog.categories import category_name
from marketplace.catalog.models import CccStatus, StockLocation
from marketplace.catalog.rows import CertificationInput, PriceTierInput, ProductInput
from marketplace.catalog.vocabulary import (
    CCC_WORDS,
    STOCK_LOCATION_WORDS,
    country_name,
    parse_bool,
    parse_category,
    parse_ccc_status,
    parse_certifications,
    parse_country,
    parse_hs_code,
    parse_lead_time,
    parse_price_tiers,
    parse_specs,
    parse_stock_location,
    parse_unit,
    unit_name,
)
from marketplace.i18n import _l, fen_to_yuan
from marketplace.imports.cells import DATE, join_items, parse_int, parse_price, show
from marketplace.imports.columns import FAILED, Column, RowContext, RowSpec, ValidationResult
from marketplace.imports.columns import validate_rows as validate_table
from marketplace.imports.problems import Problem
from marketplace.imports.table import Table

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

#: canonical column → every header accepted for it (template Chinese, template English, aliases)
HEADER_ALIASES: dict[str, tuple[str, ...]] = {column.key: column.names for column in COLUMNS}


def template_header(lang: str) -> list[str]:
    """The template's header row in ``zh`` or ``en``, required columns marked with *."""
    return [(column.zh if lang == "zh" else column.en) + ("*" if column.required else "")
            for column in TEMPLATE_COLUMNS]


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


def _build_product(row: RowContext) -> ProductInput | None:
    """A row's values as a ProductInput: SKUs unique in the file, price tiers starting at the MOQ."""
    values, names, problems = row.values, row.names, row.problems
    sku = values.get("sku")
    if isinstance(sku, str):
        seen = row.memo.setdefault("skus", {})
        first = seen.setdefault(sku, row.number)
        if first != row.number:
            problems.append(Problem(row.number, names["sku"], _l("SKU %(sku)s already appears in row %(row)s.",
                                                                  sku=show(sku), row=first)))
    tiers = _resolve_tiers(row.number, values, names, problems)
    if problems:
        return None
    fields = dict(values, price_tiers=tiers)
    fields.pop("price", None)
    return ProductInput(**fields, provided=row.provided)


def _resolve_tiers(number, values, names, problems) -> list[PriceTierInput]:
    """Price tiers from ``price_tiers`` (or a lone ``price``), the first starting at the MOQ."""
    raw = values.get("price_tiers")
    price = values.get("price")
    moq = values.get("moq")
    column = names.get("price_tiers") or names.get("price")
    if raw is FAILED or price is FAILED:
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


#: the catalog's row spec: what ``marketplace.imports`` needs to check a product file
PRODUCT_ROWS = RowSpec(
    columns=COLUMNS,
    parsers=PARSERS,
    build=_build_product,
    empty_values=EMPTY_VALUES,
    alternatives={"price_tiers": "price"},
    example_keys=("sku", "title_zh", "unit", "moq"),
)


def column_for_header(text: str) -> str | None:
    """The canonical column a header names ('*单价(元)' → 'price'), or None."""
    return PRODUCT_ROWS.column_for_header(text)


def validate_rows(table: Table) -> ValidationResult:
    """Check every row of a product file; each valid row's ``values`` is a ProductInput."""
    return validate_table(table, PRODUCT_ROWS)


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
        return join_items([f"{quantity}:{fen_to_yuan(fen)}" for quantity, fen in map(_tier_parts, value)])
    if key == "specs":
        return join_items([f"{k}:{v}" for k, v in value])
    if key == "certifications":
        items = []
        for kind, number, expires in map(_cert_parts, value):
            if expires:
                text = f"{kind}:{number or ''}:{expires.isoformat()}"
            elif number:
                # a trailing colon keeps a number with colons, or one shaped like a date, a number
                ambiguous = ":" in number or "：" in number or DATE.match(number)
                text = f"{kind}:{number}:" if ambiguous else f"{kind}:{number}"
            else:
                text = kind
            items.append(text)
        return join_items(items)
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
