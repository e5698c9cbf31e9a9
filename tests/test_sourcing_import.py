"""Demand lists (发榜): procurement requests in bulk from a spreadsheet, through the catalog's import path."""
from __future__ import annotations

import csv
import io
import re
import time
from datetime import timedelta

import openpyxl
import pytest
import sqlalchemy as sa

from marketplace.accounts.models import Company, CompanyKind, User
from marketplace.extensions import db
from marketplace.imports import jobs
from marketplace.imports.models import ImportJob, ImportJobStatus
from marketplace.sourcing import imports, services
from marketplace.sourcing.models import ProcurementRequest, RequestEvent
from marketplace.sourcing.services import today_in_china
from marketplace.sourcing.states import RequestAction, RequestState, Visibility
from tests.conftest import csrf_token, login
from tests.factories import make_company, make_user

HEADER_ZH = ["需求标题", "类目", "采购数量", "单位", "目标单价(元)", "交货省份", "交货城市", "认证要求", "国内准备要求",
             "报价截止日期", "需求描述"]
HEADER_EN = ["Title", "Category", "Quantity", "Unit", "Target unit price (CNY)", "Delivery province", "Delivery city",
             "Required certifications", "Required readiness", "Quotes by", "Description"]
XSS = "<script>alert(1)</script>"


def deadline(days: int = 20) -> str:
    return (today_in_china() + timedelta(days=days)).isoformat()


def row(title: str = "智能电饭煲 4L", category: str = "小家电", quantity: str = "3000", unit: str = "台",
        price: str = "89.50", province: str = "广东省", city: str = "深圳市", certs: str = "CCC, CE",
        readiness: str = "CCC, 中文标签, 专票", due: str | None = None, description: str = "门店铺货") -> list[str]:
    return [title, category, quantity, unit, price, province, city, certs, readiness, due or deadline(), description]


def csv_bytes(rows, header=HEADER_ZH, encoding="utf-8-sig") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


@pytest.fixture
def buyer(app):
    """A verified chain leader and its admin: (company id, e-mail, USCC)."""
    with app.app_context():
        company = make_company(kind=CompanyKind.CHAIN_LEADER, name_zh="华润万家连锁有限公司")
        user = make_user(company, email="leader@example.com")
        return company.id, user.email, company.uscc


@pytest.fixture
def buyer_client(en_client, buyer):
    """An English-speaking browser logged in as the chain leader."""
    login(en_client, buyer[1])
    return en_client


