"""Company webhooks: the pages, the outbox (same transaction as the change), signed delivery to a real receiver,
retries with backoff, giving up, disabling, timeouts, redirects, the SSRF guard, and who may see what."""
from __future__ import annotations

import json
import re
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from marketplace.accounts.models import CompanyKind, Role
from marketplace.deals import services as deals
from marketplace.deals.states import Action
from marketplace.errors import NotFound, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.notifications.models import Notification
from marketplace.sourcing import services as sourcing
from marketplace.sourcing.models import ProcurementRequest
from marketplace.webhooks import register_jobs, services, ssrf
from marketplace.webhooks.delivery import backoff, deliver_due, sign, verify
from marketplace.webhooks.events import EVENTS, emit
from marketplace.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from tests.conftest import csrf_token, login, post_form
from tests.factories import make_company, make_user
from tests.test_deals_services import make_parties, start
from tests.test_sourcing_services import make_world, quote, quote_input
from tests.test_sourcing_services import post as post_request

SECRET_RE = re.compile(r'value="(whsec_[^"]+)"')
PUBLIC_IP = "93.184.216.34"


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def webhooks_app(request):
    """Short timeouts, so a receiver that hangs costs half a second."""
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    app.config.update(WEBHOOK_TIMEOUT=(2.0, 0.5), WEBHOOK_ALLOW_PRIVATE=True)


class Receiver:
    """An HTTP server on 127.0.0.1 that records each POST and checks its signature with ``secret``."""

    def __init__(self, status: int = 200, delay: float = 0.0, location: str | None = None):
        self.status, self.delay, self.location = status, delay, location
        self.secret: str | None = None
        self.received: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                signature = self.headers.get("Rongtong-Signature")
                receiver.received.append({
                    "headers": dict(self.headers), "body": body, "path": self.path,
                    "verified": receiver.secret is not None and verify(receiver.secret, signature, body)})
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(receiver.status)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    """Make receivers (``receiver(status=500)``); all are stopped after the test."""
    made: list[Receiver] = []

    def make(**kwargs) -> Receiver:
        made.append(Receiver(**kwargs))
        return made[-1]

    yield make
    for item in made:
        item.close()


def endpoint_for(user, url: str, events=("intent.created", "intent.transitioned")) -> tuple[WebhookEndpoint, str]:
    return services.create_endpoint(user, url, list(events), "ERP")


def deliveries(endpoint_id: int | None = None) -> list[WebhookDelivery]:
    db.session.expire_all()
    query = sa.select(WebhookDelivery).order_by(WebhookDelivery.id)
    if endpoint_id is not None:
        query = query.where(WebhookDelivery.endpoint_id == endpoint_id)
    return list(db.session.scalars(query))


def queue_pings(endpoint: WebhookEndpoint, admin, count: int) -> list[WebhookDelivery]:
    return [services.send_test(admin, endpoint.id) for _ in range(count)]


def english(error) -> str:
    with force_locale("en"):
        return str(error.message)


# ----------------------------------------------------------------------------- the whole path


def test_webhooks_endpoint_added_on_the_page_receives_a_signed_intent_event(app, en_client, receiver):
    target = receiver()
    with app.app_context():
        parties = make_parties()
        buyer_email = parties.buyer_user.email
        login(en_client, buyer_email)
        page = en_client.get("/developers/webhooks/new")
        assert page.status_code == 200 and "Order intent created" in page.get_data(as_text=True)
        response = post_form(en_client, "/developers/webhooks/new",
                             {"url": target.url, "events": ["intent.created", "intent.transitioned"],
                              "description": "Our ERP"})
        html = response.get_data(as_text=True)
        assert response.status_code == 200 and "shown only this once" in html
        assert response.headers["Cache-Control"] == "no-store"
        secret = SECRET_RE.search(html).group(1)
        target.secret = secret
        # the secret is never shown again
        endpoint = db.session.scalar(sa.select(WebhookEndpoint))
        for url in ("/developers/webhooks/", f"/developers/webhooks/{endpoint.id}/edit",
                    f"/developers/webhooks/{endpoint.id}/deliveries"):
            later = en_client.get(url)
            assert later.status_code == 200 and secret not in later.get_data(as_text=True)
        assert endpoint.company_id == parties.buyer.id and endpoint.events == ["intent.created",
                                                                              "intent.transitioned"]

        intent = start(parties)
        [queued] = deliveries()
        assert (queued.endpoint_id, queued.event, queued.status) == (endpoint.id, "intent.created",
                                                                    DeliveryStatus.PENDING)
        assert target.received == []  # sent by the job, never inside the request

        assert deliver_due() == 1
        [got] = target.received
        assert got["verified"]
        assert got["headers"]["Rongtong-Event"] == "intent.created"
        assert got["headers"]["Rongtong-Delivery"] == queued.uuid
        assert got["headers"]["Content-Type"] == "application/json"
        assert got["headers"]["User-Agent"] == "Rongtong-Webhooks/1"
        body = json.loads(got["body"])
        assert body["id"] == queued.uuid and body["type"] == "intent.created"
        assert body["data"]["intent_id"] == intent.id and body["data"]["state"] == "submitted"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["created_at"])
        assert got["body"] == queued.payload.encode("utf-8")
        [done] = deliveries()
        assert (done.status, done.attempts, done.last_status_code) == (DeliveryStatus.SUCCEEDED, 1, 200)
        assert done.delivered_at is not None and done.next_attempt_at is None
        assert deliver_due() == 0

        log = en_client.get(f"/developers/webhooks/{endpoint.id}/deliveries").get_data(as_text=True)
        assert "intent.created" in log and "Delivered" in log and "HTTP 200" in log
        listing = en_client.get("/developers/webhooks/").get_data(as_text=True)
        assert target.url in listing and "Active" in listing and "Delivered" in listing


