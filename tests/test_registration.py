"""Registration: the e-mail address first (a link to continue), then one form creating the company and its admin."""
from __future__ import annotations

import itertools
import re
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from itsdangerous import URLSafeTimedSerializer
from stdnum.cn import uscc as stdnum_uscc

from marketplace.accounts.models import Company, Role, User, Verification
from marketplace.accounts.uscc_gen import make_uscc
from marketplace.extensions import db
from marketplace.mail import OutboxEmail
from tests.conftest import csrf_token, post_form
from tests.factories import make_company, make_user

URL = "/account/register"
_serial = itertools.count(700_000)
# a valid code with letters in it, to test lower case and spaces
LETTERS_USCC = "91440300MA5G2X4B5" + stdnum_uscc.calc_check_digit("91440300MA5G2X4B5")
#: full-width, as a Chinese IME types it: ９１４４…
FULL_WIDTH = str.maketrans("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", "０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ")


def registration_data(**overrides) -> dict:
    """A complete, valid registration (step two, plus the e-mail of step one); ``overrides`` replace fields."""
    data = {
        "name_zh": "深圳市测试电器有限公司",
        "name_en": "Shenzhen Test Appliances Co., Ltd.",
        "uscc": make_uscc(next(_serial), "440300"),
        "kind": "exporter",
        "province_code": "440000",
        "city_code": "440300",
        "industry": "小家电",
        "name": "李四",
        "phone": "",
        "email": "lisi@example.com",
        "password": "a long enough password",
        "password_confirm": "a long enough password",
    }
    data.update(overrides)
    return data


def outbox(app) -> list[OutboxEmail]:
    with app.app_context():
        rows = db.session.scalars(sa.select(OutboxEmail).order_by(OutboxEmail.id)).all()
        db.session.expunge_all()
        return rows


def registration_link(app, client, email: str = "lisi@example.com") -> str:
    """Step one for ``email``; the path of the link in the e-mail it sends."""
    response = post_form(client, URL, {"email": email})
    assert response.status_code == 200, response.status_code
    body = outbox(app)[-1].body
    match = re.search(r"https?://\S+(/account/register/\S+)", body)
    assert match, body
    return urlsplit(match.group(0)).path


def register(app, client, data: dict | None = None, **overrides):
    """Both steps, as a browser would; the response to the company form."""
    data = data or registration_data(**overrides)
    path = registration_link(app, client, data["email"])
    form = {k: v for k, v in data.items() if k != "email"}
    return post_form(client, path, form)


def counts(app) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.scalar(sa.select(sa.func.count()).select_from(Company)),
            db.session.scalar(sa.select(sa.func.count()).select_from(User)),
        )


def assert_refused(app, response, message: str | None = None, before=(0, 0)) -> str:
    """The form came back (no redirect) with the message, and nothing was written."""
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'data-testid="register-form"' in html
    if message:
        assert message in html
    assert counts(app) == before
    return html


def test_register_page_asks_for_the_email_first(client):
    response = client.get(URL)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'name="email"' in html
    assert 'name="uscc"' not in html and 'name="password"' not in html


def test_register_link_shows_the_company_form(app, client):
    path = registration_link(app, client)
    html = client.get(path).get_data(as_text=True)
    for name in ("name_zh", "name_en", "uscc", "kind", "province_code", "city_code", "industry",
                 "name", "phone", "password", "password_confirm"):
        assert f'name="{name}"' in html
    assert 'name="email"' not in html  # the address is the one the link was sent to
    assert "lisi@example.com" in html
    assert 'value="organizer"' not in html  # organizers are not self-registered


def test_register_creates_pending_company_with_logged_in_admin(app, client):
    data = registration_data()
    response = register(app, client, data)
    assert response.status_code == 302
    with app.app_context():
        company = db.session.scalar(sa.select(Company))
        user = db.session.scalar(sa.select(User))
        assert company.uscc == data["uscc"]
        assert company.name_zh == data["name_zh"] and company.name_en == data["name_en"]
        assert company.kind.value == "exporter"
        assert (company.province_code, company.city_code) == ("440000", "440300")
        assert company.verification is Verification.PENDING
        assert user.company_id == company.id
        assert user.role is Role.COMPANY_ADMIN
        assert user.email == "lisi@example.com"
        assert user.password_hash.startswith("scrypt:")
        assert data["password"] not in user.password_hash
        company_id = company.id
    assert response.headers["Location"].endswith(f"/companies/{company_id}")
    # logged in: account pages open
    assert client.get("/account/settings").status_code == 200


