"""Colleagues: the company admin's list, invitations by e-mail, accepting them, deactivation."""
from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import Invitation, Role, User
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.mail import OutboxEmail
from tests.conftest import login, post_form
from tests.factories import make_company, make_user

COLLEAGUES = "/account/colleagues"
INVITE = "/account/colleagues/invite"
COLLEAGUE_PASSWORD = "colleague password"


@pytest.fixture
def team(app):
    """An admin and a member of one company, and an admin of another."""
    with app.app_context():
        company = make_company(name_zh="宁波测试厨具有限公司", name_en="Ningbo Test Kitchenware Co.")
        admin = make_user(company, email="admin@example.com", name="管理员")
        member = make_user(company, role=Role.MEMBER, email="member@example.com", name="成员")
        stranger = make_user(email="other@example.com", name="外人")
        return {"company": company.id, "admin": admin.id, "member": member.id, "stranger": stranger.id}


def invite(client, email: str, role: str = "member"):
    return post_form(client, INVITE, {"email": email, "role": role}, form_url=COLLEAGUES)


def invitation_link(app) -> str:
    with app.app_context():
        body = db.session.scalars(sa.select(OutboxEmail.body).order_by(OutboxEmail.id.desc())).first()
    match = re.search(r"https?://\S+/account/invitations/\S+", body)
    assert match, body
    return urlsplit(match.group(0)).path


def accept(client, path: str, name: str = "新同事", password: str = COLLEAGUE_PASSWORD):
    return post_form(client, path, {"name": name, "password": password, "password_confirm": password})


def user_by_email(app, email: str) -> User | None:
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        db.session.expunge_all()
        return user


def test_colleagues_lists_the_company_users_with_role_and_last_login(en_client, team):
    login(en_client, "admin@example.com")
    response = en_client.get(COLLEAGUES)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "admin@example.com" in html and "member@example.com" in html
    assert "other@example.com" not in html  # another company's user
    assert "Company administrator" in html and "Member" in html
    assert "Never" in html  # the member has not logged in yet


def test_colleagues_is_403_for_members(client, team):
    login(client, "member@example.com")
    assert client.get(COLLEAGUES).status_code == 403
    response = client.post(INVITE, data={"email": "x@example.com", "role": "member",
                                         "csrf_token": _csrf(client)})
    assert response.status_code == 403


def _csrf(client) -> str:
    html = client.get("/account/settings").get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def test_colleagues_needs_login(client):
    response = client.get(COLLEAGUES)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/account/login")


def test_invited_colleague_joins_the_company_as_member(app, en_client, team):
    login(en_client, "admin@example.com")
    response = invite(en_client, "New.Colleague@Example.com")
    assert response.status_code == 302
    assert "We have sent an invitation to new.colleague@example.com." in en_client.get(COLLEAGUES).get_data(
        as_text=True
    )
    path = invitation_link(app)
    token = path.rsplit("/", 1)[1]
    with app.app_context():
        invitation = db.session.scalar(sa.select(Invitation))
        assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token not in invitation.token_hash
        assert invitation.expires_at > utcnow() + timedelta(days=13)

    invitee = app.test_client()
    invitee.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    page = invitee.get(path)
    assert page.status_code == 200
    assert "Ningbo Test Kitchenware Co." in page.get_data(as_text=True)
    response = accept(invitee, path)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/companies/{team['company']}")
    joined = user_by_email(app, "new.colleague@example.com")
    assert joined.company_id == team["company"]
    assert joined.role is Role.MEMBER
    assert invitee.get("/account/settings").status_code == 200  # logged in
    with app.app_context():
        assert db.session.scalar(sa.select(Invitation.accepted_at)) is not None


def test_invitation_can_make_a_company_admin(app, client, team):
    login(client, "admin@example.com")
    invite(client, "boss@example.com", role="company_admin")
    accept(app.test_client(), invitation_link(app))
    assert user_by_email(app, "boss@example.com").role is Role.COMPANY_ADMIN


def test_invitation_refuses_other_roles(app, client, team):
    login(client, "admin@example.com")
    for role in ("organizer", "platform_admin", "nonsense"):
        assert invite(client, "x@example.com", role=role).status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == 0


