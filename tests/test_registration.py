"""Registration: one form creating a company (pending verification) and its first user."""
from __future__ import annotations

import itertools

import pytest
import sqlalchemy as sa
from stdnum.cn import uscc as stdnum_uscc

from marketplace.accounts.models import Company, Role, User, Verification
from marketplace.accounts.uscc_gen import make_uscc
from marketplace.extensions import db
from tests.conftest import post_form
from tests.factories import make_company, make_user

URL = "/account/register"
_serial = itertools.count(700_000)
# a valid code with letters in it, to test lower case and spaces
LETTERS_USCC = "91440300MA5G2X4B5" + stdnum_uscc.calc_check_digit("91440300MA5G2X4B5")


def registration_data(**overrides) -> dict:
    """A complete, valid registration; ``overrides`` replace single fields."""
    data = {
        "name_zh": "深圳市测试电器有限公司",
        "name_en": "Shenzhen Test Appliances Co., Ltd.",
        "uscc": make_uscc(next(_serial), "440300"),
        "kind": "exporter",
        "province_code": "440000",
        "city_code": "440300",
        "industry": "小家电",
        "name": "李四",
        "email": "lisi@example.com",
        "password": "a long enough password",
        "password_confirm": "a long enough password",
    }
    data.update(overrides)
    return data


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


def test_register_page_shows_the_form(client):
    response = client.get(URL)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for name in ("name_zh", "name_en", "uscc", "kind", "province_code", "city_code", "industry",
                 "name", "email", "password", "password_confirm"):
        assert f'name="{name}"' in html
    assert 'value="organizer"' not in html  # organizers are not self-registered


def test_register_creates_pending_company_with_logged_in_admin(app, client):
    data = registration_data()
    response = post_form(client, URL, data)
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


def test_register_flashes_that_verification_is_pending(en_client):
    post_form(en_client, URL, registration_data())
    html = en_client.get("/").get_data(as_text=True)
    assert "awaits verification by an organizer" in html


def test_register_rejects_wrong_check_digit(app, en_client):
    good = make_uscc(next(_serial), "440300")
    wrong = good[:-1] + ("0" if good[-1] != "0" else "1")
    response = post_form(en_client, URL, registration_data(uscc=wrong))
    assert_refused(app, response, "check digit (the last character) of this unified social credit code is wrong")


def test_register_normalizes_lowercase_and_spaces_in_uscc(app, client):
    spaced = " ".join([LETTERS_USCC[:6], LETTERS_USCC[6:12], LETTERS_USCC[12:]]).lower()
    response = post_form(client, URL, registration_data(uscc=spaced))
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(Company.uscc)) == LETTERS_USCC


def test_register_rejects_duplicate_uscc(app, en_client):
    with app.app_context():
        existing = make_company().uscc
    response = post_form(en_client, URL, registration_data(uscc=existing.lower()))
    html = assert_refused(app, response, "already registered", before=(1, 0))
    assert "Ask its administrator to invite you" in html


def test_register_rejects_city_outside_province(app, en_client):
    # 广州 (440100) is in 广东, not in 浙江 (330000)
    response = post_form(en_client, URL, registration_data(province_code="330000", city_code="440100"))
    assert_refused(app, response, "The city you chose is not in the province you chose.")


def test_register_rejects_unknown_province(app, en_client):
    response = post_form(en_client, URL, registration_data(province_code="990000", city_code="990100"))
    assert_refused(app, response)


def test_register_rejects_short_password(app, en_client):
    response = post_form(en_client, URL, registration_data(password="short", password_confirm="short"))
    assert_refused(app, response, "Choose a password of at least 8 characters.")


def test_register_rejects_different_password_confirmation(app, en_client):
    response = post_form(en_client, URL, registration_data(password_confirm="another long password"))
    assert_refused(app, response, "The two passwords are not the same.")


def test_register_rejects_email_already_registered(app, en_client):
    with app.app_context():
        make_user(email="taken@example.com")
    response = post_form(en_client, URL, registration_data(email="Taken@Example.com"))
    assert_refused(app, response, "An account with this e-mail address already exists.", before=(1, 1))


def test_register_rejects_invalid_email(app, en_client):
    response = post_form(en_client, URL, registration_data(email="not an address"))
    assert_refused(app, response, "Enter a valid e-mail address")


def test_register_refuses_organizer_kind(app, client):
    response = post_form(client, URL, registration_data(kind="organizer"))
    assert_refused(app, response)


@pytest.mark.parametrize("field", ["name_zh", "name_en", "industry", "name", "uscc", "email"])
def test_register_rejects_10000_character_text(app, en_client, field):
    response = post_form(en_client, URL, registration_data(**{field: "长" * 10_000}))
    assert_refused(app, response, "Please use at most")


def test_register_rejects_missing_required_fields(app, en_client):
    response = post_form(en_client, URL, registration_data(name_zh="", name="", uscc="", kind=""))
    html = assert_refused(app, response, "This field is required.")
    assert "Choose what kind of company yours is." in html


def test_register_control_characters_never_cause_an_error(app, client):
    data = registration_data(name_zh="测试\x00公司\r\n有限", name="李\x00四", email="li\x00si@example.com")
    response = post_form(client, URL, data)
    assert response.status_code == 200  # the e-mail is refused, nothing written
    assert counts(app) == (0, 0)
    response = post_form(client, URL, registration_data(name_zh="测试\x00公司\r\n有限", name="李\x00四"))
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(Company.name_zh)) == "测试 公司 有限"


def test_register_shows_html_and_script_escaped(app, client):
    script = "<script>alert('x')</script>"
    data = registration_data(name_zh=f"{script}公司", name_en=f"<b>{script}</b>", industry=script, name=f"{script}李")
    response = post_form(client, URL, data)
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
    response = post_form(client, URL, registration_data(name_zh=script, name=script, password="short",
                                                        password_confirm="short"))
    html = assert_refused(app, response)
    assert script not in html
    assert "&lt;script&gt;" in html


def test_register_without_csrf_token_is_400_and_writes_nothing(app, client):
    response = client.post(URL, data=registration_data())
    assert response.status_code == 400
    assert counts(app) == (0, 0)


def test_register_when_logged_in_redirects(app, client):
    post_form(client, URL, registration_data())
    response = client.get(URL)
    assert response.status_code == 302
