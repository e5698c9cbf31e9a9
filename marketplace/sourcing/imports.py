"""Demand lists (发榜): procurement requests in bulk from a spreadsheet, through the catalog's import path.

Owns: the request columns (``COLUMNS``: headers in Chinese and English and the other names
accepted), ``REQUEST_ROWS`` (the row spec ``marketplace.imports`` checks every row with; a row
becomes a ``services.RequestInput`` checked by ``services.check_request_input``, the post
form's rules and messages), the ``requests`` kind of import job (``KIND``), the commit service
``import_requests`` (one transaction: drafts, or published requests, each with its events),
the template writer and the column guide. Upload, preview, commit in a thread with progress and
the problems report are ``marketplace.imports.jobs``, shared with the catalog. Every request of a
demand list is shown to every verified exporter (invited-only requests need exporters chosen one
by one: the post form). No Flask views or forms.
"""
from __future__ import annotations

import io
import logging
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa

from marketplace import regions
from marketplace.accounts.models import Company, Role, User
from marketplace.accounts.validation import normalize_uscc
from marketplace.catalog.categories import (
    CATEGORIES,
    CERTIFICATION_KINDS,
    UNITS,
    category_name,
    label_in,
    msgid,
)
from marketplace.catalog.forms import format_hs_code
from marketplace.catalog.vocabulary import (
    UNIT_ALIASES,
    parse_category,
    parse_certifications,
    parse_hs_code,
    parse_unit,
    unit_name,
)
from marketplace.database import utcnow
from marketplace.errors import NotFound, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.i18n import _l, fen_to_yuan
from marketplace.imports import jobs
from marketplace.imports.cells import CellError, parse_date, parse_int, parse_price, show, vocab_key
from marketplace.imports.columns import FAILED, Column, RowContext, RowSpec, ValidationResult
from marketplace.imports.problems import Problem
from marketplace.imports.table import MAX_ROWS
from marketplace.sourcing import services
from marketplace.sourcing.forms import parse_budget
from marketplace.sourcing.models import ProcurementRequest
from marketplace.sourcing.services import MAX_DESCRIPTION, MAX_QUANTITY, MAX_TITLE, RequestInput
from marketplace.sourcing.states import READINESS_ITEMS, Party, RequestAction, RequestState, find_request_rule
from marketplace.spreadsheets import column_letter, neutralise, write_csv, xlsx_value

logger = logging.getLogger(__name__)

#: rows written between two flushes (and progress reports)
BATCH = 500

