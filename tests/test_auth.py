"""Login, logout, server-side sessions, remember-me, rate limits, account settings and password change."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import User, UserSession
from marketplace.database import utcnow
from marketplace.extensions import db
from tests.conftest import csrf_token, login, post_form
from tests.factories import PASSWORD, make_user

LOGIN = "/account/login"
GENERIC = "Incorrect e-mail or password."


@pytest.fixture
def user(app):
    with app.app_context():
        created = make_user(email="wang@example.com", name="王五")
        return created.id


def form_error(html: str) -> str:
    """The text of the form-level error box."""
    match = re.search(r'<div class="alert alert-danger" role="alert">\s*(.*?)\s*</div>\s*</div>', html, re.S)
    assert match, "no form error shown"
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def test_login_succeeds_and_records_last_login(app, en_client, user):
    response = post_form(en_client, LOGIN, {"email": "wang@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    html = en_client.get("/").get_data(as_text=True)
    assert "You are logged in. Welcome back, 王五." in html
    with app.app_context():
        assert db.session.get(User, user).last_login_at is not None


def test_login_accepts_email_in_any_case(en_client, user):
    response = post_form(en_client, LOGIN, {"email": "  WANG@example.com ", "password": PASSWORD})
    assert response.status_code == 302


def test_login_wrong_password_shows_generic_message(app, en_client, user):
    response = post_form(en_client, LOGIN, {"email": "wang@example.com", "password": "wrong password"})
    assert response.status_code == 200
    assert form_error(response.get_data(as_text=True)) == GENERIC
    assert en_client.get("/account/settings").status_code == 302
    with app.app_context():
        assert db.session.get(User, user).last_login_at is None


def test_login_unknown_email_shows_the_same_message(en_client, user):
    wrong_password = post_form(en_client, LOGIN, {"email": "wang@example.com", "password": "wrong password"})
    unknown = post_form(en_client, LOGIN, {"email": "nobody@example.com", "password": "wrong password"})
    assert unknown.status_code == wrong_password.status_code == 200
    assert form_error(unknown.get_data(as_text=True)) == form_error(wrong_password.get_data(as_text=True)) == GENERIC


def test_login_deactivated_user_shows_the_same_message(app, en_client):
    with app.app_context():
        make_user(email="gone@example.com", active=False)
    response = post_form(en_client, LOGIN, {"email": "gone@example.com", "password": PASSWORD})
    assert response.status_code == 200
    assert form_error(response.get_data(as_text=True)) == GENERIC


def test_login_odd_input_never_errors(en_client, user):
    for email in ("wang\x00@example.com", "x" * 10_000, "<script>@example.com"):
        response = post_form(en_client, LOGIN, {"email": email, "password": "p\x00" * 3000})
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert form_error(html) == GENERIC
        assert "<script>@" not in html


def test_login_remember_me_sets_remember_cookie(client, user):
    login(client, "wang@example.com", remember=True)
    assert client.get_cookie("remember_token") is not None


def test_login_without_remember_me_sets_no_remember_cookie(client, user):
    login(client, "wang@example.com")
    assert client.get_cookie("remember_token") is None
    assert client.get("/account/settings").status_code == 200


def test_login_remember_cookie_alone_restores_the_session(app, client, user):
    login(client, "wang@example.com", remember=True)
    remember = client.get_cookie("remember_token").value
    fresh = app.test_client()
    fresh.set_cookie("remember_token", remember)
    assert fresh.get("/account/settings").status_code == 200


def test_login_honours_local_next(client, user):
    response = post_form(client, LOGIN + "?next=/account/settings",
                         {"email": "wang@example.com", "password": PASSWORD})
    assert response.headers["Location"] == "/account/settings"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "javascript:alert(1)"])
def test_login_ignores_foreign_next(client, user, target):
    response = client.post(LOGIN, query_string={"next": target},
                           data={"email": "wang@example.com", "password": PASSWORD,
                                 "csrf_token": csrf_token(client, LOGIN)})
    assert response.headers["Location"] == "/"


def test_login_required_page_sends_to_login_with_next(client):
    response = client.get("/account/settings")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/account/login?next=")


def test_login_without_csrf_token_is_400(client, user):
    response = client.post(LOGIN, data={"email": "wang@example.com", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/account/settings").status_code == 302


def test_login_rate_limit_answers_429_after_the_limit(app_config, db_backend, request):
    app_config["LOGIN_RATE_LIMIT"] = "3 per minute"
    app = request.getfixturevalue("app")
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    token = csrf_token(client, LOGIN)
    statuses = [
        client.post(LOGIN, data={"email": "a@example.com", "password": "wrong password", "csrf_token": token}).status_code
        for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    html = client.post(LOGIN, data={"email": "a@example.com", "password": "x", "csrf_token": token}).get_data(
        as_text=True
    )
    assert "Too many attempts" in html
    # the page itself still opens
    assert client.get(LOGIN).status_code == 200


def test_logout_ends_the_session(en_client, user):
    login(en_client, "wang@example.com", remember=True)
    response = post_form(en_client, "/account/logout", {}, form_url="/")
    assert response.status_code == 302
    assert en_client.get("/account/settings").status_code == 302
    assert en_client.get_cookie("remember_token") is None or en_client.get_cookie("remember_token").value == ""
    assert "You are logged out." in en_client.get("/").get_data(as_text=True)


def test_logout_without_csrf_token_is_400(client, user):
    login(client, "wang@example.com")
    assert client.post("/account/logout").status_code == 400
    assert client.get("/account/settings").status_code == 200


def test_logout_by_get_is_not_allowed(client, user):
    login(client, "wang@example.com")
    assert client.get("/account/logout").status_code == 405
    assert client.get("/account/settings").status_code == 200


def test_settings_save_name_and_language(app, en_client, user):
    login(en_client, "wang@example.com")
    response = post_form(en_client, "/account/settings", {"name": "王小五", "locale": "zh_CN"})
    assert response.status_code == 302
    with app.app_context():
        saved = db.session.get(User, user)
        assert (saved.name, saved.locale) == ("王小五", "zh_CN")
    # the saved language wins over the browser's English
    assert '<html lang="zh-CN">' in en_client.get("/account/settings").get_data(as_text=True)
    post_form(en_client, "/account/settings", {"name": "王小五", "locale": ""})
    with app.app_context():
        assert db.session.get(User, user).locale is None
    assert '<html lang="en">' in en_client.get("/account/settings").get_data(as_text=True)


def test_settings_reject_bad_input(app, en_client, user):
    login(en_client, "wang@example.com")
    response = post_form(en_client, "/account/settings", {"name": "名" * 10_000, "locale": "en"})
    assert response.status_code == 200
    assert "Please use at most 100 characters." in response.get_data(as_text=True)
    response = post_form(en_client, "/account/settings", {"name": "王", "locale": "fr"})
    assert response.status_code == 200
    with app.app_context():
        saved = db.session.get(User, user)
        assert (saved.name, saved.locale) == ("王五", None)


def change_password(client, current: str, new: str, confirm: str | None = None):
    return post_form(client, "/account/password", {
        "current_password": current, "new_password": new, "new_password_confirm": confirm or new,
    })


def test_password_change_rejects_wrong_current_password(app, en_client, user):
    login(en_client, "wang@example.com")
    with app.app_context():
        before = db.session.get(User, user).password_hash
    response = change_password(en_client, "not my password", "brand new password")
    assert response.status_code == 200
    assert "Your current password is not correct." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, user).password_hash == before


def test_password_change_rejects_short_new_password(app, en_client, user):
    login(en_client, "wang@example.com")
    response = change_password(en_client, PASSWORD, "short")
    assert "Choose a password of at least 8 characters." in response.get_data(as_text=True)


def test_password_change_replaces_the_old_password(app, en_client, user):
    login(en_client, "wang@example.com")
    other_device = app.test_client()
    login(other_device, "wang@example.com")
    response = change_password(en_client, PASSWORD, "brand new password")
    assert response.status_code == 302
    # this session stays, the other one ends
    assert en_client.get("/account/settings").status_code == 200
    assert other_device.get("/account/settings").status_code == 302
    post_form(en_client, "/account/logout", {}, form_url="/")
    old = post_form(en_client, LOGIN, {"email": "wang@example.com", "password": PASSWORD})
    assert form_error(old.get_data(as_text=True)) == GENERIC
    new = post_form(en_client, LOGIN, {"email": "wang@example.com", "password": "brand new password"})
    assert new.status_code == 302


def test_password_change_keeps_remember_me(app, client, user):
    login(client, "wang@example.com", remember=True)
    change_password(client, PASSWORD, "brand new password")
    fresh = app.test_client()
    fresh.set_cookie("remember_token", client.get_cookie("remember_token").value)
    assert fresh.get("/account/settings").status_code == 200


def test_password_change_needs_login(client):
    assert client.get("/account/password").status_code == 302


def test_user_rows_never_hold_plain_passwords(app, en_client, user):
    login(en_client, "wang@example.com")
    change_password(en_client, PASSWORD, "brand new password")
    with app.app_context():
        hashes = db.session.scalars(sa.select(User.password_hash)).all()
    assert all(h.startswith("scrypt:") and "brand new password" not in h for h in hashes)


# --------------------------------------------------------------------------- server-side sessions

def session_rows(app, user_id: int) -> int:
    with app.app_context():
        return db.session.scalar(
            sa.select(sa.func.count()).select_from(UserSession).where(UserSession.user_id == user_id)
        )


def test_login_opens_one_server_side_session(app, client, user):
    login(client, "wang@example.com")
    assert session_rows(app, user) == 1
    with app.app_context():
        record = db.session.scalar(sa.select(UserSession))
        # only a hash of the key is stored, never the key the cookie carries
        assert len(record.key_hash) == 64


def test_logout_ends_a_copied_session_cookie(app, client, user):
    login(client, "wang@example.com")
    copy = app.test_client()
    copy.set_cookie("session", client.get_cookie("session").value)
    assert copy.get("/account/settings").status_code == 200  # the copy works while the session lives
    post_form(client, "/account/logout", {}, form_url="/")
    assert copy.get("/account/settings").status_code == 302
    assert session_rows(app, user) == 0


def test_logout_ends_a_copied_remember_cookie(app, client, user):
    login(client, "wang@example.com", remember=True)
    remember = client.get_cookie("remember_token").value
    post_form(client, "/account/logout", {}, form_url="/")
    copy = app.test_client()
    copy.set_cookie("remember_token", remember)
    assert copy.get("/account/settings").status_code == 302


def test_logout_ends_only_this_session(app, client, user):
    login(client, "wang@example.com")
    other_device = app.test_client()
    login(other_device, "wang@example.com")
    post_form(client, "/account/logout", {}, form_url="/")
    assert other_device.get("/account/settings").status_code == 200
    assert session_rows(app, user) == 1


def test_settings_lists_sessions_and_logs_out_every_other_device(app, en_client, user):
    other_device = app.test_client()
    login(other_device, "wang@example.com", remember=True)
    remember = other_device.get_cookie("remember_token").value
    login(en_client, "wang@example.com")
    html = en_client.get("/account/settings").get_data(as_text=True)
    assert "Where you are logged in" in html
    assert html.count("This device") == 1
    response = post_form(en_client, "/account/sessions/end-others", {}, form_url="/account/settings")
    assert response.status_code == 302
    assert "You are logged out on 1 other device." in en_client.get("/account/settings").get_data(as_text=True)
    assert en_client.get("/account/settings").status_code == 200
    assert other_device.get("/account/settings").status_code == 302
    fresh = app.test_client()
    fresh.set_cookie("remember_token", remember)
    assert fresh.get("/account/settings").status_code == 302
    assert session_rows(app, user) == 1


def test_end_other_sessions_needs_csrf_and_login(app, client, user):
    assert client.post("/account/sessions/end-others").status_code == 400
    login(client, "wang@example.com")
    other_device = app.test_client()
    login(other_device, "wang@example.com")
    assert client.post("/account/sessions/end-others").status_code == 400
    assert other_device.get("/account/settings").status_code == 200


def test_session_idle_longer_than_the_limit_has_ended(app, client, user):
    login(client, "wang@example.com")
    with app.app_context():
        record = db.session.scalar(sa.select(UserSession))
        record.last_seen_at = utcnow() - timedelta(seconds=app.config["SESSION_MAX_IDLE"] + 60)
        db.session.commit()
    assert client.get("/account/settings").status_code == 302


def test_password_change_ends_other_sessions_rows(app, client, user):
    login(client, "wang@example.com")
    login(app.test_client(), "wang@example.com")
    assert session_rows(app, user) == 2
    change_password(client, PASSWORD, "brand new password")
    assert session_rows(app, user) == 1
    assert client.get("/account/settings").status_code == 200


# --------------------------------------------------------------------------- common and unchanged passwords

@pytest.mark.parametrize("new", ["12345678", "a1234567", "WOAINI1314", "password1", "1qaz2wsx"])
def test_password_change_refuses_a_common_password(app, en_client, user, new):
    login(en_client, "wang@example.com")
    with app.app_context():
        before = db.session.get(User, user).password_hash
    response = change_password(en_client, PASSWORD, new)
    assert response.status_code == 200
    assert "This password is one of the most common ones" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, user).password_hash == before


def test_password_change_refuses_the_current_password(app, en_client, user):
    login(en_client, "wang@example.com")
    other_device = app.test_client()
    login(other_device, "wang@example.com")
    with app.app_context():
        before = db.session.get(User, user).password_hash
    response = change_password(en_client, PASSWORD, PASSWORD)
    assert response.status_code == 200
    assert "The new password is the same as your current one." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, user).password_hash == before
    assert other_device.get("/account/settings").status_code == 200  # nothing changed, nobody logged out


def test_password_change_messages_in_chinese(app, client, user):
    login(client, "wang@example.com")
    html = change_password(client, PASSWORD, "12345678").get_data(as_text=True)
    assert "这个密码太常见" in html
    html = change_password(client, PASSWORD, PASSWORD).get_data(as_text=True)
    assert "新密码与当前密码相同" in html
