"""Crafted uploads: merged ranges to Excel's last row, far-away cells, DTDs in disguise, floods of problems.

Each file is built here byte by byte with zipfile, the way an attacker would build it. Before
the fixes the merged-cell and tall files cost 10–40 s and hundreds of MB each; now they are read
in a fraction of a second (no timing is asserted: what is asserted is what the user sees).
"""
from __future__ import annotations

import csv
import gc
import io
import re
import weakref
import zipfile
from xml.sax.saxutils import escape

import pytest
import sqlalchemy as sa

from marketplace.catalog.imports import jobs as import_jobs
from marketplace.catalog.imports.columns import validate_rows
from marketplace.catalog.models import Product
from marketplace.extensions import db
from marketplace.imports.problems import MAX_PROBLEMS, SpreadsheetError
from marketplace.imports.table import EXCEL_MAX_ROWS, MAX_EMPTY_RUN, read_table
from tests.conftest import login
from tests.factories import make_company, make_user
from tests.test_catalog_import import (
    commit,
    csv_bytes,
    good_row,
    job_id_of,
    jobs,
    products,
    stored_files,
    upload,
)

HEADER = ["货号", "产品名称", "类目", "单位", "起订量", "阶梯价"]
ROW = ["RC-1", "电饭煲", "小家电", "台", "100", "100:12.50"]
DTD_MESSAGE = ("The workbook holds a document type declaration (DTD), which Excel never writes, so it was not "
               "opened: save it again from Excel.")

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/{sheet}" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="产品" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="/{sheet}"/></Relationships>'
)


def sheet_row(number: int, cells) -> str:
    """A <row> of inline-string cells starting in column A."""
    return f'<row r="{number}">' + "".join(
        f'<c r="{chr(65 + index)}{number}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'
        for index, value in enumerate(cells)) + "</row>"


def crafted_xlsx(rows=((1, HEADER), (2, ROW)), merges=(), dimension=None, sheet="xl/worksheets/sheet1.xml",
                 workbook: bytes | None = None, sheet_prefix: str = "") -> bytes:
    """A minimal workbook written by hand: ``rows`` are (row number, cells), ``merges`` A1 ranges."""
    merged = (f'<mergeCells count="{len(merges)}">' + "".join(f'<mergeCell ref="{ref}"/>' for ref in merges)
              + "</mergeCells>") if merges else ""
    declared = f'<dimension ref="{dimension}"/>' if dimension else ""
    sheet_xml = (sheet_prefix + '<?xml version="1.0" encoding="UTF-8"?>'
                 '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                 f'{declared}<sheetData>{"".join(sheet_row(n, cells) for n, cells in rows)}</sheetData>'
                 f'{merged}</worksheet>')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES.format(sheet=sheet))
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/workbook.xml", workbook if workbook is not None
                         else ('<?xml version="1.0" encoding="UTF-8"?>' + _WORKBOOK).encode())
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS.format(sheet=sheet))
        archive.writestr(sheet, sheet_xml.encode())
    return buffer.getvalue()


@pytest.fixture
def exporter_client(app, en_client):
    """An English-speaking browser logged in as an exporter's admin."""
    with app.app_context():
        user = make_user(make_company(name_zh="宁波美厨电器有限公司"), email="maker@example.com")
        email = user.email
    login(en_client, email)
    return en_client