def test_emit_writes_nothing_when_the_service_transaction_rolls_back(app, monkeypatch):
    with app.app_context():
        parties = make_parties()
        endpoint, _secret = endpoint_for(parties.buyer_user, "http://127.0.0.1:9/hook")
        intent = start(parties)
        assert [d.event for d in deliveries()] == ["intent.created"]

        seen = []

        def failing(*args, **kwargs):  # after the transition (and its emit), before the commit
            seen.extend(db.session.scalars(sa.select(WebhookDelivery.event).order_by(WebhookDelivery.id)))
            raise RuntimeError("mail server on fire")

        monkeypatch.setattr(deals, "_notify_transition", failing)
        with pytest.raises(RuntimeError):
            deals.advance_order_intent(parties.exporter_user, intent.id, Action.ACCEPT, intent.version)
        assert seen == ["intent.created", "intent.transitioned"]  # queued inside the service's transaction
        db.session.rollback()
        assert [d.event for d in deliveries()] == ["intent.created"]  # rolled back with it
        assert db.session.get(deals.OrderIntent, intent.id, populate_existing=True).state.value == "submitted"


def test_intent_events_go_to_both_companies_but_a_draft_only_to_its_buyer(app):
    with app.app_context():
        parties = make_parties()
        buyer_endpoint, _ = endpoint_for(parties.buyer_user, "http://127.0.0.1:9/b")
        exporter_endpoint, _ = endpoint_for(parties.exporter_user, "http://127.0.0.1:9/e")
        draft = start(parties, submit=False)
        assert [(d.endpoint_id, d.event) for d in deliveries()] == [(buyer_endpoint.id, "intent.created")]

        intent = start(parties)
        deals.advance_order_intent(parties.exporter_user, intent.id, Action.ACCEPT, intent.version)
        rows = [(d.endpoint_id, d.event, json.loads(d.payload)["data"]) for d in deliveries()][1:]
        assert [(endpoint_id, event) for endpoint_id, event, _data in rows] == [
            (buyer_endpoint.id, "intent.created"), (exporter_endpoint.id, "intent.created"),
            (buyer_endpoint.id, "intent.transitioned"), (exporter_endpoint.id, "intent.transitioned")]
        assert rows[2][2] == {"intent_id": intent.id, "action": "accept", "from_state": "submitted",
                              "to_state": "accepted", "version": 2}
        assert all("note" not in data for _e, _v, data in rows)
        assert draft.id != intent.id


def test_emit_costs_one_query_per_company_and_transaction_and_skips_the_unsubscribed(app):
    with app.app_context():
        admin = make_user(company=make_company(kind=CompanyKind.EXPORTER))
        lonely = make_company(kind=CompanyKind.RETAILER)
        endpoint, _ = endpoint_for(admin, "http://127.0.0.1:9/hook", events=["quote.created"])
        statements = []

        def count(_conn, _cursor, statement, *_args):
            statements.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert emit(lonely.id, "intent.created", {"intent_id": 1}) == 0
            assert emit(lonely.id, "intent.created", {"intent_id": 2}) == 0
            assert emit(admin.company_id, "intent.created", {"intent_id": 3}) == 0  # not subscribed
            assert emit(admin.company_id, "quote.created", {"quote_id": 4}) == 1
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        assert len([s for s in statements if "webhook_endpoints" in s]) == 2
        db.session.commit()
        assert [(d.endpoint_id, d.event) for d in deliveries()] == [(endpoint.id, "quote.created")]
        with pytest.raises(ValueError):
            emit(admin.company_id, "no.such.event", {})


