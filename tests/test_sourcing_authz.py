"""Who may see and do what in sourcing, as one table of actor × object × action → HTTP status.

Objects: a draft, a public open request, an invited-only request (exporter A invited), and
exporter A's quote on the public request (exporter B quoted too). 404 means "as if it did not
exist": no page, count or file betrays an object the actor may not see.
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import CompanyKind, Role
from marketplace.extensions import db
from marketplace.sourcing import services
from marketplace.sourcing.models import Quote
from marketplace.sourcing.services import today_in_china
from marketplace.sourcing.states import QuoteState
from tests.conftest import csrf_token, login
from tests.factories import make_company, make_user
from tests.test_sourcing_services import PDF, make_world, post, quote, request_input, token

ACTORS = ("buyer", "other_buyer", "exporter_a", "exporter_b", "uninvited", "unverified", "organizer")
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@pytest.fixture
def scene(app):
    """Everyone and everything of the table; returns e-mails and ids."""
    with app.app_context():
        world = make_world()
        uninvited = make_user(company=make_company(kind=CompanyKind.EXPORTER))
        organizer = make_user(role=Role.ORGANIZER)
        draft = post(world, publish=False, title="草稿需求")
        public, _created = services.create_request(world.buyer_user, request_input(title="公开需求"), token(),
                                                   [(PDF, "spec.pdf")])
        public = services.publish_request(world.buyer_user, public.id, public.version)
        invited = post(world, title="邀请需求", visibility=services.Visibility.INVITED,
                       invited_company_ids=(world.exporter.id,))
        quote_a = quote(world.exporter_user, public)
        db.session.execute(sa.update(Quote).where(Quote.id == quote_a.id).values(attachment_name=None))
        quote(world.rival_user, public)
        db.session.commit()
        return {
            "emails": {"buyer": world.buyer_user.email, "other_buyer": world.other_buyer_user.email,
                       "exporter_a": world.exporter_user.email, "exporter_b": world.rival_user.email,
                       "uninvited": uninvited.email, "unverified": world.unverified_user.email,
                       "organizer": organizer.email},
            "draft": draft.id, "public": public.id, "invited": invited.id, "quote_a": quote_a.id,
            "attachment": public.attachments[0].id,
        }


# (url template, {actor: expected status}); anyone not listed gets 404
TABLE = [
    ("/sourcing/requests/{draft}", {"buyer": 200}),
    ("/sourcing/requests/{draft}/edit", {"buyer": 200}),
    ("/sourcing/requests/{public}", {"buyer": 200, "exporter_a": 200, "exporter_b": 200, "uninvited": 200}),
    ("/sourcing/requests/{invited}", {"buyer": 200, "exporter_a": 200}),
    ("/sourcing/requests/{public}/edit", {"buyer": 200}),
    ("/sourcing/requests/{public}/quotes", {"buyer": 200}),
    ("/sourcing/requests/{public}/quotes.xlsx", {"buyer": 200}),
    ("/sourcing/quotes/{quote_a}", {"buyer": 200, "exporter_a": 200}),
    ("/sourcing/attachments/{attachment}", {"buyer": 200, "exporter_a": 200, "exporter_b": 200, "uninvited": 200}),
    ("/sourcing/board", {"exporter_a": 200, "exporter_b": 200, "uninvited": 200, "buyer": 403, "other_buyer": 403,
                         "unverified": 403, "organizer": 403}),
    ("/sourcing/requests/mine", {"buyer": 200, "other_buyer": 200, "exporter_a": 403, "exporter_b": 403,
                                 "uninvited": 403, "unverified": 403, "organizer": 403}),
    ("/sourcing/requests/new", {"buyer": 200, "other_buyer": 200, "exporter_a": 403, "exporter_b": 403,
                                "uninvited": 403, "unverified": 403, "organizer": 403}),
]


def test_authorization_table_of_pages(app, scene):
    clients = {}
    for actor in ACTORS:
        client = app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        login(client, scene["emails"][actor])
        clients[actor] = client
    anonymous = app.test_client()
    failures = []
    for template, allowed in TABLE:
        url = template.format(**scene)
        for actor in ACTORS:
            expected = allowed.get(actor, 404)
            status = clients[actor].get(url).status_code
            if status != expected:
                failures.append(f"{actor} GET {url}: {status}, expected {expected}")
        if anonymous.get(url).status_code != 302:  # to the login page
            failures.append(f"anonymous GET {url}: not sent to log in")
    assert not failures, "\n".join(failures)


def test_competitors_never_see_each_other(app, scene):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login(client, scene["emails"]["exporter_b"])
    page = client.get(f"/sourcing/requests/{scene['public']}").get_data(as_text=True)
    with app.app_context():
        a_name = db.session.get(Quote, scene["quote_a"]).exporter_company.name_zh
    assert a_name not in page and "¥88.00" in page  # its own quote only (both quoted 88.00)
    assert 'data-testid="quote-summary"' not in page and f"/sourcing/requests/{scene['public']}/quotes" not in page
    mine = client.get("/sourcing/quotes/mine").get_data(as_text=True)
    assert len(re.findall(r'data-testid="my-quote-row"', mine)) == 1
    board = client.get("/sourcing/board").get_data(as_text=True)
    assert "邀请需求" not in board and "草稿需求" not in board and "公开需求" in board


@pytest.mark.parametrize("actor, action, expected", [
    ("exporter_a", "shortlist", 403),  # the buyer decides
    ("exporter_b", "withdraw", 404),  # a competitor's quote does not exist for it
    ("other_buyer", "award", 404),
    ("buyer", "withdraw", 403),  # the exporter withdraws, not the buyer
])
def test_quote_actions_by_the_wrong_actor(app, scene, actor, action, expected):
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login(client, scene["emails"][actor])
    token_value = csrf_token(client, "/")
    response = client.post(f"/sourcing/quotes/{scene['quote_a']}/act",
                           data={"csrf_token": token_value, "action": action, "version": 1})
    if expected == 403:
        # the page says why, and the quote stays as it was
        assert response.status_code in (302, 403)
        if response.status_code == 302:
            follow = client.get(response.headers["Location"]).get_data(as_text=True)
            assert "The other company decides this step" in follow
    else:
        assert response.status_code == expected
    with app.app_context():
        assert db.session.get(Quote, scene["quote_a"]).state is QuoteState.SUBMITTED


def test_quoting_on_invited_or_draft_by_changing_the_id_is_404(app, scene):
    client = app.test_client()
    login(client, scene["emails"]["uninvited"])
    page = client.get(f"/sourcing/requests/{scene['public']}").get_data(as_text=True)
    csrf = CSRF_RE.search(page).group(1)
    form = {"csrf_token": csrf, "token": token(), "unit_price": "80", "quantity": "10", "moq": "1",
            "lead_time_days": "5", "valid_until": str(today_in_china() + timedelta(days=5))}
    for target in ("invited", "draft"):
        assert client.post(f"/sourcing/requests/{scene[target]}/quote", data=form).status_code == 404
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Quote)) == 2
