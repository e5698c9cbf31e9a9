"""Order intents from a session carry it (only when both companies take part; an award too), and the follow-ups
at 30 and 90 days: date-exact, idempotent, both companies asked and notified, answers checked, others' hidden."""
from __future__ import annotations

import re
import secrets
from datetime import datetime, time, timedelta

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import CompanyKind
from marketplace.catalog.models import Product
from marketplace.deals import services as deals
from marketplace.deals.models import OrderIntent
from marketplace.deals.states import IntentState
from marketplace.errors import NotFound, ValidationFailed
from marketplace.extensions import db
from marketplace.i18n import CHINA, today_in_china
from marketplace.jobs import get_job
from marketplace.matching.models import Match
from marketplace.notifications.models import Notification
from marketplace.sessions import followups
from marketplace.sessions.models import (
    DropReason,
    FollowUpOutcome,
    IntentFollowUp,
    MatchmakingSession,
    ParticipantRole,
)
from marketplace.sourcing import services as sourcing
from marketplace.sourcing.services import QuoteInput
from tests.conftest import login, post_form
from tests.factories import make_company, make_product
from tests.test_sessions_board import (
    Ids,
    add_host,
    make_organizer,
    make_session,
    person,
    post_request,
    register,
)


def session_world() -> Ids:
    """A session with a host buyer, an approved exporter A (a product) and an exporter N that is not registered."""
    ids = Ids()
    organizer = make_organizer()
    session = make_session(organizer.company)
    ids["session"] = session.id
    person(ids, "host", make_company(kind=CompanyKind.CHAIN_LEADER, name_zh="链主电器集团"))
    add_host(session, ids.company("host"))
    for name in ("a", "n"):
        person(ids, name, make_company(kind=CompanyKind.EXPORTER, name_zh=f"出口企业{name.upper()}"))
        ids[name + "_product"] = make_product(company=ids.company(name), actor=ids.user(name),
                                              title_zh="智能电饭煲4L 家用").id
    register(session, ids.company("a"), ParticipantRole.EXPORTER)
    return ids


def start(ids: Ids, product: str, session_id: int | None) -> OrderIntent:
    terms = deals.Terms(quantity=500, unit_price_fen=8800, valid_until=today_in_china() + timedelta(days=14))
    intent, _created = deals.record_order_intent(ids.user("host"), ids[product + "_product"], terms,
                                                 secrets.token_urlsafe(24), session_id=session_id)
    return intent


# ----------------------------------------------------------------------------- intents carry the session


def test_intents_from_a_session_carry_it_only_for_participants_and_awards_too(app):
    with app.app_context():
        ids = session_world()
        assert start(ids, "a", ids["session"]).session_id == ids["session"]
        assert start(ids, "n", ids["session"]).session_id is None  # N takes no part: no session
        assert start(ids, "a", None).session_id is None

        session = db.session.get(MatchmakingSession, ids["session"])
        request = post_request(ids.user("host"), session, title="采购智能电饭煲 4L")
        plain = post_request(ids.user("host"), None, title="采购智能电饭煲 5L")
        awarded = []
        for req in (request, plain):
            quote, _created = sourcing.submit_quote(ids.user("a"), req.id, QuoteInput(
                unit_price_fen=8800, quantity=1000, moq=100, lead_time_days=20,
                valid_until=today_in_china() + timedelta(days=30), product_id=ids["a_product"]),
                secrets.token_urlsafe(24))
            awarded.append(sourcing.award_quote(ids.user("host"), quote.id, quote.version))
        assert [i.session_id for i in awarded] == [ids["session"], None]


def test_intent_page_from_the_board_presets_the_session(app, en_client):
    with app.app_context():
        ids = session_world()
        session = db.session.get(MatchmakingSession, ids["session"])
        request = post_request(ids.user("host"), session)
        assert db.session.scalar(sa.select(Match.id).where(Match.request_id == request.id,
                                                           Match.product_id == ids["a_product"])) is not None
    login(en_client, ids["host_email"])
    url = f"/sessions/{ids['session']}/board/intent?request={request.id}&product={ids['a_product']}"
    page = en_client.get(url)
    assert page.status_code == 200 and "recorded as made at" in page.get_data(as_text=True)
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    sent = post_form(en_client, url, {"quantity": "1000", "unit_price": "88.00", "token": token,
                                      "valid_until": (today_in_china() + timedelta(days=14)).isoformat(),
                                      "submit_action": "send"})
    assert sent.status_code == 302 and "/deals/" in sent.headers["Location"]
    with app.app_context():
        intent = db.session.scalar(sa.select(OrderIntent).order_by(OrderIntent.id.desc()))
        assert (intent.session_id, intent.product_id, intent.quantity) == (ids["session"], ids["a_product"], 1000)
    exporter = app.test_client()
    login(exporter, ids["a_email"])
    assert exporter.get(url).status_code == 404  # the exporter does not send order intents


# ----------------------------------------------------------------------------- the follow-up job


def made_days_ago(ids: Ids, days: int, state: IntentState = IntentState.SUBMITTED, at: time = time(0, 5)) -> int:
    """An intent of the session made ``days`` days ago (Asia/Shanghai) at ``at``."""
    product = db.session.get(Product, ids["a_product"])
    made = datetime.combine(today_in_china() - timedelta(days=days), at, tzinfo=CHINA)
    intent = OrderIntent(buyer_company_id=ids["host"], exporter_company_id=ids["a"], product_id=product.id,
                         session_id=ids["session"], product_title=product.title_zh, unit="台", quantity=10,
                         unit_price_fen=100, amount_fen=1000, valid_until=today_in_china(), state=state,
                         idempotency_key=secrets.token_urlsafe(24), created_at=made, updated_at=made)
    db.session.add(intent)
    db.session.commit()
    return intent.id


