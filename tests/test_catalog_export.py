"""Catalog export (CSV/XLSX, formula injection neutralised, own products only) and template downloads."""
from __future__ import annotations

import csv
import io
import re

import openpyxl
import pytest
import sqlalchemy as sa

from marketplace.accounts.models import CompanyKind
from marketplace.catalog import services
from marketplace.catalog.imports.columns import EXAMPLE_PRODUCT
from marketplace.catalog.models import Product, ProductStatus
from marketplace.extensions import db
from marketplace.i18n import today_in_china
from tests.conftest import csrf_token, login
from tests.factories import make_company, make_user

EVIL_TITLE = "=cmd|' /C calc'!A0"


@pytest.fixture
def catalog(app):
    """An exporter with three products (draft, published, archived; one titled like a formula) and a rival."""
    from dataclasses import replace

    with app.app_context():
        company = make_company(name_zh="宁波美厨电器有限公司")
        user = make_user(company, email="maker@example.com")
        services.create_product(user, company, replace(EXAMPLE_PRODUCT, sku="EX-1", title_zh=EVIL_TITLE))
        services.create_product(user, company, replace(EXAMPLE_PRODUCT, sku="EX-2", title_zh="+SUM(1,2)"),
                                publish=True)
        archived = services.create_product(user, company, replace(EXAMPLE_PRODUCT, sku="EX-3"))
        services.set_products_status(user, company, [archived.id], ProductStatus.ARCHIVED)
        rival = make_user(make_company(name_zh="别家"), email="rival@example.com")
        services.create_product(rival, rival.company, replace(EXAMPLE_PRODUCT, sku="RIVAL-1"))
    return "maker@example.com"


def test_export_csv_has_every_own_product_with_formulas_neutralised(app, en_client, catalog):
    login(en_client, catalog)
    response = en_client.get("/catalog/export.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert f"rongtong-catalog-{today_in_china().isoformat()}.csv" in disposition and "attachment" in disposition
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert rows[0][0] == "SKU*" and rows[0][1] == "Title (Chinese)*"  # the page's language
    by_sku = {row[0]: row for row in rows[1:]}
    assert sorted(by_sku) == ["EX-1", "EX-2", "EX-3"]  # every status, no other company's product
    assert by_sku["EX-1"][1] == "'" + EVIL_TITLE
    assert by_sku["EX-2"][1] == "'+SUM(1,2)"
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_export_xlsx_neutralises_formulas_and_takes_lang(app, client, catalog):
    login(client, catalog)
    response = client.get("/catalog/export.xlsx?lang=zh")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert re.search(r'filename="rongtong-catalog-\d{4}-\d{2}-\d{2}\.xlsx"', response.headers["Content-Disposition"])
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data())).worksheets[0]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0][0] == "货号*"
    titles = {row[0]: row[1] for row in rows[1:]}
    assert titles["EX-1"] == "'" + EVIL_TITLE
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.coordinate


def test_exported_file_reimports_as_updates_without_changes(app, en_client, catalog):
    login(en_client, catalog)
    exported = en_client.get("/catalog/export.xlsx").get_data()
    token = csrf_token(en_client, "/catalog/import")
    response = en_client.post("/catalog/import", data={"csrf_token": token, "file": (io.BytesIO(exported), "c.xlsx")},
                              content_type="multipart/form-data")
    assert response.status_code == 302
    page = en_client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'data-total="create">0<' in page and 'data-total="update">3<' in page
    assert 'data-total="invalid">0<' in page
    en_client.post(response.headers["Location"] + "/commit", data={"csrf_token": token})
    with app.app_context():
        evil = db.session.scalar(sa.select(Product).where(Product.sku == "EX-1"))
        assert evil.title_zh == EVIL_TITLE  # the quote added on export is taken off on import
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Product)) == 4


def test_export_is_for_exporters_only(app, client):
    with app.app_context():
        make_user(make_company(kind=CompanyKind.CHAIN_LEADER), email="leader@example.com")
    assert client.get("/catalog/export.csv").status_code == 302
    login(client, "leader@example.com")
    assert client.get("/catalog/export.xlsx").status_code == 403
    assert client.get("/catalog/export.pdf").status_code == 404


@pytest.mark.parametrize(("lang", "fmt", "first"), [("zh", "csv", "货号*"), ("en", "csv", "SKU*"),
                                                     ("zh", "xlsx", "货号*"), ("en", "xlsx", "SKU*")])
def test_template_downloads_in_both_languages(client, lang, fmt, first):
    response = client.get(f"/catalog/template.{fmt}?lang={lang}")
    assert response.status_code == 200
    assert f"rongtong-catalog-template-{lang}.{fmt}" in response.headers["Content-Disposition"]
    if fmt == "csv":
        header = next(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    else:
        workbook = openpyxl.load_workbook(io.BytesIO(response.get_data()))
        header = [cell.value for cell in next(workbook.worksheets[0].iter_rows(max_row=1))]
        assert len(workbook.worksheets) == 2
    assert header[0] == first
