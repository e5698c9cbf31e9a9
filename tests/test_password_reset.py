"""Password reset by an e-mailed, signed, timed, single-use token."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from itsdangerous import URLSafeTimedSerializer

from marketplace.accounts.models import User
from marketplace.extensions import db
from marketplace.mail import OutboxEmail
from tests.conftest import login, post_form
from tests.factories import make_user

RESET = "/account/reset"
NEW_PASSWORD = "a brand new password"


@pytest.fixture
def user(app):
    with app.app_context():
        return make_user(email="zhao@example.com", name="赵六").id


def outbox(app) -> list[OutboxEmail]:
    with app.app_context():
        rows = db.session.scalars(sa.select(OutboxEmail).order_by(OutboxEmail.id)).all()
        db.session.expunge_all()
        return rows


def reset_link(app) -> str:
    """The path of the reset link in the last e-mail."""
    body = outbox(app)[-1].body
    match = re.search(r"https?://\S+/account/reset/\S+", body)
    assert match, body
    return urlsplit(match.group(0)).path


def password_hash(app, user_id: int) -> str:
    with app.app_context():
        return db.session.get(User, user_id).password_hash


def set_password(client, path: str, password: str = NEW_PASSWORD, form_url: str | None = None):
    """Post the new-password form (``form_url`` supplies the CSRF token when ``path`` shows none)."""
    return post_form(client, path, {"password": password, "password_confirm": password}, form_url=form_url)


def test_reset_request_queues_an_email_with_a_link(app, en_client, user):
    response = post_form(en_client, RESET, {"email": "Zhao@Example.com"})
    assert response.status_code == 302
    emails = outbox(app)
    assert len(emails) == 1
    assert emails[0].recipient == "zhao@example.com"
    assert emails[0].sent_at is not None  # delivered (logged: no MAIL_SERVER in tests)
    path = reset_link(app)
    assert path.startswith("/account/reset/")
    assert en_client.get(path).status_code == 200


def test_reset_link_sets_a_new_password_once(app, en_client, user):
    post_form(en_client, RESET, {"email": "zhao@example.com"})
    path = reset_link(app)
    response = set_password(en_client, path)
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/login"
    assert "Your new password is set." in en_client.get("/account/login").get_data(as_text=True)
    assert login(en_client, "zhao@example.com", NEW_PASSWORD).request.path == "/"
    # the same link again: refused, nothing written
    post_form(en_client, "/account/logout", {}, form_url="/")
    before = password_hash(app, user)
    again = en_client.get(path)
    assert again.status_code == 400
    assert "not valid or has already been used" in again.get_data(as_text=True)
    response = set_password(en_client, path, "yet another password", form_url=RESET)
    assert response.status_code == 400
    assert password_hash(app, user) == before


def test_reset_message_is_the_same_for_known_and_unknown_addresses(app, en_client, user):
    known = post_form(en_client, RESET, {"email": "zhao@example.com"}, follow_redirects=True)
    unknown = post_form(en_client, RESET, {"email": "nobody@example.com"}, follow_redirects=True)
    assert known.status_code == unknown.status_code == 200
    assert known.request.path == unknown.request.path == "/account/login"

    def flashed(response) -> str:
        return re.search(r'role="alert">\s*(.*?)\s*<button', response.get_data(as_text=True), re.S).group(1)

    assert flashed(known) == flashed(unknown)
    assert "If an account exists for that address, we have sent a link" in flashed(known)
    assert [e.recipient for e in outbox(app)] == ["zhao@example.com"]


def test_reset_request_for_deactivated_account_sends_nothing(app, client):
    with app.app_context():
        make_user(email="gone@example.com", active=False)
    response = post_form(client, RESET, {"email": "gone@example.com"})
    assert response.status_code == 302
    assert outbox(app) == []


def test_reset_request_odd_input_never_errors(app, client, user):
    for email in ("zhao\x00@example.com", "x" * 10_000, "<script>"):
        response = post_form(client, RESET, {"email": email})
        assert response.status_code in (200, 302)
    # a NUL may be refused or stripped (then the address is the user's own): never a mail elsewhere
    assert all(e.recipient == "zhao@example.com" for e in outbox(app))


def test_reset_forged_token_is_refused(app, en_client, user):
    before = password_hash(app, user)
    forged = URLSafeTimedSerializer("not the real key", salt="password-reset").dumps(
        {"u": user, "h": before[-16:]}
    )
    for token in (forged, "garbage", forged[:-2] + "xx"):
        response = en_client.get(f"{RESET}/{token}")
        assert response.status_code == 400
        html = response.get_data(as_text=True)
        assert "This password reset link is not valid or has already been used." in html
        assert 'href="/account/reset"' in html  # a way to ask for a new link
        response = set_password(en_client, f"{RESET}/{token}", form_url=RESET)
        assert response.status_code == 400
    assert password_hash(app, user) == before


def _token(client) -> str:
    html = client.get(RESET).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def test_reset_token_for_another_purpose_is_refused(app, en_client, user):
    other_salt = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="something-else").dumps(
        {"u": user, "h": password_hash(app, user)[-16:]}
    )
    assert en_client.get(f"{RESET}/{other_salt}").status_code == 400


@pytest.fixture
def expired_app(app_config, request):
    app_config["PASSWORD_RESET_MAX_AGE"] = -1
    return request.getfixturevalue("app")


def test_reset_expired_token_is_refused(expired_app, db_backend):
    app = expired_app
    with app.app_context():
        user_id = make_user(email="zhao@example.com").id
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    post_form(client, RESET, {"email": "zhao@example.com"})
    path = reset_link(app)
    before = password_hash(app, user_id)
    response = client.get(path)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "This password reset link has expired." in html
    assert 'href="/account/reset"' in html
    response = set_password(client, path, form_url=RESET)
    assert response.status_code == 400
    assert password_hash(app, user_id) == before


def test_reset_rejects_short_password(app, en_client, user):
    post_form(en_client, RESET, {"email": "zhao@example.com"})
    path = reset_link(app)
    before = password_hash(app, user)
    response = set_password(en_client, path, "short")
    assert response.status_code == 200
    assert "Choose a password of at least 8 characters." in response.get_data(as_text=True)
    assert password_hash(app, user) == before


def test_reset_ends_other_sessions(app, en_client, user):
    other_device = app.test_client()
    login(other_device, "zhao@example.com")
    assert other_device.get("/account/settings").status_code == 200
    post_form(en_client, RESET, {"email": "zhao@example.com"})
    set_password(en_client, reset_link(app))
    assert other_device.get("/account/settings").status_code == 302


def test_reset_rate_limit_answers_429(app_config, request):
    app_config["RESET_RATE_LIMIT"] = "2 per minute"
    app = request.getfixturevalue("app")
    client = app.test_client()
    token = _token(client)
    statuses = [client.post(RESET, data={"email": "a@example.com", "csrf_token": token}).status_code for _ in range(3)]
    assert statuses == [302, 302, 429]


def test_reset_email_is_in_the_users_language(app, client):
    with app.app_context():
        make_user(email="en@example.com", locale="en")
    post_form(client, RESET, {"email": "en@example.com"})
    assert outbox(app)[-1].subject == "Reset your Rongtong password"


@pytest.mark.parametrize("password", ["12345678", "88888888", "qq123456", "Woaini1314"])
def test_reset_refuses_a_common_password(app, en_client, user, password):
    post_form(en_client, RESET, {"email": "zhao@example.com"})
    path = reset_link(app)
    before = password_hash(app, user)
    response = set_password(en_client, path, password)
    assert response.status_code == 200
    assert "This password is one of the most common ones" in response.get_data(as_text=True)
    assert password_hash(app, user) == before
