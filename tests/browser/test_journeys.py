"""The main journeys in a real browser, in Chinese: register, fill the profile, switch language, verify.

Selectors use form field names and actions (the contract between pages and tests), not visible
text: the Chinese catalog is written separately. Text is asserted only where it is data the
test typed or a ``lang`` attribute.
"""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from marketplace.accounts.models import Company, Role
from marketplace.accounts.uscc_gen import make_uscc
from marketplace.extensions import db
from marketplace.mail import OutboxEmail
from tests.browser.conftest import PHONE_VIEWPORT, screenshot
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser

COMPANY_NAME_ZH = "宁波海曙浏览器测试电器有限公司"
COMPANY_NAME_EN = "Ningbo Browser Test Appliances Co., Ltd."
DESCRIPTION = "专业生产电饭煲和空气炸锅，原出口美国，现转内销。"


def switch_language(page, expected_lang: str) -> None:
    """Press the navbar language button and wait for the page in the other language."""
    page.locator("[data-testid=language-switch]").click()
    expect(page.locator("html")).to_have_attribute("lang", expected_lang)


def choose_region(page, province_code: str, city_code: str) -> None:
    """Pick a province, wait for app.js to fill its cities from /regions.json, pick the city."""
    page.locator("select[name=province_code]").select_option(province_code)
    city = page.locator("select[name=city_code]")
    expect(city.locator(f"option[value='{city_code}']")).to_have_count(1)
    expect(city).to_be_enabled()
    city.select_option(city_code)


def submit(page, action_part: str) -> None:
    """Click the submit button of the form whose action contains ``action_part``."""
    page.locator(f"form[action*='{action_part}'] [type=submit]").first.click()


def approve(page, company_id: int) -> None:
    """Click the approve button in the verification queue's approve form for that company."""
    page.locator(f"form[action*='/companies/{company_id}/verify']").filter(
        has=page.locator("input[name=decision][value=approve]")
    ).locator("[type=submit]").click()


def test_home_page_renders_in_chinese_without_csp_errors(live_server, page, console_log):
    response = page.goto(live_server("/"))
    assert response.status == 200
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("h1")).to_be_visible()
    # the scripts loaded and ran (Bootstrap and app.js are served by the app itself)
    assert page.evaluate("typeof window.bootstrap") == "object"
    assert console_log.csp_violations == []