# ----------------------------------------------------------------------------- retries, giving up, disabling


def test_deliver_due_retries_a_failing_receiver_with_growing_pauses_then_gives_up_after_a_day(app, receiver):
    target = receiver(status=500)
    with app.app_context():
        admin = make_user(company=make_company())
        endpoint, target.secret = endpoint_for(admin, target.url)
        [delivery] = queue_pings(endpoint, admin, 1)
        t0 = delivery.created_at
        assert deliver_due(now=t0) == 1
        first = deliveries()[0]
        assert (first.status, first.attempts, first.last_status_code, first.last_error) == (
            DeliveryStatus.PENDING, 1, 500, "HTTP 500")
        assert first.next_attempt_at == t0 + timedelta(minutes=1)
        assert deliver_due(now=t0 + timedelta(seconds=30)) == 0  # not due yet
        waits = [timedelta(minutes=1)]
        moment = first.next_attempt_at
        for _ in range(3):
            assert deliver_due(now=moment) == 1
            row = deliveries()[0]
            waits.append(row.next_attempt_at - moment)
            moment = row.next_attempt_at
        assert waits == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
        assert len(target.received) == 4 and all(r["verified"] for r in target.received)
        # a day later the next attempt is the last one
        assert deliver_due(now=t0 + timedelta(hours=24, seconds=1)) == 1
        gone = deliveries()[0]
        assert (gone.status, gone.attempts, gone.next_attempt_at) == (DeliveryStatus.FAILED, 5, None)
        assert deliver_due(now=t0 + timedelta(days=3)) == 0
        assert db.session.get(WebhookEndpoint, endpoint.id).consecutive_failures == 5


def test_backoff_doubles_from_a_minute_up_to_six_hours():
    assert [backoff(n) for n in (1, 2, 3, 9, 10, 50)] == [
        timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4), timedelta(minutes=256),
        timedelta(hours=6), timedelta(hours=6)]


def test_deliver_due_disables_an_endpoint_after_consecutive_failures_and_tells_its_admins(app, receiver):
    target = receiver(status=503)
    app.config["WEBHOOK_DISABLE_AFTER"] = 3
    with app.app_context():
        company = make_company()
        admin = make_user(company=company)
        member = make_user(company=company, role=Role.MEMBER)
        endpoint, _ = endpoint_for(admin, target.url)
        # a success in between starts the count again
        queue_pings(endpoint, admin, 2)
        assert deliver_due() == 2
        assert db.session.get(WebhookEndpoint, endpoint.id).consecutive_failures == 2
        target.status = 204
        queue_pings(endpoint, admin, 1)
        deliver_due()
        assert db.session.get(WebhookEndpoint, endpoint.id, populate_existing=True).consecutive_failures == 0

        target.status = 500
        queue_pings(endpoint, admin, 4)
        assert deliver_due() == 3  # the fourth waits: the endpoint is off
        off = db.session.get(WebhookEndpoint, endpoint.id, populate_existing=True)
        assert not off.active and off.disabled_at is not None and off.disabled_reason == "failures"
        with force_locale("en"):
            assert str(off.disabled_reason_text) == "Disabled automatically after 3 failed attempts in a row."
        notes = db.session.scalars(sa.select(Notification).where(Notification.kind == "webhook_disabled")).all()
        assert [n.user_id for n in notes] == [admin.id]  # the administrators, not every colleague
        assert member.id not in [n.user_id for n in notes]
        assert notes[0].link == f"/developers/webhooks/{endpoint.id}/deliveries"
        waiting = [d for d in deliveries() if d.attempts == 0]
        assert len(waiting) == 1 and waiting[0].next_attempt_at < off.disabled_at + timedelta(minutes=1)  # not leased
        assert deliver_due(now=off.disabled_at + timedelta(hours=1)) == 0
        assert emit(company.id, "intent.created", {"intent_id": 1}) == 0  # nothing queued for a disabled one
        db.session.rollback()

        # enabling it again resets the count and sends what waited
        services.update_endpoint(admin, endpoint.id, off.url, off.events, off.description, True)
        again = db.session.get(WebhookEndpoint, endpoint.id, populate_existing=True)
        assert again.active and again.consecutive_failures == 0 and again.disabled_reason is None
        target.status = 200
        assert deliver_due(now=again.created_at + timedelta(hours=2)) == 6  # 5 retries and the one that waited
        assert {d.status for d in deliveries()} == {DeliveryStatus.SUCCEEDED}


