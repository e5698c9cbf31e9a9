"""Header aliases, cell vocabularies and row validation of catalog spreadsheets, and the export round trip."""
from __future__ import annotations

import dataclasses
import io
from datetime import date

import openpyxl
import pytest

from marketplace.catalog.imports.columns import (
    COLUMNS,
    EXAMPLE_PRODUCT,
    HEADER_ALIASES,
    column_for_header,
    validate_rows,
)
from marketplace.catalog.imports.files import export_rows
from marketplace.catalog.models import CccStatus, Certification, PriceTier, Product, StockLocation
from marketplace.catalog.rows import CertificationInput, PriceTierInput, ProductInput, product_to_row
from marketplace.imports.problems import SpreadsheetError
from marketplace.imports.table import Table, read_table

HEADER = ["货号", "产品名称", "类目", "单位", "起订量", "阶梯价"]
GOOD = ["RC-1", "电饭煲", "小家电", "台", "100", "100:12.50; 500:11.80"]


@pytest.fixture
def english(app):
    """Render lazy messages as an English-speaking user would see them."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


@pytest.fixture
def chinese(app):
    """Render lazy messages for a Chinese user (column names in Chinese)."""
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        yield


def table(header, *rows, first_row=2) -> Table:
    """A table as read_table would return it: the header on row 1, data from ``first_row``."""
    return Table(list(header), 1, [(first_row + i, list(row)) for i, row in enumerate(rows)], "csv")


def with_cell(column: str, value: str, header=HEADER, row=GOOD) -> Table:
    """The good row with one more column (or one cell replaced)."""
    if column in header:
        cells = list(row)
        cells[header.index(column)] = value
        return table(header, cells)
    return table([*header, column], [*row, value])


def problems(result) -> list[tuple[int | None, str | None, str]]:
    return [(p.row, p.column, str(p.message)) for p in result.all_problems()]


def only_problem(tab: Table) -> tuple[int | None, str | None, str]:
    found = problems(validate_rows(tab))
    assert len(found) == 1, found
    return found[0]


def value(column: str, cell: str, field: str | None = None):
    """The parsed value of one extra cell on the good row."""
    result = validate_rows(with_cell(column, cell))
    assert result.all_problems() == [], problems(result)
    return getattr(result.rows[0].values, field or column_for_header(column))


# ----------------------------------------------------------------- headers


def test_header_aliases_cover_every_column_and_map_back():
    assert set(HEADER_ALIASES) == {column.key for column in COLUMNS}
    for key, names in HEADER_ALIASES.items():
        for name in names:
            assert column_for_header(name) == key, name


@pytest.mark.parametrize(("header", "key"), [
    ("货号", "sku"), ("商品编码", "sku"), ("产品编号", "sku"), ("*货号", "sku"), ("货号*", "sku"), ("ＳＫＵ", "sku"),
    ("Item No.", "sku"), ("sku", "sku"),
    ("品名", "title_zh"), ("中文名称", "title_zh"), ("Title (Chinese)", "title_zh"), ("Title（Chinese）", "title_zh"),
    ("title_zh", "title_zh"), ("Product Name", "title_zh"), ("英文品名", "title_en"), ("Title (English)", "title_en"),
    ("单价(元)", "price"), ("单价（元）", "price"), ("单价【元/台】", "price"), ("Unit price (CNY)", "price"),
    ("阶梯价", "price_tiers"), ("批发价", "price_tiers"), ("Price tiers", "price_tiers"),
    ("交货期（天）", "lead_time_days"), ("Lead time (days)", "lead_time_days"), ("  M O Q ", "moq"),
    ("最小起订量(件)", "moq"), ("HS编码", "hs_code"), ("海关编码", "hs_code"), ("CCC认证", "ccc_status"),
    ("认证", "certifications"), ("中文标签/包装", "chinese_label_ready"), ("专票", "vat_invoice"),
    ("备注", None), ("", None), ("颜色", None),
])
def test_column_for_header_matches_aliases(header, key):
    assert column_for_header(header) == key


def test_validate_rows_reads_chinese_headers():
    header = ["商品编码", "品名", "品类", "计量单位", "最小起订量", "单价(元)", "英文名称", "海关编码"]
    result = validate_rows(table(header, ["A-1", "保温杯", "厨具", "个", "500", "8.8", "Vacuum flask", "9617"]))
    assert result.all_problems() == []
    values = result.rows[0].values
    assert (values.sku, values.title_zh, values.category, values.unit, values.moq) == (
        "A-1", "保温杯", "kitchenware", "个", 500)
    assert values.price_tiers == [PriceTierInput(500, 880)]
    assert (values.title_en, values.hs_code) == ("Vacuum flask", "9617")
    assert result.columns["price"] == "单价(元)"


def test_validate_rows_reads_english_headers():
    header = ["SKU", "Title (Chinese)", "Category", "UOM", "Minimum order quantity", "Price tiers", "Stock location"]
    result = validate_rows(table(header, ["X1", "LED灯泡", "LED lighting", "pcs", "1,000", "1000:3.2;5000:2.9",
                                          "Bonded warehouse"]))
    assert result.all_problems() == []
    values = result.rows[0].values
    assert (values.category, values.unit, values.moq, values.stock_location) == (
        "lighting", "件", 1000, StockLocation.BONDED)
    assert values.price_tiers == [PriceTierInput(1000, 320), PriceTierInput(5000, 290)]


def test_validate_rows_names_missing_required_columns_in_english(english):
    with pytest.raises(SpreadsheetError) as caught:
        validate_rows(table(["货号", "产品名称", "单位"], ["A1", "杯子", "个"]))
    assert str(caught.value.message) == (
        "Required columns are missing: Category, MOQ, Price tiers. Download the template to see every column.")


def test_validate_rows_names_missing_required_columns_in_chinese(chinese):
    with pytest.raises(SpreadsheetError) as caught:
        validate_rows(table(["SKU", "Title", "Unit"], ["A1", "杯子", "个"]))
    assert "类目、起订量、阶梯价" in str(caught.value.message)


def test_validate_rows_accepts_price_column_instead_of_tiers():
    header = ["货号", "产品名称", "类目", "单位", "起订量", "单价"]
    result = validate_rows(table(header, ["A1", "杯子", "厨具", "个", "50", "¥12.50"]))
    values = result.rows[0].values
    assert values.price_tiers == [PriceTierInput(50, 1250)]
    assert "price_tiers" in values.provided and "price" not in values.provided


def test_validate_rows_refuses_data_without_header_row(english):
    with pytest.raises(SpreadsheetError) as caught:
        validate_rows(table(GOOD, GOOD))
    message = str(caught.value.message)
    assert message.startswith("The first row must hold the column names (for example SKU, Title (Chinese), Unit, MOQ)")
    assert "row 1 looks like data" in message


def test_validate_rows_refuses_unknown_headers(english):
    with pytest.raises(SpreadsheetError) as caught:
        validate_rows(table(["甲", "乙", "丙"], ["x", "y", "z"]))
    assert str(caught.value.message).startswith("None of the column names in row 1 is known")


def test_validate_rows_skips_title_rows_above_header(english):
    tab = Table(["某某电器有限公司 产品目录 2025"], 1, [(2, ["联系人：王经理"]), (3, HEADER), (4, GOOD)], "xlsx")
    result = validate_rows(tab)
    assert result.header_row == 3
    assert [row.row_number for row in result.valid_rows] == [4]
    assert problems(result) == [(1, None, "This row is above the column names and was skipped."),
                                (2, None, "This row is above the column names and was skipped.")]
    assert all(not p.is_error for p in result.problems)


def test_validate_rows_warns_about_unknown_columns(english):
    result = validate_rows(with_cell("备注", "急售"))
    assert problems(result) == [(1, "备注", "Unknown column: it is ignored.")]
    assert result.rows[0].ok and not result.has_errors


def test_validate_rows_refuses_two_columns_with_one_meaning(english):
    with pytest.raises(SpreadsheetError) as caught:
        validate_rows(with_cell("SKU", "B-2"))
    assert str(caught.value.message) == "Columns 货号 and SKU both mean SKU; keep one of them."


def test_validate_rows_marks_provided_columns():
    values = validate_rows(with_cell("品牌", "")).rows[0].values
    assert values.brand is None
    assert values.provided == {"sku", "title_zh", "category", "unit", "moq", "price_tiers", "brand"}


# ----------------------------------------------------------------- bad cells, each named by row and column


def test_validate_rows_flags_duplicate_skus_on_later_rows(english):
    other = ["RC-2", *GOOD[1:]]
    result = validate_rows(table(HEADER, GOOD, other, GOOD, GOOD))
    assert [row.ok for row in result.rows] == [True, True, False, False]
    assert problems(result) == [(4, "货号", "SKU RC-1 already appears in row 2."),
                                (5, "货号", "SKU RC-1 already appears in row 2.")]


def test_validate_rows_reports_every_problem_of_a_row(english):
    result = validate_rows(table(HEADER, ["", "", "家电", "瓶", "0", "-3"]))
    assert problems(result) == [
        (2, "货号", "Required: this cell is empty."),
        (2, "产品名称", "Required: this cell is empty."),
        (2, "单位", "Unknown unit 瓶; use one of: 件、个、台、套、双、只、箱、包、米、千克、吨、平方米、卷、张、把、盏."),
        (2, "起订量", "Must be at least 1, not 0."),
        (2, "阶梯价", "The price -3 is negative."),
    ]
    assert result.rows[0].values is None and result.has_errors


@pytest.mark.parametrize(("cell", "message"), [
    ("-12.50", "The price -12.50 is negative."),
    ("abc", "Not a price: abc (write the yuan amount, like 12.50)."),
    ("12.505", "The price 12.505 has more than two decimals."),
    ("0", "The price must be more than zero."),
    ("100:12.50; 50:13", "Price breaks out of order: 50 comes after 100; list them from the smallest quantity up."),
    ("100:12.50; 500:11; 500:10", "The quantity 500 appears twice in the price breaks."),
    ("100:12.50; 500:13", "The price rises from 12.50 to 13.00 at 500: a larger quantity should not cost more "
                          "per unit."),
    ("100:12.50; 500", "Write price breaks as quantity:price separated by semicolons (for example 100:12.50; "
                       "500:11.80); 500 is not one."),
    ("200:12.50; 500:11", "The first price break must start at the MOQ (100), not at 200."),
    ("100.5:12", "Must be a whole number, not 100.5."),
    ("100:一二", "Not a price: 一二 (write the yuan amount, like 12.50)."),
])
def test_validate_rows_rejects_bad_prices(english, cell, message):
    assert only_problem(with_cell("阶梯价", cell)) == (2, "阶梯价", message)


@pytest.mark.parametrize(("cell", "tiers"), [
    ("100:12.50; 500:11.80", [(100, 1250), (500, 1180)]),
    ("100：12.5；500：11.8", [(100, 1250), (500, 1180)]),
    ("100:12.50, 500:11.80", [(100, 1250), (500, 1180)]),
    ("100:12.50\n500:11.80\n", [(100, 1250), (500, 1180)]),
    ("100-499:12.50; 500+:11.80; ≥1,000:11", [(100, 1250), (500, 1180), (1000, 1100)]),
    ("12.5", [(100, 1250)]),
    ("1,200.00元", [(100, 120000)]),
    ("100:12.50; 500:12.50", [(100, 1250), (500, 1250)]),
])
def test_validate_rows_reads_price_tiers(cell, tiers):
    result = validate_rows(with_cell("阶梯价", cell))
    assert result.all_problems() == [], problems(result)
    assert result.rows[0].values.price_tiers == [PriceTierInput(q, p) for q, p in tiers]


@pytest.mark.parametrize(("cell", "message"), [
    ("0", "Must be at least 1, not 0."),
    ("12.5", "Must be a whole number, not 12.5."),
    ("-5", "Must not be negative: -5."),
    ("一百", "Not a whole number: 一百."),
    ("3000000000", "Too large: 3000000000; at most 2000000000."),
])
def test_validate_rows_rejects_bad_moq(english, cell, message):
    tab = table(HEADER, [*GOOD[:4], cell, "12.5"])
    assert only_problem(tab) == (2, "起订量", message)


@pytest.mark.parametrize("cell", ["1,000", "１０００.0", " 1000 "])
def test_validate_rows_accepts_moq_written_with_separators(cell):
    result = validate_rows(table(HEADER, [*GOOD[:4], cell, "12.5"]))
    assert result.rows[0].values.moq == 1000


@pytest.mark.parametrize(("cell", "message"), [
    ("9999", "HS code 9999 does not exist."),
    ("901", "HS code 901 does not exist; if it starts with 0, format the column as text and write 0901."),
    ("85A6", "Not an HS code: 85A6 (digits only, like 8516.60)."),
    ("851", "An HS code has 2, 4, 6, 8 or 10 digits; 851 does not exist."),
])
def test_validate_rows_rejects_unknown_hs_codes(english, cell, message):
    assert only_problem(with_cell("HS编码", cell)) == (2, "HS编码", message)


def test_validate_rows_normalises_hs_codes():
    assert value("HS编码", "8516.60", "hs_code") == "851660"
    assert value("HS编码", "0901", "hs_code") == "0901"
    assert value("HS code", "85", "hs_code") == "85"


@pytest.mark.parametrize(("cell", "expected"), [
    ("CCC:2020011234567:2027-05-01", [CertificationInput("CCC", "2020011234567", date(2027, 5, 1))]),
    ("CCC:2020011234567:2027/05/01; ce:ABC123:2026.12.31",
     [CertificationInput("CCC", "2020011234567", date(2027, 5, 1)),
      CertificationInput("CE", "ABC123", date(2026, 12, 31))]),
    ("ISO 9001:Q-1:2026年3月9日", [CertificationInput("ISO9001", "Q-1", date(2026, 3, 9))]),
    ("3C：123：46143", [CertificationInput("CCC", "123", date(2026, 5, 1))]),  # an Excel day number
    ("RoHS", [CertificationInput("ROHS")]),
    ("OEKO-TEX:X9", [CertificationInput("OEKO_TEX", "X9")]),
    ("CE::2026-12-31", [CertificationInput("CE", None, date(2026, 12, 31))]),
])
def test_validate_rows_reads_certifications(cell, expected):
    assert value("认证证书", cell, "certifications") == expected


@pytest.mark.parametrize(("cell", "message"), [
    ("CCC:2020011234567:01/05/2027", "The expiry date 01/05/2027 of CCC is not valid: write it as YYYY-MM-DD, "
                                     "for example 2027-05-01."),
    ("CCC:2020011234567:2027-13-01", "The expiry date 2027-13-01 of CCC is not valid: write it as YYYY-MM-DD, "
                                     "for example 2027-05-01."),
    ("XYZ:1", "Unknown certification XYZ; use one of: BSCI, CCC, CE, CQC, FCC, FDA, GS, ISO14001, ISO9001, "
              "OEKO_TEX, OTHER, ROHS, UL."),
])
def test_validate_rows_rejects_bad_certifications(english, cell, message):
    assert only_problem(with_cell("Certifications", cell)) == (2, "Certifications", message)


@pytest.mark.parametrize(("column", "cell", "message"), [
    ("类目", "飞机", "Unknown category 飞机; the Instructions sheet of the template lists the categories."),
    ("单位", "dozen", "Unknown unit dozen; use one of: 件、个、台、套、双、只、箱、包、米、千克、吨、平方米、卷、张、把、盏."),
    ("库存地点", "月球", "Unknown stock location 月球; write 工厂, 港口 or 保税仓 (factory, port or bonded)."),
    ("CCC认证", "也许", "Unknown CCC status 也许; write 已获得, 不需要 or 未获得 (held, not_needed or missing)."),
    ("可开增值税专用发票", "maybe", "Write yes or no (是 or 否), not maybe."),
    ("原出口市场", "Atlantis", "Unknown country or region Atlantis; write its name or a two-letter code such as US "
                             "or DE."),
    ("库存数量", "-1", "Must not be negative: -1."),
    ("交货期(天)", "4000", "Too large: 4000; at most 3650."),
    ("规格参数", "颜色:白色; 1200W", "Write specifications as name:value separated by semicolons (for example "
                                  "颜色:白色; 功率:1200W); 1200W is not one."),
])
def test_validate_rows_rejects_unknown_words(english, column, cell, message):
    assert only_problem(with_cell(column, cell)) == (2, column, message)


@pytest.mark.parametrize(("column", "limit"), [("货号", 64), ("产品名称", 200), ("品牌", 100), ("关税说明", 300)])
def test_validate_rows_rejects_text_longer_than_the_column(english, column, limit):
    assert only_problem(with_cell(column, "长" * (limit + 1))) == (
        2, column, f"Too long: {limit + 1} characters; at most {limit}.")
    assert validate_rows(with_cell(column, "长" * limit)).rows[0].ok


def test_validate_rows_strips_control_characters():
    result = validate_rows(table([*HEADER, "产品描述"], [
        "RC\x00-1\u200b", "电饭\x07煲\n3L\u202e", *GOOD[2:], "第一行\x0b\r\n第二行\x1f"]))
    values = result.rows[0].values
    assert (values.sku, values.title_zh, values.description_zh) == ("RC-1", "电饭煲 3L", "第一行\n第二行")


@pytest.mark.parametrize(("column", "cell", "expected"), [
    ("单位", "pcs", "件"), ("单位", "Sets", "套"), ("单位", "kg", "千克"), ("单位", "台 (unit)", "台"),
    ("单位", "㎡", "平方米"),
    ("类目", "small_appliances", "small_appliances"), ("类目", "Small home appliances", "small_appliances"),
    ("类目", "纺织服装", "textiles"),
    ("库存地点", "工厂", StockLocation.FACTORY), ("库存地点", "port", StockLocation.PORT),
    ("库存地点", "保税仓", StockLocation.BONDED),
    ("CCC认证", "已获得", CccStatus.HELD), ("CCC认证", "not_needed", CccStatus.NOT_NEEDED),
    ("CCC认证", "Not needed", CccStatus.NOT_NEEDED), ("CCC认证", "未获得", CccStatus.MISSING),
    ("CCC认证", "", CccStatus.MISSING),
    ("符合国标", "是", True), ("符合国标", "否", False), ("符合国标", "Y", True), ("符合国标", "0", False),
    ("符合国标", "TRUE", True), ("符合国标", "✓", True), ("符合国标", "", False),
    ("原出口市场", "US", "US"), ("原出口市场", "美国", "US"), ("原出口市场", "Germany", "DE"),
    ("原出口市场", "de", "DE"), ("原出口市场", "英国", "GB"), ("原出口市场", "USA", "US"), ("原出口市场", "欧盟", "EU"),
    ("交货期(天)", "15天", 15), ("交货期(天)", "0", 0), ("月产能", "20,000", 20000),
    ("规格参数", "颜色:白色; 功率：1200W", [["颜色", "白色"], ["功率", "1200W"]]),
    ("规格参数", "电压=220V, 50Hz", [["电压", "220V, 50Hz"]]),
])
def test_validate_rows_reads_vocabulary(column, cell, expected):
    assert value(column, cell) == expected


def test_validate_rows_attaches_merged_cells_and_formulas_to_their_rows(english):
    def build(sheet):
        sheet.merge_cells("C2:C3")
        sheet["E4"] = "=2*50"

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in (HEADER, GOOD, ["RC-2", "电饭煲", None, "台", 100, "12"], ["RC-3", "电饭煲", "小家电", "台", None, "12"],
                ["RC-4", "电饭煲", "小家电", "台", 100, "12"]):
        sheet.append(row)
    build(sheet)
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = validate_rows(read_table("c.xlsx", buffer.getvalue()))
    assert [row.ok for row in result.rows] == [False, False, False, True]
    assert problems(result) == [
        (2, "类目", "Merged cells C2:C3: unmerge them and fill in every cell."),
        (3, "类目", "Merged cells C2:C3: unmerge them and fill in every cell."),
        (3, "类目", "Required: this cell is empty."),
        (4, "起订量", "Formula without a value in E4: paste values instead of formulas."),
        (4, "起订量", "Required: this cell is empty."),
    ]


def test_validate_rows_reads_a_gbk_csv_end_to_end():
    text = "货号,产品名称,类目,单位,起订量,阶梯价,库存地点\r\nT-1,纯棉T恤,纺织服装,件,300,300:18.50; 1000:16,工厂\r\n"
    result = validate_rows(read_table("目录.csv", text.encode("gbk")))
    assert result.all_problems() == []
    values = result.rows[0].values
    assert (values.title_zh, values.category, values.stock_location) == ("纯棉T恤", "textiles", StockLocation.FACTORY)


# ----------------------------------------------------------------- export and round trip


ODD_PRODUCTS = [
    EXAMPLE_PRODUCT,
    ProductInput(sku="00123", title_zh="=HYPERLINK(\"http://x\",\"点我\")", category="other", unit="盏", moq=1,
                 price_tiers=[PriceTierInput(1, 1)], brand="+86 138", model="-X1", title_en="@home",
                 specs=[["说明", "a; b"], ["k", "v:w"]], ccc_status=CccStatus.NOT_NEEDED,
                 stock_location=StockLocation.BONDED, former_export_market="HK", hs_code="0901",
                 certifications=[CertificationInput("OTHER"), CertificationInput("CE", None, date(2030, 1, 2)),
                                 CertificationInput("ISO9001", "Q:1:2", None)],
                 description_zh="多行\n描述", lead_time_days=0, stock_quantity=0),
    ProductInput(sku="only-required", title_zh="Only English title", category="toys", unit="套", moq=5000,
                 price_tiers=[PriceTierInput(5000, 123456789)]),
]


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_rows_round_trips(lang, fmt):
    data = export_rows([product.as_row() for product in ODD_PRODUCTS], fmt, lang)
    result = validate_rows(read_table(f"catalog.{fmt}", data))
    assert result.all_problems() == [], problems(result)
    assert [row.values for row in result.rows] == ODD_PRODUCTS
    assert result.rows[0].values.provided == {f.name for f in dataclasses.fields(ProductInput)} - {"provided"}


def test_product_to_row_reads_a_product():
    product = Product(sku="RC-1", title_zh="电饭煲", title_en=None, description_zh=None, description_en=None,
                      hs_code="851660", category="small_appliances", brand=None, model=None,
                      specs=[["容量", "3L"]], unit="台", moq=100, monthly_capacity=None, stock_quantity=5,
                      stock_location=StockLocation.FACTORY, lead_time_days=7, former_export_market="US",
                      tariff_note=None, ccc_status=CccStatus.HELD, gb_standard=None, gb_standard_met=True,
                      chinese_label_ready=False, vat_invoice=True)
    product.price_tiers = [PriceTier(min_quantity=100, unit_price_fen=1250), PriceTier(min_quantity=500,
                                                                                        unit_price_fen=1180)]
    product.certifications = [Certification(kind="CCC", number="123", expires_on=date(2027, 5, 1))]
    row = product_to_row(product)
    assert row["price_tiers"] == [PriceTierInput(100, 1250), PriceTierInput(500, 1180)]
    assert row["certifications"] == [CertificationInput("CCC", "123", date(2027, 5, 1))]
    result = validate_rows(read_table("c.csv", export_rows([row], "csv", "zh")))
    assert result.rows[0].values.as_row() == row


# ----------------------------------------------------------------- one category vocabulary


@pytest.mark.parametrize("accept_language", ["zh-CN", "en"])
def test_every_category_name_the_pages_show_is_accepted_on_import(app, accept_language):
    from marketplace.catalog.categories import CATEGORIES, category_name
    from marketplace.catalog.views import category_label

    with app.test_request_context(headers={"Accept-Language": accept_language}):
        # what the product pages and the catalog list show (category_label), and the search facets
        shown = {category.code: category_label(category.code) for category in CATEGORIES}
        assert shown == {category.code: str(category.label) for category in CATEGORIES}
    if accept_language == "zh-CN":
        assert shown["sports"] == "体育户外用品" and shown["chemicals_plastics"] == "塑料及化工产品"
        assert shown["food"] == "食品和农产品"
    rows = [[f"C-{index}", "样品", name, "件", "1", "9.90"] for index, name in enumerate(shown.values())]
    result = validate_rows(table(HEADER, *rows))
    assert result.all_problems() == [], problems(result)
    assert [row.values.category for row in result.rows] == list(shown)
    # the template and exports write the names the pages show
    lang = "zh" if accept_language == "zh-CN" else "en"
    assert {code: category_name(code, lang) for code in shown} == shown


@pytest.mark.parametrize(("cell", "code"), [
    ("运动户外", "sports"), ("塑料化工", "chemicals_plastics"), ("食品农产品", "food"), ("小家电", "small_appliances"),
    ("LED照明", "lighting"), ("LED 照明", "lighting"), ("汽车配件", "auto_parts"), ("其它", "other"),
    ("Sports and outdoor goods", "sports"), ("sports", "sports"),
])
def test_older_category_names_are_still_accepted(cell, code):
    assert value("类目", cell, "category") == code


def test_product_form_takes_a_leading_quote_as_typed_but_an_import_drops_its_own(app):
    from werkzeug.datastructures import MultiDict

    from marketplace.catalog.forms import ProductForm

    with app.test_request_context():
        form = ProductForm(MultiDict({"title_zh": "'=1+2 电饭煲", "sku": "'+86", "category": "other",
                                      "unit": "件", "moq": "1", "price_tiers-quantity": "1",
                                      "price_tiers-price": "9.90"}), meta={"csrf": False})
        form.validate()
        data = form.to_input()
    assert (data.title_zh, data.sku) == ("'=1+2 电饭煲", "'+86")
    # in a spreadsheet that quote is the one exports add to neutralise formulas: it is dropped
    imported = validate_rows(with_cell("产品名称", "'=1+2 电饭煲")).rows[0].values
    assert imported.title_zh == "=1+2 电饭煲"