def asked() -> set[tuple[int, int, int]]:
    return set(db.session.execute(sa.select(IntentFollowUp.intent_id, IntentFollowUp.stage,
                                            IntentFollowUp.company_id)).tuples())


def test_follow_up_job_is_date_exact_idempotent_and_tells_both(app):
    with app.app_context():
        ids = session_world()
        day29 = made_days_ago(ids, 29, at=time(0, 5))
        day30 = made_days_ago(ids, 30, at=time(23, 55))  # late in the day, China time (15:55 UTC)
        closed = made_days_ago(ids, 30, state=IntentState.DECLINED)
        draft = made_days_ago(ids, 30, state=IntentState.DRAFT)
        day90 = made_days_ago(ids, 90, state=IntentState.SIGNED)
        day60 = made_days_ago(ids, 60)
        before = db.session.scalar(sa.select(sa.func.count()).select_from(Notification))

        assert followups.ask_due_follow_ups() == 4
        assert asked() == {(day30, 30, ids["host"]), (day30, 30, ids["a"]), (day90, 90, ids["host"]),
                           (day90, 90, ids["a"])}
        assert not {day29, closed, draft, day60} & {intent for intent, _s, _c in asked()}
        due = db.session.scalar(sa.select(IntentFollowUp.due_on).where(IntentFollowUp.intent_id == day30).limit(1))
        assert due == today_in_china()
        notes = db.session.scalars(sa.select(Notification).where(Notification.id > before)).all()
        assert {n.user_id for n in notes} == {ids["host_user"], ids["a_user"]} and len(notes) == 4
        assert all(n.link == "/sessions/follow-ups" for n in notes)

        assert get_job("session-follow-ups").function() == 0  # the registered daily job: again, nothing more
        assert len(asked()) == 4
        # the next day the 29-day-old intent is 30 days old: its two questions
        assert followups.ask_due_follow_ups(today_in_china() + timedelta(days=1)) == 2
        assert {(i, s) for i, s, _c in asked()} >= {(day29, 30)}


# ----------------------------------------------------------------------------- answers


def test_answers_are_checked_and_only_the_asked_company_answers(app):
    with app.app_context():
        ids = session_world()
        made_days_ago(ids, 30)
        followups.ask_due_follow_ups()
        mine = db.session.scalar(sa.select(IntentFollowUp.id).where(IntentFollowUp.company_id == ids["a"]))
        theirs = db.session.scalar(sa.select(IntentFollowUp.id).where(IntentFollowUp.company_id == ids["host"]))
        exporter = ids.user("a")
        bad = [
            ((None, None, None), "outcome"),
            ((FollowUpOutcome.DROPPED, None, None), "reason"),
            ((FollowUpOutcome.DROPPED, DropReason.OTHER, "   "), "reason_text"),
            ((FollowUpOutcome.DROPPED, DropReason.OTHER, "x" * 501), "reason_text"),
        ]
        for (outcome, reason, text), field in bad:
            with pytest.raises(ValidationFailed) as refused:
                followups.answer_follow_up(exporter, mine, outcome, reason, text)
            assert refused.value.field == field
        assert db.session.get(IntentFollowUp, mine).answered_at is None
        with pytest.raises(NotFound):
            followups.answer_follow_up(exporter, theirs, FollowUpOutcome.SIGNED)
        done = followups.answer_follow_up(exporter, mine, FollowUpOutcome.DROPPED, DropReason.OTHER, " 样品未通过 ")
        assert (done.outcome, done.reason, done.reason_text, done.answered_by_id) == (
            FollowUpOutcome.DROPPED, DropReason.OTHER, "样品未通过", exporter.id)
        with pytest.raises(ValidationFailed, match="已答复"):
            followups.answer_follow_up(exporter, mine, FollowUpOutcome.SIGNED)
        # a reason given with another outcome is not kept
        host_answer = followups.answer_follow_up(ids.user("host"), theirs, FollowUpOutcome.IN_PROGRESS,
                                                 DropReason.PRICE, "ignored")
        assert (host_answer.reason, host_answer.reason_text) == (None, None)


def test_follow_up_pages(app, en_client):
    with app.app_context():
        ids = session_world()
        made_days_ago(ids, 30)
        followups.ask_due_follow_ups()
        mine = db.session.scalar(sa.select(IntentFollowUp.id).where(IntentFollowUp.company_id == ids["a"]))
        theirs = db.session.scalar(sa.select(IntentFollowUp.id).where(IntentFollowUp.company_id == ids["host"]))
    login(en_client, ids["a_email"])
    # a company finds its follow-ups from its sessions pages, not only from the notification
    assert 'href="/sessions/follow-ups"' in en_client.get("/sessions/mine").get_data(as_text=True)
    listing = en_client.get("/sessions/follow-ups").get_data(as_text=True)
    assert listing.count('data-testid="pending-follow-up"') == 1 and "30 days" in listing
    assert en_client.get(f"/sessions/follow-ups/{theirs}").status_code == 404
    url = f"/sessions/follow-ups/{mine}"
    refused = post_form(en_client, url, {"outcome": "dropped", "reason": ""})
    assert refused.status_code == 422 and "Choose why it was dropped." in refused.get_data(as_text=True)
    answered = post_form(en_client, url, {"outcome": "dropped", "reason": "price"})
    assert answered.status_code == 302
    listing = en_client.get("/sessions/follow-ups").get_data(as_text=True)
    assert 'data-testid="pending-follow-up"' not in listing and "Dropped: Price" in listing
    with app.app_context():
        found = db.session.get(IntentFollowUp, mine)
        assert (found.outcome, found.reason) == (FollowUpOutcome.DROPPED, DropReason.PRICE)