def test_deliver_due_records_a_hanging_receiver_as_timed_out_and_carries_on(app, receiver):
    slow = receiver(delay=2.0)
    fast = receiver()
    with app.app_context():
        admin = make_user(company=make_company())
        slow_endpoint, _ = endpoint_for(admin, slow.url)
        fast_endpoint, fast.secret = endpoint_for(admin, fast.url)
        queue_pings(slow_endpoint, admin, 1)
        queue_pings(fast_endpoint, admin, 1)
        assert deliver_due() == 2
        hung, done = deliveries()
        assert hung.status is DeliveryStatus.PENDING and hung.attempts == 1
        assert hung.last_status_code is None and "timed out" in hung.last_error
        assert done.status is DeliveryStatus.SUCCEEDED
        assert len(fast.received) == 1 and fast.received[0]["verified"]


def test_two_workers_at_once_send_each_delivery_exactly_once(app, receiver):
    target = receiver()
    with app.app_context():
        admin = make_user(company=make_company())
        endpoint, _ = endpoint_for(admin, target.url)
        queued = {d.uuid for d in queue_pings(endpoint, admin, 25)}
    counts, errors = [], []

    def worker():
        try:
            with app.app_context():
                counts.append(deliver_due(limit=100))
                db.session.remove()
        except Exception as error:  # pragma: no cover - shown by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == [] and sum(counts) == 25
    sent = [got["headers"]["Rongtong-Delivery"] for got in target.received]
    assert sorted(sent) == sorted(queued)  # each once
    with app.app_context():
        assert {d.status for d in deliveries()} == {DeliveryStatus.SUCCEEDED}


def test_deliver_due_never_follows_a_redirect(app, receiver):
    elsewhere = receiver()
    redirecting = receiver(status=302)
    redirecting.location = elsewhere.url
    with app.app_context():
        admin = make_user(company=make_company())
        endpoint, _ = endpoint_for(admin, redirecting.url)
        queue_pings(endpoint, admin, 1)
        assert deliver_due() == 1
        [row] = deliveries()
        assert row.status is DeliveryStatus.PENDING and row.last_status_code == 302
        assert "redirect not followed" in row.last_error
        assert len(redirecting.received) == 1 and elsewhere.received == []


def test_deliver_due_survives_an_unreachable_endpoint(app, receiver):
    good = receiver()
    with app.app_context():
        admin = make_user(company=make_company())
        closed_port = receiver()
        dead_url = closed_port.url
        closed_port.close()
        dead, _ = endpoint_for(admin, dead_url)
        alive, _ = endpoint_for(admin, good.url)
        queue_pings(dead, admin, 1)
        queue_pings(alive, admin, 1)
        assert deliver_due() == 2
        failed, sent = deliveries()
        assert failed.status is DeliveryStatus.PENDING and "ConnectionError" in failed.last_error
        assert sent.status is DeliveryStatus.SUCCEEDED and len(good.received) == 1


# ----------------------------------------------------------------------------- SSRF


@pytest.fixture
def babel_context():
    """An app context where messages can be rendered (no database)."""
    from flask import Flask

    from marketplace.extensions import babel

    bare = Flask(__name__)
    babel.init_app(bare)
    with bare.app_context():
        yield


@pytest.mark.parametrize("url, says", [
    ("https://127.0.0.1/hook", "loopback"),
    ("https://10.1.2.3/hook", "private"),
    ("https://169.254.169.254/latest/meta-data/", "link-local"),
    ("https://[::1]/hook", "loopback"),
    ("https://0.0.0.0/hook", "unspecified"),
    ("https://[::ffff:10.0.0.1]/hook", "private"),
    ("https://100.64.0.1/hook", "not public"),
    ("https://224.0.0.1/hook", "multicast"),
    ("https://localhost/hook", "loopback"),
    ("http://hooks.example.com/hook", "must start with https://"),
    ("https://user:secret@hooks.example.com/hook", "must not contain a user name or password"),
    ("ftp://hooks.example.com/hook", "starting with https://"),
    ("https:///nohost", "starting with https://"),
])
def test_check_url_refuses_private_networks_plain_http_and_credentials(url, says, monkeypatch, babel_context):
    real = ssrf._resolve
    monkeypatch.setattr(ssrf, "_resolve", lambda host, port: [PUBLIC_IP] if host.endswith("example.com")
                        else real(host, port))
    with pytest.raises(ValidationFailed) as refused:
        ssrf.check_url(url, allow_private=False)
    assert says in english(refused.value) and refused.value.field == "url"


