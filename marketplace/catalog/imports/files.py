"""Catalog files to download: the import template and catalog exports, in CSV or XLSX, Chinese or English.

Owns: what the template holds (the header row, an example product, an instructions sheet with
the categories, units and certification kinds, drop-down lists) and the export of products in
the template's columns, which reads back through the import to the same values. Writing goes
through ``marketplace.spreadsheets`` (formula injection neutralised). No database, no Flask views.
"""
from __future__ import annotations

import io
from collections.abc import Iterable

from marketplace.catalog.categories import CATEGORIES, CERTIFICATION_KINDS, UNITS, category_name, msgid
from marketplace.catalog.imports import columns
from marketplace.catalog.vocabulary import CCC_WORDS, STOCK_LOCATION_WORDS, UNIT_ALIASES
from marketplace.imports.table import MAX_ROWS
from marketplace.spreadsheets import column_letter, neutralise, write_csv, write_xlsx, xlsx_value


def _check_lang_format(lang: str, fmt: str) -> None:
    if lang not in ("zh", "en"):
        raise ValueError(f"unknown language {lang!r} (zh or en)")
    if fmt not in ("csv", "xlsx"):
        raise ValueError(f"unknown format {fmt!r} (csv or xlsx)")


def _sheet_title(lang: str) -> str:
    return "产品" if lang == "zh" else "Products"


def export_rows(products: Iterable, fmt: str, lang: str) -> bytes:
    """A catalog file (CSV UTF-8 with BOM, or XLSX) of product dicts with the canonical keys.

    Build each dict with ``rows.product_to_row(product)`` (or ``ProductInput.as_row()``); the file
    has the template's columns in ``lang`` and reads back through ``read_table`` and
    ``columns.validate_rows`` to the same values.
    """
    _check_lang_format(lang, fmt)
    header = columns.template_header(lang)
    cells = (columns.format_cells(product, lang) for product in products)
    if fmt == "csv":
        return write_csv(header, cells)
    widths = [[column.width for column in columns.TEMPLATE_COLUMNS]]
    return write_xlsx([(_sheet_title(lang), header, cells)], widths=widths)


def write_template(lang: str, fmt: str) -> bytes:
    """The import template in ``zh`` or ``en``: the header row and an example row (a rice cooker).

    XLSX adds a second sheet (说明 / Instructions) describing each column and listing the
    categories, units and certification kinds, and drop-down lists on the vocabulary columns.
    """
    _check_lang_format(lang, fmt)
    header = columns.template_header(lang)
    example = columns.format_cells(columns.EXAMPLE_PRODUCT.as_row(), lang)
    if fmt == "csv":
        return write_csv(header, [example])
    return _template_xlsx(lang, header, example)


def _template_xlsx(lang: str, header: list[str], example: list) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    zh = lang == "zh"
    bold = Font(bold=True)
    required_fill = PatternFill("solid", fgColor="FFF2CC")
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _sheet_title(lang)
    sheet.append([neutralise(name) for name in header])
    sheet.append([xlsx_value(value) for value in example])
    letters = {}
    for index, column in enumerate(columns.TEMPLATE_COLUMNS, start=1):
        letter = column_letter(index)
        letters[column.key] = letter
        cell = sheet.cell(row=1, column=index)
        cell.font = bold
        if column.required:
            cell.fill = required_fill
        sheet.column_dimensions[letter].width = column.width
        if column.key in ("sku", "hs_code"):  # keep leading zeros that users type
            sheet.column_dimensions[letter].number_format = "@"
        if column.multiline:
            sheet.cell(row=2, column=index).alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"

    notes = workbook.create_sheet("说明" if zh else "Instructions")
    notes.append(["列名", "必填", "填写说明", "示例"] if zh else ["Column", "Required", "Format", "Example"])
    for index, column in enumerate(columns.TEMPLATE_COLUMNS):
        notes.append([
            neutralise(header[index]),
            ("是" if column.required else "否") if zh else ("yes" if column.required else "no"),
            column.help_zh if zh else column.help_en,
            neutralise(str(example[index])),
        ])
    headings = [1]
    notes.append([])
    headings.append(notes.max_row + 1)
    notes.append(["类目（填写中文名、英文名或代码）", "英文名", "代码"] if zh
                 else ["Category (write the name or the code)", "Chinese name", "Code"])
    first_category = notes.max_row + 1
    for category in CATEGORIES:
        zh_name, en_name = category_name(category.code, "zh"), category_name(category.code, "en")
        notes.append([zh_name, en_name, category.code] if zh else [en_name, zh_name, category.code])
    last_category = notes.max_row
    notes.append([])
    headings.append(notes.max_row + 1)
    notes.append(["单位", "也可写作"] if zh else ["Unit", "Also written as"])
    for unit in UNITS:
        notes.append([unit, ", ".join(UNIT_ALIASES.get(unit, ()))])
    notes.append([])
    headings.append(notes.max_row + 1)
    notes.append(["认证类型", "说明"] if zh else ["Certification kind", "Meaning"])
    for code, label in CERTIFICATION_KINDS:
        notes.append([code, msgid(label)])
    notes.append([])
    headings.append(notes.max_row + 1)
    notes.append(["库存地点", "CCC认证", "是/否"] if zh else ["Stock location", "CCC status", "Yes/no"])
    stock_words = [words[0 if zh else 1] for words in STOCK_LOCATION_WORDS.values()]
    ccc_words = [words[0 if zh else 1] for words in CCC_WORDS.values()]
    yes_no = ["是", "否"] if zh else ["yes", "no"]
    for position in range(3):
        notes.append([stock_words[position], ccc_words[position], yes_no[position] if position < 2 else None])
    for number in headings:
        for cell in notes[number]:
            cell.font = bold
    notes.column_dimensions["A"].width = 30
    notes.column_dimensions["B"].width = 24
    notes.column_dimensions["C"].width = 70
    notes.column_dimensions["D"].width = 40

    def dropdown(key: str, formula: str) -> None:
        # no error box: the import accepts more spellings than the list shows
        validation = DataValidation(type="list", formula1=formula, allow_blank=True, showErrorMessage=False)
        validation.add(f"{letters[key]}2:{letters[key]}{MAX_ROWS + 1}")
        sheet.add_data_validation(validation)

    dropdown("category", f"'{notes.title}'!$A${first_category}:$A${last_category}")
    dropdown("unit", '"' + ",".join(UNITS) + '"')
    dropdown("stock_location", '"' + ",".join(stock_words) + '"')
    dropdown("ccc_status", '"' + ",".join(ccc_words) + '"')
    for key in ("gb_standard_met", "chinese_label_ready", "vat_invoice"):
        dropdown(key, '"' + ",".join(yes_no) + '"')
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