def test_register_fills_the_company_contact_from_the_registering_person(app, en_client):
    response = register(app, en_client, name="李四", phone="０５７４-8700 1234", email="LiSi@Example.com")
    assert response.status_code == 302
    with app.app_context():
        company = db.session.scalar(sa.select(Company))
        assert (company.contact_name, company.contact_email, company.contact_phone) == (
            "李四", "lisi@example.com", "0574-8700 1234")
        company_id = company.id
    html = en_client.get(f"/companies/{company_id}/edit").get_data(as_text=True)
    assert 'value="lisi@example.com"' in html and 'value="0574-8700 1234"' in html


def test_register_without_phone_leaves_it_empty(app, client):
    assert register(app, client).status_code == 302
    with app.app_context():
        company = db.session.scalar(sa.select(Company))
        assert (company.contact_name, company.contact_phone) == ("李四", None)


def test_register_rejects_a_phone_that_is_not_one(app, en_client):
    response = register(app, en_client, phone="call me maybe")
    assert_refused(app, response, "Enter a phone number: digits, spaces, +, - and brackets only.")


def test_register_flashes_that_verification_is_pending(app, en_client):
    register(app, en_client)
    html = en_client.get("/").get_data(as_text=True)
    assert "awaits verification by an organizer" in html


def _answer(response) -> str:
    """The page text without the CSRF token and the address itself."""
    html = response.get_data(as_text=True)
    html = re.sub(r'name="csrf_token" type="hidden" value="[^"]+"', "", html)
    return re.sub(r"[\w.]+@example\.com", "ADDRESS", html)


def test_register_step_one_answers_the_same_for_known_and_new_addresses(app, en_client):
    with app.app_context():
        make_user(email="taken@example.com", name="王五", locale="en")
    known = post_form(en_client, URL, {"email": "Taken@Example.com"})
    new = post_form(en_client, URL, {"email": "new@example.com"})
    assert known.status_code == new.status_code == 200
    assert _answer(known) == _answer(new)
    assert "We have sent an e-mail to" in new.get_data(as_text=True)
    assert counts(app) == (1, 1)  # step one writes no account
    to_owner, to_new = outbox(app)
    # the owner of the known address is told, with the way to log in or reset, and no registration link
    assert to_owner.recipient == "taken@example.com"
    assert to_owner.subject == "You already have a Rongtong account"
    assert "/account/login" in to_owner.body and "/account/reset" in to_owner.body
    assert "/account/register/" not in to_owner.body
    assert to_new.recipient == "new@example.com"
    assert "/account/register/" in to_new.body


def test_register_step_one_refuses_an_invalid_address(app, en_client):
    response = post_form(en_client, URL, {"email": "not an address"})
    assert response.status_code == 200
    assert "Enter a valid e-mail address" in response.get_data(as_text=True)
    assert outbox(app) == []


def test_register_link_for_an_address_registered_meanwhile_is_refused(app, en_client):
    path = registration_link(app, en_client, "lisi@example.com")
    with app.app_context():
        make_user(email="lisi@example.com")
    response = en_client.get(path)
    assert response.status_code == 400
    assert "This registration link has already been used" in response.get_data(as_text=True)
    response = post_form(en_client, path, registration_data(), form_url=URL)
    assert response.status_code == 400
    assert counts(app) == (1, 1)


def test_register_link_works_once(app, client):
    data = registration_data()
    path = registration_link(app, client, data["email"])
    assert post_form(client, path, data).status_code == 302
    other = app.test_client()
    response = post_form(other, path, registration_data(), form_url=URL)
    assert response.status_code == 400
    assert counts(app) == (1, 1)


