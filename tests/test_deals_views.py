"""Order-intent pages: start from a product, the intent page and its actions, messages, lists, exports."""
from __future__ import annotations

import io
import re

import sqlalchemy as sa

from marketplace.accounts.models import CompanyKind
from marketplace.deals.models import OrderIntent, OrderIntentEvent
from marketplace.deals.states import Action, IntentState
from marketplace.extensions import db
from marketplace.mail import OutboxEmail
from tests.conftest import csrf_token, login, post_form
from tests.test_deals_services import Parties, make_parties, start, terms

TOKEN_RE = re.compile(r'name="token" type="hidden" value="([^"]+)"')


class _Reloading(dict):
    """The setup's e-mails and ids; ``["parties"]`` reloads the parties into the current session."""

    def __getitem__(self, key):
        if key != "parties":
            return super().__getitem__(key)
        ids = super().__getitem__("ids")
        return Parties(**{name: db.session.get(type(obj), obj_id) for name, (obj, obj_id) in ids.items()})


def _setup(app):
    with app.app_context():
        parties = make_parties()
        ids = {name: (getattr(parties, name), getattr(parties, name).id) for name in Parties.__dataclass_fields__}
        return _Reloading(
            buyer=parties.buyer_user.email, exporter=parties.exporter_user.email,
            outsider=parties.outsider_user.email, product_id=parties.product.id, ids=ids,
        )


def _start_form(client, product_id, **overrides):
    page = client.get(f"/deals/new?product={product_id}").get_data(as_text=True)
    data = {
        "csrf_token": re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1),
        "token": TOKEN_RE.search(page).group(1), "product_id": str(product_id),
        "quantity": "300", "unit_price": "88.50", "valid_until": str(terms().valid_until),
        "delivery_place": "上海", "note": "<script>alert(1)</script>", "submit_action": "send",
    }
    data.update(overrides)
    return data


def test_product_page_shows_intent_button_only_to_buyers(app, en_client):
    s = _setup(app)
    assert "start-intent-button" not in en_client.get(f"/products/{s['product_id']}").get_data(as_text=True)
    login(en_client, s["exporter"])
    assert "start-intent-button" not in en_client.get(f"/products/{s['product_id']}").get_data(as_text=True)
    en_client.post("/account/logout", data={"csrf_token": csrf_token(en_client, "/")})
    login(en_client, s["buyer"])
    page = en_client.get(f"/products/{s['product_id']}").get_data(as_text=True)
    assert "Send an order intent" in page


def test_start_intent_sends_and_replay_returns_the_same_intent(app, en_client):
    s = _setup(app)
    login(en_client, s["buyer"])
    data = _start_form(en_client, s["product_id"])
    first = en_client.post(f"/deals/new?product={s['product_id']}", data=data)
    assert first.status_code == 302
    again = en_client.post(f"/deals/new?product={s['product_id']}", data=data, follow_redirects=True)
    assert "already been recorded" in again.get_data(as_text=True)
    with app.app_context():
        intents = db.session.scalars(sa.select(OrderIntent)).all()
        assert len(intents) == 1
        assert intents[0].amount_fen == 300 * 8850 and intents[0].state is IntentState.SUBMITTED
        # the exporter's users are told by e-mail (through the outbox)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEmail)) >= 1
    page = en_client.get(first.headers["Location"]).get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert "¥26,550.00" in page


def test_start_intent_three_decimals_and_zero_quantity_are_refused(app, en_client):
    s = _setup(app)
    login(en_client, s["buyer"])
    response = en_client.post(f"/deals/new?product={s['product_id']}",
                              data=_start_form(en_client, s["product_id"], unit_price="12.345", quantity="0"))
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "more than two decimals" in text
    assert "at least 1" in text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OrderIntent)) == 0


def test_start_intent_by_the_exporter_itself_is_refused(app, en_client):
    s = _setup(app)
    login(en_client, s["exporter"])
    response = en_client.get(f"/deals/new?product={s['product_id']}")
    assert response.status_code == 400
    assert "own company" in response.get_data(as_text=True)


def test_outsider_gets_404_on_page_action_and_attachment(app, en_client):
    s = _setup(app)
    with app.app_context():
        intent_id = start(s["parties"]).id
    login(en_client, s["outsider"])
    assert en_client.get(f"/deals/{intent_id}").status_code == 404
    assert en_client.get("/deals/999999").status_code == 404
    response = post_form(en_client, f"/deals/{intent_id}/act", {"action": "accept", "version": "1"}, form_url="/deals/")
    assert response.status_code == 404
    with app.app_context():
        assert db.session.get(OrderIntent, intent_id).state is IntentState.SUBMITTED


def test_stale_action_shows_conflict_and_new_state(app, en_client):
    s = _setup(app)
    with app.app_context():
        intent_id = start(s["parties"]).id
    login(en_client, s["exporter"])
    token = csrf_token(en_client, f"/deals/{intent_id}")
    assert en_client.post(f"/deals/{intent_id}/act", data={"csrf_token": token, "action": "accept",
                                                             "version": "1"}).status_code == 302
    response = en_client.post(f"/deals/{intent_id}/act", data={"csrf_token": token, "action": "decline",
                                                                 "version": "1", "note": "late"},
                              follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "This intent has changed" in text and "Accepted" in text
    with app.app_context():
        assert db.session.get(OrderIntent, intent_id).state is IntentState.ACCEPTED
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OrderIntentEvent)) == 2


