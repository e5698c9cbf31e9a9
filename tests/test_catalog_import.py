"""Spreadsheet import through the web pages: upload → preview → commit, re-import, bad files, access."""
from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa

from marketplace.accounts.models import CompanyKind
from marketplace.catalog import services
from marketplace.catalog.imports import jobs as import_jobs
from marketplace.catalog.models import ImportJob, ImportJobStatus, Product, ProductStatus
from marketplace.database import utcnow
from marketplace.extensions import db
from tests.conftest import csrf_token, login
from tests.factories import make_company, make_user

MiB = 1024 * 1024
HEADER_ZH = ["货号", "产品名称", "类目", "单位", "起订量", "阶梯价", "HS编码", "认证证书"]
HEADER_EN = ["SKU", "Title (Chinese)", "Category", "Unit", "MOQ", "Price tiers", "HS code", "Certifications"]


def good_row(sku: str, title: str = "智能电饭煲 3L", moq: str = "100", tiers: str = "100:89.00; 1000:82.50"):
    return [sku, title, "小家电", "台", moq, tiers, "8516.60", "CCC:2020011234567:2027-05-01"]


def csv_bytes(rows, header=HEADER_ZH, encoding="utf-8-sig") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows, header=HEADER_ZH) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def exporter(app):
    """A verified exporter and its admin: (company id, user e-mail)."""
    with app.app_context():
        company = make_company(name_zh="宁波美厨电器有限公司")
        user = make_user(company, email="maker@example.com")
        return company.id, user.email


@pytest.fixture
def exporter_client(en_client, exporter):
    """An English-speaking browser logged in as the exporter."""
    login(en_client, exporter[1])
    return en_client