def test_register_forged_or_foreign_link_is_refused(app, en_client):
    forged = URLSafeTimedSerializer("not the secret key", salt="registration").dumps({"e": "x@example.com"})
    other_purpose = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="password-reset").dumps(
        {"e": "x@example.com"})
    for token in (forged, other_purpose, "nonsense", "x" * 600):
        response = en_client.get(f"{URL}/{token}")
        assert response.status_code == 400
        assert "This registration link is not valid." in response.get_data(as_text=True)
    response = post_form(en_client, f"{URL}/{forged}", registration_data(), form_url=URL)
    assert response.status_code == 400
    assert counts(app) == (0, 0)


def test_register_expired_link_is_refused(app_config, request):
    app_config["REGISTRATION_MAX_AGE"] = -1
    app = request.getfixturevalue("app")
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    path = registration_link(app, client)
    response = client.get(path)
    assert response.status_code == 400
    assert "This registration link has expired." in response.get_data(as_text=True)


def test_register_rate_limit_answers_429(app_config, request):
    app_config["REGISTER_RATE_LIMIT"] = "2 per minute"
    app = request.getfixturevalue("app")
    client = app.test_client()
    token = csrf_token(client, URL)
    statuses = [client.post(URL, data={"email": f"a{i}@example.com", "csrf_token": token}).status_code
                for i in range(3)]
    assert statuses == [200, 200, 429]
    assert len(outbox(app)) == 2


def test_register_company_form_is_rate_limited_too(app_config, request):
    app_config["REGISTER_RATE_LIMIT"] = "2 per minute"
    app = request.getfixturevalue("app")
    client = app.test_client()
    path = registration_link(app, client)  # the first of two allowed POSTs to step one
    token = csrf_token(client, path)
    bad = registration_data(name_zh="")
    statuses = [client.post(path, data={**bad, "csrf_token": token}).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_register_accepts_a_full_width_uscc(app, client):
    full_width = LETTERS_USCC.translate(FULL_WIDTH)
    assert full_width != LETTERS_USCC
    response = register(app, client, uscc=f"{full_width[:8]}－{full_width[8:]}　")
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(Company.uscc)) == LETTERS_USCC


@pytest.mark.parametrize("password", ["12345678", "123456789", "woaini1314", "QQ123456", "88888888", "1qaz2wsx",
                                      "Password1"])
def test_register_refuses_a_common_password(app, en_client, password):
    response = register(app, en_client, password=password, password_confirm=password)
    assert_refused(app, response, "This password is one of the most common ones")


def test_register_rejects_wrong_check_digit(app, en_client):
    good = make_uscc(next(_serial), "440300")
    wrong = good[:-1] + ("0" if good[-1] != "0" else "1")
    response = register(app, en_client, registration_data(uscc=wrong))
    assert_refused(app, response, "check digit (the last character) of this unified social credit code is wrong")


def test_register_normalizes_lowercase_and_spaces_in_uscc(app, client):
    spaced = " ".join([LETTERS_USCC[:6], LETTERS_USCC[6:12], LETTERS_USCC[12:]]).lower()
    response = register(app, client, registration_data(uscc=spaced))
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(Company.uscc)) == LETTERS_USCC


def test_register_rejects_duplicate_uscc(app, en_client):
    with app.app_context():
        existing = make_company().uscc
    response = register(app, en_client, registration_data(uscc=existing.lower()))
    html = assert_refused(app, response, "already registered", before=(1, 0))
    assert "Ask its administrator to invite you" in html


def test_register_rejects_city_outside_province(app, en_client):
    # 广州 (440100) is in 广东, not in 浙江 (330000)
    response = register(app, en_client, registration_data(province_code="330000", city_code="440100"))
    assert_refused(app, response, "The city you chose is not in the province you chose.")


def test_register_rejects_unknown_province(app, en_client):
    response = register(app, en_client, registration_data(province_code="990000", city_code="990100"))
    assert_refused(app, response)


def test_register_rejects_short_password(app, en_client):
    response = register(app, en_client, registration_data(password="short", password_confirm="short"))
    assert_refused(app, response, "Choose a password of at least 8 characters.")