def test_counter_with_zero_quantity_shows_form_error(app, en_client):
    s = _setup(app)
    with app.app_context():
        intent_id = start(s["parties"]).id
    login(en_client, s["exporter"])
    response = post_form(en_client, f"/deals/{intent_id}/act", {
        "action": "counter", "version": "1", "quantity": "0", "unit_price": "9.999",
        "valid_until": str(terms().valid_until)}, form_url=f"/deals/{intent_id}")
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "at least 1" in text and "more than two decimals" in text
    response = post_form(en_client, f"/deals/{intent_id}/act", {
        "action": "counter", "version": "1", "quantity": "500", "unit_price": "80.00",
        "valid_until": str(terms().valid_until)}, form_url=f"/deals/{intent_id}", follow_redirects=True)
    assert "Counter-offer: awaiting the buyer" in response.get_data(as_text=True)
    with app.app_context():
        intent = db.session.get(OrderIntent, intent_id)
        assert (intent.quantity, intent.unit_price_fen, intent.amount_fen) == (500, 8000, 4_000_000)


def test_contact_shown_after_acceptance_only(app, en_client):
    s = _setup(app)
    with app.app_context():
        intent_id = start(s["parties"]).id
    login(en_client, s["buyer"])
    page = en_client.get(f"/deals/{intent_id}").get_data(as_text=True)
    assert "13800000001" not in page and "contact-hidden" in page
    with app.app_context():
        from marketplace.deals import services
        services.advance_order_intent(s["parties"].exporter_user, intent_id, Action.ACCEPT, 1)
    assert "13800000001" in en_client.get(f"/deals/{intent_id}").get_data(as_text=True)


def test_message_attachment_served_as_download_to_both_sides_only(app, en_client):
    s = _setup(app)
    with app.app_context():
        intent_id = start(s["parties"]).id
    login(en_client, s["exporter"])
    response = post_form(en_client, f"/deals/{intent_id}/messages", {
        "body": "<b>见附件</b>", "attachment": (io.BytesIO(b"%PDF-1.4 test"), "报价.pdf")},
        form_url=f"/deals/{intent_id}", content_type="multipart/form-data", follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "&lt;b&gt;见附件&lt;/b&gt;" in text
    link = re.search(r'href="(/deals/attachments/\d+)"', text).group(1)
    download = en_client.get(link)
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.data.startswith(b"%PDF")
    bad = post_form(en_client, f"/deals/{intent_id}/messages", {
        "body": "x", "attachment": (io.BytesIO(b"<html><script>"), "evil.pdf")},
        form_url=f"/deals/{intent_id}", content_type="multipart/form-data")
    assert bad.status_code == 400 and "Attach a PDF" in bad.get_data(as_text=True)
    en_client.post("/account/logout", data={"csrf_token": csrf_token(en_client, "/")})
    login(en_client, s["outsider"])
    assert en_client.get(link).status_code == 404


def test_list_filters_totals_and_export_neutralises_formulas(app, en_client):
    s = _setup(app)
    with app.app_context():
        parties = s["parties"]
        parties.product.title_zh = "=HYPERLINK(\"http://evil\")"
        db.session.commit()
        start(parties, terms=terms(quantity=10, price=100))
        second = start(parties, terms=terms(quantity=20, price=100))
        from marketplace.deals import services
        services.advance_order_intent(parties.exporter_user, second.id, Action.ACCEPT, 1)
    login(en_client, s["buyer"])
    page = en_client.get("/deals/").get_data(as_text=True)
    assert page.count('data-testid="intent-row"') == 2
    assert 'data-state="submitted"' in page and "¥10.00" in page and "¥20.00" in page
    filtered = en_client.get("/deals/?state=accepted").get_data(as_text=True)
    assert filtered.count('data-testid="intent-row"') == 1
    assert en_client.get("/deals/?state=bogus&date_from=notadate&counterpart=x").status_code == 200
    csv = en_client.get("/deals/export.csv").data.decode("utf-8-sig")
    assert "'=HYPERLINK" in csv and "\n=HYPERLINK" not in csv
    xlsx = en_client.get("/deals/export.xlsx")
    assert xlsx.status_code == 200 and xlsx.data.startswith(b"PK")
    login_other = en_client
    login_other.post("/account/logout", data={"csrf_token": csrf_token(en_client, "/")})
    login(login_other, s["outsider"])
    assert 'data-testid="intent-row"' not in login_other.get("/deals/").get_data(as_text=True)


def test_navbar_has_order_intents_for_company_users(app, en_client):
    s = _setup(app)
    login(en_client, s["buyer"])
    assert 'href="/deals/"' in en_client.get("/").get_data(as_text=True)
    with app.app_context():
        from tests.factories import make_company, make_user
        organizer = make_user(company=make_company(kind=CompanyKind.ORGANIZER)).email
    en_client.post("/account/logout", data={"csrf_token": csrf_token(en_client, "/")})
    login(en_client, organizer)
    assert 'href="/deals/"' not in en_client.get("/").get_data(as_text=True)


def test_deals_expire_command(app, runner):
    with app.app_context():
        parties = make_parties()
        intent_id = start(parties).id
        db.session.execute(sa.update(OrderIntent).where(OrderIntent.id == intent_id)
                           .values(valid_until=terms(days=-3).valid_until))
        db.session.commit()
    result = runner.invoke(args=["deals", "expire"])
    assert result.exit_code == 0 and "expired 1" in result.output
    with app.app_context():
        assert db.session.get(OrderIntent, intent_id).state is IntentState.EXPIRED
