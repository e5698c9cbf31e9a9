"""Links in e-mails come from PUBLIC_URL, never from the request's Host; production refuses unknown hosts."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from marketplace import create_app
from marketplace.accounts.models import Role
from marketplace.config import ConfigError
from marketplace.extensions import db
from marketplace.mail import OutboxEmail
from tests.conftest import login, post_form
from tests.factories import make_company, make_user

PUBLIC = "https://rongtong.example.cn"
FORGED = {"Host": "evil.example"}


class ForgedHostClient(FlaskClient):
    """A client whose every request says ``Host: evil.example`` (and keeps its cookies for that host)."""

    def open(self, *args, **kwargs):
        kwargs.setdefault("base_url", "http://evil.example")
        return super().open(*args, **kwargs)


def forged_client(app) -> FlaskClient:
    return ForgedHostClient(app, app.response_class, use_cookies=True)


def last_body(app) -> str:
    with app.app_context():
        return db.session.scalars(sa.select(OutboxEmail.body).order_by(OutboxEmail.id.desc())).first()


def links(body: str) -> list[str]:
    return re.findall(r"https?://\S+", body)


@pytest.fixture
def public_app(app_config, request):
    """An app whose PUBLIC_URL is set (tests accept any Host, as development does)."""
    app_config["PUBLIC_URL"] = PUBLIC
    return request.getfixturevalue("app")


def test_reset_email_with_a_forged_host_links_to_the_public_url(public_app):
    with public_app.app_context():
        make_user(email="zhao@example.com")
    client = forged_client(public_app)
    response = post_form(client, "/account/reset", {"email": "zhao@example.com"})
    assert response.status_code == 302
    body = last_body(public_app)
    assert "evil.example" not in body
    [link] = links(body)
    assert link.startswith(f"{PUBLIC}/account/reset/")


def test_invitation_email_with_a_forged_host_links_to_the_public_url(public_app):
    with public_app.app_context():
        make_user(email="admin@example.com")
    client = forged_client(public_app)
    login(client, "admin@example.com")
    response = post_form(client, "/account/colleagues/invite", {"email": "new@example.com", "role": "member"},
                         form_url="/account/colleagues")
    assert response.status_code == 302
    body = last_body(public_app)
    assert "evil.example" not in body
    [link] = links(body)
    assert link.startswith(f"{PUBLIC}/account/invitations/")


def test_registration_email_with_a_forged_host_links_to_the_public_url(public_app):
    client = forged_client(public_app)
    assert post_form(client, "/account/register", {"email": "new@example.com"}).status_code == 200
    [link] = links(last_body(public_app))
    assert link.startswith(f"{PUBLIC}/account/register/")
    with public_app.app_context():
        make_user(email="known@example.com")
    post_form(client, "/account/register", {"email": "known@example.com"})
    body = last_body(public_app)
    assert "evil.example" not in body
    assert links(body) == [f"{PUBLIC}/account/login", f"{PUBLIC}/account/reset"]


def test_verification_email_with_a_forged_host_links_to_the_public_url(public_app):
    with public_app.app_context():
        company = make_company(verified=False)
        make_user(company, email="owner@example.com")
        make_user(role=Role.ORGANIZER, email="organizer@example.com")
        company_id = company.id
    client = forged_client(public_app)
    login(client, "organizer@example.com")
    response = post_form(client, f"/companies/{company_id}/verify", {"decision": "approve"},
                         form_url="/companies/verification")
    assert response.status_code == 302
    body = last_body(public_app)
    assert "evil.example" not in body
    assert links(body) == [f"{PUBLIC}/companies/{company_id}"]


def test_email_links_without_public_url_use_the_embedded_default_not_the_host(app):
    with app.app_context():
        make_user(email="zhao@example.com")
    post_form(forged_client(app), "/account/reset", {"email": "zhao@example.com"})
    [link] = links(last_body(app))
    assert link.startswith("http://127.0.0.1:5000/account/reset/")


# --------------------------------------------------------------------------- production: allowed hosts

@pytest.fixture
def production_app(app_config, request, monkeypatch):
    """The app as production runs it (HTTPS, secure cookies, allowed hosts from PUBLIC_URL)."""
    monkeypatch.delenv("ALLOWED_HOSTS", raising=False)
    app_config.update(TESTING=False, ENV="production", PUBLIC_URL=PUBLIC)
    return request.getfixturevalue("app")


def test_production_serves_the_public_host(production_app):
    assert production_app.config["TRUSTED_HOSTS"] == ["rongtong.example.cn"]
    client = production_app.test_client()
    response = client.get("/", base_url=PUBLIC)
    assert response.status_code == 200
    assert client.get("/account/login", base_url=PUBLIC).status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "rongtong.example.cn.evil.example", "127.0.0.1", "a b"])
def test_production_refuses_another_host_with_a_localized_400(production_app, host):
    client = production_app.test_client()
    response = client.get("/", base_url="https://rongtong.example.cn", headers={"Host": host})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "本站不在这个地址提供服务，请访问 https://rongtong.example.cn。" in html
    assert "Traceback" not in html and "SecurityError" not in html
    english = client.get("/account/reset", base_url=PUBLIC, headers={"Host": host, "Accept-Language": "en"})
    assert english.status_code == 400
    assert "This site is not served at this address. Go to https://rongtong.example.cn." in english.get_data(
        as_text=True)


def test_production_refuses_a_forged_host_before_any_email_is_written(production_app):
    with production_app.app_context():
        make_user(email="zhao@example.com")
    client = production_app.test_client()
    response = client.post("/account/reset", base_url=PUBLIC, headers=FORGED, data={"email": "zhao@example.com"})
    assert response.status_code == 400
    with production_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEmail)) == 0


def test_allowed_hosts_setting_lists_the_hosts(app_config, tmp_path, monkeypatch):
    monkeypatch.setenv("ALLOWED_HOSTS", "rongtong.example.cn, .rongtong.example.cn  health.internal")
    app_config.update(TESTING=False, ENV="production", PUBLIC_URL=PUBLIC)
    application = create_app(app_config)
    assert application.config["TRUSTED_HOSTS"] == ["rongtong.example.cn", ".rongtong.example.cn", "health.internal"]
    client = application.test_client()
    # the 404 of an unknown page shows the host was accepted (no database needed)
    for host in ("www.rongtong.example.cn", "health.internal:8000"):
        assert client.get("/no-such-page", base_url=PUBLIC, headers={"Host": host}).status_code == 404, host
    assert client.get("/no-such-page", base_url=PUBLIC, headers=FORGED).status_code == 400


def test_production_refuses_to_start_without_public_url(app_config, monkeypatch):
    monkeypatch.delenv("PUBLIC_URL", raising=False)
    app_config.update(TESTING=False, ENV="production")
    app_config.pop("PUBLIC_URL", None)
    with pytest.raises(ConfigError, match="PUBLIC_URL"):
        create_app(app_config)
    for bad in ("rongtong.example.cn", "ftp://rongtong.example.cn", "https://"):
        with pytest.raises(ConfigError, match="PUBLIC_URL"):
            create_app({**app_config, "PUBLIC_URL": bad})


def test_development_accepts_any_host_unless_allowed_hosts_is_set(app_config, monkeypatch):
    monkeypatch.delenv("ALLOWED_HOSTS", raising=False)
    assert create_app(app_config).config["TRUSTED_HOSTS"] is None
    monkeypatch.setenv("ALLOWED_HOSTS", "localhost")
    assert create_app(app_config).config["TRUSTED_HOSTS"] == ["localhost"]
