"""Verification: the organizers' queue, approve and reject with a reason, the e-mail to the company."""
from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import Company, CompanyKind, Role, Verification
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.mail import OutboxEmail
from tests.conftest import login, post_form
from tests.factories import make_company, make_user

QUEUE = "/companies/verification"


@pytest.fixture
def world(app):
    """A pending exporter with two admins and a member, a verified buyer, an organizer."""
    with app.app_context():
        pending = make_company(name_zh="待审核电器有限公司", verified=False)
        make_user(pending, email="admin1@pending.example.com")
        make_user(pending, email="admin2@pending.example.com", locale="en")
        make_user(pending, role=Role.MEMBER, email="member@pending.example.com")
        buyer = make_company(name_zh="已认证零售有限公司", kind=CompanyKind.RETAILER)
        buyer_admin = make_user(buyer, email="admin@buyer.example.com")
        organizer = make_user(role=Role.ORGANIZER, email="organizer@example.com")
        return SimpleNamespace(
            pending=pending.id, buyer=buyer.id, buyer_admin=buyer_admin.email, organizer=organizer.email,
            organizer_id=organizer.id,
        )


def state(app, company_id: int) -> Company:
    with app.app_context():
        company = db.session.get(Company, company_id)
        db.session.expunge(company)
        return company


def outbox(app) -> list[OutboxEmail]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(OutboxEmail).order_by(OutboxEmail.id)))
        db.session.expunge_all()
        return rows


def queue_names(client, query: str = "") -> list[str]:
    html = client.get(QUEUE + query).get_data(as_text=True)
    return re.findall(r'<a href="/companies/\d+" class="fw-semibold">(.*?)</a>', html)


def test_queue_lists_pending_companies_oldest_first(app, en_client, world):
    with app.app_context():
        older = make_company(name_zh="更早注册有限公司", verified=False)
        older.created_at = utcnow() - timedelta(days=3)
        db.session.commit()
    login(en_client, world.organizer)
    response = en_client.get(QUEUE)
    assert response.status_code == 200
    assert queue_names(en_client) == ["更早注册有限公司", "待审核电器有限公司"]
    assert 'class="table-responsive"' in response.get_data(as_text=True)


def test_queue_empty_state(app, en_client, world):
    with app.app_context():
        db.session.get(Company, world.pending).verification = Verification.VERIFIED
        db.session.commit()
    login(en_client, world.organizer)
    assert "No company is waiting for verification." in en_client.get(QUEUE).get_data(as_text=True)


def test_queue_paginates(app, en_client, world):
    with app.app_context():
        for i in range(24):
            make_company(name_zh=f"排队{i:02d}有限公司", verified=False)
    login(en_client, world.organizer)
    assert len(queue_names(en_client)) == 20
    assert len(queue_names(en_client, "?page=2")) == 5
    assert "Page 1 of 2 · 25 in all" in en_client.get(QUEUE).get_data(as_text=True)


@pytest.mark.parametrize("viewer", ["buyer_admin", None])
def test_queue_refused_to_non_organizers(client, world, viewer):
    if viewer:
        login(client, getattr(world, viewer))
        assert client.get(QUEUE).status_code == 403
    else:
        response = client.get(QUEUE)
        assert response.status_code == 302 and "/account/login" in response.headers["Location"]


def test_approve_records_decision_and_emails_admins(app, en_client, world):
    login(en_client, world.organizer)
    response = post_form(en_client, f"/companies/{world.pending}/verify", {"decision": "approve", "next": QUEUE},
                         form_url=QUEUE)
    assert response.status_code == 302 and response.headers["Location"] == QUEUE
    company = state(app, world.pending)
    assert company.verification is Verification.VERIFIED
    assert company.verified_by_id == world.organizer_id and company.verified_at is not None
    mails = outbox(app)
    assert sorted(m.recipient for m in mails) == ["admin1@pending.example.com", "admin2@pending.example.com"]
    assert all(m.sent_at is not None for m in mails)  # delivered (logged) after commit
    english = next(m for m in mails if m.recipient == "admin2@pending.example.com")
    assert english.subject == "Rongtong: 待审核电器有限公司 has been verified"
    assert f"/companies/{world.pending}" in english.body
    assert queue_names(en_client) == []
    html = en_client.get(f"/companies/{world.pending}").get_data(as_text=True)
    assert "badge-unverified" not in html and "bi-patch-check-fill" in html


def test_reject_requires_reason_and_writes_nothing(app, en_client, world):
    login(en_client, world.organizer)
    for reason in ("", "   "):
        response = post_form(en_client, f"/companies/{world.pending}/verify", {"decision": "reject", "reason": reason},
                             form_url=QUEUE)
        assert response.status_code == 200
        assert "Give the reason for the rejection; the company will see it." in response.get_data(as_text=True)
    assert state(app, world.pending).verification is Verification.PENDING
    assert outbox(app) == []


def test_reject_reason_too_long_is_refused(app, en_client, world):
    login(en_client, world.organizer)
    response = post_form(en_client, f"/companies/{world.pending}/verify", {"decision": "reject", "reason": "长" * 501},
                         form_url=QUEUE)
    assert response.status_code == 200
    assert "Use at most 500 characters." in response.get_data(as_text=True)
    assert state(app, world.pending).verification is Verification.PENDING