# Headers and help texts exist in both languages as data: a file's language is the one its user
# chose (the template's lang), whatever the page's locale, and an import accepts both at once.
COLUMNS: tuple[Column, ...] = (
    Column("title", "需求标题", "Title", True, MAX_TITLE,
           ("标题", "需求名称", "采购需求", "采购品名", "品名", "产品名称", "商品名称", "名称", "采购内容", "Request",
            "Request title", "Product", "Product name", "Item", "What is needed"),
           "要采购什么，最多 200 字，如 智能电饭煲 4L", "What you need, at most 200 characters, e.g. Rice cooker 4 L",
           width=28),
    Column("description", "需求描述", "Description", False, MAX_DESCRIPTION,
           ("描述", "详细描述", "需求说明", "规格要求", "技术要求", "采购说明", "Details", "Specification",
            "Requirements"),
           "规格、包装、质量与交货要求，可换行", "Specifications, packaging, quality and delivery; line breaks allowed",
           multiline=True, width=40),
    Column("category", "类目", "Category", True, 100,
           ("分类", "产品类别", "类别", "品类", "产品分类", "商品类目", "商品分类", "Product category"),
           "见下方类目表（中文名、英文名或代码）", "See the categories below (Chinese or English name, or code)"),
    Column("hs_code", "HS编码", "HS code", False, 13,
           ("HS编号", "海关编码", "海关商品编码", "税号", "HS", "HTS code", "Tariff code", "Customs code"),
           "选填：海关 HS 编码的章（2 位）、品目（4 位）或更长，以 0 开头时请把该列设为文本",
           "Optional: an HS chapter (2 digits), heading (4 digits) or longer; format the column as text if it "
           "starts with 0", width=12),
    Column("quantity", "采购数量", "Quantity", True, None,
           ("数量", "需求数量", "采购量", "订购数量", "Qty", "Quantity needed", "Order quantity"),
           "正整数（按下一列的单位计）", "A positive whole number, in the unit of the next column", width=10),
    Column("unit", "单位", "Unit", True, 20,
           ("计量单位", "计价单位", "UOM", "Unit of measure", "Units"),
           "见下方单位表，如 台、件、套；也可写英文 pcs、set、kg",
           "See the units below (件, 台, 套 …); English pcs, set, kg … are accepted", width=8),
    Column("target_price", "目标单价(元)", "Target unit price (CNY)", False, None,
           ("目标单价", "目标价", "目标价格", "期望单价", "期望价格", "单价", "Target price", "Unit price",
            "Target unit price"),
           "选填：元，最多两位小数，如 89.50", "Optional: yuan, at most two decimals, e.g. 89.50", width=12),
    Column("budget", "总预算(元)", "Total budget (CNY)", False, None,
           ("预算", "总预算", "采购预算", "预算金额", "Budget", "Total budget"),
           "选填：元，可代替目标单价或与之并用", "Optional: yuan, instead of or besides a target unit price",
           width=12),
    Column("province", "交货省份", "Delivery province", True, 30,
           ("省份", "收货省份", "交货省", "送货省份", "省", "Province", "Delivery province code"),
           "省份名称或 GB/T 2260 代码，如 广东省、广东 或 440000",
           "Province name in Chinese or its GB/T 2260 code, e.g. 广东省 or 440000", width=12),
    Column("city", "交货城市", "Delivery city", True, 30,
           ("城市", "收货城市", "交货地", "交货地点", "送货城市", "市", "City", "Delivery city code"),
           "地级市名称或代码，如 深圳市、深圳 或 440300；直辖市写市名",
           "Prefecture-level city name in Chinese or its code, e.g. 深圳市 or 440300; for Beijing, Tianjin, "
           "Shanghai and Chongqing write the city's own name", width=12),
    Column("certifications", "认证要求", "Required certifications", False, 300,
           ("所需认证", "要求认证", "认证", "资质要求", "Certifications", "Certification required"),
           "认证代码，多项用逗号分隔，如 CCC, CE", "Certification codes separated by commas, e.g. CCC, CE",
           width=16),
    Column("readiness", "国内准备要求", "Required readiness", False, 300,
           ("准备事项", "国内准备", "内销要求", "上架要求", "Readiness", "Domestic readiness",
            "Required domestic readiness"),
           "CCC、国标、中文标签、专票，多项用逗号分隔", "ccc, gb_standard, chinese_label, vat_invoice, separated by "
           "commas", width=20),
    Column("deadline", "报价截止日期", "Quotes by", True, None,
           ("截止日期", "报价截止", "截止时间", "有效期至", "Deadline", "Quote deadline", "Quotes due"),
           "最后报价日（中国时间），今天起一年内，如 2027-01-15", "The last day (China time) to quote, within a year, "
           "e.g. 2027-01-15", width=14),
    Column("note", "备注", "Note", False, 2000,
           ("说明", "附注", "其他要求", "Notes", "Remarks", "Comment"),
           "选填：附在描述之后", "Optional: added after the description", multiline=True, width=24),
)


# --------------------------------------------------------------------------- cells


_PROVINCE_SUFFIX = re.compile(r"(?:省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)$")
_CITY_SUFFIX = re.compile(r"(?:市|地区|盟|林区)$")


def _region_key(text: str) -> str:
    return vocab_key(text).replace("（", "(").replace("）", ")")


def _province_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for region in regions.provinces():
        for name in (region.name, _PROVINCE_SUFFIX.sub("", region.name), region.code, region.code[:2]):
            index.setdefault(_region_key(name), region.code)
    return index


_PROVINCES = _province_index()


