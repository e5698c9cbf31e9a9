"""Follow-up of the intents made at a session: at 30 and 90 days each of its two companies is asked for an
outcome (signed, in progress, dropped with a reason).

Owns: the daily job that asks (``ask_due_follow_ups``), a company's list of follow-ups and its answer.

- **When.** An order intent with a ``session_id``, still open (neither closed nor a draft only its buyer has
  seen), made on day D (Asia/Shanghai) is asked about on D+30 and D+90: one ``IntentFollowUp`` per company
  (buyer, exporter), each notified. A day the job did not run is caught up on the next runs, for up to
  ``CATCH_UP_DAYS`` days after the due day (then the question is stale and left out).
- **Idempotent.** The unique constraint (intent, stage, company) holds one row per question; a run that
  finds it asked writes nothing, and two runs at once lose nothing (each insert in its own savepoint).
- **Answers.** Only the asked company answers, once (another company's follow-up is a 404); "dropped" needs
  a reason from the list, and "other" needs a few words.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from marketplace.accounts.models import User
from marketplace.database import utcnow
from marketplace.deals.models import OrderIntent
from marketplace.deals.states import CLOSED_STATES, IntentState
from marketplace.errors import NotFound, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.i18n import CHINA, _l, today_in_china
from marketplace.imports.cells import clean_text
from marketplace.notifications.services import notify_company
from marketplace.sessions.models import DropReason, FollowUpOutcome, IntentFollowUp, MatchmakingSession

logger = logging.getLogger(__name__)

#: days after the intent was made
STAGES = (30, 90)
#: a question not asked on its day (the job did not run) is still asked this many days later, not after
CATCH_UP_DAYS = 7
MAX_REASON_TEXT = 500
NOTIFY_KIND = "session_follow_up"
#: the intents still worth asking about: not closed, and not a draft (the exporter never saw it)
ASKED_STATES = frozenset(set(IntentState) - CLOSED_STATES - {IntentState.DRAFT})


def register_jobs() -> None:
    """The periodic job that asks for due follow-ups (idempotent)."""
    from marketplace.jobs import register_periodic

    register_periodic("session-follow-ups", {"minute": "20", "hour": "9"}, ask_due_follow_ups)


# ----------------------------------------------------------------------------- asking


def _start_of_day(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=CHINA)


def _due(intent: OrderIntent, stage: int) -> date:
    return intent.created_at.astimezone(CHINA).date() + timedelta(days=stage)


def _ask(intent: OrderIntent, stage: int, company_id: int, due_on: date, session_title: str | None) -> bool:
    """Insert one question (its own savepoint) and notify the company; False when it was asked already."""
    try:
        with db.session.begin_nested():
            db.session.add(IntentFollowUp(intent_id=intent.id, session_id=intent.session_id, stage=stage,
                                          company_id=company_id, due_on=due_on, asked_at=utcnow()))
    except IntegrityError:  # another run asked it first
        return False
    notify_company(
        company_id, NOTIFY_KIND,
        _l("Order intent #%(id)s from “%(session)s”: how did it go?", id=intent.id, session=session_title or ""),
        _l("It is %(days)s days since order intent #%(id)s (%(product)s) was made at the matchmaking session. "
           "Tell us what came of it: a contract signed, still in progress, or dropped.", days=stage, id=intent.id,
           product=intent.product_title),
        link="/sessions/follow-ups")
    return True


def ask_due_follow_ups(today: date | None = None) -> int:
    """Ask both companies of every open session intent made 30 or 90 days ago (Asia/Shanghai) what came of it."""
    today = today or today_in_china()
    asked = 0
    for stage in STAGES:
        newest = today - timedelta(days=stage)  # made on this day: due today
        oldest = newest - timedelta(days=CATCH_UP_DAYS)
        intents = db.session.scalars(
            sa.select(OrderIntent).where(
                OrderIntent.session_id.is_not(None), OrderIntent.state.in_(ASKED_STATES),
                OrderIntent.created_at >= _start_of_day(oldest),
                OrderIntent.created_at < _start_of_day(newest + timedelta(days=1)))
            .order_by(OrderIntent.id)).all()
        if not intents:
            continue
        known = set(db.session.execute(
            sa.select(IntentFollowUp.intent_id, IntentFollowUp.company_id).where(
                IntentFollowUp.stage == stage, IntentFollowUp.intent_id.in_([i.id for i in intents]))).tuples())
        titles = dict(db.session.execute(
            sa.select(MatchmakingSession.id, MatchmakingSession.title)
            .where(MatchmakingSession.id.in_({i.session_id for i in intents}))).tuples().all())
        for intent in intents:
            for company_id in (intent.buyer_company_id, intent.exporter_company_id):
                if (intent.id, company_id) not in known and _ask(intent, stage, company_id, _due(intent, stage),
                                                                 titles.get(intent.session_id)):
                    asked += 1
    db.session.commit()
    if asked:
        logger.info("session follow-ups: %s asked", asked)
        from marketplace.deals.services import _deliver

        _deliver()
    return asked


# ----------------------------------------------------------------------------- reading and answering


def _company_id(actor: User) -> int:
    if not getattr(actor, "is_authenticated", False):
        raise PermissionDenied(_l("Please log in."))
    return actor.company_id


@dataclass
class FollowUpLists:
    pending: list[IntentFollowUp]
    answered: list[IntentFollowUp]
    intents: dict
    sessions: dict


def list_follow_ups(actor: User, answered_limit: int = 20) -> FollowUpLists:
    """The actor's company's follow-ups: every pending one (oldest due first) and the latest answered."""
    company_id = _company_id(actor)
    base = sa.select(IntentFollowUp).where(IntentFollowUp.company_id == company_id)
    pending = db.session.scalars(base.where(IntentFollowUp.answered_at.is_(None))
                                 .order_by(IntentFollowUp.due_on, IntentFollowUp.id)).all()
    answered = db.session.scalars(base.where(IntentFollowUp.answered_at.is_not(None))
                                  .order_by(IntentFollowUp.answered_at.desc(), IntentFollowUp.id.desc())
                                  .limit(answered_limit)).all()
    everything = [*pending, *answered]
    intents = {i.id: i for i in db.session.scalars(
        sa.select(OrderIntent).where(OrderIntent.id.in_({f.intent_id for f in everything}))
        .options(selectinload(OrderIntent.buyer_company), selectinload(OrderIntent.exporter_company)))}
    sessions = dict(db.session.execute(
        sa.select(MatchmakingSession.id, MatchmakingSession.title)
        .where(MatchmakingSession.id.in_({f.session_id for f in everything if f.session_id}))).tuples().all())
    return FollowUpLists(list(pending), list(answered), intents, sessions)


def get_follow_up(actor: User, follow_up_id: int) -> IntentFollowUp:
    """One of the actor's company's follow-ups; NotFound for anyone else's."""
    company_id = _company_id(actor)
    found = db.session.get(IntentFollowUp, follow_up_id, populate_existing=True)
    if found is None or found.company_id != company_id:
        raise NotFound(_l("This follow-up does not exist."))
    return found


