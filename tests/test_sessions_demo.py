"""Demo matchmaking sessions: two finished ones whose figures are real (check-ins, meetings, demand lines,
intents in every state, follow-up answers) and one open for registration, full with a waiting list."""
from __future__ import annotations

import sqlalchemy as sa

from marketplace.deals.models import OrderIntent
from marketplace.deals.states import IntentState
from marketplace.extensions import db
from marketplace.matching.models import ArchivedMatch
from marketplace.sessions.models import (
    IntentFollowUp,
    MatchmakingSession,
    Meeting,
    RegistrationStatus,
    SessionStatus,
)
from marketplace.sourcing.models import ProcurementRequest

LOAD = ["demo", "load", "--companies", "16", "--products", "120"]


def test_demo_sessions_have_figures_to_report(app, runner):
    result = runner.invoke(args=LOAD)
    assert result.exit_code == 0, result.output
    with app.app_context():
        sessions = db.session.scalars(sa.select(MatchmakingSession).order_by(MatchmakingSession.id)).all()
        assert [s.status for s in sessions].count(SessionStatus.FINISHED) == 2
        assert [s.status for s in sessions].count(SessionStatus.REGISTRATION) == 1
        finished = [s for s in sessions if s.status is SessionStatus.FINISHED]
        intents = db.session.scalars(sa.select(OrderIntent).where(OrderIntent.session_id.is_not(None))).all()
        # together the finished sessions' intents pass through every state
        assert {i.state for i in intents} == set(IntentState)
        assert {i.session_id for i in intents} == {s.id for s in finished}
        for session in finished:
            assert session.ends_at > session.starts_at
            attended = [r for r in session.registrations if r.checked_in_at is not None]
            assert attended and all(r.status is RegistrationStatus.APPROVED for r in attended)
            assert any(r.status is RegistrationStatus.REFUSED and r.refusal_reason for r in session.registrations)
            meetings = db.session.scalars(sa.select(Meeting).where(Meeting.session_id == session.id)).all()
            assert meetings and all(session.starts_at <= m.slot_start < session.ends_at for m in meetings)
            lines = db.session.scalars(sa.select(ProcurementRequest)
                                       .where(ProcurementRequest.session_id == session.id)).all()
            assert lines and all(line.created_at < session.starts_at for line in lines)
        # what the finished sessions' closed lines matched is kept for their reports
        lines = db.session.scalars(sa.select(ProcurementRequest.id).where(
            ProcurementRequest.session_id.in_([s.id for s in finished]))).all()
        kept = db.session.scalars(sa.select(ArchivedMatch).where(ArchivedMatch.request_id.in_(lines))).all()
        assert kept and all(db.session.get(ProcurementRequest, k.request_id).state.value == "closed" for k in kept)
        answered = db.session.scalars(sa.select(IntentFollowUp).where(IntentFollowUp.answered_at.is_not(None))).all()
        assert answered and {a.stage for a in answered} <= {30, 90}
        assert all(a.reason is not None for a in answered if a.outcome.value == "dropped")
        upcoming = next(s for s in sessions if s.status is SessionStatus.REGISTRATION)
        holding = [r for r in upcoming.registrations if r.status.holds_place]
        assert len(holding) == upcoming.capacity
        assert any(r.status is RegistrationStatus.WAITLISTED for r in upcoming.registrations)