def parse_province(text: str) -> str:
    """A province's GB/T 2260 code from its code or Chinese name ('广东省', '广东', '440000', '44')."""
    code = _PROVINCES.get(_region_key(text))
    if code is None:
        raise CellError(_l("Unknown province %(value)s; write its Chinese name (广东省) or its six-digit code "
                           "(440000).", value=show(text)))
    return code


def find_city(province_code: str, text: str) -> str | None:
    """The code of the province's city written as a code or a Chinese name ('深圳市', '深圳', '440300'), or None."""
    wanted = _region_key(text)
    for region in regions.cities(province_code):
        names = (region.name, _CITY_SUFFIX.sub("", region.name), region.code)
        if wanted in {_region_key(name) for name in names}:
            return region.code
    return None


_LIST_SEPARATORS = re.compile(r"[,，、;；|/\n]+")


def _list(text: str) -> list[str]:
    return [part.strip() for part in _LIST_SEPARATORS.split(text) if part.strip()]


def parse_required_certifications(text: str) -> tuple[str, ...]:
    """'CCC, CE' → ('CCC', 'CE'): certification kinds as the catalog names them (3C → CCC)."""
    codes = []
    for item in _list(text):
        codes.extend(certification.kind for certification in parse_certifications(item.split(":")[0]))
    return tuple(dict.fromkeys(codes))


_READINESS_ALIASES = {
    "ccc": ("3C", "CCC认证", "中国强制性产品认证", "强制认证", "CCC certification"),
    "gb_standard": ("国标", "符合国标", "国家标准", "GB", "GB standard", "gb standard met"),
    "chinese_label": ("中文标签", "中文包装", "中文标签包装", "中文标识", "Chinese label", "Chinese packaging"),
    "vat_invoice": ("专票", "增值税专用发票", "可开专票", "增值税发票", "VAT invoice", "VAT special invoice",
                    "special VAT invoice"),
}


def _readiness_index() -> dict[str, str]:
    index = {}
    for code, label in READINESS_ITEMS:
        for name in (code, msgid(label), label_in(label, "zh_CN"), *_READINESS_ALIASES[code]):
            index.setdefault(vocab_key(name), code)
    return index


def parse_readiness(text: str) -> tuple[str, ...]:
    """'CCC, 国标, 中文标签, 专票' → readiness codes (the post form's checklist)."""
    index = _readiness_index()
    codes = []
    for item in _list(text):
        code = index.get(vocab_key(item))
        if code is None:
            raise CellError(_l("Unknown readiness item %(value)s; write CCC, 国标, 中文标签 or 专票 (ccc, "
                               "gb_standard, chinese_label or vat_invoice).", value=show(item)))
        codes.append(code)
    return tuple(dict.fromkeys(codes))


PARSERS = {
    "category": parse_category,
    "hs_code": parse_hs_code,
    "quantity": lambda text: parse_int(text, minimum=1, maximum=MAX_QUANTITY),
    "unit": parse_unit,
    "target_price": parse_price,
    "budget": parse_budget,
    "province": parse_province,
    "certifications": parse_required_certifications,
    "readiness": parse_readiness,
    "deadline": parse_date,
}

#: ``check_request_input``'s field names → the column the message belongs to
_FIELD_COLUMNS = {"title": "title", "description": "description", "category": "category", "hs_code": "hs_code",
                  "quantity": "quantity", "unit": "unit", "target_price": "target_price", "budget": "budget",
                  "province_code": "province", "city_code": "city", "certifications": "certifications",
                  "readiness": "readiness", "deadline": "deadline"}


