"""Chinese and English: locale selection, the language switch, localized pages and formatting."""
from __future__ import annotations

from datetime import UTC, datetime

from flask import render_template_string

from marketplace.accounts.models import CompanyKind
from marketplace.extensions import db
from marketplace.i18n import format_datetime, format_money, format_number
from tests.conftest import login, post_form
from tests.factories import make_company, make_user

ZH_HEADLINE = "融通：为出口制造企业对接国内采购方"
EN_HEADLINE = "Rongtong: domestic buyers for export manufacturers"


def home(client, **kwargs) -> str:
    response = client.get("/", **kwargs)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def is_chinese(html: str) -> bool:
    """True for the Chinese home page, False for the English one (and never both)."""
    # the home page of a visitor, or a logged-in user's workbench
    chinese = (ZH_HEADLINE in html or ">工作台</h1>" in html) and '<html lang="zh-CN">' in html
    english = (EN_HEADLINE in html or ">Workbench</h1>" in html) and '<html lang="en">' in html
    assert chinese != english, "the page must be in exactly one language"
    return chinese


def test_home_is_chinese_without_accept_language(client):
    html = home(client)
    assert is_chinese(html)
    assert "企业注册" in html and "登录" in html and "使用流程" in html


def test_accept_language_en_gives_english(en_client):
    html = home(en_client)
    assert not is_chinese(html)
    assert "Register your company" in html and "How it works" in html


def test_accept_language_chinese_or_unknown_gives_chinese(client):
    assert is_chinese(home(client, headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}))
    assert is_chinese(home(client, headers={"Accept-Language": "fr-FR,fr;q=0.9"}))