def upload(client, data: bytes, filename: str = "demand.csv", **kwargs):
    token = csrf_token(client, "/sourcing/requests/import")
    return client.post("/sourcing/requests/import", data={"csrf_token": token, "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data", **kwargs)


def job_id_of(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    match = re.search(r"/sourcing/requests/import/(\d+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def commit(client, job_id: int, publish: bool = False, **kwargs):
    data = {"csrf_token": csrf_token(client, f"/sourcing/requests/import/{job_id}")}
    if publish:
        data["publish"] = "y"
    return client.post(f"/sourcing/requests/import/{job_id}/commit", data=data, **kwargs)


def requests_of(app) -> list[ProcurementRequest]:
    with app.app_context():
        found = db.session.scalars(sa.select(ProcurementRequest).order_by(ProcurementRequest.id)).all()
        db.session.expunge_all()
        return found


def import_jobs(app) -> list[ImportJob]:
    with app.app_context():
        found = db.session.scalars(sa.select(ImportJob).order_by(ImportJob.id)).all()
        db.session.expunge_all()
        return found


# ----------------------------------------------------------------------------- pages and templates


def test_my_requests_links_to_the_demand_list_page_which_offers_every_template(buyer_client):
    assert "/sourcing/requests/import" in buyer_client.get("/sourcing/requests/mine").get_data(as_text=True)
    html = buyer_client.get("/sourcing/requests/import").get_data(as_text=True)
    for lang in ("zh", "en"):
        for fmt in ("xlsx", "csv"):
            assert f"/sourcing/requests/template.{fmt}?lang={lang}" in html
    table = html[html.index('data-testid="header-aliases"'):]
    title_row = table[table.index('data-column="title"'):table.index('data-column="description"')]
    assert "需求标题" in title_row and "采购需求" in title_row and "Required" in title_row
    assert 'enctype="multipart/form-data"' in html


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_each_template_imports_its_example_without_a_problem(app, client, buyer, lang, fmt):
    response = client.get(f"/sourcing/requests/template.{fmt}?lang={lang}")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    with app.app_context():
        company = db.session.get(Company, buyer[0])
        analysis = imports.analyse_file(company, f"template.{fmt}", response.get_data())
        assert [problem.describe() for problem in analysis.problems] == []
        [request] = analysis.plan.creates
        assert (request.category, request.unit, request.delivery_city_code) == ("small_appliances", "台", "440300")
        assert request.required_readiness == ("ccc", "chinese_label", "vat_invoice")


# ----------------------------------------------------------------------------- preview → commit


def test_upload_previews_without_writing_then_commits_drafts(app, buyer_client):
    data = csv_bytes([row(), row("空气炸锅 5L", quantity="1,200", price="", city="440300"),
                      row("电热水壶", province="北京", city="北京市", certs="", readiness="")])
    job_id = job_id_of(upload(buyer_client, data))
    html = buyer_client.get(f"/sourcing/requests/import/{job_id}").get_data(as_text=True)
    assert 'data-total="valid">3<' in html and "Import the 3 valid rows" in html
    assert "空气炸锅 5L" in html and "Shenzhen" in html or "深圳市" in html
    assert requests_of(app) == []
    [job] = import_jobs(app)
    assert (job.kind, job.status, job.total_rows, job.to_create) == ("requests", ImportJobStatus.PREVIEWED, 3, 3)

    done = commit(buyer_client, job_id, follow_redirects=True).get_data(as_text=True)
    assert "3 requests created, 0 published." in done
    found = requests_of(app)
    assert [r.title for r in found] == ["智能电饭煲 4L", "空气炸锅 5L", "电热水壶"]
    first = found[0]
    assert (first.state, first.quantity, first.target_unit_price_fen) == (RequestState.DRAFT, 3000, 8950)
    assert (first.delivery_province_code, first.delivery_city_code) == ("440000", "440300")
    assert first.required_certifications == ["CCC", "CE"] and first.visibility is Visibility.PUBLIC
    assert found[1].quantity == 1200 and found[1].target_unit_price_fen is None
    assert (found[2].delivery_province_code, found[2].delivery_city_code) == ("110000", "110100")
    with app.app_context():
        events = db.session.scalars(sa.select(RequestEvent.action)).all()
    assert events == [RequestAction.CREATE] * 3


def test_commit_with_publish_opens_every_request_with_its_events(app, buyer_client):
    job_id = job_id_of(upload(buyer_client, csv_bytes([row(), row("LED 灯泡", unit="pcs")], header=HEADER_EN)))
    assert "2 requests created, 2 published." in commit(buyer_client, job_id, publish=True,
                                                       follow_redirects=True).get_data(as_text=True)
    found = requests_of(app)
    assert [r.state for r in found] == [RequestState.OPEN] * 2 and all(r.published_at for r in found)
    assert found[1].unit == "件" and [r.version for r in found] == [2, 2]
    with app.app_context():
        events = db.session.execute(sa.select(RequestEvent.request_id, RequestEvent.action, RequestEvent.version)
                                    .order_by(RequestEvent.id)).all()
    assert set(events) == {(found[0].id, RequestAction.CREATE, 1), (found[0].id, RequestAction.PUBLISH, 2),
                           (found[1].id, RequestAction.CREATE, 1), (found[1].id, RequestAction.PUBLISH, 2)}
    with app.app_context():  # the optimistic lock knows the version the import left
        closed = services.close_request(db.session.get(User, 1), found[0].id, expected_version=2)
        assert closed.state is RequestState.CLOSED


def test_bad_rows_are_listed_by_row_and_column_and_only_valid_rows_are_imported(app, buyer_client):
    rows = [
        row(),                                              # 2 fine
        row(quantity="0"),                                  # 3
        row(quantity="-5"),                                 # 4
        row(quantity="2000000000"),                         # 5 over the limit
        row(price="12.345"),                                # 6 three decimals
        row(due=(today_in_china() - timedelta(days=1)).isoformat()),  # 7 in the past
        row(description="长" * 100_000),                    # 8
        row(category="火箭"),                               # 9
        row(city="杭州市"),                                 # 10 not in 广东省
        row(province="火星"),                               # 11
        row(title=""),                                      # 12
        row(readiness="有电"),                              # 13
        row(certs="XYZ"),                                   # 14
    ]
    job_id = job_id_of(upload(buyer_client, csv_bytes(rows)))
    html = buyer_client.get(f"/sourcing/requests/import/{job_id}").get_data(as_text=True)
    assert 'data-total="invalid">12<' in html and "Import the 1 valid row" in html
    report = buyer_client.get(f"/sourcing/requests/import/{job_id}/problems.csv")
    lines = list(csv.reader(io.StringIO(report.get_data().decode("utf-8-sig"))))
    found = {(line[0], line[1]) for line in lines[1:]}
    assert found == {("3", "采购数量"), ("4", "采购数量"), ("5", "采购数量"), ("6", "目标单价(元)"), ("7", "报价截止日期"),
                     ("8", "需求描述"), ("9", "类目"), ("10", "交货城市"), ("11", "交货省份"), ("12", "需求标题"),
                     ("13", "国内准备要求"), ("14", "认证要求")}
    messages = {line[0]: line[3] for line in lines[1:]}
    assert "more than two decimals" in messages["6"] and "already passed" in messages["7"]
    assert "not a city of 广东省" in messages["10"] and "Must be at least 1" in messages["3"]
    assert requests_of(app) == []
    commit(buyer_client, job_id)
    assert [r.title for r in requests_of(app)] == ["智能电饭煲 4L"]


def test_the_preview_caps_problems_and_says_how_many_more(app, buyer_client):
    rows = [row(quantity="0", price="1.234") for _ in range(600)]  # 1,200 problems; 1,000 are kept
    job_id = job_id_of(upload(buyer_client, csv_bytes(rows)))
    html = buyer_client.get(f"/sourcing/requests/import/{job_id}").get_data(as_text=True)
    assert 'data-testid="problems-omitted"' in html and "200 more problems, not listed" in html
    assert html.count('data-severity="error"') == jobs.PREVIEW_PROBLEMS
    assert 'data-testid="nothing-to-import"' in html


def test_a_deadline_passing_between_preview_and_commit_writes_nothing(app, buyer_client, monkeypatch):
    job_id = job_id_of(upload(buyer_client, csv_bytes([row(), row(due=deadline(1))])))
    later = today_in_china() + timedelta(days=5)
    monkeypatch.setattr(services, "today_in_china", lambda: later)
    html = commit(buyer_client, job_id, follow_redirects=True).get_data(as_text=True)
    assert "The import failed; nothing was written." in html and "Row 3:" in html
    assert requests_of(app) == [] and import_jobs(app)[0].status is ImportJobStatus.FAILED


def test_a_large_list_runs_in_a_background_thread_with_progress(app, buyer_client):
    app.config.update(IMPORT_INLINE=False, IMPORT_BACKGROUND_MIN_ROWS=1)
    job_id = job_id_of(upload(buyer_client, csv_bytes([row(f"需求 {i}") for i in range(120)])))
    assert commit(buyer_client, job_id).status_code == 302
    assert jobs.wait_for_import_job(job_id, timeout=60)
    assert buyer_client.get(f"/sourcing/requests/import/{job_id}/progress").get_json() == {
        "status": "done", "processed": 120, "total": 120}
    assert len(requests_of(app)) == 120


def test_the_running_page_counts_requests(app, buyer_client):
    job_id = job_id_of(upload(buyer_client, csv_bytes([row()])))
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        job.status, job.to_create = ImportJobStatus.RUNNING, 1
        db.session.commit()
    html = buyer_client.get(f"/sourcing/requests/import/{job_id}").get_data(as_text=True)
    assert f'data-progress-url="/sourcing/requests/import/{job_id}/progress"' in html
    assert "0 of 1 requests written" in html and 'data-count-text="{done} of {total} requests written"' in html


def test_cancel_drops_the_upload_and_writes_nothing(app, buyer_client):
    job_id = job_id_of(upload(buyer_client, csv_bytes([row()])))
    token = csrf_token(buyer_client, f"/sourcing/requests/import/{job_id}")
    response = buyer_client.post(f"/sourcing/requests/import/{job_id}/cancel", data={"csrf_token": token})
    assert response.status_code == 302
    assert import_jobs(app)[0].status is ImportJobStatus.CANCELLED and requests_of(app) == []


# ----------------------------------------------------------------------------- bad files


def test_a_gbk_file_is_read_correctly(app, buyer_client):
    job_id = job_id_of(upload(buyer_client, csv_bytes([row("不锈钢保温杯 500毫升")], encoding="gbk")))
    commit(buyer_client, job_id)
    [request] = requests_of(app)
    assert request.title == "不锈钢保温杯 500毫升" and request.delivery_city_code == "440300"


@pytest.mark.parametrize("data, name, says", [
    (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "demand.csv", "This is not a spreadsheet: upload .xlsx or .csv."),
    (b"MZ\x90\x00" + bytes(200), "demand.exe", "Upload an Excel workbook (.xlsx) or a CSV file (.csv)."),
    (b"", "demand.csv", "The file is empty."),
])
def test_a_file_that_is_no_spreadsheet_is_refused_clearly(app, buyer_client, data, name, says):
    response = upload(buyer_client, data, name)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    error = re.search(r'data-testid="upload-error">([^<]*)<', html).group(1)
    assert says in error.replace("&#39;", "'")
    assert import_jobs(app) == [] and requests_of(app) == []


def test_html_and_script_in_cells_are_escaped_everywhere(app, buyer_client):
    rows = [row(XSS, description=XSS), row(XSS, category=XSS)]
    job_id = job_id_of(upload(buyer_client, csv_bytes(rows), filename=f"{XSS}.csv"))
    html = buyer_client.get(f"/sourcing/requests/import/{job_id}").get_data(as_text=True)
    assert XSS not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    commit(buyer_client, job_id)
    [request] = requests_of(app)
    assert request.title == XSS  # stored as written, shown escaped
    page = buyer_client.get(f"/sourcing/requests/{request.id}").get_data(as_text=True)
    assert XSS not in page and "&lt;script&gt;" in page
    done = buyer_client.get(f"/sourcing/requests/import/{job_id}").get_data(as_text=True)
    assert XSS not in done


def test_ten_thousand_lines_are_imported(app, buyer_client):
    data = csv_bytes([row(f"门店补货 {i}", quantity=str(100 + i)) for i in range(10_000)])
    started = time.perf_counter()
    job_id = job_id_of(upload(buyer_client, data))
    checked = time.perf_counter()
    commit(buyer_client, job_id)
    written = time.perf_counter()
    print(f"10,000 lines: check {checked - started:.1f} s, write {written - checked:.1f} s")  # shown with -s
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ProcurementRequest)) == 10_000
        assert db.session.scalar(sa.select(sa.func.max(ProcurementRequest.quantity))) == 10_099
    assert import_jobs(app)[0].created_count == 10_000


# ----------------------------------------------------------------------------- who may see what


def test_another_companys_job_and_a_catalog_job_are_404(app, en_client, buyer_client, buyer):
    job_id = job_id_of(upload(buyer_client, csv_bytes([row()])))
    with app.app_context():
        make_user(make_company(kind=CompanyKind.RETAILER), email="other@example.com")
        exporter = make_company(kind=CompanyKind.EXPORTER)
        make_user(exporter, email="maker@example.com")
        catalog_job = ImportJob(kind="products", company_id=buyer[0], original_filename="p.csv",
                                stored_name="catalog-job.csv")
        db.session.add(catalog_job)
        db.session.commit()
        catalog_job_id = catalog_job.id
    # a catalog job's id at the demand-list address is unknown even to its own company
    assert buyer_client.get(f"/sourcing/requests/import/{catalog_job_id}").status_code == 404
    other = app.test_client()
    login(other, "other@example.com")
    token = csrf_token(other, "/sourcing/requests/import")
    for url in (f"/sourcing/requests/import/{job_id}", f"/sourcing/requests/import/{job_id}/progress",
                f"/sourcing/requests/import/{job_id}/problems.csv"):
        assert other.get(url).status_code == 404, url
    for action in ("commit", "cancel"):
        assert other.post(f"/sourcing/requests/import/{job_id}/{action}",
                          data={"csrf_token": token}).status_code == 404
    assert requests_of(app) == [] and import_jobs(app)[0].status is ImportJobStatus.PREVIEWED
    # and a demand list's id is no catalog import
    maker = app.test_client()
    login(maker, "maker@example.com")
    assert maker.get(f"/catalog/import/{job_id}").status_code == 404


def test_an_unverified_buyer_is_refused_and_exporters_get_403(app, client):
    with app.app_context():
        make_user(make_company(kind=CompanyKind.RETAILER, verified=False), email="new@example.com")
        make_user(make_company(kind=CompanyKind.EXPORTER), email="maker@example.com")
    login(client, "new@example.com")
    html = client.get("/sourcing/requests/import").get_data(as_text=True)
    assert 'data-testid="unverified-note"' in html and 'data-testid="import-upload-form"' not in html
    token = csrf_token(client, "/sourcing/requests/mine")
    response = client.post("/sourcing/requests/import", data={"csrf_token": token,
                                                              "file": (io.BytesIO(csv_bytes([row()])), "d.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 403
    assert import_jobs(app) == [] and requests_of(app) == []
    maker = app.test_client()
    login(maker, "maker@example.com")
    assert maker.get("/sourcing/requests/import").status_code == 403


# ----------------------------------------------------------------------------- the command line


def test_cli_template_writes_each_language_and_format(app, runner, tmp_path):
    for lang in ("zh", "en"):
        for fmt in ("csv", "xlsx"):
            path = tmp_path / f"t-{lang}.{fmt}"
            result = runner.invoke(args=["sourcing", "template", "--lang", lang, "--format", fmt, "-o", str(path)])
            assert result.exit_code == 0, result.output
            if fmt == "xlsx":
                header = [cell.value for cell in openpyxl.load_workbook(path).active[1]]
            else:
                header = next(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))
            assert header[0] == ("需求标题*" if lang == "zh" else "Title*")


def test_cli_import_dry_run_then_publish(app, runner, buyer, tmp_path):
    path = tmp_path / "demand.csv"
    path.write_bytes(csv_bytes([row(), row("空气炸锅")]))
    dry = runner.invoke(args=["sourcing", "import", str(path), "--company", buyer[2], "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "试运行：未写入任何数据。" in dry.output and requests_of(app) == []
    done = runner.invoke(args=["sourcing", "import", str(path), "--company", buyer[2].lower(), "--publish"])
    assert done.exit_code == 0, done.output
    assert "已导入：创建 2 条采购需求，其中 2 条已发布。" in done.output
    assert [r.state for r in requests_of(app)] == [RequestState.OPEN] * 2


def test_cli_import_with_a_bad_row_writes_nothing_and_exits_1(app, runner, buyer, tmp_path):
    path = tmp_path / "demand.csv"
    path.write_bytes(csv_bytes([row(), row(quantity="0")]))
    result = runner.invoke(args=["sourcing", "import", str(path), "--company", buyer[2]])
    assert result.exit_code == 1
    assert "第 3 行，第 采购数量 列：不得小于 1，当前为 0。" in result.output and "未导入任何数据" in result.output
    assert requests_of(app) == []


@pytest.mark.parametrize("who", ["unknown", "exporter", "unverified"])
def test_cli_import_refuses_a_company_that_may_not_post_with_exit_2(app, runner, tmp_path, who):
    with app.app_context():
        if who == "unknown":
            uscc = "91330200MA2XXXXX0X"
        else:
            kind = CompanyKind.EXPORTER if who == "exporter" else CompanyKind.RETAILER
            uscc = make_company(kind=kind, verified=who != "unverified").uscc
    path = tmp_path / "demand.csv"
    path.write_bytes(csv_bytes([row()]))
    result = runner.invoke(args=["sourcing", "import", str(path), "--company", uscc])
    assert result.exit_code == 2
    expected = {"unknown": "没有统一社会信用代码为", "exporter": "只有采购企业", "unverified": "通过认证后才能发布采购需求"}
    assert expected[who] in result.output
    assert requests_of(app) == []


def test_catalog_uploads_stay_jobs_of_the_products_kind(app, en_client):
    from tests.test_catalog_import import csv_bytes as product_csv
    from tests.test_catalog_import import good_row
    from tests.test_catalog_import import upload as upload_products

    with app.app_context():
        make_user(make_company(kind=CompanyKind.EXPORTER), email="maker@example.com")
    login(en_client, "maker@example.com")
    assert upload_products(en_client, product_csv([good_row("RC-1")])).status_code == 302
    assert [(job.kind, job.to_create) for job in import_jobs(app)] == [("products", 1)]