def _build_request(row: RowContext) -> RequestInput | None:
    """A row's values as a RequestInput checked by the post form's rules (``services.check_request_input``)."""
    values, names, problems = row.values, row.names, row.problems
    province, city_text = values.get("province"), values.get("city")
    city = None
    if isinstance(province, str) and isinstance(city_text, str):
        city = find_city(province, city_text)
        if city is None:
            problems.append(Problem(row.number, names["city"], _l(
                "%(city)s is not a city of %(province)s; write the city's Chinese name or its six-digit code.",
                city=show(city_text), province=regions.province(province).name)))
    if problems or any(value is FAILED for value in values.values()):
        return None
    description = values.get("description")
    note = values.get("note")
    if note:
        description = f"{description}\n\n{note}" if description else note
    data = RequestInput(
        title=values.get("title", ""), description=description, category=values["category"],
        hs_code=values.get("hs_code"), quantity=values["quantity"], unit=values["unit"],
        target_unit_price_fen=values.get("target_price"), budget_fen=values.get("budget"),
        delivery_province_code=province, delivery_city_code=city,
        required_certifications=values.get("certifications", ()), required_readiness=values.get("readiness", ()),
        must_requirements=services.default_musts(),  # a demand list has no musts column: the post form's default
        deadline=values["deadline"],
    )
    today = row.memo.get("today")
    if today is None:
        today = row.memo["today"] = services.today_in_china()
    try:
        return services.check_request_input(data, today)
    except ValidationFailed as error:
        key = _FIELD_COLUMNS.get(error.field or "")
        column = names.get(key) or (names.get("note") if key == "description" else None)
        problems.append(Problem(row.number, column, error.message))
        return None


#: the demand list's row spec: what ``marketplace.imports`` needs to check a request file
REQUEST_ROWS = RowSpec(
    columns=COLUMNS,
    parsers=PARSERS,
    build=_build_request,
    example_keys=("title", "category", "quantity", "unit"),
)


# --------------------------------------------------------------------------- who may import, plan, commit


def check_can_import_requests(actor: User, company: Company) -> None:
    """Only a verified buyer's own users (and the command line, as a platform administrator) post a demand list."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise PermissionDenied(_l("Please log in."))
    if actor.role is not Role.PLATFORM_ADMIN and actor.company_id != company.id:
        raise PermissionDenied(_l("You can only post your own company's procurement requests."))
    services.check_buyer_company(company)


@dataclass
class RequestImportPlan:
    """What a demand list will do: every valid row becomes a new request (nothing is updated)."""

    creates: list[RequestInput] = field(default_factory=list)
    updates: list[RequestInput] = field(default_factory=list)
    rejected_rows: int = 0

    @property
    def total(self) -> int:
        return len(self.creates)


@dataclass
class RequestImportOutcome:
    """What a demand-list import did."""

    created: int
    published: int
    rejected_rows: int
    updated: int = 0


def plan_request_import(company: Company, result: ValidationResult) -> RequestImportPlan:
    """The valid rows of a checked demand list, each a new request (nothing is written)."""
    return RequestImportPlan(creates=[row.values for row in result.valid_rows], rejected_rows=len(result.invalid_rows))


def import_requests(actor: User, company: Company, result: ValidationResult, publish: bool = False,
                    progress=None, session_id: int | None = None) -> RequestImportOutcome:
    """Write every valid row as a request in one transaction: drafts, or published at once with ``publish``.

    ``session_id`` puts every request on a matchmaking session's demand list (``sessions.demand`` checks
    that the company hosts it and passes it through its own import kind).

    Each request gets its "created" event (and "published" event). The rows are checked again
    against today's date: if one no longer passes (its deadline went by since the preview),
    nothing is written. ``progress(done, total)`` is called as rows are written.
    """
    check_can_import_requests(actor, company)
    rows = result.valid_rows
    total = len(rows)
    today = services.today_in_china()
    publishing = find_request_rule(RequestAction.PUBLISH, RequestState.DRAFT, Party.BUYER) if publish else None
    actor_id = actor.id
    now = utcnow()
    try:
        batch: list[ProcurementRequest] = []
        for done, row in enumerate(rows, start=1):
            try:
                data = services.check_request_input(row.values, today)
            except ValidationFailed as error:
                raise ValidationFailed(_l("Row %(row)s: %(problem)s Nothing was imported.", row=row.row_number,
                                          problem=error.message)) from None
            request = ProcurementRequest(buyer_company_id=company.id, created_by_id=actor_id,
                                         state=RequestState.DRAFT, idempotency_key=secrets.token_urlsafe(24),
                                         created_at=now, updated_at=now, session_id=session_id)
            services.apply_request_input(request, data)
            db.session.add(request)
            services.record_request_event(request, RequestAction.CREATE, actor, None, None, version=1)
            batch.append(request)
            if len(batch) == BATCH or done == total:
                _flush(batch, actor, publishing)
                batch = []
                if progress:
                    progress(done, total)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    logger.info("demand list for company %s: %d requests %s", company.id, total,
                "published" if publish else "drafted")
    return RequestImportOutcome(created=total, published=total if publish else 0,
                                rejected_rows=len(result.invalid_rows))


def _flush(batch: list[ProcurementRequest], actor, publishing) -> None:
    """Insert a batch of drafts; when publishing, open them with one UPDATE (not one per row) and their events."""
    db.session.flush()
    if publishing is None:
        return
    now = utcnow()
    # the drafts were inserted at version 1 a moment ago, in this transaction: publishing makes it 2,
    # and "evaluate" brings the session's objects up to date without loading them again
    db.session.execute(
        sa.update(ProcurementRequest)
        .where(ProcurementRequest.id.in_([request.id for request in batch]))
        .values(state=publishing.target, version=2, published_at=now, updated_at=now),
        execution_options={"synchronize_session": "evaluate"},
    )
    for request in batch:
        services.record_request_event(request, RequestAction.PUBLISH, actor, RequestState.DRAFT, None,
                                      version=request.version)
    db.session.flush()


KIND = jobs.register_kind(jobs.ImportKind(
    name="requests",
    rows=REQUEST_ROWS,
    check_actor=check_can_import_requests,
    plan=plan_request_import,
    commit=import_requests,
    not_found=_l("This demand list does not exist."),
))


def analyse_file(company: Company, filename: str, data: bytes) -> jobs.Analysis:
    """Read and check a demand list for the company; write nothing (the command line's and the pages' path)."""
    return jobs.analyse_file(KIND, company, filename, data)


def find_buyer(uscc: str) -> Company:
    """The verified buyer company with this unified social credit code; NotFound or PermissionDenied otherwise."""
    code = normalize_uscc(uscc)
    company = db.session.scalar(sa.select(Company).where(Company.uscc == code)) if code else None
    if company is None:
        raise NotFound(_l("No company has the unified social credit code %(uscc)s.", uscc=uscc))
    services.check_buyer_company(company)
    return company


# --------------------------------------------------------------------------- template, column guide


def template_header(lang: str) -> list[str]:
    """The template's header row in ``zh`` or ``en``, required columns marked with *."""
    return [(column.zh if lang == "zh" else column.en) + ("*" if column.required else "") for column in COLUMNS]


