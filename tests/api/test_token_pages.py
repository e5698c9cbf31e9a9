"""The API token pages: a company administrator makes a token (shown once), sees it listed, revokes it."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import Role
from marketplace.api.models import ApiToken
from marketplace.extensions import db
from tests.conftest import login, post_form
from tests.factories import make_company, make_user

TOKENS = "/developers/tokens/"


@pytest.fixture
def people(app):
    """An exporter's administrator and member, and another company's administrator."""
    with app.app_context():
        company = make_company()
        admin = make_user(company, email="admin@example.com")
        member = make_user(company, role=Role.MEMBER, email="member@example.com")
        other = make_user(make_company(), email="other@example.com")
        return {"company": company.id, "admin": admin.email, "member": member.email, "other": other.email}


def _token_value(html: str) -> str:
    found = re.search(r'value="(rt_[A-Za-z0-9_-]{40,})"', html)
    assert found, "the new token is not on the page"
    return found.group(1)


def test_token_page_creates_a_token_shown_once_that_calls_the_api(app, en_client, people):
    login(en_client, people["admin"])
    page = en_client.get(TOKENS)
    assert page.status_code == 200
    assert "No tokens yet" in page.get_data(as_text=True)

    created = post_form(en_client, TOKENS, {"name": "SRM production", "scopes": ["read", "sourcing:write"],
                                            "expires": "90"})
    assert created.status_code == 201
    assert created.headers["Cache-Control"] == "no-store"
    html = created.get_data(as_text=True)
    raw = _token_value(html)
    assert "shown only this once" in html

    listed = en_client.get(TOKENS).get_data(as_text=True)
    assert "SRM production" in listed and raw[:10] in listed
    assert raw not in listed  # never shown again
    with app.app_context():
        stored = db.session.scalar(sa.select(ApiToken))
        assert stored.token_hash != raw and raw not in stored.token_hash
        assert stored.scopes == ["read", "sourcing:write"]

    api = app.test_client()
    answer = api.get("/api/v1/companies/me", headers={"Authorization": f"Bearer {raw}"})
    assert answer.status_code == 200
    assert answer.get_json()["id"] == people["company"]
    with app.app_context():
        assert db.session.scalar(sa.select(ApiToken.last_used_at)) is not None


def test_token_page_revokes_after_confirmation_and_calls_fail(app, en_client, people):
    login(en_client, people["admin"])
    raw = _token_value(post_form(en_client, TOKENS, {"name": "ERP", "scopes": ["read"], "expires": "never"})
                       .get_data(as_text=True))
    with app.app_context():
        token_id = db.session.scalar(sa.select(ApiToken.id))
    page = en_client.get(TOKENS).get_data(as_text=True)
    assert "data-confirm=" in page and "Systems using it stop working at once" in page

    revoked = post_form(en_client, f"/developers/tokens/{token_id}/revoke", {}, form_url=TOKENS,
                        follow_redirects=True)
    assert "is revoked" in revoked.get_data(as_text=True)
    answer = app.test_client().get("/api/v1/companies/me", headers={"Authorization": f"Bearer {raw}",
                                                                    "Accept-Language": "en"})
    assert answer.status_code == 401
    assert answer.get_json()["detail"] == "This API token has been revoked."


def test_token_page_refuses_an_empty_form_with_messages(en_client, people):
    login(en_client, people["admin"])
    answer = post_form(en_client, TOKENS, {"name": "", "expires": "90"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "Give the token a name" in html


def test_token_pages_are_for_company_administrators_only(app, en_client, people):
    login(en_client, people["member"])
    assert en_client.get(TOKENS).status_code == 403
    anonymous = app.test_client()
    assert anonymous.get(TOKENS).status_code == 302  # to the login page


def test_token_page_cannot_revoke_another_companys_token(app, en_client, people):
    login(en_client, people["other"])
    raw = _token_value(post_form(en_client, TOKENS, {"name": "theirs", "scopes": ["read"], "expires": "30"})
                       .get_data(as_text=True))
    with app.app_context():
        token_id = db.session.scalar(sa.select(ApiToken.id))
    mine = app.test_client()
    login(mine, people["admin"])
    refused = post_form(mine, f"/developers/tokens/{token_id}/revoke", {}, form_url=TOKENS)
    assert refused.status_code == 404
    assert app.test_client().get("/api/v1/companies/me",
                                 headers={"Authorization": f"Bearer {raw}"}).status_code == 200


def test_token_page_post_without_csrf_is_refused(app, en_client, people):
    login(en_client, people["admin"])
    answer = en_client.post(TOKENS, data={"name": "x", "scopes": ["read"], "expires": "30"})
    assert answer.status_code == 400
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0
