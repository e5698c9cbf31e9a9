"""Issue 3's journey in a real browser, in Chinese: an exporter uploads an XLSX with two bad
rows, sees the problems by row and column, imports the rest, publishes a product, and a buyer
sees it on the product page.
"""
from __future__ import annotations

import io

import openpyxl
import pytest
from playwright.sync_api import expect

from marketplace.accounts.models import CompanyKind, Role
from marketplace.catalog.imports.files import write_template
from marketplace.catalog.models import Product, ProductStatus
from marketplace.extensions import db
from tests.browser.conftest import screenshot
from tests.factories import PASSWORD, make_company, make_user

pytestmark = pytest.mark.browser


def catalog_xlsx() -> bytes:
    """The zh template's example row five times over, with MOQ 0 in row 4 and a negative price in row 6."""
    template = openpyxl.load_workbook(io.BytesIO(write_template("zh", "xlsx")))
    header, example = list(template.worksheets[0].iter_rows(values_only=True))[:2]
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(header)
    for number in range(1, 6):
        row = list(example)
        row[0] = f"RC-{number:03d}"
        row[1] = f"浏览器测试电饭煲{number}号"
        if number == 3:
            row[11] = 0  # 起订量 0
        if number == 5:
            row[12] = "200:-5.00"  # a negative price
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def log_in(page, live_server, email: str) -> None:
    page.goto(live_server("/account/login"))
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form[action*='/account/login'] [type=submit]").click()
    expect(page).not_to_have_url(live_server("/account/login"))


def test_exporter_imports_a_spreadsheet_and_a_buyer_sees_the_product(live_server, new_page, tmp_path):
    with live_server.app.app_context():
        exporter = make_user(company=make_company(kind=CompanyKind.EXPORTER), role=Role.COMPANY_ADMIN)
        buyer = make_user(company=make_company(kind=CompanyKind.CHAIN_LEADER), role=Role.COMPANY_ADMIN)
        exporter_email, buyer_email = exporter.email, buyer.email
    upload = tmp_path / "产品目录.xlsx"
    upload.write_bytes(catalog_xlsx())

    page = new_page()
    log_in(page, live_server, exporter_email)
    page.goto(live_server("/catalog/import"))
    page.set_input_files("form[data-testid=import-upload-form] input[type=file]", str(upload))
    page.locator("form[data-testid=import-upload-form] [type=submit]").click()

    problems = page.locator("[data-testid=import-problems]")
    expect(problems).to_be_visible()
    # the two bad rows, each named by its row number and the column header the user wrote
    expect(problems.locator("tr", has_text="起订量").filter(has_text="4")).to_have_count(1)
    expect(problems.locator("tr", has_text="阶梯价").filter(has_text="6")).to_have_count(1)
    screenshot(page, "catalog-import-preview")

    page.locator("form[data-testid=import-commit-form] [type=submit]").click()
    expect(page.locator("[data-testid=import-done]")).to_be_visible(timeout=30_000)
    with live_server.app.app_context():
        skus = sorted(p.sku for p in db.session.query(Product).all())
        assert skus == ["RC-001", "RC-002", "RC-004"]
        product_id = db.session.query(Product).filter_by(sku="RC-002").one().id

    # publish one product from the catalog list
    page.goto(live_server("/catalog/"))
    page.locator(f"tr[data-product-id='{product_id}'] input[name=product_ids]").check()
    page.locator("form[data-testid=bulk-form] button[value=publish]").click()
    expect(page.locator(f"tr[data-product-id='{product_id}']")).to_be_visible()
    with live_server.app.app_context():
        assert db.session.get(Product, product_id).status is ProductStatus.PUBLISHED
    screenshot(page, "catalog-list")

    buyer_page = new_page()
    log_in(buyer_page, live_server, buyer_email)
    response = buyer_page.goto(live_server(f"/products/{product_id}"))
    assert response.status == 200
    expect(buyer_page.locator("h1")).to_contain_text("浏览器测试电饭煲2号")
    expect(buyer_page.locator("body")).to_contain_text("¥89.00")
    screenshot(buyer_page, "catalog-product-page")
    # an unpublished one stays hidden from the buyer
    with live_server.app.app_context():
        draft_id = db.session.query(Product).filter_by(sku="RC-001").one().id
    assert buyer_page.goto(live_server(f"/products/{draft_id}")).status == 404
