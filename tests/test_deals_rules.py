"""Starting an intent as a new user does it: below the MOQ, Back then Send, an open intent already there;
what the intent pages show (compact totals, the MOQ notice, the history table) and which rules they ask."""
from __future__ import annotations

import re

import sqlalchemy as sa

from marketplace.accounts.models import CompanyKind
from marketplace.deals import services
from marketplace.deals.models import OrderIntent
from marketplace.deals.states import Action, IntentState
from marketplace.extensions import db
from tests.conftest import login
from tests.factories import make_company, make_user
from tests.test_deals_services import start, terms
from tests.test_deals_views import TOKEN_RE, _setup, _start_form


def _count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(OrderIntent))


# --------------------------------------------------------------------------- below the MOQ


def test_quantity_below_moq_warns_and_goes_through_once_confirmed(app, client):
    s = _setup(app)  # the product's MOQ is 100
    login(client, s["buyer"])
    url = f"/deals/new?product={s['product_id']}"
    warned = client.post(url, data=_start_form(client, s["product_id"], quantity="50"))
    html = warned.get_data(as_text=True)
    assert warned.status_code == 200
    assert 'data-testid="moq-warning"' in html and "数量 50 低于起订量 100" in html
    with app.app_context():
        assert _count() == 0
    sent = client.post(url, data=_start_form(client, s["product_id"], quantity="50", confirm_below_moq="y"))
    assert sent.status_code == 302
    with app.app_context():
        [intent] = db.session.scalars(sa.select(OrderIntent)).all()
        assert intent.quantity == 50 and intent.state is IntentState.SUBMITTED


def test_intent_below_moq_shows_the_notice_to_the_exporter(app, client, en_client):
    s = _setup(app)
    with app.app_context():
        intent_id = start(s["parties"], terms=terms(quantity=50)).id  # a caller that does not ask: allowed
        at_moq = start(s["parties"], terms=terms(quantity=100)).id
    login(client, s["exporter"])
    page = client.get(f"/deals/{intent_id}").get_data(as_text=True)
    assert 'data-testid="intent-moq-notice"' in page and "数量 50 低于起订量 100" in page
    assert 'data-testid="intent-moq-notice"' not in client.get(f"/deals/{at_moq}").get_data(as_text=True)
    login(en_client, s["buyer"])
    assert "Quantity 50 is below the minimum order quantity of 100." in \
        en_client.get(f"/deals/{intent_id}").get_data(as_text=True)


# --------------------------------------------------------------------------- Back, then Send again


def test_back_then_send_again_returns_the_first_intent(app, en_client):
    s = _setup(app)
    login(en_client, s["buyer"])
    url = f"/deals/new?product={s['product_id']}"
    first = en_client.post(url, data=_start_form(en_client, s["product_id"]))
    assert first.status_code == 302
    # Back: the browser fetches the form again (logged-in pages are not cached), then Send
    again = en_client.post(url, data=_start_form(en_client, s["product_id"]), follow_redirects=True)
    assert "already been recorded" in again.get_data(as_text=True)
    with app.app_context():
        assert _count() == 1


def test_start_form_warns_of_an_open_intent_and_offers_another_on_purpose(app, en_client):
    s = _setup(app)
    login(en_client, s["buyer"])
    url = f"/deals/new?product={s['product_id']}"
    en_client.post(url, data=_start_form(en_client, s["product_id"]))
    with app.app_context():
        first_id = db.session.scalar(sa.select(OrderIntent.id))
    page = en_client.get(url).get_data(as_text=True)
    assert 'data-testid="open-intent-warning"' in page
    assert f'href="/deals/{first_id}"' in page
    old_token = TOKEN_RE.search(page).group(1)
    another = en_client.get(f"{url}&another=1")
    assert another.status_code == 302 and "another" not in another.headers["Location"]
    data = _start_form(en_client, s["product_id"])
    assert data["token"] != old_token
    assert en_client.post(url, data=data).status_code == 302
    with app.app_context():
        assert _count() == 2