def answer_follow_up(actor: User, follow_up_id: int, outcome: FollowUpOutcome | None,
                     reason: DropReason | None = None, reason_text: str | None = None) -> IntentFollowUp:
    """Record the company's answer: signed, in progress, or dropped (with a reason; "other" with words)."""
    follow_up = get_follow_up(actor, follow_up_id)
    if follow_up.answered_at is not None:
        raise ValidationFailed(_l("This follow-up has been answered already."))
    if not isinstance(outcome, FollowUpOutcome):
        raise ValidationFailed(_l("Choose what came of the order intent."), "outcome")
    text = clean_text(reason_text or "", True)
    if outcome is FollowUpOutcome.DROPPED:
        if not isinstance(reason, DropReason):
            raise ValidationFailed(_l("Choose why it was dropped."), "reason")
        if reason is DropReason.OTHER and not text:
            raise ValidationFailed(_l("Say in a few words why it was dropped."), "reason_text")
        if len(text) > MAX_REASON_TEXT:
            raise ValidationFailed(_l("At most %(limit)s characters.", limit=MAX_REASON_TEXT), "reason_text")
    else:
        reason, text = None, ""
    result = db.session.execute(
        sa.update(IntentFollowUp).where(IntentFollowUp.id == follow_up.id, IntentFollowUp.answered_at.is_(None))
        .values(outcome=outcome, reason=reason, reason_text=text or None, answered_at=utcnow(),
                answered_by_id=actor.id)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:  # a colleague answered at the same moment
        db.session.rollback()
        raise ValidationFailed(_l("This follow-up has been answered already."))
    db.session.commit()
    db.session.refresh(follow_up)
    return follow_up