def test_check_url_refuses_a_host_with_any_private_address_and_allows_public_ones(monkeypatch, babel_context):
    answers = {"mixed.example": [PUBLIC_IP, "10.0.0.5"], "public.example": [PUBLIC_IP, "2606:2800:220:1::1"],
               "nowhere.example": OSError("no such host")}

    def resolve(host, port):
        found = answers[host]
        if isinstance(found, Exception):
            raise found
        return found

    monkeypatch.setattr(ssrf, "_resolve", resolve)
    with pytest.raises(ValidationFailed) as mixed:
        ssrf.check_url("https://mixed.example/hook", allow_private=False)
    assert "10.0.0.5" in english(mixed.value)
    with pytest.raises(ValidationFailed) as nowhere:
        ssrf.check_url("https://nowhere.example/hook", allow_private=False)
    assert "could not be found" in english(nowhere.value)
    ssrf.check_url("https://public.example/hook", allow_private=False)
    # tests and development may call a local receiver
    ssrf.check_url("http://127.0.0.1:8080/hook", allow_private=True)


def test_saving_an_endpoint_on_a_private_address_is_refused_with_a_message(app, en_client):
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    with app.app_context():
        admin = make_user(company=make_company())
        login(en_client, admin.email)
        response = post_form(en_client, "/developers/webhooks/new",
                             {"url": "https://169.254.169.254/latest/meta-data/", "events": ["intent.created"]})
        html = response.get_data(as_text=True)
        assert response.status_code == 200 and "private or reserved network" in html and "whsec_" not in html
        response = post_form(en_client, "/developers/webhooks/new",
                             {"url": "http://127.0.0.1:8080/hook", "events": ["intent.created"]})
        assert "must start with https://" in response.get_data(as_text=True)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookEndpoint)) == 0


def test_deliver_due_checks_the_address_again_before_sending(app, receiver):
    target = receiver()
    with app.app_context():
        admin = make_user(company=make_company())
        endpoint, _ = endpoint_for(admin, target.url)  # allowed while private addresses are
        queue_pings(endpoint, admin, 1)
        app.config["WEBHOOK_ALLOW_PRIVATE"] = False
        assert deliver_due() == 1
        [row] = deliveries()
        assert row.status is DeliveryStatus.PENDING and row.last_error.startswith("address refused")
        assert "https://" in row.last_error and target.received == []


def test_deliver_due_refuses_a_name_that_resolves_elsewhere_when_connecting(app, receiver, monkeypatch):
    target = receiver()
    with app.app_context():
        admin = make_user(company=make_company())
        endpoint, _ = endpoint_for(admin, f"https://localhost:{target.port}/hook")
        queue_pings(endpoint, admin, 1)
        app.config["WEBHOOK_ALLOW_PRIVATE"] = False
        # the check sees a public address; the connection then lands on 127.0.0.1 (DNS rebinding)
        monkeypatch.setattr(ssrf, "_resolve", lambda host, port: [PUBLIC_IP])
        assert deliver_due() == 1
        [row] = deliveries()
        assert row.last_error.startswith("address refused") and "127.0.0.1" in row.last_error
        assert target.received == []


# ----------------------------------------------------------------------------- who may do what


@pytest.fixture
def two_companies(app, receiver):
    """Company A (admin, member, an endpoint with a delivery) and company B (admin): ids and e-mails."""
    target = receiver()
    with app.app_context():
        company_a = make_company()
        admin_a = make_user(company=company_a)
        member_a = make_user(company=company_a, role=Role.MEMBER)
        admin_b = make_user(company=make_company())
        endpoint, _ = endpoint_for(admin_a, target.url)
        [delivery] = queue_pings(endpoint, admin_a, 1)
        deliver_due()
        values = {"admin_a": admin_a.email, "member_a": member_a.email, "admin_b": admin_b.email,
                  "endpoint": endpoint.id, "delivery": delivery.id, "secret": endpoint.secret, "url": endpoint.url}
        db.session.commit()
    return values