@pytest.fixture
def english(app):
    """Render lazy messages as an English-speaking user would see them."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


def refused(data: bytes) -> str:
    with pytest.raises(SpreadsheetError) as caught:
        read_table("crafted.xlsx", data)
    return str(caught.value.message)


# ----------------------------------------------------------------- merged ranges (security item 2)


@pytest.mark.parametrize("copies", [40, 100])
def test_merged_ranges_to_excels_last_row_cost_only_the_rows_in_use(english, copies):
    data = crafted_xlsx(merges=["A1:A1048576"] * copies)
    assert len(data) < 6000
    result = validate_rows(read_table("merged.xlsx", data))
    problems = result.all_problems()
    # each copy: one problem for the range, one for the one data row it emptied (not a million)
    assert len(problems) == 2 * copies and result.omitted == 0
    assert {problem.row for problem in problems} == {1, 2}
    assert problems[-1].message == "Merged cells A1:A1048576: unmerge them and fill in every cell."
    assert [row.ok for row in result.rows] == [False]


def test_merged_range_covering_rows_in_use_names_each_of_them(english):
    rows = [(1, HEADER)] + [(n, [f"RC-{n}", *ROW[1:]]) for n in range(2, 7)]
    result = validate_rows(read_table("merged.xlsx", crafted_xlsx(rows=rows, merges=["C3:C5"])))
    assert [(p.row, p.column) for p in result.all_problems()] == [(3, "类目"), (4, "类目"), (5, "类目")]
    assert [row.row_number for row in result.valid_rows] == [2, 6]


def test_problems_are_capped_per_file_and_the_rest_counted(english):
    rows = [(1, HEADER)] + [(n, [f"M-{n}", *ROW[1:]]) for n in range(2, 1203)]
    merges = [f"F{n}:G{n}" for n in range(2, 1203)]  # 1,201 merges: one problem each
    result = validate_rows(read_table("merged.xlsx", crafted_xlsx(rows=rows, merges=merges)))
    assert len(result.all_problems()) == MAX_PROBLEMS
    assert result.omitted == 1201 - MAX_PROBLEMS and result.omitted_errors == result.omitted
    assert result.has_errors and len(result.invalid_rows) == 1201  # every row is still refused


def test_preview_report_and_command_line_say_how_many_more_problems(app, exporter_client, runner, tmp_path):
    bad = [good_row(f"Z-{n}", moq="0") for n in range(MAX_PROBLEMS + 150)]  # one error a row
    data = csv_bytes(bad)
    job_id = job_id_of(upload(exporter_client, data))
    html = exporter_client.get(f"/catalog/import/{job_id}").get_data(as_text=True)
    assert re.search(r'data-testid="problems-omitted">… and 150 more problems, not listed', html)
    assert "1,150 errors" in html or "1150 errors" in html
    report = exporter_client.get(f"/catalog/import/{job_id}/problems.csv").get_data().decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(report)))
    assert len(lines) == 1 + MAX_PROBLEMS + 1
    assert lines[-1][3].startswith("… and 150 more problems, not listed")

    app.config["BABEL_DEFAULT_LOCALE"] = "en"
    path = tmp_path / "bad.csv"
    path.write_bytes(data)
    with app.app_context():
        from marketplace.accounts.models import Company

        uscc = db.session.scalar(sa.select(Company.uscc).where(Company.name_zh == "宁波美厨电器有限公司"))
    result = runner.invoke(args=["catalog", "import", str(path), "--company", uscc])
    assert result.exit_code == 1
    assert "… and 150 more problems, not listed" in result.output
    assert "Nothing was imported: 1150 problems must be corrected first." in result.output


# ----------------------------------------------------------------- tall sheets (security item 3)


def test_one_cell_at_excels_last_row_is_not_read_and_the_user_is_told(english):
    data = crafted_xlsx(rows=[(1, HEADER), (2, ROW), (EXCEL_MAX_ROWS, ["x"])], dimension="A1:F1048576")
    assert len(data) < 5000
    table = read_table("tall.xlsx", data)
    assert [number for number, _cells in table.rows] == [2]
    result = validate_rows(table)
    assert [row.row_number for row in result.valid_rows] == [2]
    warning = result.all_problems()[-1]
    assert (warning.row, warning.is_error) == (EXCEL_MAX_ROWS, False)
    assert str(warning.message) == (
        f"Rows from {EXCEL_MAX_ROWS} on were not read: more than {MAX_EMPTY_RUN} empty rows lie above them. "
        "Delete the empty rows and upload the file again.")


def test_rows_after_a_short_gap_are_read(english):
    far = 2 + MAX_EMPTY_RUN  # exactly MAX_EMPTY_RUN rows apart: still read
    data = crafted_xlsx(rows=[(1, HEADER), (2, ROW), (far, ["RC-2", *ROW[1:]])])
    result = validate_rows(read_table("gap.xlsx", data))
    assert [row.row_number for row in result.valid_rows] == [2, far] and result.all_problems() == []


def test_a_false_dimension_within_excels_rows_changes_nothing(english):
    data = crafted_xlsx(dimension="A1:XFD1048576")
    assert [row.row_number for row in validate_rows(read_table("dim.xlsx", data)).valid_rows] == [2]


@pytest.mark.parametrize(("rows", "dimension"), [
    ([(1, HEADER), (2, ROW), (EXCEL_MAX_ROWS + 1, ["x"])], None),
    ([(1, HEADER), (2, ROW)], "A1:F2000000"),
])
def test_sheet_past_excels_last_row_is_refused(english, rows, dimension):
    message = refused(crafted_xlsx(rows=rows, dimension=dimension))
    assert message == ("The sheet goes past row 1,048,576, the last row Excel has: it was not saved by Excel. "
                       "Copy the data into a new workbook and upload that.")


def test_tall_file_upload_previews_the_rows_above_the_gap(app, exporter_client):
    data = crafted_xlsx(rows=[(1, HEADER), (2, ROW), (EXCEL_MAX_ROWS, ["x"])])
    job_id = job_id_of(upload(exporter_client, data, "tall.xlsx"))
    html = exporter_client.get(f"/catalog/import/{job_id}").get_data(as_text=True)
    assert f"Rows from {EXCEL_MAX_ROWS} on were not read" in html
    assert commit(exporter_client, job_id).status_code == 302
    assert list(products(app)) == ["RC-1"]


# ----------------------------------------------------------------- DTDs in disguise (security item 8)


def _utf16_workbook_with_entity() -> bytes:
    text = ('<?xml version="1.0" encoding="UTF-16"?>'
            '<!DOCTYPE workbook [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            + _WORKBOOK.replace('name="产品"', 'name="&b;"'))
    return text.encode("utf-16")  # with a byte order mark, as Windows tools write it


@pytest.mark.parametrize("build", [
    lambda: crafted_xlsx(workbook=_utf16_workbook_with_entity()),
    lambda: crafted_xlsx(workbook=_utf16_workbook_with_entity()[2:]),  # UTF-16 LE without a BOM
    lambda: crafted_xlsx(sheet="xl/worksheets/data", sheet_prefix='<!DOCTYPE x [<!ENTITY a "aaaa">]>'),
    lambda: crafted_xlsx(sheet="xl/media/image1.png", sheet_prefix='<!DOCTYPE x SYSTEM "file:///etc/passwd">'),
], ids=["utf16-workbook", "utf16le-no-bom", "sheet-without-xml-name", "sheet-named-png"])
def test_dtd_in_any_part_and_any_encoding_is_refused(english, build):
    assert refused(build()) == DTD_MESSAGE


def test_dtd_upload_gets_a_clear_message_and_writes_nothing(app, exporter_client):
    response = upload(exporter_client, crafted_xlsx(workbook=_utf16_workbook_with_entity()), "catalog.xlsx")
    assert response.status_code == 200
    errors = re.findall(r'data-testid="upload-error">([^<]*)<', response.get_data(as_text=True))
    assert errors == [DTD_MESSAGE]
    assert jobs(app) == [] and stored_files(app) == []


def test_sheet_part_without_xml_name_is_still_read(english):
    data = crafted_xlsx(sheet="xl/worksheets/data")
    assert [row.row_number for row in validate_rows(read_table("plain.xlsx", data)).valid_rows] == [2]


# ----------------------------------------------------------------- memory of finished jobs


def test_a_finished_job_keeps_no_checked_rows_in_memory(app, exporter_client):
    job_id = job_id_of(upload(exporter_client, csv_bytes([good_row("F-1"), good_row("F-2")])))
    stored_name = jobs(app)[-1].stored_name
    kept = weakref.ref(import_jobs.CHECKED.recall(stored_name))  # the preview keeps them for the commit
    assert commit(exporter_client, job_id).status_code == 302
    gc.collect()
    assert kept() is None
    # the report of a finished job is read again from the stored file, and not kept either
    report = exporter_client.get(f"/catalog/import/{job_id}/problems.csv")
    assert report.status_code == 200 and stored_name not in import_jobs.CHECKED
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Product)) == 2