def example_cells(lang: str, today: date | None = None) -> list:
    """An example request (smart rice cookers for a supermarket chain) as template cells in ``lang``."""
    zh = lang == "zh"
    deadline = (today or services.today_in_china()) + timedelta(days=30)
    values = {
        "title": "智能电饭煲 4L 预约定时" if zh else "Smart rice cooker 4 L with timer",
        "description": "300 家门店铺货，白色，含中文说明书\n分两批交货" if zh else
                       "For 300 stores, white, Chinese manual included\nDelivered in two lots",
        "category": category_name("small_appliances", lang),
        "hs_code": format_hs_code("851660"),
        "quantity": 3000,
        "unit": unit_name("台", lang),
        "target_price": str(fen_to_yuan(8950)),
        "budget": "",
        "province": "广东省" if zh else "440000",
        "city": "深圳市" if zh else "440300",
        "certifications": "CCC",
        "readiness": "CCC, 中文标签, 专票" if zh else "ccc, chinese_label, vat_invoice",
        "deadline": deadline.isoformat(),
        "note": "请附产品图片" if zh else "Please attach product photos",
    }
    return [values[column.key] for column in COLUMNS]


def _check_lang_format(lang: str, fmt: str) -> None:
    if lang not in ("zh", "en"):
        raise ValueError(f"unknown language {lang!r} (zh or en)")
    if fmt not in ("csv", "xlsx"):
        raise ValueError(f"unknown format {fmt!r} (csv or xlsx)")