def test_another_companys_endpoint_and_delivery_are_404_on_every_page_and_post(app, client, two_companies):
    endpoint, delivery = two_companies["endpoint"], two_companies["delivery"]
    login(client, two_companies["admin_b"])
    token = csrf_token(client, "/developers/webhooks/new")
    for url in (f"/developers/webhooks/{endpoint}/edit", f"/developers/webhooks/{endpoint}/delete",
                f"/developers/webhooks/{endpoint}/secret", f"/developers/webhooks/{endpoint}/deliveries"):
        assert client.get(url).status_code == 404, url
    posts = {f"/developers/webhooks/{endpoint}/edit": {"url": "http://127.0.0.1:9/x", "events": ["intent.created"],
                                                       "active": "y"},
             f"/developers/webhooks/{endpoint}/delete": {},
             f"/developers/webhooks/{endpoint}/secret": {},
             f"/developers/webhooks/{endpoint}/test": {},
             f"/developers/webhooks/deliveries/{delivery}/redeliver": {}}
    for url, data in posts.items():
        assert client.post(url, data={"csrf_token": token, **data}).status_code == 404, url
    page = client.get("/developers/webhooks/").get_data(as_text=True)
    assert two_companies["url"] not in page
    with app.app_context():
        endpoint_row = db.session.get(WebhookEndpoint, endpoint)
        assert endpoint_row is not None and endpoint_row.secret == two_companies["secret"]
        assert len(deliveries(endpoint)) == 1


def test_a_member_who_is_not_an_administrator_gets_403(app, client, two_companies):
    endpoint = two_companies["endpoint"]
    login(client, two_companies["member_a"])
    for url in ("/developers/webhooks/", "/developers/webhooks/new", f"/developers/webhooks/{endpoint}/edit",
                f"/developers/webhooks/{endpoint}/deliveries", f"/developers/webhooks/{endpoint}/secret"):
        assert client.get(url).status_code == 403, url
    token = csrf_token(client, "/account/settings")
    assert client.post(f"/developers/webhooks/{endpoint}/delete", data={"csrf_token": token}).status_code == 403
    assert client.post(f"/developers/webhooks/deliveries/{two_companies['delivery']}/redeliver",
                       data={"csrf_token": token}).status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(app, client):
    response = client.get("/developers/webhooks/")
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]


def test_services_refuse_other_companies_and_members(app, two_companies):
    with app.app_context():
        from marketplace.accounts.models import User

        admin_b = db.session.scalar(sa.select(User).where(User.email == two_companies["admin_b"]))
        member_a = db.session.scalar(sa.select(User).where(User.email == two_companies["member_a"]))
        with pytest.raises(NotFound):
            services.roll_secret(admin_b, two_companies["endpoint"])
        with pytest.raises(NotFound):
            services.redeliver(admin_b, two_companies["delivery"])
        with pytest.raises(NotFound):
            services.list_deliveries(admin_b, two_companies["endpoint"])
        with pytest.raises(PermissionDenied):
            services.list_endpoints(member_a)


# ----------------------------------------------------------------------------- pages: edit, roll, delete, redeliver


def test_redeliver_queues_the_same_body_again_as_a_new_delivery(app, en_client, receiver):
    target = receiver()
    with app.app_context():
        admin = make_user(company=make_company())
        endpoint, target.secret = endpoint_for(admin, target.url)
        [original] = queue_pings(endpoint, admin, 1)
        deliver_due()
        login(en_client, admin.email)
        token = csrf_token(en_client, f"/developers/webhooks/{endpoint.id}/deliveries")
        response = en_client.post(f"/developers/webhooks/deliveries/{original.id}/redeliver",
                                  data={"csrf_token": token}, follow_redirects=True)
        assert response.status_code == 200 and "queued again" in response.get_data(as_text=True)
        first, copy = deliveries()
        assert copy.redelivery_of_id == first.id and copy.payload == first.payload
        assert copy.status is DeliveryStatus.PENDING and copy.uuid != first.uuid
        assert deliver_due() == 1
        one, two = target.received
        assert one["body"] == two["body"] and two["verified"]
        assert two["headers"]["Rongtong-Delivery"] == copy.uuid
        assert json.loads(two["body"])["id"] == first.uuid  # the event keeps its id: receivers see a repeat


def test_roll_secret_asks_first_then_shows_the_new_secret_once_and_signs_with_it(app, en_client, receiver):
    target = receiver()
    with app.app_context():
        admin = make_user(company=make_company())
        endpoint, old_secret = endpoint_for(admin, target.url)
        login(en_client, admin.email)
        ask = en_client.get(f"/developers/webhooks/{endpoint.id}/secret").get_data(as_text=True)
        assert "Roll the signing secret?" in ask and old_secret not in ask
        response = post_form(en_client, f"/developers/webhooks/{endpoint.id}/secret", {})
        new_secret = SECRET_RE.search(response.get_data(as_text=True)).group(1)
        assert new_secret != old_secret
        assert new_secret not in en_client.get("/developers/webhooks/").get_data(as_text=True)
        target.secret = old_secret
        queue_pings(endpoint, admin, 1)
        deliver_due()
        got = target.received[0]
        assert not got["verified"]
        assert verify(new_secret, got["headers"]["Rongtong-Signature"], got["body"])