def test_invitation_link_works_once(app, en_client, team):
    login(en_client, "admin@example.com")
    invite(en_client, "once@example.com")
    path = invitation_link(app)
    accept(app.test_client(), path)
    again = app.test_client()
    again.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = again.get(path)
    assert response.status_code == 400
    assert "This invitation link is not valid or has already been used." in response.get_data(as_text=True)
    response = post_form(again, path, {"name": "x", "password": "another password",
                                       "password_confirm": "another password"}, form_url="/account/login")
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User).where(User.email == "once@example.com")) == 1


def test_invitation_expired_or_forged_is_refused(app, en_client, team):
    login(en_client, "admin@example.com")
    invite(en_client, "late@example.com")
    path = invitation_link(app)
    with app.app_context():
        invitation = db.session.scalar(sa.select(Invitation))
        invitation.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    visitor = app.test_client()
    visitor.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = visitor.get(path)
    assert response.status_code == 400
    assert "This invitation has expired." in response.get_data(as_text=True)
    assert visitor.get("/account/invitations/forged-token").status_code == 400
    assert visitor.get("/account/invitations/" + "x" * 5000).status_code == 400
    assert user_by_email(app, "late@example.com") is None


def test_invitation_for_registered_email_is_refused(app, en_client, team):
    login(en_client, "admin@example.com")
    response = invite(en_client, "Other@example.com")
    assert response.status_code == 200
    assert "already has an account" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEmail)) == 0


def test_invitation_acceptance_checks_password_and_escapes_name(app, en_client, team):
    login(en_client, "admin@example.com")
    invite(en_client, "new@example.com")
    path = invitation_link(app)
    invitee = app.test_client()
    invitee.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = accept(invitee, path, password="short")
    assert response.status_code == 200
    assert "Choose a password of at least 8 characters." in response.get_data(as_text=True)
    assert user_by_email(app, "new@example.com") is None
    response = accept(invitee, path, name="<script>alert(1)</script>")
    assert response.status_code == 302
    html = en_client.get(COLLEAGUES).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_invite_without_csrf_token_is_400(app, client, team):
    login(client, "admin@example.com")
    assert client.post(INVITE, data={"email": "x@example.com", "role": "member"}).status_code == 400
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == 0


def deactivate(client, user_id: int):
    return post_form(client, f"/account/colleagues/{user_id}/deactivate", {}, form_url=COLLEAGUES)


def test_deactivate_colleague_ends_their_access(app, en_client, team):
    member = app.test_client()
    member.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login(member, "member@example.com")
    assert member.get("/account/settings").status_code == 200
    login(en_client, "admin@example.com")
    html = en_client.get(COLLEAGUES).get_data(as_text=True)
    assert f'action="/account/colleagues/{team["member"]}/deactivate"' in html
    assert "data-confirm=" in html
    response = deactivate(en_client, team["member"])
    assert response.status_code == 302
    assert "成员 can no longer log in." in en_client.get(COLLEAGUES).get_data(as_text=True)
    assert user_by_email(app, "member@example.com").active is False
    # their open session ends, and they cannot log in again
    assert member.get("/account/settings").status_code == 302
    assert "Incorrect e-mail or password." in login(member, "member@example.com").get_data(as_text=True)
    assert member.get("/account/settings").status_code == 302


def test_deactivate_user_of_another_company_is_404(app, client, team):
    login(client, "admin@example.com")
    assert deactivate(client, team["stranger"]).status_code == 404
    assert deactivate(client, 999_999).status_code == 404
    assert user_by_email(app, "other@example.com").active is True


def test_deactivate_yourself_is_refused(app, en_client, team):
    login(en_client, "admin@example.com")
    response = deactivate(en_client, team["admin"])
    assert response.status_code == 302
    assert "You cannot deactivate your own account." in en_client.get(COLLEAGUES).get_data(as_text=True)
    assert user_by_email(app, "admin@example.com").active is True


def test_deactivate_by_member_is_403(app, client, team):
    login(client, "member@example.com")
    response = client.post(f"/account/colleagues/{team['admin']}/deactivate", data={"csrf_token": _csrf(client)})
    assert response.status_code == 403
    assert user_by_email(app, "admin@example.com").active is True


def test_invitation_acceptance_refuses_a_common_password(app, en_client, team):
    login(en_client, "admin@example.com")
    invite(en_client, "new@example.com")
    invitee = app.test_client()
    invitee.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = accept(invitee, invitation_link(app), password="1qaz2wsx")
    assert response.status_code == 200
    assert "This password is one of the most common ones" in response.get_data(as_text=True)
    assert user_by_email(app, "new@example.com") is None