def write_template(lang: str, fmt: str) -> bytes:
    """The demand-list template in ``zh`` or ``en``: the header row and an example request.

    XLSX adds a second sheet (说明 / Instructions) describing each column and listing the
    categories, units, provinces, certification kinds and readiness items, and drop-down lists.
    """
    _check_lang_format(lang, fmt)
    header = template_header(lang)
    example = example_cells(lang)
    if fmt == "csv":
        return write_csv(header, [example])
    return _template_xlsx(lang, header, example)


def _template_xlsx(lang: str, header: list[str], example: list) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    zh = lang == "zh"
    bold = Font(bold=True)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "采购需求" if zh else "Requests"
    sheet.append([neutralise(name) for name in header])
    sheet.append([xlsx_value(value) for value in example])
    letters = {}
    for index, column in enumerate(COLUMNS, start=1):
        letter = letters[column.key] = column_letter(index)
        cell = sheet.cell(row=1, column=index)
        cell.font = bold
        if column.required:
            cell.fill = PatternFill("solid", fgColor="FFF2CC")
        sheet.column_dimensions[letter].width = column.width
        if column.key in ("hs_code", "province", "city"):  # keep leading zeros and codes as typed
            sheet.column_dimensions[letter].number_format = "@"
        if column.multiline:
            sheet.cell(row=2, column=index).alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"

    notes = workbook.create_sheet("说明" if zh else "Instructions")
    notes.append(["列名", "必填", "填写说明", "示例"] if zh else ["Column", "Required", "Format", "Example"])
    headings = [1]
    for index, column in enumerate(COLUMNS):
        notes.append([neutralise(header[index]),
                      ("是" if column.required else "否") if zh else ("yes" if column.required else "no"),
                      column.help_zh if zh else column.help_en, neutralise(str(example[index]))])

    def section(title: list[str], rows) -> tuple[int, int]:
        notes.append([])
        headings.append(notes.max_row + 1)
        notes.append(title)
        first = notes.max_row + 1
        for row in rows:
            notes.append(row)
        return first, notes.max_row

    categories = section(["类目（填写中文名、英文名或代码）", "英文名", "代码"] if zh
                         else ["Category (write the name or the code)", "Chinese name", "Code"],
                         [[category_name(c.code, "zh"), category_name(c.code, "en"), c.code] if zh
                          else [category_name(c.code, "en"), category_name(c.code, "zh"), c.code] for c in CATEGORIES])
    section(["单位", "也可写作"] if zh else ["Unit", "Also written as"],
            [[unit, ", ".join(UNIT_ALIASES.get(unit, ()))] for unit in UNITS])
    provinces = section(["省份", "代码"] if zh else ["Province", "Code"],
                        [[region.name, region.code] for region in regions.provinces()])
    section(["认证类型", "说明"] if zh else ["Certification kind", "Meaning"],
            [[code, label_in(label, "zh_CN" if zh else "en")] for code, label in CERTIFICATION_KINDS])
    section(["国内准备要求", "代码"] if zh else ["Readiness item", "Code"],
            [[label_in(label, "zh_CN" if zh else "en"), code] for code, label in READINESS_ITEMS])
    for number in headings:
        for cell in notes[number]:
            cell.font = bold
    for letter, width in zip("ABCD", (30, 24, 70, 40), strict=True):
        notes.column_dimensions[letter].width = width

    def dropdown(key: str, formula: str) -> None:
        # no error box: the import accepts more spellings than the list shows
        validation = DataValidation(type="list", formula1=formula, allow_blank=True, showErrorMessage=False)
        validation.add(f"{letters[key]}2:{letters[key]}{MAX_ROWS + 1}")
        sheet.add_data_validation(validation)

    dropdown("category", f"'{notes.title}'!$A${categories[0]}:$A${categories[1]}")
    dropdown("unit", '"' + ",".join(UNITS) + '"')
    dropdown("province", f"'{notes.title}'!$A${provinces[0]}:$A${provinces[1]}")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def column_guide(lang: str) -> list[jobs.ColumnGuide]:
    """Every column with the Chinese and English headers accepted for it, in ``lang`` (the upload page)."""
    examples = dict(zip([column.key for column in COLUMNS], example_cells(lang), strict=True))
    return jobs.column_guide(REQUEST_ROWS, examples, lang)