def test_a_closed_intent_gives_the_next_form_a_new_token(app, en_client):
    s = _setup(app)
    login(en_client, s["buyer"])
    url = f"/deals/new?product={s['product_id']}"
    en_client.post(url, data=_start_form(en_client, s["product_id"]))
    with app.app_context():
        intent = db.session.scalars(sa.select(OrderIntent)).one()
        services.advance_order_intent(s["parties"].buyer_user, intent.id, Action.WITHDRAW, intent.version)
    page = en_client.get(url).get_data(as_text=True)
    assert 'data-testid="open-intent-warning"' not in page
    assert en_client.post(url, data=_start_form(en_client, s["product_id"])).status_code == 302
    with app.app_context():
        assert _count() == 2


def test_open_intents_are_scoped_to_the_buyer_company(app):
    with app.app_context():
        s = _setup(app)
        parties = s["parties"]
        start(parties)
        assert [i.state for i in services.open_intents_on_product(parties.buyer_user, parties.product.id)] == \
            [IntentState.SUBMITTED]
        assert services.open_intents_on_product(parties.outsider_user, parties.product.id) == []
        assert services.open_intents_on_product(parties.exporter_user, parties.product.id) == []


# --------------------------------------------------------------------------- what the pages show


def test_lists_show_compact_amounts_and_the_intent_the_exact_one(app, client, en_client):
    s = _setup(app)
    with app.app_context():
        intent_id = start(s["parties"], terms=terms(quantity=300, price=8850)).id  # ¥26,550.00
    login(client, s["buyer"])
    listing = client.get("/deals/").get_data(as_text=True)
    assert '<span title="¥26,550.00">¥2.66万</span>' in listing
    assert "¥26,550.00</td>" not in listing
    assert "¥26,550.00" in client.get(f"/deals/{intent_id}").get_data(as_text=True)
    login(en_client, s["buyer"])
    assert '<span title="CN¥26,550.00">CN¥26.6K</span>' in en_client.get("/deals/").get_data(as_text=True)


def test_history_names_wrap_between_words(app, en_client):
    s = _setup(app)
    with app.app_context():
        intent_id = start(s["parties"]).id
    login(en_client, s["buyer"])
    page = en_client.get(f"/deals/{intent_id}").get_data(as_text=True)
    history = page[page.index('data-testid="intent-history"'):page.index('data-testid="intent-messages"')]
    assert "history-table" in history and 'class="col-who"' in history
    # .text-break lets a table squeeze a column to one character per line
    assert "text-break" not in history


def test_product_page_offers_the_intent_by_the_start_rule(app, en_client):
    s = _setup(app)
    with app.app_context():
        unverified = make_user(make_company(kind=CompanyKind.RETAILER, verified=False), email="new@example.com")
        assert services.intent_offer(unverified, s["parties"].product) == "verify_first"
        assert services.intent_offer(s["parties"].exporter_user, s["parties"].product) is None
        assert services.intent_offer(s["parties"].buyer_user, s["parties"].product) == "start"
    login(en_client, "new@example.com")
    page = en_client.get(f"/products/{s['product_id']}").get_data(as_text=True)
    assert "start-intent-button" not in page and 'data-testid="start-intent-verify-first"' in page


def test_draft_intent_takes_no_messages(app, en_client):
    s = _setup(app)
    with app.app_context():
        draft = start(s["parties"], submit=False)
        assert services.takes_messages(draft) is False
        draft_id = draft.id
    login(en_client, s["buyer"])
    page = en_client.get(f"/deals/{draft_id}").get_data(as_text=True)
    assert 'data-testid="message-form"' not in page
    assert re.search(r'data-testid="contact-hidden"', page)


def test_expiry_note_reads_in_the_readers_language(app, en_client):
    from datetime import timedelta

    s = _setup(app)
    with app.app_context():
        intent = start(s["parties"])
        intent_id, valid_until = intent.id, intent.valid_until
        assert services.expire_intents(today=valid_until + timedelta(days=1)) == 1  # written in Chinese (no request)
    login(en_client, s["buyer"])
    page = en_client.get(f"/deals/{intent_id}").get_data(as_text=True)
    history = page[page.index('data-testid="intent-history"'):page.index('data-testid="intent-messages"')]
    assert f"No answer before {valid_until.isoformat()}." in history