def test_send_test_event_edit_and_delete_from_the_pages(app, en_client, receiver):
    target = receiver()
    with app.app_context():
        admin = make_user(company=make_company())
        endpoint, _ = endpoint_for(admin, target.url)
        login(en_client, admin.email)
        response = post_form(en_client, f"/developers/webhooks/{endpoint.id}/test", {},
                             form_url="/developers/webhooks/", follow_redirects=True)
        assert "A test event is queued" in response.get_data(as_text=True)
        [ping] = deliveries()
        assert ping.event == "ping" and json.loads(ping.payload)["data"]["endpoint_id"] == endpoint.id

        response = post_form(en_client, f"/developers/webhooks/{endpoint.id}/edit",
                             {"url": target.url + "/v2", "events": ["quote.created", "match.created"],
                              "description": "SRM"}, follow_redirects=True)
        assert "The webhook endpoint is saved." in response.get_data(as_text=True)
        changed = db.session.get(WebhookEndpoint, endpoint.id, populate_existing=True)
        assert changed.events == ["quote.created", "match.created"] and changed.url.endswith("/v2")
        assert not changed.active and changed.disabled_reason == "manual"  # the box was left unticked
        listing = en_client.get("/developers/webhooks/").get_data(as_text=True)
        assert "Disabled by an administrator." in listing

        confirm = en_client.get(f"/developers/webhooks/{endpoint.id}/delete").get_data(as_text=True)
        assert "Delete the webhook endpoint?" in confirm
        response = post_form(en_client, f"/developers/webhooks/{endpoint.id}/delete", {}, follow_redirects=True)
        assert "The webhook endpoint is deleted." in response.get_data(as_text=True)
        assert db.session.get(WebhookEndpoint, endpoint.id) is None and deliveries() == []


def test_the_form_refuses_no_events_unknown_events_long_urls_and_more_than_ten(app, en_client):
    with app.app_context():
        admin = make_user(company=make_company())
        login(en_client, admin.email)
        html = post_form(en_client, "/developers/webhooks/new",
                         {"url": "http://127.0.0.1:9/hook", "events": []}).get_data(as_text=True)
        assert "Choose at least one event." in html
        html = post_form(en_client, "/developers/webhooks/new",
                         {"url": "http://127.0.0.1:9/hook", "events": ["order.paid"]}).get_data(as_text=True)
        assert "Unknown event: order.paid." in html
        html = post_form(en_client, "/developers/webhooks/new",
                         {"url": "http://127.0.0.1:9/" + "x" * 500, "events": ["quote.created"]}
                         ).get_data(as_text=True)
        assert "at most 500 characters" in html
        for number in range(services.MAX_ENDPOINTS):
            endpoint_for(admin, f"http://127.0.0.1:9/{number}")
        with pytest.raises(ValidationFailed) as refused:
            endpoint_for(admin, "http://127.0.0.1:9/eleven")
        assert "at most 10 webhook endpoints" in english(refused.value)
        assert "Add an endpoint" not in en_client.get("/developers/webhooks/").get_data(as_text=True)


# ----------------------------------------------------------------------------- the other events


def test_quotes_and_closing_or_expiry_of_a_request_reach_the_buyer(app):
    with app.app_context():
        world = make_world()
        endpoint, _ = endpoint_for(world.buyer_user, "http://127.0.0.1:9/hook",
                                   events=["quote.created", "quote.revised", "request.closed"])
        exporter_endpoint, _ = endpoint_for(world.exporter_user, "http://127.0.0.1:9/ex", events=list(EVENTS))
        request = post_request(world)
        offer = quote(world.exporter_user, request)
        sourcing.revise_quote(world.exporter_user, offer.id, quote_input(unit_price_fen=8500), offer.version)
        sourcing.close_request(world.buyer_user, request.id, None)
        expiring = post_request(world)
        db.session.execute(sa.update(ProcurementRequest).where(ProcurementRequest.id == expiring.id)
                           .values(deadline=expiring.deadline - timedelta(days=30)))
        db.session.commit()
        assert sourcing.expire_requests() == 1
        rows = [(d.event, json.loads(d.payload)["data"]) for d in deliveries(endpoint.id)]
        assert [event for event, _data in rows] == ["quote.created", "quote.revised", "request.closed",
                                                    "request.closed"]
        assert rows[0][1]["quote_id"] == offer.id and rows[0][1]["request_id"] == request.id
        assert rows[2][1] == {"request_id": request.id, "from_state": "open", "to_state": "closed",
                              "reason": "closed"}
        assert rows[3][1]["to_state"] == "expired" and rows[3][1]["request_id"] == expiring.id
        assert deliveries(exporter_endpoint.id) == []  # the buyer's events, not the exporter's