def test_language_switch_to_english_and_back(client):
    response = post_form(client, "/language/en", {}, form_url="/", follow_redirects=True)
    assert response.status_code == 200
    assert not is_chinese(response.get_data(as_text=True))
    # the choice sticks on the next page, against the browser's Chinese
    page = client.get("/companies/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert '<html lang="en">' in page and "Companies" in page and "企业名录" not in page

    response = post_form(client, "/language/zh_CN", {}, form_url="/companies/", follow_redirects=True)
    assert is_chinese(response.get_data(as_text=True))
    page = client.get("/companies/").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page and "企业名录" in page


def test_language_switch_beats_accept_language(en_client):
    post_form(en_client, "/language/zh_CN", {}, form_url="/")
    assert is_chinese(home(en_client))


def test_language_switch_rejects_unknown_locale_and_missing_csrf(client):
    assert post_form(client, "/language/fr", {}, form_url="/").status_code == 404
    assert client.post("/language/en").status_code == 400
    assert is_chinese(home(client))


def test_saved_locale_wins_over_switch_and_accept_language(app, en_client):
    with app.app_context():
        email = make_user(locale="zh_CN").email
    post_form(en_client, "/language/en", {}, form_url="/")
    assert not is_chinese(home(en_client))

    html = login(en_client, email).get_data(as_text=True)
    assert "登录成功。欢迎回来，张三。" in html
    assert is_chinese(home(en_client))


def test_saved_locale_set_in_settings_is_used_everywhere(app, client):
    with app.app_context():
        email = make_user().email
    login(client, email)
    assert is_chinese(home(client))

    response = post_form(client, "/account/settings", {"name": "张三", "locale": "en"}, follow_redirects=True)
    assert "Your settings are saved." in response.get_data(as_text=True)
    assert not is_chinese(home(client, headers={"Accept-Language": "zh-CN"}))

    # a new browser session of the same user shows English too
    other = app.test_client()
    login(other, email)
    assert not is_chinese(home(other, headers={"Accept-Language": "zh-CN"}))


def test_language_switch_of_logged_in_user_is_saved(app, client):
    with app.app_context():
        user = make_user()
        email, user_id = user.email, user.id
    login(client, email)
    post_form(client, "/language/en", {}, form_url="/")
    with app.app_context():
        assert db.session.get(type(user), user_id).locale == "en"
    other = app.test_client()
    login(other, email)
    assert not is_chinese(home(other))


def test_404_page_localized(client, en_client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "页面不存在" in html and "返回首页" in html and '<html lang="zh-CN">' in html

    response = en_client.get("/no-such-page")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Page not found" in html and "Back to the home page" in html and "页面不存在" not in html


def test_403_page_localized(app, client, en_client):
    with app.app_context():
        other = make_company().id
        email = make_user().email
    login(client, email)
    response = client.get(f"/companies/{other}/edit")
    assert response.status_code == 403
    assert "您没有执行此操作的权限" in response.get_data(as_text=True)

    login(en_client, email)
    response = en_client.get(f"/companies/{other}/edit")
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "You do not have permission to do this" in html and "您没有执行此操作的权限" not in html


def test_form_validation_message_in_chinese(app, client, en_client):
    with app.app_context():
        email = make_user().email
    response = post_form(client, "/account/login", {"email": email, "password": "wrong password"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "邮箱或密码不正确。" in html and "Incorrect e-mail or password." not in html

    response = post_form(en_client, "/account/login", {"email": email, "password": "wrong password"})
    assert "Incorrect e-mail or password." in response.get_data(as_text=True)


def test_required_field_message_in_chinese(client):
    response = post_form(client, "/account/login", {"email": "", "password": ""})
    assert response.status_code == 200
    assert "此项为必填项。" in response.get_data(as_text=True)


def test_format_money_chinese(app):
    with app.test_request_context("/"):
        assert format_money(123400) == "¥1,234.00"
        assert format_money(0) == "¥0.00"
        assert format_money(None) == "—"
        assert format_money(123400, compact=True) == "¥1,234.00"  # below 10,000 yuan: in full
        assert "亿" in format_money(12345678900, compact=True)
        assert "万" in format_money(1234500000, compact=True)
        assert "万" in format_number(123456, compact=True)


def test_format_money_english(app):
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert format_money(123400) == "CN¥1,234.00"
        compact = format_money(12345678900, compact=True)
        assert "亿" not in compact and "万" not in compact and compact.endswith("M")


def test_datetime_shown_in_china_standard_time(app):
    moment = datetime(2026, 1, 1, 16, 30, tzinfo=UTC)
    for language in ("zh-CN", "en"):
        with app.test_request_context("/", headers={"Accept-Language": language}):
            assert format_datetime(moment, "yyyy-MM-dd HH:mm") == "2026-01-02 00:30"
            rendered = render_template_string("{{ moment|datetime('yyyy-MM-dd HH:mm') }}", moment=moment)
            assert rendered == "2026-01-02 00:30"
    with app.test_request_context("/"):
        assert "2026年1月2日" in format_datetime(moment)


def test_translations_check_command_passes(runner):
    result = runner.invoke(args=["translations", "check"])
    assert result.exit_code == 0, result.output
    assert "translations complete" in result.output


def test_money_short_is_compact_with_the_exact_amount_as_tooltip(app):
    from marketplace.i18n import format_money_short

    with app.test_request_context("/"):
        assert str(format_money_short(1_234_567_800)) == '<span title="¥12,345,678.00">¥1234.57万</span>'
        assert str(format_money_short(12_345_678_900)) == '<span title="¥123,456,789.00">¥1.23亿</span>'
        assert str(format_money_short(8900)) == "¥89.00"
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert str(format_money_short(1_234_567_800)) == '<span title="CN¥12,345,678.00">CN¥12.3M</span>'


def test_stored_message_renders_in_each_locale(app):
    from flask_babel import force_locale

    from marketplace.deals.states import IntentState
    from marketplace.i18n import _l, encode_message, lazy_money, render_message

    with app.app_context():
        with force_locale("en"):
            data = encode_message([_l("Order intent #%(id)s (%(product)s): %(state)s", id=5, product="<b>杯</b>",
                                      state=IntentState.SUBMITTED.label), lazy_money(100), "plain"])
        assert data["lines"][0]["k"]["state"] == {"f": "gettext", "a": ["Awaiting the exporter"], "k": {}}
        with force_locale("zh_CN"):
            assert render_message(data) == "意向订单 #5（<b>杯</b>）：待出口企业答复\n¥1.00\nplain"
        with force_locale("en"):
            assert render_message(data) == "Order intent #5 (<b>杯</b>): Awaiting the exporter\nCN¥1.00\nplain"
        # only the known formatting functions are ever called back
        assert render_message({"f": "__import__", "a": ["os"]}) == ""


def test_units_read_as_english_words_in_english(app):
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        template = "{{ unit_label('台', 1) }}|{{ unit_label('台', 500) }}|{{ unit_label('千克', 3) }}"
        assert render_template_string(template) == "unit|units|kg"
    with app.test_request_context("/"):
        assert render_template_string("{{ unit_label('台', 500) }}") == "台"


def test_home_counts_use_plural_forms(app, en_client):
    with app.app_context():
        make_user(make_company(kind=CompanyKind.ORGANIZER))
    html = en_client.get("/").get_data(as_text=True)
    assert "1 organizer<" in html and "1 organizers" not in html


def test_company_profile_shows_stranded_stock_compact(app, client, en_client):
    with app.app_context():
        company = make_company(kind=CompanyKind.EXPORTER, stranded_stock_fen=123_456_700)
        company_id = company.id
    assert '<span title="¥1,234,567.00">¥123.46万</span>' in client.get(f"/companies/{company_id}").get_data(as_text=True)
    assert '<span title="CN¥1,234,567.00">CN¥1.2M</span>' in en_client.get(f"/companies/{company_id}").get_data(as_text=True)


def test_translations_follow_the_locale_within_one_request(app):
    """``_`` keeps each locale's catalog per app, but answers in the locale of the moment (a forced one too)."""
    from flask_babel import force_locale

    from marketplace.i18n import _, format_money

    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert _("Capacity covers the quantity") == "Capacity covers the quantity"
        assert format_money(2650) == "CN¥26.50"
        with force_locale("zh_CN"):
            assert _("Capacity covers the quantity") == "产能满足需求数量"
            assert format_money(2650) == "¥26.50"
        assert _("Capacity covers the quantity") == "Capacity covers the quantity"
        assert format_money(2650) == "CN¥26.50"
    with app.test_request_context("/"):
        assert _("Matches: %(words)s", words="保温杯") == "匹配词：保温杯"
