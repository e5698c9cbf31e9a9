"""Issue 12's journey in a real browser, in Chinese: an organizer creates a matchmaking session (专场对接会) and
opens registration; an exporter and the host's buyer register and are approved; the host puts a request on the
session's demand list; the buyer finds the exporter's product on the match board with its reasons, books a 1:1
meeting the exporter then sees on its schedule, and sends an order intent from the board, which the exporter
accepts and both sign; the organizer sees it on the dashboard and the session's report and in both XLSX files.
The new pages are photographed at 1366 px in Chinese (the board and the dashboard in English too).
"""
from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from playwright.sync_api import expect

from marketplace.accounts.models import CompanyKind, Role
from marketplace.catalog.rows import PriceTierInput
from marketplace.deals.models import OrderIntent
from marketplace.deals.states import IntentState
from marketplace.extensions import db
from marketplace.i18n import _, today_in_china
from marketplace.sessions.models import MatchmakingSession
from tests.browser.conftest import screenshot
from tests.browser.test_catalog_journey import log_in
from tests.factories import make_company, make_product, make_user

pytestmark = pytest.mark.browser
WIDE = {"width": 1366, "height": 900}
ENGLISH = {"locale": "en-US", "extra_http_headers": {"Accept-Language": "en"}, "viewport": WIDE}
TITLE = "宁波小家电产业集群出口转内销专场对接会"
#: 2,000 cups at ¥23.00 each
AMOUNT_YUAN = 46000


def _page(new_page, live_server, email: str, **options):
    """A logged-in page that accepts every confirmation dialog (status moves ask first)."""
    page = new_page(**(options or {"viewport": WIDE}))
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, live_server, email)
    return page


def _register(page, session_url: str, attendee: str) -> None:
    page.goto(session_url)
    form = page.locator("form[data-testid=register-form]")
    form.locator("input[name=attendee_name]").fill(attendee)
    form.locator("input[name=attendee_phone]").fill("0574-88886666")
    form.locator("[data-testid=register]").click()
    expect(page.locator("[data-testid=registration-box] [data-testid=registration-status]")).to_have_attribute(
        "data-status", "pending")


def _figures(download, labels_in_column_a: bool, headers: dict[str, str]) -> dict:
    """The figures of a downloaded report's first sheet by their (Chinese) label: the totals row of the summary
    (labels in its header row), or the label/value rows of a session's overview (labels in column A, the first
    row of a label: the figures come before the intents-by-state table)."""
    workbook = openpyxl.load_workbook(io.BytesIO(Path(download.path()).read_bytes()), read_only=True)
    rows = [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]
    if labels_in_column_a:
        found: dict = {}
        for row in rows:
            if len(row) > 1 and row[0] is not None:
                found.setdefault(row[0], row[1])
        return found
    header = next(row for row in rows if headers["signed"] in row)
    total = next(row for row in rows if row and row[0] == headers["total"])
    return dict(zip(header, total, strict=False))