def test_reject_records_reason_and_emails_admins(app, en_client, world):
    login(en_client, world.organizer)
    reason = "营业执照与名称不符 <b>请核对</b>"
    response = post_form(en_client, f"/companies/{world.pending}/verify", {"decision": "reject", "reason": reason},
                         form_url=QUEUE)
    assert response.status_code == 302
    company = state(app, world.pending)
    assert company.verification is Verification.REJECTED and company.verification_reason == reason
    mails = outbox(app)
    assert len(mails) == 2 and all(reason in m.body for m in mails)
    english = next(m for m in mails if m.recipient == "admin2@pending.example.com")
    assert "rejected" in english.subject
    # the company's own users see the reason, escaped; others do not
    member = app.test_client()
    login(member, "member@pending.example.com")
    html = member.get(f"/companies/{world.pending}").get_data(as_text=True)
    assert "营业执照与名称不符 &lt;b&gt;请核对&lt;/b&gt;" in html
    assert "营业执照与名称不符" not in app.test_client().get(f"/companies/{world.pending}").get_data(as_text=True)


def test_decision_missing_or_unknown_is_refused(app, en_client, world):
    login(en_client, world.organizer)
    for data in ({}, {"decision": "maybe"}):
        response = post_form(en_client, f"/companies/{world.pending}/verify", data, form_url=QUEUE)
        assert response.status_code == 200
    assert state(app, world.pending).verification is Verification.PENDING


def test_verify_twice_shows_message(app, en_client, world):
    login(en_client, world.organizer)
    url = f"/companies/{world.pending}/verify"
    assert post_form(en_client, url, {"decision": "approve"}, form_url=QUEUE).status_code == 302
    response = post_form(en_client, url, {"decision": "approve"}, form_url=QUEUE)
    assert "This company is already verified." in response.get_data(as_text=True)
    assert len(outbox(app)) == 2


@pytest.mark.parametrize("viewer", ["buyer_admin", "admin1@pending.example.com"])
def test_verify_by_non_organizer_is_403(app, client, world, viewer):
    login(client, getattr(world, viewer, viewer))
    response = post_form(client, f"/companies/{world.pending}/verify", {"decision": "approve"}, form_url="/")
    assert response.status_code == 403
    assert state(app, world.pending).verification is Verification.PENDING
    assert outbox(app) == []


def test_verify_without_csrf_is_400(app, client, world):
    login(client, world.organizer)
    assert client.post(f"/companies/{world.pending}/verify", data={"decision": "approve"}).status_code == 400
    assert state(app, world.pending).verification is Verification.PENDING


def test_verify_unknown_company_is_404(client, world):
    login(client, world.organizer)
    assert post_form(client, "/companies/999999/verify", {"decision": "approve"}, form_url=QUEUE).status_code == 404


def test_verify_next_url_must_be_local(app, client, world):
    login(client, world.organizer)
    response = post_form(client, f"/companies/{world.pending}/verify",
                         {"decision": "approve", "next": "https://evil.example.com/"}, form_url=QUEUE)
    assert response.headers["Location"] == QUEUE


def test_profile_shows_verification_form_to_organizers_only(en_client, world):
    assert 'name="decision"' not in en_client.get(f"/companies/{world.pending}").get_data(as_text=True)
    login(en_client, world.organizer)
    html = en_client.get(f"/companies/{world.pending}").get_data(as_text=True)
    assert 'name="decision"' in html and 'value="approve"' in html and 'value="reject"' in html


# --------------------------------------------------------------------------- in-app notifications of the verdict

def notifications_page(app, email: str, english: bool = True) -> str:
    reader = app.test_client()
    if english:
        reader.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login(reader, email)
    return reader.get("/notifications/").get_data(as_text=True)


def test_approval_reaches_every_user_of_the_company_in_notifications(app, en_client, world):
    login(en_client, world.organizer)
    post_form(en_client, f"/companies/{world.pending}/verify", {"decision": "approve"}, form_url=QUEUE)
    for email in ("admin1@pending.example.com", "member@pending.example.com"):
        html = notifications_page(app, email)
        assert "待审核电器有限公司 has been verified" in html, email
        assert f'href="/companies/{world.pending}"' in html
    # no one else is told, and the notification adds no second e-mail
    assert "has been verified" not in notifications_page(app, world.buyer_admin)
    assert len(outbox(app)) == 2


def test_rejection_reaches_the_company_in_notifications_with_the_reason(app, client, world):
    login(client, world.organizer)  # everyone in Chinese here
    reason = "营业执照与名称不符 <b>请核对</b>"
    post_form(client, f"/companies/{world.pending}/verify", {"decision": "reject", "reason": reason},
              form_url=QUEUE)
    for email in ("admin1@pending.example.com", "member@pending.example.com"):
        html = notifications_page(app, email, english=False)
        assert "待审核电器有限公司的认证未通过" in html, email
        assert "营业执照与名称不符 &lt;b&gt;请核对&lt;/b&gt;" in html and "<b>请核对</b>" not in html