def upload(client, data: bytes, filename: str = "products.csv", **kwargs):
    """Post a file through the upload form (with its CSRF token)."""
    token = csrf_token(client, "/catalog/import")
    return client.post("/catalog/import", data={"csrf_token": token, "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data", **kwargs)


def job_id_of(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    match = re.search(r"/catalog/import/(\d+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def commit(client, job_id: int, publish: bool = False, **kwargs):
    token = csrf_token(client, f"/catalog/import/{job_id}")
    data = {"csrf_token": token}
    if publish:
        data["publish"] = "y"
    return client.post(f"/catalog/import/{job_id}/commit", data=data, **kwargs)


def products(app) -> dict[str, Product]:
    with app.app_context():
        found = {p.sku: p for p in db.session.scalars(sa.select(Product))}
        for product in found.values():
            _ = [t.unit_price_fen for t in product.price_tiers]
        db.session.expunge_all()
        return found


def jobs(app) -> list[ImportJob]:
    with app.app_context():
        found = db.session.scalars(sa.select(ImportJob).order_by(ImportJob.id)).all()
        db.session.expunge_all()
        return found


def stored_files(app) -> list[Path]:
    folder = Path(app.config["UPLOAD_DIR"]) / "imports"
    return sorted(folder.iterdir()) if folder.exists() else []


# ----------------------------------------------------------------------------- the upload page


def test_upload_page_offers_templates_and_documents_header_aliases(exporter_client):
    response = exporter_client.get("/catalog/import")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for lang in ("zh", "en"):
        for fmt in ("xlsx", "csv"):
            assert f"/catalog/template.{fmt}?lang={lang}" in html
    table = html[html.index('data-testid="header-aliases"'):]
    assert "Chinese names accepted" in html and "English names accepted" in html
    sku_row = table[table.index('data-column="sku"'):table.index('data-column="title_zh"')]
    assert "SKU" in sku_row and "货号" in sku_row and "商品编码" in sku_row and "Item No" in sku_row
    assert "Required" in sku_row
    assert 'data-column="price"' in table and "单价" in table
    assert 'enctype="multipart/form-data"' in html


def test_import_pages_refuse_buyers_and_visitors(app, client, exporter):
    with app.app_context():
        make_user(make_company(kind=CompanyKind.RETAILER), email="buyer@example.com")
    assert client.get("/catalog/import").status_code == 302  # to the login page
    login(client, "buyer@example.com")
    for url in ("/catalog/import", "/catalog/export.csv", "/catalog/import/1", "/catalog/import/1/progress",
                "/catalog/import/1/problems.csv"):
        assert client.get(url).status_code == 403, url
    response = client.post("/catalog/import", data={"file": (io.BytesIO(b"x"), "a.csv")},
                           content_type="multipart/form-data")
    assert response.status_code in (400, 403)
    assert not jobs(app)


# ----------------------------------------------------------------------------- preview → commit


def test_upload_preview_then_commit_creates_products(app, exporter_client):
    data = csv_bytes([good_row("RC-1"), good_row("RC-2", "空气炸锅 5L"), good_row("RC-3", "电热水壶 1.7L")])
    job_id = job_id_of(upload(exporter_client, data))
    page = exporter_client.get(f"/catalog/import/{job_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-total="create">3<' in html and 'data-total="update">0<' in html
    assert "Import the 3 valid rows" in html
    assert "空气炸锅 5L" in html and "RC-3" in html
    exporter_client.get(f"/catalog/import/{job_id}")  # the preview never writes products
    assert products(app) == {}
    [job] = jobs(app)
    assert (job.status, job.total_rows, job.valid_rows, job.to_create) == (ImportJobStatus.PREVIEWED, 3, 3, 3)
    assert job.original_filename == "products.csv" and job.stored_name.endswith(".csv")
    assert [p.name for p in stored_files(app)] == [job.stored_name]

    response = commit(exporter_client, job_id, follow_redirects=True)
    assert response.status_code == 200
    assert "3 products created, 0 updated, 0 published." in response.get_data(as_text=True)
    found = products(app)
    assert sorted(found) == ["RC-1", "RC-2", "RC-3"]
    assert found["RC-2"].title_zh == "空气炸锅 5L"
    assert found["RC-1"].status is ProductStatus.DRAFT
    assert [(t.min_quantity, t.unit_price_fen) for t in found["RC-1"].price_tiers] == [(100, 8900), (1000, 8250)]
    [job] = jobs(app)
    assert (job.status, job.created_count, job.processed) == (ImportJobStatus.DONE, 3, 3)
    assert job.started_at and job.finished_at


def test_commit_with_publish_publishes(app, exporter_client):
    job_id = job_id_of(upload(exporter_client, csv_bytes([good_row("P-1"), good_row("P-2")])))
    response = commit(exporter_client, job_id, publish=True, follow_redirects=True)
    assert "2 products created, 0 updated, 2 published." in response.get_data(as_text=True)
    assert {p.status for p in products(app).values()} == {ProductStatus.PUBLISHED}


def test_xlsx_with_two_bad_rows_shows_them_and_imports_the_others(app, exporter_client):
    rows = [good_row("A-1"), good_row("A-2", moq="0"), good_row("A-3"),
            good_row("A-4", tiers="100:abc"), good_row("A-5")]
    job_id = job_id_of(upload(exporter_client, xlsx_bytes(rows), "catalog.xlsx"))
    html = exporter_client.get(f"/catalog/import/{job_id}").get_data(as_text=True)
    problems = html[html.index('data-testid="import-problems"'):]
    row3 = problems[problems.index('data-row="3"'):]
    assert "起订量" in row3[:400] and "Must be at least 1" in row3[:600]
    row5 = problems[problems.index('data-row="5"'):]
    assert "阶梯价" in row5[:400] and "Not a price" in row5[:600]
    assert 'data-total="invalid">2<' in html and "Import the 3 valid rows" in html
    assert products(app) == {}
    commit(exporter_client, job_id)
    assert sorted(products(app)) == ["A-1", "A-3", "A-5"]
    [job] = jobs(app)
    assert (job.invalid_rows, job.created_count) == (2, 3)
    done = exporter_client.get(f"/catalog/import/{job_id}").get_data(as_text=True)
    assert "2 rows with errors were not imported." in done


def test_reimport_updates_by_sku_and_does_not_duplicate(app, exporter_client):
    first = csv_bytes([good_row("R-1"), good_row("R-2")], header=HEADER_EN)
    commit(exporter_client, job_id_of(upload(exporter_client, first)), publish=True)
    second = csv_bytes([good_row("R-1", "电饭煲 新款", tiers="100:79.00"), good_row("R-2"), good_row("R-3")],
                       header=HEADER_EN)
    job_id = job_id_of(upload(exporter_client, second))
    html = exporter_client.get(f"/catalog/import/{job_id}").get_data(as_text=True)
    assert 'data-total="create">1<' in html and 'data-total="update">2<' in html
    updates = html[html.index('data-testid="import-updates"'):]
    assert "R-1" in updates and "电饭煲 新款" in updates
    response = commit(exporter_client, job_id, follow_redirects=True)
    assert "1 products created, 2 updated, 0 published." in response.get_data(as_text=True)
    found = products(app)
    assert sorted(found) == ["R-1", "R-2", "R-3"]
    assert found["R-1"].title_zh == "电饭煲 新款"
    assert [(t.min_quantity, t.unit_price_fen) for t in found["R-1"].price_tiers] == [(100, 7900)]
    assert found["R-1"].status is ProductStatus.PUBLISHED  # an update keeps the product's state
    assert found["R-3"].status is ProductStatus.DRAFT


def test_gbk_csv_from_chinese_excel_is_read(app, exporter_client):
    data = csv_bytes([good_row("G-1", "不锈钢保温杯 500ml")], encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    job_id = job_id_of(upload(exporter_client, data, "目录.csv"))
    commit(exporter_client, job_id)
    assert products(app)["G-1"].title_zh == "不锈钢保温杯 500ml"
    assert jobs(app)[0].original_filename == "目录.csv"


def test_commit_twice_imports_once(app, exporter_client):
    job_id = job_id_of(upload(exporter_client, csv_bytes([good_row("T-1")])))
    commit(exporter_client, job_id)
    response = commit(exporter_client, job_id, follow_redirects=True)
    assert "This import has already been started or cancelled." in response.get_data(as_text=True)
    assert list(products(app)) == ["T-1"]


def test_cancel_writes_nothing_and_deletes_the_stored_file(app, exporter_client):
    job_id = job_id_of(upload(exporter_client, csv_bytes([good_row("C-1")])))
    token = csrf_token(exporter_client, f"/catalog/import/{job_id}")
    response = exporter_client.post(f"/catalog/import/{job_id}/cancel", data={"csrf_token": token},
                                    follow_redirects=True)
    assert "The import was cancelled; nothing was written." in response.get_data(as_text=True)
    assert products(app) == {} and stored_files(app) == []
    assert jobs(app)[0].status is ImportJobStatus.CANCELLED
    assert commit(exporter_client, job_id).status_code == 302
    assert products(app) == {}


def test_file_without_valid_rows_offers_no_import(app, exporter_client):
    job_id = job_id_of(upload(exporter_client, csv_bytes([good_row("X-1", moq="1.5")])))
    html = exporter_client.get(f"/catalog/import/{job_id}").get_data(as_text=True)
    assert 'data-testid="nothing-to-import"' in html and "Must be a whole number" in html
    assert 'data-testid="import-commit-form"' not in html
    response = commit(exporter_client, job_id, follow_redirects=True)
    assert "No row can be imported" in response.get_data(as_text=True)
    assert products(app) == {}
    assert jobs(app)[0].status is ImportJobStatus.PREVIEWED


def test_failed_commit_writes_nothing_and_marks_the_job_failed(app, exporter_client, monkeypatch):
    job_id = job_id_of(upload(exporter_client, csv_bytes([good_row(f"F-{i}") for i in range(5)])))
    real_apply = services.apply_input
    calls = []

    def failing_apply(product, data, only=None):
        calls.append(data.sku)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        real_apply(product, data, only)

    monkeypatch.setattr(services, "apply_input", failing_apply)
    response = commit(exporter_client, job_id, follow_redirects=True)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "The import failed; nothing was written." in html and "RuntimeError" in html
    assert products(app) == {}
    [job] = jobs(app)
    assert job.status is ImportJobStatus.FAILED and job.error_message and job.created_count == 0


def test_large_commit_runs_in_a_background_thread_with_progress(app, exporter_client):
    app.config.update(IMPORT_INLINE=False, IMPORT_BACKGROUND_MIN_ROWS=1)
    job_id = job_id_of(upload(exporter_client, csv_bytes([good_row(f"B-{i:03d}") for i in range(300)])))
    response = commit(exporter_client, job_id)
    assert response.status_code == 302
    assert import_jobs.wait_for_import_job(job_id, timeout=60)
    progress = exporter_client.get(f"/catalog/import/{job_id}/progress")
    assert progress.status_code == 200
    assert progress.get_json() == {"status": "done", "processed": 300, "total": 300}
    assert len(products(app)) == 300
    html = exporter_client.get(f"/catalog/import/{job_id}").get_data(as_text=True)
    assert "300 products created" in html


def test_running_job_page_shows_a_progress_bar(app, exporter_client):
    job_id = job_id_of(upload(exporter_client, csv_bytes([good_row("P-1")])))
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        job.status, job.to_create = ImportJobStatus.RUNNING, 1
        db.session.commit()
    html = exporter_client.get(f"/catalog/import/{job_id}").get_data(as_text=True)
    assert f'data-progress-url="/catalog/import/{job_id}/progress"' in html
    assert "js/import.js" in html and "progress-bar" in html
    assert exporter_client.get(f"/catalog/import/{job_id}/progress").get_json() == {
        "status": "running", "processed": 0, "total": 1}


def test_progress_of_a_job_running_in_another_worker_comes_from_the_database(app, exporter_client, db_backend):
    job_id = job_id_of(upload(exporter_client, csv_bytes([good_row(f"W-{i}") for i in range(3)])))
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        job.status, job.to_create = ImportJobStatus.RUNNING, 1200
        db.session.commit()
        import_jobs._set_progress(job_id, 600, 1200)  # the worker running it passes a multiple of 500
        with import_jobs._PROGRESS_LOCK:
            import_jobs._PROGRESS.clear()  # the poll is served by another worker: no count in memory
    progress = exporter_client.get(f"/catalog/import/{job_id}/progress").get_json()
    # PostgreSQL: the count was written to the job's row; SQLite (one process, the import holding the
    # only write lock) keeps it in memory only
    assert progress == {"status": "running", "processed": 600 if db_backend == "postgresql" else 0, "total": 1200}


def test_a_job_left_running_by_a_dead_process_shows_as_failed(app, exporter_client):
    job_id = job_id_of(upload(exporter_client, csv_bytes([good_row("P-1")])))
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        job.status, job.to_create = ImportJobStatus.RUNNING, 1
        job.started_at = utcnow() - timedelta(hours=2)  # its process died long ago: no thread runs it
        db.session.commit()
    assert exporter_client.get(f"/catalog/import/{job_id}/progress").get_json()["status"] == "failed"
    html = exporter_client.get(f"/catalog/import/{job_id}").get_data(as_text=True)
    assert "The import failed; nothing was written." in html
    assert "The import was interrupted" in html
    assert products(app) == {}


def test_a_job_running_for_a_short_while_is_left_running(app, exporter_client):
    job_id = job_id_of(upload(exporter_client, csv_bytes([good_row("P-1")])))
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        job.status, job.to_create, job.started_at = ImportJobStatus.RUNNING, 1, utcnow() - timedelta(minutes=2)
        db.session.commit()
    assert exporter_client.get(f"/catalog/import/{job_id}/progress").get_json()["status"] == "running"


# ----------------------------------------------------------------------------- reports


def test_problem_report_downloads_list_every_problem(app, exporter_client):
    rows = [good_row("D-1"), good_row("D-1"), good_row("D-3", tiers="500:10; 100:12")]
    job_id = job_id_of(upload(exporter_client, csv_bytes(rows)))
    report = exporter_client.get(f"/catalog/import/{job_id}/problems.csv")
    assert report.status_code == 200 and report.mimetype == "text/csv"
    assert "attachment" in report.headers["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(report.get_data().decode("utf-8-sig"))))
    assert lines[0] == ["Row", "Column", "Severity", "Problem"]
    assert ["3", "货号", "Error", "SKU D-1 already appears in row 2."] in lines
    assert any(line[0] == "4" and line[1] == "阶梯价" and "out of order" in line[3] for line in lines)
    workbook = openpyxl.load_workbook(io.BytesIO(exporter_client.get(f"/catalog/import/{job_id}/problems.xlsx")
                                                 .get_data()))
    values = [[cell.value for cell in row] for row in workbook.active.iter_rows()]
    assert values[0] == ["Row", "Column", "Severity", "Problem"] and len(values) == len(lines)


def test_preview_caps_the_problem_list(app, exporter_client, monkeypatch):
    monkeypatch.setattr(import_jobs, "PREVIEW_PROBLEMS", 3)
    rows = [good_row(f"Q-{i}", moq="0") for i in range(6)]
    job_id = job_id_of(upload(exporter_client, csv_bytes(rows)))
    html = exporter_client.get(f"/catalog/import/{job_id}").get_data(as_text=True)
    assert html.count('data-severity="error"') == 3
    assert "The first 3 of 6 problems are shown" in html


# ----------------------------------------------------------------------------- refused files


def _zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b" " * (8 * MiB))
    return buffer.getvalue()


@pytest.mark.parametrize(("filename", "data", "message"), [
    ("empty.xlsx", b"", "The file is empty."),
    ("setup.xlsx", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 500, "This is not a spreadsheet"),
    ("setup.exe", b"MZ\x90\x00", "Upload an Excel workbook (.xlsx) or a CSV file (.csv)."),
    ("bomb.xlsx", None, "compressed suspiciously well"),
    ("page.xlsx", b"<!doctype html><html><body><table><tr><td>1</td></tr></table></body></html>",
     "web page"),
    ("columns.csv", "货号,产品名称\nA-1,电饭煲\n".encode(), "Required columns are missing: Category, Unit, MOQ, "
     "Price tiers."),
    ("data.csv", b"1,2,3\n4,5,6\n", "The first row must hold the column names"),
])
def test_refused_files_get_a_clear_message_and_write_nothing(app, exporter_client, filename, data, message):
    response = upload(exporter_client, _zip_bomb() if data is None else data, filename)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    errors = re.findall(r'data-testid="upload-error">([^<]*)<', html)
    assert errors and message in errors[0].replace("&#34;", '"'), errors
    assert jobs(app) == [] and stored_files(app) == []


def test_upload_over_the_size_limit_is_refused_before_reading(app, exporter_client):
    token = csrf_token(exporter_client, "/catalog/import")
    response = exporter_client.post(
        "/catalog/import", data={"csrf_token": token, "file": (io.BytesIO(b"a" * (60 * MiB)), "big.csv")},
        content_type="multipart/form-data")
    assert response.status_code == 413
    assert "The file is larger than 50 MB" in response.get_data(as_text=True)
    assert jobs(app) == []


def test_upload_requires_a_file_and_csrf(app, exporter_client):
    response = exporter_client.post("/catalog/import", data={"file": (io.BytesIO(csv_bytes([good_row("Z")])),
                                                                      "a.csv")},
                                    content_type="multipart/form-data")
    assert response.status_code == 400
    token = csrf_token(exporter_client, "/catalog/import")
    response = exporter_client.post("/catalog/import", data={"csrf_token": token},
                                    content_type="multipart/form-data")
    assert response.status_code == 200 and "Choose a spreadsheet to upload." in response.get_data(as_text=True)
    assert jobs(app) == []


def test_commit_without_csrf_token_is_refused(app, exporter_client):
    job_id = job_id_of(upload(exporter_client, csv_bytes([good_row("S-1")])))
    assert exporter_client.post(f"/catalog/import/{job_id}/commit", data={}).status_code == 400
    assert products(app) == {} and jobs(app)[0].status is ImportJobStatus.PREVIEWED


def test_another_companys_job_is_not_found(app, exporter_client):
    job_id = job_id_of(upload(exporter_client, csv_bytes([good_row("O-1")])))
    with app.app_context():
        make_user(make_company(name_zh="别家出口企业"), email="rival@example.com")
    other = app.test_client()
    login(other, "rival@example.com")
    for url in (f"/catalog/import/{job_id}", f"/catalog/import/{job_id}/progress",
                f"/catalog/import/{job_id}/problems.csv", "/catalog/import/999999"):
        assert other.get(url).status_code == 404, url
    token = csrf_token(other, "/catalog/import")
    assert other.post(f"/catalog/import/{job_id}/commit", data={"csrf_token": token}).status_code == 404
    assert other.post(f"/catalog/import/{job_id}/cancel", data={"csrf_token": token}).status_code == 404
    assert products(app) == {} and jobs(app)[0].status is ImportJobStatus.PREVIEWED


def test_stored_file_gone_gives_a_clear_404(app, exporter_client):
    job_id = job_id_of(upload(exporter_client, csv_bytes([good_row("V-1")])))
    for path in stored_files(app):
        path.unlink()
    import_jobs.CHECKED.clear()
    response = exporter_client.get(f"/catalog/import/{job_id}")
    assert response.status_code == 404
    assert "no longer available" in response.get_data(as_text=True)


def test_xlsx_with_merged_cells_formulas_bad_hs_and_dates_is_previewed_by_row(app, exporter_client):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER_ZH)
    sheet.append(good_row("M-1"))
    sheet.append([*good_row("M-2")[:5], "=1+1", *good_row("M-2")[6:]])
    sheet.append(good_row("M-3", title="合并单元格"))
    sheet.append(good_row("M-4", title=""))
    sheet.merge_cells("B4:B5")
    sheet.append([*good_row("M-6")[:6], "9999.99", "CCC:123:2027/13/45"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    job_id = job_id_of(upload(exporter_client, buffer.getvalue(), "merged.xlsx"))
    response = exporter_client.get(f"/catalog/import/{job_id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    problems = html[html.index('data-testid="import-problems"'):]

    def cells(row: int) -> str:
        start = problems.index(f'data-row="{row}"')
        return problems[start:problems.index("</tr>", start)]

    assert "阶梯价" in cells(3) and "Formula without a value" in cells(3)
    assert "Merged cells B4:B5" in problems and 'data-row="5"' in problems
    row6 = problems[problems.index('data-row="6"'):]
    assert "HS编码" in row6 and "HS code 9999.99 does not exist." in row6
    assert "认证证书" in row6 and "The expiry date 2027/13/45 of CCC is not valid" in row6
    commit(exporter_client, job_id)
    assert "M-1" in products(app) and "M-2" not in products(app) and "M-6" not in products(app)
