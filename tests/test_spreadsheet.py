"""Reading uploads (CSV encodings, XLSX, refused files) and writing CSV/XLSX with formulas neutralised."""
from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date, datetime

import openpyxl
import pytest

from marketplace.catalog.imports.columns import validate_rows
from marketplace.catalog.imports.files import export_rows, write_template
from marketplace.imports import table as spreadsheet
from marketplace.imports.problems import Problem, SpreadsheetError, write_problems
from marketplace.imports.table import read_table
from marketplace.spreadsheets import neutralise, write_csv, write_xlsx

MiB = 1024 * 1024
HEADER_ZH = ["货号", "产品名称", "类目", "单位", "起订量", "阶梯价"]
ROW_ZH = ["RC-1", "电饭煲 白色", "小家电", "台", "100", "100:12.50; 500:11.80"]


@pytest.fixture
def english(app):
    """Render lazy messages as an English-speaking user would see them."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


def refused(filename: str, data: bytes, **kwargs) -> str:
    """The message of the SpreadsheetError that reading raises."""
    with pytest.raises(SpreadsheetError) as caught:
        read_table(filename, data, **kwargs)
    return str(caught.value.message)


def csv_bytes(rows, encoding="utf-8", delimiter=",") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows, build=None) -> bytes:
    """A workbook whose first sheet holds ``rows``; ``build(sheet)`` may add merges, formulas …"""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    if build:
        build(sheet)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# ----------------------------------------------------------------- refused before reading


def test_read_table_refuses_60_mb_file_before_reading(english, monkeypatch):
    monkeypatch.setattr(spreadsheet, "_read_csv", lambda *a: pytest.fail("the file was read"))
    message = refused("catalog.csv", b"a" * (60 * MiB))
    assert message == "The file is 60.0 MB; the limit is 50 MB."


def test_read_table_refuses_empty_file(english):
    assert refused("catalog.xlsx", b"") == "The file is empty."


def test_read_table_refuses_file_of_blank_lines(english):
    assert refused("catalog.csv", b"\r\n , ,\r\n\r\n") == "The file has no rows: it holds no data."


def test_read_table_refuses_exe_renamed_xlsx(english):
    exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200 + b"This program cannot be run in DOS mode"
    assert refused("catalog.xlsx", exe) == "This is not a spreadsheet: upload .xlsx or .csv."


def test_read_table_refuses_image_renamed_csv(english):
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 50
    assert refused("catalog.csv", png) == "This is not a spreadsheet: upload .xlsx or .csv."


def test_read_table_refuses_old_xls_with_advice(english):
    message = refused("catalog.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 1000)
    assert "save it as .xlsx" in message and "CSV" in message


def test_read_table_refuses_html_saved_as_xls(english):
    page = "<html><body><table><tr><td>货号</td></tr></table></body></html>".encode()
    assert "web page" in refused("export.xls", page)


def test_read_table_refuses_zip_bomb_without_extracting(english, monkeypatch):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            zeros = b"\0" * MiB
            for _ in range(300):
                member.write(zeros)
    bomb = buffer.getvalue()
    assert len(bomb) < 2 * MiB
    monkeypatch.setattr(openpyxl, "load_workbook", lambda *a, **k: pytest.fail("openpyxl opened the bomb"))
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda *a, **k: pytest.fail("a member was extracted"))
    message = refused("catalog.xlsx", bomb)
    assert message.startswith("The workbook is too large when unpacked (300.0 MB")


def test_read_table_refuses_part_compressed_like_a_bomb(english):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (20 * MiB))
    assert "compressed suspiciously well" in refused("catalog.xlsx", buffer.getvalue())


def test_read_table_refuses_zip_that_is_not_a_workbook(english):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<document/>")
    assert refused("catalog.xlsx", buffer.getvalue()) == "This is not a spreadsheet: upload .xlsx or .csv."


def test_read_table_refuses_damaged_zip(english):
    data = xlsx_bytes([HEADER_ZH, ROW_ZH])
    assert "damaged" in refused("catalog.xlsx", data[: len(data) // 2])


def test_read_table_refuses_workbook_with_corrupt_member(english):
    data = bytearray(xlsx_bytes([HEADER_ZH, ROW_ZH] * 50))
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for offset in range(start + 10, start + 40):
        data[offset] ^= 0xFF
    assert "damaged" in refused("catalog.xlsx", bytes(data))


def test_read_table_refuses_workbook_with_entity_declarations(english):
    data = xlsx_bytes([HEADER_ZH, ROW_ZH])
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = b'<!DOCTYPE x [<!ENTITY a "aaaaaaaa">]>' + content
            target.writestr(info.filename, content)
    assert refused("catalog.xlsx", buffer.getvalue()) == (
        "The workbook holds a document type declaration (DTD), which Excel never writes, so it was not opened: "
        "save it again from Excel.")


def test_read_table_refuses_files_over_row_limit(english):
    data = csv_bytes([HEADER_ZH] + [ROW_ZH] * 12)
    assert refused("c.csv", data, max_rows=10) == "The file has more than 10 rows; split it into several files."


# ----------------------------------------------------------------- CSV


@pytest.mark.parametrize(("codec", "name"), [
    ("utf-8", "UTF-8"),
    ("utf-8-sig", "UTF-8 (BOM)"),
    ("gbk", "GBK"),
    ("gb18030", "GB18030"),
    ("utf-16", "UTF-16"),
])
def test_read_table_decodes_chinese_csv_in_each_encoding(codec, name):
    title = "不锈钢保温杯 500毫升"
    if codec == "gb18030":
        title += " 𠮷"  # outside GBK: only GB18030 can hold it
    delimiter = "\t" if codec == "utf-16" else ","  # Excel's "Unicode text" is tab-separated UTF-16
    data = csv_bytes([HEADER_ZH, ["B-1", title, "厨具", "个", "50", "12.5"]], codec, delimiter)
    table = read_table("catalog.csv", data)
    assert table.format == "csv"
    assert table.encoding == name
    assert table.header == HEADER_ZH
    assert table.rows == [(2, ["B-1", title, "厨具", "个", "50", "12.5"])]


def test_read_table_reads_gbk_file_that_utf8_would_garble():
    data = "货号,产品名称\nA1,羽绒服\n".encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    table = read_table("catalog.csv", data)
    assert table.rows[0][1] == ["A1", "羽绒服"]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_read_table_sniffs_csv_delimiter(delimiter):
    table = read_table("c.csv", csv_bytes([HEADER_ZH, ROW_ZH], delimiter=delimiter))
    assert table.delimiter == delimiter
    assert table.rows == [(2, ROW_ZH)]


def test_read_table_skips_blank_rows_keeping_row_numbers():
    data = csv_bytes([HEADER_ZH, ROW_ZH, [], ["", " ", ""], ROW_ZH, [], ["", ""], []])
    table = read_table("c.csv", data)
    assert [number for number, _cells in table.rows] == [2, 5]


def test_read_table_keeps_quoted_line_breaks_in_one_row():
    data = csv_bytes([["货号", "产品描述"], ["A1", "第一行\n第二行"], ["A2", "x"]])
    table = read_table("c.csv", data)
    assert table.rows == [(2, ["A1", "第一行\n第二行"]), (3, ["A2", "x"])]


def test_read_table_reports_csv_cell_too_long(english):
    data = csv_bytes([HEADER_ZH, ["A1", "x" * 200_000]])
    assert refused("c.csv", data).startswith("Row 2 could not be read")


# ----------------------------------------------------------------- XLSX


def test_read_table_reads_xlsx_values_as_the_user_sees_them():
    rows = [
        ["货号", "起订量", "单价", "比例", "大数", "到期", "布尔", "空"],
        [10023, 100.0, 12.5, 0.1 + 0.2, 1e20, datetime(2027, 5, 1), True, None],
        ["00123", 7, 11.799999999999999, -3.25, 2020011234567, date(2026, 12, 31), False, "  x  "],
    ]
    table = read_table("c.xlsx", xlsx_bytes(rows))
    assert table.format == "xlsx"
    assert table.header == rows[0]
    assert table.rows == [
        (2, ["10023", "100", "12.5", "0.3", "100000000000000000000", "2027-05-01", "TRUE"]),
        (3, ["00123", "7", "11.8", "-3.25", "2020011234567", "2026-12-31", "FALSE", "x"]),
    ]
    assert table.problems == []


def test_read_table_reads_first_sheet_and_skips_blank_xlsx_rows():
    def build(sheet):
        sheet["A6"] = "RC-2"
        sheet["B6"] = "第二个"
        sheet.parent.create_sheet("其他").append(["not", "read"])

    table = read_table("c.xlsx", xlsx_bytes([["货号", "产品名称"], ["RC-1", "第一个"]], build))
    assert table.rows == [(2, ["RC-1", "第一个"]), (6, ["RC-2", "第二个"])]


def test_read_table_ignores_a_false_sheet_dimension():
    data = xlsx_bytes([["货号", "产品名称"], ["RC-1", "x"]])
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', content)
                assert b"XFD1048576" in content
            target.writestr(info.filename, content)
    table = read_table("c.xlsx", buffer.getvalue())
    assert table.rows == [(2, ["RC-1", "x"])]


def test_read_table_ignores_stray_cells_right_of_the_header():
    def build(sheet):
        sheet["ZZ40"] = "stray"
        sheet["A40"] = "RC-9"

    table = read_table("c.xlsx", xlsx_bytes([["货号", "产品名称"], ["RC-1", "x"]], build))
    assert table.rows == [(2, ["RC-1", "x"]), (40, ["RC-9"])]


def test_read_table_goes_by_content_not_by_name():
    table = read_table("catalog.xlsx", csv_bytes([HEADER_ZH, ROW_ZH]))
    assert (table.format, table.rows) == ("csv", [(2, ROW_ZH)])


def test_spreadsheet_error_is_a_validation_failure_on_the_file_field():
    from marketplace.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as caught:
        read_table("c.csv", b"")
    assert caught.value.field == "file"


def test_read_table_reports_merged_cells_by_row_and_column(english):
    def build(sheet):
        sheet.merge_cells("C2:C3")

    table = read_table("c.xlsx", xlsx_bytes([HEADER_ZH, ROW_ZH, ["RC-2", "电饭煲", None, "台", 100, "9"]], build))
    found = [(p.row, p.column, str(p.message)) for p in table.problems]
    assert found == [
        (2, "类目", "Merged cells C2:C3: unmerge them and fill in every cell."),
        (3, "类目", "Merged cells C2:C3: unmerge them and fill in every cell."),
    ]


def test_read_table_reports_formula_without_value(english):
    def build(sheet):
        sheet["E2"] = "=10*10"  # openpyxl stores no cached value: Excel never calculated it

    table = read_table("c.xlsx", xlsx_bytes([HEADER_ZH, ROW_ZH[:4] + [None, ROW_ZH[5]]], build))
    assert [(p.row, p.column, p.cell) for p in table.problems] == [(2, "起订量", "E2")]
    assert str(table.problems[0].message) == "Formula without a value in E2: paste values instead of formulas."


def test_read_table_accepts_formula_with_cached_value():
    data = xlsx_bytes([HEADER_ZH, ROW_ZH[:4] + [None, ROW_ZH[5]]], lambda s: s.__setitem__("E2", "=10*10"))
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":  # as Excel saves it: formula and result
                content = re.sub(rb"<f>10\*10</f>\s*<v\s*/>", b"<f>10*10</f><v>100</v>", content)
                assert b"<v>100</v>" in content
            target.writestr(info.filename, content)
    table = read_table("c.xlsx", buffer.getvalue())
    assert table.problems == []
    assert table.rows[0][1][4] == "100"


def test_read_table_reports_error_cells(english):
    table = read_table("c.xlsx", xlsx_bytes([HEADER_ZH, ROW_ZH[:5] + ["#N/A"]]))
    assert [(p.row, p.column) for p in table.problems] == [(2, "阶梯价")]
    assert str(table.problems[0].message) == "Cell F2 shows the error #N/A: correct it or clear it."


# ----------------------------------------------------------------- writing


def test_neutralise_prefixes_formula_triggers():
    for text in ("=1+1", "+86 138", "-5", "@SUM(A1)", "\tx", "\rx"):
        assert neutralise(text) == "'" + text
    for text in ("", "12.5", "电饭煲", "a=b", "'quoted"):
        assert neutralise(text) == text


def test_write_csv_has_bom_and_neutralises_formulas():
    data = write_csv(["货号", "产品名称"], [["=HYPERLINK(\"http://evil\")", "@cmd"], ["A-1", None]])
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [["货号", "产品名称"], ["'=HYPERLINK(\"http://evil\")", "'@cmd"], ["A-1", ""]]


def test_write_xlsx_writes_text_not_formulas():
    data = write_xlsx([("产品", ["货号", "数量"], [["=1+1", 5], ["-2", 7]])])
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet["A2"].data_type == "s" and sheet["A2"].value == "'=1+1"
    assert sheet["A3"].value == "'-2"
    assert sheet["B2"].value == 5


def test_export_rows_neutralises_formula_injection_in_both_formats():
    from marketplace.catalog.imports.columns import EXAMPLE_PRODUCT

    row = EXAMPLE_PRODUCT.as_row() | {"title_zh": "=cmd|' /C calc'!A0", "brand": "+86 138", "model": "@SUM(1)"}
    rows = list(csv.reader(io.StringIO(export_rows([row], "csv", "zh").decode("utf-8-sig"))))
    assert rows[1][1] == "'=cmd|' /C calc'!A0"
    assert rows[1][7] == "'+86 138" and rows[1][8] == "'@SUM(1)"
    sheet = openpyxl.load_workbook(io.BytesIO(export_rows([row], "xlsx", "en"))).active
    formulas = [cell.coordinate for line in sheet.iter_rows() for cell in line if cell.data_type == "f"]
    assert formulas == []
    assert sheet["B2"].value == "'=cmd|' /C calc'!A0"


def test_write_template_xlsx_has_instructions_sheet():
    workbook = openpyxl.load_workbook(io.BytesIO(write_template("zh", "xlsx")))
    assert workbook.sheetnames == ["产品", "说明"]
    notes = list(workbook["说明"].iter_rows(values_only=True))
    assert notes[0] == ("列名", "必填", "填写说明", "示例")
    assert ("货号*", "是", notes[1][2], "RC-3018") == notes[1]
    assert any(row[0] == "小家电" and row[2] == "small_appliances" for row in notes)
    english_book = openpyxl.load_workbook(io.BytesIO(write_template("en", "xlsx")))
    assert english_book.sheetnames == ["Products", "Instructions"]
    assert english_book["Products"]["A1"].value == "SKU*"


def test_write_template_csv_opens_in_chinese_excel():
    data = write_template("zh", "csv")
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["货号*", "产品名称*", "英文名称"]
    assert rows[1][0] == "RC-3018" and "电饭煲" in rows[1][1]


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_write_template_parses_back_without_problems(lang, fmt):
    from marketplace.catalog.imports.columns import EXAMPLE_PRODUCT

    result = validate_rows(read_table(f"template.{fmt}", write_template(lang, fmt)))
    assert result.all_problems() == []
    assert [row.values for row in result.rows] == [EXAMPLE_PRODUCT]


def test_write_problems_report_in_english(english):
    problems = [Problem(3, "单价", "The price -1 is negative."), Problem(None, None, "Unknown column", "warning")]
    rows = list(csv.reader(io.StringIO(write_problems(problems, "csv").decode("utf-8-sig"))))
    assert rows == [["Row", "Column", "Severity", "Problem"], ["3", "单价", "Error", "The price -1 is negative."],
                    ["", "", "Warning", "Unknown column"]]
    sheet = openpyxl.load_workbook(io.BytesIO(write_problems(problems, "xlsx"))).active
    assert sheet["D2"].value == "The price -1 is negative."


def test_problem_describe_names_row_and_column(english):
    assert Problem(5, "货号", "Required: this cell is empty.").describe() == (
        "Row 5, column 货号: Required: this cell is empty.")
    assert Problem(None, None, "The file is empty.").describe() == "The file is empty."