def test_register_rejects_different_password_confirmation(app, en_client):
    response = register(app, en_client, registration_data(password_confirm="another long password"))
    assert_refused(app, response, "The two passwords are not the same.")


def test_register_refuses_organizer_kind(app, client):
    response = register(app, client, registration_data(kind="organizer"))
    assert_refused(app, response)


@pytest.mark.parametrize("field", ["name_zh", "name_en", "industry", "name", "uscc", "phone"])
def test_register_rejects_10000_character_text(app, en_client, field):
    response = register(app, en_client, registration_data(**{field: "长" * 10_000}))
    assert_refused(app, response, "Please use at most")


def test_register_step_one_rejects_a_10000_character_address(app, en_client):
    response = post_form(en_client, URL, {"email": "长" * 10_000 + "@example.com"})
    assert response.status_code == 200
    assert "Please use at most" in response.get_data(as_text=True)
    assert outbox(app) == []


def test_register_rejects_missing_required_fields(app, en_client):
    response = register(app, en_client, registration_data(name_zh="", name="", uscc="", kind=""))
    html = assert_refused(app, response, "This field is required.")
    assert "Choose what kind of company yours is." in html


def test_register_control_characters_never_cause_an_error(app, client):
    response = post_form(client, URL, {"email": "li\x00si@example.com"})
    assert response.status_code == 200  # refused, or sent to the address without the NUL; no account yet
    assert counts(app) == (0, 0)
    assert all(e.recipient == "lisi@example.com" for e in outbox(app))
    response = register(app, client, registration_data(name_zh="测试\x00公司\r\n有限", name="李\x00四"))
    assert response.status_code == 302
    with app.app_context():
        name_zh = db.session.scalar(sa.select(Company.name_zh))
        assert "\x00" not in name_zh and "\n" not in name_zh and name_zh.startswith("测试")


def test_register_shows_html_and_script_escaped(app, client):
    script = "<script>alert('x')</script>"
    data = registration_data(name_zh=f"{script}公司", name_en=f"<b>{script}</b>", industry=script, name=f"{script}李")
    response = register(app, client, data)
    assert response.status_code == 302
    with app.app_context():
        company = db.session.scalar(sa.select(Company))
        assert company.name_zh == f"{script}公司"  # stored as typed, escaped when shown
    for page in ("/", "/account/settings", "/account/colleagues"):
        html = client.get(page).get_data(as_text=True)
        assert script not in html, page
        assert "&lt;script&gt;alert(" in html, page


def test_register_redisplays_bad_input_escaped(app, client):
    script = "<script>alert('x')</script>"
    response = register(app, client, registration_data(name_zh=script, name=script, password="short",
                                                        password_confirm="short"))
    html = assert_refused(app, response)
    assert script not in html
    assert "&lt;script&gt;" in html


def test_register_without_csrf_token_is_400_and_writes_nothing(app, client):
    response = client.post(URL, data={"email": "lisi@example.com"})
    assert response.status_code == 400
    assert outbox(app) == []
    path = registration_link(app, client)
    response = client.post(path, data=registration_data())
    assert response.status_code == 400
    assert counts(app) == (0, 0)


def test_register_when_logged_in_redirects(app, client):
    register(app, client, registration_data())
    assert client.get(URL).status_code == 302


@pytest.mark.parametrize("typed", [
    LETTERS_USCC.translate(FULL_WIDTH),  # all full-width
    "　".join([LETTERS_USCC[:6], LETTERS_USCC[6:]]).translate(FULL_WIDTH),  # ideographic space
    f"{LETTERS_USCC[:8]}—{LETTERS_USCC[8:]}".lower(),  # an em dash, lower case
    f"{LETTERS_USCC[:8]}－{LETTERS_USCC[8:]}".translate(FULL_WIDTH).lower(),  # full-width hyphen, lower case
])
def test_uscc_typed_with_an_ime_is_normalised(typed):
    from marketplace.accounts.validation import validate_uscc

    assert validate_uscc(typed) == LETTERS_USCC