def test_a_finished_import_reaches_the_importing_company(app, en_client):
    from tests.test_sourcing_import import commit, csv_bytes, job_id_of, row, upload

    with app.app_context():
        company = make_company(kind=CompanyKind.CHAIN_LEADER)
        admin = make_user(company=company)
        endpoint, _ = endpoint_for(admin, "http://127.0.0.1:9/hook", events=["import.finished"])
        login(en_client, admin.email)
        job_id = job_id_of(upload(en_client, csv_bytes([row(), row("电热水壶")])))
        assert deliveries() == []
        commit(en_client, job_id, follow_redirects=True)
        [delivery] = deliveries(endpoint.id)
        data = json.loads(delivery.payload)["data"]
        assert (delivery.event, data["job_id"], data["kind"], data["status"], data["created"]) == (
            "import.finished", job_id, "requests", "done", 2)


def test_new_matches_reach_the_buyer_and_the_exporter(app):
    from marketplace.matching.models import Match
    from marketplace.matching.notify import notify_new_matches
    from tests.test_matching import _post

    with app.app_context():
        buyer = make_company(kind=CompanyKind.CHAIN_LEADER, province_code="330000", city_code="330200")
        buyer_user = make_user(company=buyer)
        exporter = make_company(kind=CompanyKind.EXPORTER, province_code="330000", city_code="330200")
        exporter_user = make_user(company=exporter)
        from tests.factories import make_product

        make_product(company=exporter, actor=exporter_user, title_zh="不锈钢保温杯 500ml 食品级", moq=500,
                     category="small_appliances")
        buyer_endpoint, _ = endpoint_for(buyer_user, "http://127.0.0.1:9/b", events=["match.created"])
        exporter_endpoint, _ = endpoint_for(exporter_user, "http://127.0.0.1:9/e", events=["match.created"])
        request = _post(buyer_user)
        matches = db.session.scalars(sa.select(Match).where(Match.request_id == request.id,
                                                            Match.score_x10 >= 500)).all()
        assert matches
        notify_new_matches()
        for endpoint in (buyer_endpoint, exporter_endpoint):
            rows = [json.loads(d.payload)["data"] for d in deliveries(endpoint.id)]
            assert {(r["request_id"], r["product_id"]) for r in rows} == {(m.request_id, m.product_id)
                                                                        for m in matches}
            assert all(r["score"] >= 50 for r in rows)
        notify_new_matches()  # told once
        assert len(deliveries()) == 2 * len(matches)


# ----------------------------------------------------------------------------- signatures and the job


def test_sign_and_verify_agree_and_refuse_tampering_and_old_timestamps():
    body = b'{"id":"x"}'
    now = int(time.time())
    header = sign("whsec_abc", now, body)
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", header)
    assert verify("whsec_abc", header, body)
    assert not verify("whsec_abc", header, body + b" ")
    assert not verify("whsec_other", header, body)
    assert not verify("whsec_abc", sign("whsec_abc", now - 301, body), body)
    assert not verify("whsec_abc", "garbage", body) and not verify("whsec_abc", None, body)


def test_register_jobs_adds_the_every_minute_delivery_job():
    from marketplace.jobs import get_job

    register_jobs()
    job = get_job("webhook-deliveries")
    assert job.cron == "* * * * *" and job.function is deliver_due


def test_production_defaults_refuse_private_addresses(monkeypatch):
    from marketplace.config import load_config

    monkeypatch.setenv("RONGTONG_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("PUBLIC_URL", "https://rongtong.example.cn")
    monkeypatch.delenv("WEBHOOK_ALLOW_PRIVATE", raising=False)
    monkeypatch.delenv("WEBHOOK_TIMEOUT", raising=False)
    config = load_config({})
    assert config["WEBHOOK_ALLOW_PRIVATE"] is False
    assert config["WEBHOOK_TIMEOUT"] == (3.0, 5.0) and config["WEBHOOK_DISABLE_AFTER"] == 20
    assert load_config({"TESTING": True})["WEBHOOK_ALLOW_PRIVATE"] is True