def test_session_from_creation_to_a_signed_intent_on_the_report(live_server, new_page):
    with live_server.app.app_context():
        organizer = make_user(company=make_company(kind=CompanyKind.ORGANIZER, name_zh="宁波市商务局"),
                              role=Role.ORGANIZER)
        host = make_company(kind=CompanyKind.CHAIN_LEADER, name_zh="华东优选商贸集团", province_code="330000",
                            city_code="330200")
        buyer = make_user(company=host, name="李采购")
        exporter = make_company(kind=CompanyKind.EXPORTER, name_zh="宁波甬厨电器有限公司", province_code="330000",
                                city_code="330200")
        exporter_user = make_user(company=exporter, name="王经理")
        product = make_product(company=exporter, actor=exporter_user, title_zh="不锈钢保温杯 500ml 食品级",
                               category="kitchenware", moq=500, price_tiers=[PriceTierInput(500, 2300)],
                               monthly_capacity=50000)
        emails = {"organizer": organizer.email, "buyer": buyer.email, "exporter": exporter_user.email}
        host_id, product_id = host.id, product.id
        with live_server.app.test_request_context(), force_locale("zh_CN"):
            zh = {"signed": str(_("Signed")), "signed_value": str(_("Signed value (yuan)")),
                  "intents": str(_("Order intents")), "total": str(_("Total"))}
    day = today_in_china() + timedelta(days=3)

    # 1. the organizer creates the session through the form and opens registration
    organizer_page = _page(new_page, live_server, emails["organizer"])
    organizer_page.goto(live_server("/sessions/organize"))
    organizer_page.locator("[data-testid=new-session]").click()
    form = organizer_page.locator("form[data-testid=session-form]")
    form.locator("input[name=title]").fill(TITLE)
    form.locator("input[name=industry]").fill("小家电")
    form.locator("input[name=cluster]").fill("慈溪家电产业集群")
    form.locator("select[name=category]").select_option("kitchenware")
    form.locator("input[name=starts_at]").fill(f"{day.isoformat()}T09:00")
    form.locator("input[name=ends_at]").fill(f"{day.isoformat()}T12:00")
    form.locator("select[name=province_code]").select_option("330000")
    expect(form.locator("select[name=city_code] option[value='330200']")).to_be_attached()
    form.locator("select[name=city_code]").select_option("330200")
    form.locator("input[name=venue]").fill("宁波国际会展中心 3号馆")
    form.locator("input[name=capacity]").fill("60")
    form.locator("input[name=tables]").fill("6")
    form.locator("select[name=hosts]").select_option(str(host_id))
    form.locator("[data-testid=save-session]").click()
    expect(organizer_page.locator("[data-testid=session-title]")).to_have_text(TITLE)
    expect(organizer_page.locator("[data-testid=session-hosts]")).to_contain_text("华东优选商贸集团")
    organizer_page.locator("form[data-testid=status-move]:has(input[name=target][value=registration]) button").click()
    expect(organizer_page.locator("[data-testid=session-status]").first).to_have_attribute("data-status",
                                                                                         "registration")
    session_url = organizer_page.url
    with live_server.app.app_context():
        session = db.session.scalars(sa.select(MatchmakingSession)).one()
        session_id = session.id
        assert (session.tables, session.capacity, session.slot_minutes) == (6, 60, 20)
    expect(organizer_page.locator("[data-testid=session-facts]")).to_contain_text("09:00–12:00")
    screenshot(organizer_page, "sessions-detail-organizer-zh")

    # 2. the exporter and the host's buyer register on the session page; the organizer approves both
    exporter_page = _page(new_page, live_server, emails["exporter"])
    _register(exporter_page, session_url, "王经理")
    buyer_page = _page(new_page, live_server, emails["buyer"])
    _register(buyer_page, session_url, "李采购")
    screenshot(buyer_page, "sessions-detail-buyer-zh")

    organizer_page.goto(session_url)
    organizer_page.locator("[data-testid=organizer-tools] a[href$='/registrations']").click()
    rows = organizer_page.locator("[data-testid=registration-row]")
    expect(rows).to_have_count(2)
    expect(organizer_page.locator("[data-testid=count-pending]")).to_have_text("2")
    screenshot(organizer_page, "sessions-registrations-zh")
    for company in ("宁波甬厨电器有限公司", "华东优选商贸集团"):
        rows.filter(has_text=company).locator("[data-testid=approve]").click()
        expect(rows.filter(has_text=company).locator("[data-testid=registration-status]")).to_have_attribute(
            "data-status", "approved")
    expect(organizer_page.locator("[data-testid=count-approved]")).to_have_text("2")

    # 3. the host posts a request on the session's demand list and publishes it: the app matches it
    buyer_page.goto(session_url)
    buyer_page.locator("[data-testid=manage-demand]").click()
    buyer_page.locator("[data-testid=post-demand]").click()
    request_form = buyer_page.locator("form[data-testid=request-form]")
    request_form.locator("input[name=title]").fill("采购不锈钢保温杯")
    request_form.locator("textarea[name=description]").fill("门店促销赠品 2000 个，需食品级，送货到宁波。")
    request_form.locator("select[name=category]").select_option("kitchenware")
    request_form.locator("input[name=quantity]").fill("2000")
    request_form.locator("select[name=unit]").select_option("个")
    request_form.locator("input[name=target_price]").fill("25.00")
    request_form.locator("select[name=province_code]").select_option("330000")
    expect(request_form.locator("select[name=city_code] option[value='330200']")).to_be_attached()
    request_form.locator("select[name=city_code]").select_option("330200")
    request_form.locator("[data-testid=save-request]").click()
    expect(buyer_page.locator("[data-testid=preview-banner]")).to_be_visible()
    buyer_page.locator("[data-testid=action-publish]").click()
    expect(buyer_page.locator("[data-testid=request-state]").first).to_have_attribute("data-state", "open")
    buyer_page.goto(session_url)
    expect(buyer_page.locator("[data-testid=demand-line]")).to_have_count(1)
    expect(buyer_page.locator("[data-testid=demand-line]")).to_contain_text("采购不锈钢保温杯")

    # 4. the buyer finds the exporter's product on the match board, with its reasons, and books a meeting
    buyer_page.locator("[data-testid=board-link]").click()
    row = buyer_page.locator(f"[data-testid=board-row][data-product-id='{product_id}']")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("宁波甬厨电器有限公司")
    expect(row).to_contain_text("不锈钢保温杯 500ml 食品级")
    expect(row.locator(".board-reasons")).to_contain_text("同城")
    row.locator("[data-testid=book-meeting]").click()
    book = buyer_page.locator("form[data-testid=book-form]")
    expect(book.locator("select[name=slot]")).to_have_value(f"{day.isoformat()}T09:00:00+08:00")
    book.locator("input[name=note]").fill("请带样品")
    book.locator("[data-testid=book-submit]").click()
    meeting = buyer_page.locator("[data-testid=schedule-meeting]")
    expect(meeting).to_have_count(1)
    expect(meeting).to_contain_text("09:00–09:20")
    expect(meeting).to_contain_text("宁波甬厨电器有限公司")

    exporter_page.goto(live_server("/"))
    exporter_page.locator("[data-testid=notification-bell]").click()
    expect(exporter_page.locator("[data-testid=notification]").first).to_contain_text("09:00")
    exporter_page.goto(session_url)
    exporter_page.locator("[data-testid=board-link]").click()
    exporter_page.locator("[data-testid=tab-schedule]").click()
    theirs = exporter_page.locator("[data-testid=schedule-meeting]")
    expect(theirs).to_have_count(1)
    expect(theirs).to_contain_text("华东优选商贸集团")
    expect(theirs).to_contain_text("09:00–09:20")
    expect(theirs).to_contain_text("请带样品")
    screenshot(exporter_page, "sessions-schedule-exporter-zh")

    # 5. from the board row, the buyer sends an order intent carrying the session; the exporter accepts; both sign
    buyer_page.locator("[data-testid=tab-board]").click()
    expect(row.locator("[data-testid=row-meeting]")).to_contain_text("09:00")
    screenshot(buyer_page, "sessions-board-buyer-zh")
    row.locator("[data-testid=start-intent]").click()
    expect(buyer_page.locator("[data-testid=intent-session]")).to_be_visible()
    intent_form = buyer_page.locator("form[data-testid=start-intent-form]")
    expect(intent_form.locator("input[name=quantity]")).to_have_value("2000")
    intent_form.locator("input[name=unit_price]").fill("23.00")
    intent_form.locator("input[name=delivery_place]").fill("浙江省宁波市")
    intent_form.locator("[data-testid=send-intent]").click()
    expect(buyer_page.locator("[data-testid=intent-state]").first).to_have_attribute("data-state", "submitted")
    expect(buyer_page.locator("[data-testid=intent-amount]")).to_contain_text("46,000.00")
    intent_url = buyer_page.url

    exporter_page.goto(intent_url)
    exporter_page.locator("[data-testid=action-accept]").click()
    expect(exporter_page.locator("[data-testid=intent-state]").first).to_have_attribute("data-state", "accepted")
    exporter_page.locator("[data-testid=action-sign]").click()
    expect(exporter_page.locator("[data-testid=intent-signatures]")).to_be_visible()
    buyer_page.goto(intent_url)
    buyer_page.locator("[data-testid=action-sign]").click()
    expect(buyer_page.locator("[data-testid=intent-state]").first).to_have_attribute("data-state", "signed")
    with live_server.app.app_context():
        intent = db.session.scalars(sa.select(OrderIntent)).one()
        assert (intent.session_id, intent.state, intent.amount_fen) == (session_id, IntentState.SIGNED,
                                                                        AMOUNT_YUAN * 100)

    # 6. the organizer sees the signed intent on the dashboard, the session's report and both XLSX files
    organizer_page.goto(live_server("/"))
    organizer_page.locator("nav a[href='/reports/']").first.click()
    expect(organizer_page.locator("[data-testid=value-intents]")).to_have_text("1")
    expect(organizer_page.locator("[data-testid=kpi-signed-value]")).to_contain_text("¥4.6万")
    expect(organizer_page.locator("[data-testid=value-meetings]")).to_have_text("1")
    expect(organizer_page.locator(f"[data-testid=session-row][data-session-id='{session_id}']")).to_contain_text(TITLE)
    screenshot(organizer_page, "reports-dashboard-zh")
    with organizer_page.expect_download() as summary_download:
        organizer_page.locator("[data-testid=summary-xlsx]").click()
    summary = _figures(summary_download.value, False, zh)
    assert summary[zh["intents"]] == 1 and summary[zh["signed"]] == 1
    assert summary[zh["signed_value"]] == AMOUNT_YUAN

    organizer_page.locator(f"[data-testid=session-row][data-session-id='{session_id}'] a").click()
    expect(organizer_page.locator("[data-testid=session-title]")).to_have_text(TITLE)
    expect(organizer_page.locator("[data-testid=value-intents]")).to_have_text("1")
    expect(organizer_page.locator("[data-testid=kpi-signed-value]")).to_contain_text("¥4.6万")
    expect(organizer_page.locator("[data-testid=state-row][data-state=signed]")).to_contain_text("1")
    screenshot(organizer_page, "reports-session-zh")
    with organizer_page.expect_download() as session_download:
        organizer_page.locator("[data-testid=session-xlsx]").click()
    overview = _figures(session_download.value, True, zh)
    assert overview[zh["intents"]] == 1 and overview[zh["signed"]] == 1
    assert overview[zh["signed_value"]] == AMOUNT_YUAN

    # the board and the dashboard in English, for the screenshots
    buyer_en = _page(new_page, live_server, emails["buyer"], **ENGLISH)
    buyer_en.goto(live_server(f"/sessions/{session_id}/board"))
    expect(buyer_en.locator("[data-testid=board-row]")).to_have_count(1)
    screenshot(buyer_en, "sessions-board-buyer-en")
    organizer_en = _page(new_page, live_server, emails["organizer"], **ENGLISH)
    organizer_en.goto(live_server("/reports/"))
    expect(organizer_en.locator("[data-testid=value-intents]")).to_have_text("1")
    expect(organizer_en.locator("[data-testid=report-scope]")).to_have_text(re.compile(r"· 1 session$"))
    screenshot(organizer_en, "reports-dashboard-en")