def test_language_switch_goes_to_english_and_back(live_server, page):
    page.goto(live_server("/"))
    switch_language(page, "en")
    assert page.url.rstrip("/") == live_server("").rstrip("/")
    expect(page.locator("[data-testid=language-switch]")).to_have_attribute("lang", "zh-CN")
    # the choice sticks across pages, over the browser's Accept-Language
    page.goto(live_server("/account/login"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    switch_language(page, "zh-CN")
    assert page.url.endswith("/account/login")
    page.goto(live_server("/"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")


def test_home_page_fits_a_phone_without_horizontal_scroll(live_server, new_page):
    page = new_page(viewport=PHONE_VIEWPORT, is_mobile=True, has_touch=True)
    page.goto(live_server("/"))
    expect(page.locator("h1")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "home-phone")
    # the collapsed navigation opens with its toggler
    page.locator(".navbar-toggler").click()
    expect(page.locator("[data-testid=language-switch]")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_exporter_registers_fills_profile_switches_language_and_gets_verified(live_server, page):
    base = live_server.url
    email = "owner@browser-test.example.com"
    uscc = make_uscc(424242, "330200")

    # 1. register an exporter company (Chinese UI): the e-mail address, then the link from the e-mail
    page.goto(live_server("/account/register"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    page.locator("input[name=email]").fill(email)
    submit(page, "/account/register")
    expect(page.locator("[data-testid=register-sent]")).to_be_visible()
    with live_server.app.app_context():
        body = db.session.scalars(sa.select(OutboxEmail.body).order_by(OutboxEmail.id.desc())).first()
    page.goto(re.search(r"https?://\S+", body).group(0).replace("http://127.0.0.1:5000", base))
    page.locator("input[name=name_zh]").fill(COMPANY_NAME_ZH)
    page.locator("input[name=name_en]").fill(COMPANY_NAME_EN)
    page.locator("input[name=uscc]").fill(uscc)
    page.locator("select[name=kind]").select_option("exporter")
    choose_region(page, "330000", "330200")  # 浙江省 宁波市
    page.locator("[name=industry]").fill("小家电")
    page.locator("input[name=name]").fill("王海")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("input[name=password_confirm]").fill(PASSWORD)
    submit(page, "/account/register")

    # 2. lands on the company profile
    page.wait_for_url(re.compile(r"/companies/\d+$"))
    company_id = int(page.url.rsplit("/", 1)[1])
    expect(page.locator("body")).to_contain_text(COMPANY_NAME_ZH)
    with live_server.app.app_context():
        company = db.session.get(Company, company_id)
        assert company.uscc == uscc
        assert company.city_code == "330200"

    # 3. fill the profile, with the pickers again
    page.goto(f"{base}/companies/{company_id}/edit")
    choose_region(page, "440000", "440600")  # 广东省 佛山市
    page.locator("[name=industry]").fill("厨房小家电")
    page.locator("[name=description]").fill(DESCRIPTION)
    contact = page.locator("[name=contact_name], [name=contact_person]").first
    if contact.count():
        contact.fill("王海")
    phone = page.locator("[name=contact_phone], [name=phone]").first
    if phone.count():
        phone.fill("0757-86001234")
    submit(page, f"/companies/{company_id}/edit")
    page.wait_for_url(re.compile(rf"/companies/{company_id}$"))
    expect(page.locator("body")).to_contain_text(DESCRIPTION)
    expect(page.locator("body")).to_contain_text("厨房小家电")
    with live_server.app.app_context():
        company = db.session.get(Company, company_id)
        assert (company.province_code, company.city_code) == ("440000", "440600")
        assert company.description == DESCRIPTION
    screenshot(page, "journey-profile-zh")

    # 4. English and back, from the navbar
    switch_language(page, "en")
    expect(page.locator("body")).to_contain_text(COMPANY_NAME_EN)
    screenshot(page, "journey-profile-en")
    switch_language(page, "zh-CN")
    expect(page.locator("body")).to_contain_text(COMPANY_NAME_ZH)

    # 5. log out through the user menu
    page.locator(".navbar .dropdown-toggle").click()
    page.locator("form[action*='/account/logout'] [type=submit]").click()
    expect(page.locator("form[action*='/account/logout']")).to_have_count(0)

    # 6. an organizer logs in and verifies the company
    with live_server.app.app_context():
        organizer_email = make_user(role=Role.ORGANIZER, name="李主办").email
    page.goto(live_server("/account/login"))
    page.locator("input[name=email]").fill(organizer_email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("input[name=remember_me]").check()
    submit(page, "/account/login")
    expect(page.locator("form[action*='/account/logout']")).to_have_count(1)
    assert "remember_token" in {cookie["name"] for cookie in page.context.cookies()}

    page.on("dialog", lambda dialog: dialog.accept())  # forms with data-confirm ask first
    page.goto(live_server("/companies/verification"))
    expect(page.locator("body")).to_contain_text(COMPANY_NAME_ZH)
    screenshot(page, "journey-verification-queue")
    with page.expect_navigation():
        approve(page, company_id)
    with live_server.app.app_context():
        assert db.session.get(Company, company_id).is_verified

    # 7. the profile now carries the verified badge
    page.goto(f"{base}/companies/{company_id}")
    expect(page.locator(".badge .bi-patch-check-fill")).to_have_count(1)
    expect(page.locator(".badge-unverified")).to_have_count(0)
    screenshot(page, "journey-verified-profile")
