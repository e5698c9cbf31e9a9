"""``/api/v1/catalog/imports``: upload a spreadsheet, poll the job, read its problems, commit, cancel."""
from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from marketplace.api.core import encode_cursor
from marketplace.catalog.models import ImportJob, ImportJobStatus, Product, ProductStatus
from marketplace.extensions import db

HEADER = ["货号", "产品名称", "类目", "单位", "起订量", "阶梯价", "HS编码"]


def row(sku: str, title: str = "智能电饭煲 3L", tiers: str = "100:89.00; 1000:82.50", hs: str = "8516.60"):
    return [sku, title, "小家电", "台", "100", tiers, hs]


def csv_bytes(rows, header=HEADER) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def upload(caller, data: bytes, filename: str = "products.csv"):
    return caller.post("/catalog/imports", data={"file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def jobs(app) -> list[ImportJob]:
    with app.app_context():
        found = list(db.session.scalars(sa.select(ImportJob)))
        db.session.expunge_all()
        return found


def product_skus(app) -> dict[str, ProductStatus]:
    with app.app_context():
        return dict(db.session.execute(sa.select(Product.sku, Product.status)).tuples().all())


def test_upload_previews_then_commit_writes_the_valid_rows(app, exporter_api, buyer_api):
    data = csv_bytes([row("A-1"), row("A-2", tiers="50:10.00"), row("A-3", hs="9999"), row("A-4")])
    response = upload(exporter_api, data)
    assert response.status_code == 201, response.get_json()
    job = response.get_json()
    assert response.headers["Location"] == f"/api/v1/catalog/imports/{job['id']}"
    assert job["status"] == "previewed" and job["filename"] == "products.csv" and job["outcome"] is None
    assert job["counts"] == {"total_rows": 4, "valid_rows": 2, "invalid_rows": 2, "to_create": 2, "to_update": 0}
    assert product_skus(app) == {}  # nothing written yet

    read = exporter_api.get(f"/catalog/imports/{job['id']}")
    assert read.status_code == 200 and read.get_json() == job
    assert exporter_api.get(f"/catalog/imports/{job['id']}",
                            headers={"If-None-Match": read.headers["ETag"]}).status_code == 304

    problems = exporter_api.get(f"/catalog/imports/{job['id']}/problems").get_json()
    assert problems["total"] == 2 and problems["errors"] == 2 and problems["omitted"] == 0
    assert [(p["row"], p["column"], p["severity"]) for p in problems["items"]] == [
        (3, "阶梯价", "error"), (4, "HS编码", "error")]
    assert "HS code 9999 does not exist." in problems["items"][1]["message"]
    assert problems["next_cursor"] is None

    committed = exporter_api.post(f"/catalog/imports/{job['id']}/commit", json={"publish": True})
    assert committed.status_code == 200
    done = committed.get_json()
    assert done["status"] == "done" and done["publish"] is True
    assert done["outcome"] == {"created": 2, "updated": 0, "published": 2}
    assert done["progress"] == {"processed": 2, "total": 2}
    assert product_skus(app) == {"A-1": ProductStatus.PUBLISHED, "A-4": ProductStatus.PUBLISHED}
    assert exporter_api.get(f"/catalog/imports/{job['id']}").get_json()["status"] == "done"
    found = buyer_api.get("/products", query_string={"q": "A-4"}).get_json()
    assert [item["sku"] for item in found["items"]] == ["A-4"]

    again = exporter_api.post(f"/catalog/imports/{job['id']}/commit")
    assert again.status_code == 409


def test_reimport_updates_known_skus(app, exporter_api):
    first = upload(exporter_api, csv_bytes([row("R-1")])).get_json()
    exporter_api.post(f"/catalog/imports/{first['id']}/commit")
    second = upload(exporter_api, csv_bytes([row("R-1", title="电饭煲 新款"), row("R-2")])).get_json()
    assert (second["counts"]["to_create"], second["counts"]["to_update"]) == (1, 1)
    done = exporter_api.post(f"/catalog/imports/{second['id']}/commit").get_json()
    assert done["outcome"] == {"created": 1, "updated": 1, "published": 0}
    assert product_skus(app) == {"R-1": ProductStatus.DRAFT, "R-2": ProductStatus.DRAFT}


def test_problems_are_paged_with_the_cursor(app, exporter_api):
    data = csv_bytes([row(f"P-{n}", hs="9999") for n in range(5)])
    job = upload(exporter_api, data).get_json()
    page = exporter_api.get(f"/catalog/imports/{job['id']}/problems", query_string={"limit": 2}).get_json()
    rows = [p["row"] for p in page["items"]]
    while page["next_cursor"]:
        page = exporter_api.get(f"/catalog/imports/{job['id']}/problems",
                                query_string={"limit": 2, "cursor": page["next_cursor"]}).get_json()
        rows += [p["row"] for p in page["items"]]
    assert rows == [2, 3, 4, 5, 6] and page["total"] == 5
    bad = exporter_api.get(f"/catalog/imports/{job['id']}/problems", query_string={"cursor": "x"})
    assert bad.status_code == 422 and bad.get_json()["field"] == "cursor"
    far = exporter_api.get(f"/catalog/imports/{job['id']}/problems",
                           query_string={"cursor": encode_cursor({"offset": 100})}).get_json()
    assert far["items"] == [] and far["next_cursor"] is None
    nothing = exporter_api.post(f"/catalog/imports/{job['id']}/commit")
    assert nothing.status_code == 422 and nothing.get_json()["field"] == "file"


def test_another_companys_job_is_not_found(app, exporter_api, api_as, buyer_api):
    job = upload(exporter_api, csv_bytes([row("O-1")])).get_json()
    for caller in (api_as(), buyer_api):
        assert caller.get(f"/catalog/imports/{job['id']}").status_code == 404
        assert caller.get(f"/catalog/imports/{job['id']}/problems").status_code == 404
        assert caller.post(f"/catalog/imports/{job['id']}/commit").status_code == 404
        assert caller.post(f"/catalog/imports/{job['id']}/cancel").status_code == 404
    assert exporter_api.get("/catalog/imports/2147483647").status_code == 404
    assert jobs(app)[0].status is ImportJobStatus.PREVIEWED and product_skus(app) == {}


@pytest.mark.parametrize(("filename", "data", "message"), [
    ("products.csv", "货号,产品名称\n".encode() + b"\x80\xff\x80\xff,\xfe\xff\n", "text encoding could not be recognised"),
    ("empty.xlsx", b"", "The file is empty."),
    ("setup.xlsx", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 500, "This is not a spreadsheet"),
    ("setup.exe", b"MZ\x90\x00", "Upload an Excel workbook (.xlsx) or a CSV file (.csv)."),
    ("page.xlsx", b"<!doctype html><html><body><table><tr><td>1</td></tr></table></body></html>", "web page"),
    ("columns.csv", "货号,产品名称\nA-1,电饭煲\n".encode(), "Required columns are missing"),
])
def test_refused_files_are_422_naming_file_and_write_nothing(app, exporter_api, filename, data, message):
    response = upload(exporter_api, data, filename)
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["field"] == "file" and message in problem["detail"], problem
    assert jobs(app) == []


def test_upload_needs_a_file(app, exporter_api):
    response = exporter_api.post("/catalog/imports", data={}, content_type="multipart/form-data")
    assert response.status_code == 422 and response.get_json()["field"] == "file"
    response = exporter_api.post("/catalog/imports", json={"file": "a.csv"})
    assert response.status_code == 422 and response.get_json()["field"] == "file"


@pytest.fixture
def small_limit(app_config):
    app_config["IMPORT_MAX_BYTES"] = 1024 * 1024


def test_upload_over_the_size_limit_is_413(small_limit, app, exporter_api):
    data = csv_bytes([row(f"L-{n}", title="电饭煲" * 60) for n in range(3000)])
    assert len(data) > 1024 * 1024
    response = upload(exporter_api, data)
    assert response.status_code == 413
    assert response.get_json()["detail"] == "The file is larger than 1 MB: split it into several files."
    assert jobs(app) == []


def test_buyer_and_read_only_token_cannot_import(app, buyer_api, api_as):
    response = upload(buyer_api, csv_bytes([row("B-1")]))
    assert response.status_code == 403
    reader = api_as(scopes=("read",))
    response = upload(reader, csv_bytes([row("B-1")]))
    assert response.status_code == 403 and "catalog:write" in response.get_json()["detail"]
    assert jobs(app) == []


def test_cancel_drops_the_job_and_writes_nothing(app, exporter_api):
    job = upload(exporter_api, csv_bytes([row("C-1")])).get_json()
    cancelled = exporter_api.post(f"/catalog/imports/{job['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert exporter_api.post(f"/catalog/imports/{job['id']}/commit").status_code == 409
    assert product_skus(app) == {}


def test_commit_refuses_a_malformed_body(app, exporter_api):
    job = upload(exporter_api, csv_bytes([row("M-1")])).get_json()
    response = exporter_api.post(f"/catalog/imports/{job['id']}/commit", json={"publish": "yes"})
    assert response.status_code == 422 and response.get_json()["field"] == "publish"
    response = exporter_api.post(f"/catalog/imports/{job['id']}/commit", json={"publish": False, "now": True})
    assert response.status_code == 422 and response.get_json()["field"] == "now"
    assert product_skus(app) == {}
