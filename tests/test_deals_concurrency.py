"""Twenty people acting on one intent at once: one wins each round, the others get a Conflict.

Each thread has its own app context (so its own session and connection). Every round all
20 actors submit an action allowed for their side from the state they all saw, carrying the
version they saw; the round must produce exactly one transition. The figures are printed
(``pytest -s``) for the report.
"""
from __future__ import annotations

import threading
from collections import Counter

import sqlalchemy as sa

from marketplace.accounts.models import User
from marketplace.deals import services
from marketplace.deals.models import OrderIntent, OrderIntentEvent
from marketplace.deals.states import Action, IntentState, Party, allowed_actions
from marketplace.errors import Conflict, ValidationFailed
from marketplace.extensions import db
from tests.factories import make_user
from tests.test_deals_services import make_parties, start, terms

ACTORS_PER_SIDE = 10


def _act(app, user_id: int, intent_id: int, action: Action, version: int, index: int, barrier, outcomes, lock):
    with app.app_context():
        counter_terms = terms(quantity=1000 + index, price=5000 + index) if action is Action.COUNTER else None
        note = f"reason {index}" if action is Action.DECLINE else None
        # wait outside any transaction: on SQLite a thread holding BEGIN IMMEDIATE at the barrier blocks the rest
        barrier.wait()
        try:
            user = db.session.get(User, user_id)
            services.advance_order_intent(user, intent_id, action, version, terms=counter_terms, note=note)
            outcome = "won"
        except Conflict:
            outcome = "conflict"
        except ValidationFailed as error:  # e.g. a second signature by the same side
            outcome = f"refused: {error}"
        except Exception as error:  # anything else is a failure of the test
            outcome = f"error: {type(error).__name__}: {error}"
        finally:
            db.session.remove()
        with lock:
            outcomes.append((user_id, action, outcome))


def _round_actions(state: IntentState, party: Party, index: int, signed: set[Party]) -> Action | None:
    """A forward-moving action for this side, varied by actor; None when the side has none (it sits out)."""
    choices = [a for a in allowed_actions(state, party) if a not in (Action.WITHDRAW, Action.DECLINE)]
    if party in signed:  # this side has signed already; it waits for the other
        choices = [a for a in choices if a is not Action.SIGN]
    return choices[index % len(choices)] if choices else None


def test_twenty_actors_one_transition_per_round(app, db_backend):
    with app.app_context():
        parties = make_parties()
        buyers = [parties.buyer_user] + [make_user(company=parties.buyer) for _ in range(ACTORS_PER_SIDE - 1)]
        exporters = [parties.exporter_user] + [make_user(company=parties.exporter)
                                               for _ in range(ACTORS_PER_SIDE - 1)]
        intent_id = start(parties).id
        actors = [(u.id, Party.BUYER) for u in buyers] + [(u.id, Party.EXPORTER) for u in exporters]
        db.session.remove()

    figures = []
    # who wins each round is random (a counter sends the intent back), so allow plenty of rounds
    for _round in range(40):
        with app.app_context():
            intent = db.session.get(OrderIntent, intent_id)
            state, version = intent.state, intent.version
            signed = {party for party, at in ((Party.BUYER, intent.buyer_signed_at),
                                              (Party.EXPORTER, intent.exporter_signed_at)) if at}
            db.session.remove()
        if state.is_closed:
            break
        plan = [(uid, _round_actions(state, party, i, signed), i) for i, (uid, party) in enumerate(actors)]
        plan = [(uid, action, i) for uid, action, i in plan if action is not None]
        barrier = threading.Barrier(len(plan))
        outcomes, lock = [], threading.Lock()
        threads = [threading.Thread(target=_act, args=(app, uid, intent_id, action, version, i, barrier, outcomes,
                                                       lock)) for uid, action, i in plan]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        results = Counter(outcome for _uid, _action, outcome in outcomes)
        errors = [o for o in outcomes if o[2].startswith(("error", "refused"))]
        assert not errors, errors
        assert len(outcomes) == len(plan)
        assert results["won"] == 1, (state, results)
        assert results["conflict"] == len(plan) - 1
        with app.app_context():
            after = db.session.get(OrderIntent, intent_id)
            assert after.version == version + 1
            winner = next(action for _uid, action, outcome in outcomes if outcome == "won")
            figures.append((state.value, len(plan), results["won"], results["conflict"], winner.value,
                            after.state.value))
            db.session.remove()

    with app.app_context():
        intent = db.session.get(OrderIntent, intent_id)
        events = list(db.session.scalars(sa.select(OrderIntentEvent).where(OrderIntentEvent.intent_id == intent_id)
                                         .order_by(OrderIntentEvent.id)))
        # complete and consistent: one event per version, a chain of states ending at the intent's own
        assert [e.version for e in events] == list(range(1, intent.version + 1))
        assert len(events) == 1 + len(figures)
        for previous, event in zip(events, events[1:], strict=False):
            assert event.from_state is previous.to_state
            assert event.terms_before == previous.terms_after
        assert events[-1].to_state is intent.state
        assert events[-1].terms_after == intent.terms()
        assert intent.amount_fen == intent.quantity * intent.unit_price_fen
        assert intent.state.is_closed, f"no terminal state after {len(figures)} rounds: {intent.state}"
        attempts = sum(f[1] for f in figures)
        print(f"\n[{db_backend}] actors={len(actors)} rounds={len(figures)} attempts={attempts} "
              f"successes={sum(f[2] for f in figures)} conflicts={sum(f[3] for f in figures)} events={len(events)}")
        for state, tried, won, lost, winner, now in figures:
            print(f"  {state:>10}: {tried} tried, {won} won ({winner} → {now}), {lost} conflicts")


def test_twenty_actors_racing_to_close_a_submitted_intent(app, db_backend):
    """Exporters accept, counter or decline while buyers withdraw, all at once: exactly one of the 20 lands."""
    with app.app_context():
        parties = make_parties()
        buyers = [parties.buyer_user] + [make_user(company=parties.buyer) for _ in range(ACTORS_PER_SIDE - 1)]
        exporters = [parties.exporter_user] + [make_user(company=parties.exporter)
                                               for _ in range(ACTORS_PER_SIDE - 1)]
        intent_id = start(parties).id
        exporter_moves = (Action.ACCEPT, Action.COUNTER, Action.DECLINE)
        plan = [(u.id, Action.WITHDRAW, i) for i, u in enumerate(buyers)] + [
            (u.id, exporter_moves[i % 3], 100 + i) for i, u in enumerate(exporters)]
        db.session.remove()
    barrier = threading.Barrier(len(plan))
    outcomes, lock = [], threading.Lock()
    threads = [threading.Thread(target=_act, args=(app, uid, intent_id, action, 1, i, barrier, outcomes, lock))
               for uid, action, i in plan]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    results = Counter(outcome for _uid, _action, outcome in outcomes)
    assert len(outcomes) == 20
    assert results == Counter({"won": 1, "conflict": 19}), results
    winner = next(action for _uid, action, outcome in outcomes if outcome == "won")
    with app.app_context():
        intent = db.session.get(OrderIntent, intent_id)
        events = list(db.session.scalars(sa.select(OrderIntentEvent).where(OrderIntentEvent.intent_id == intent_id)
                                         .order_by(OrderIntentEvent.id)))
        assert intent.version == 2 and len(events) == 2
        assert events[1].action is winner and events[1].to_state is intent.state
        assert events[1].terms_after == intent.terms()
        print(f"\n[{db_backend}] actors=20 attempts=20 successes={results['won']} conflicts={results['conflict']} "
              f"events={len(events)} winner={winner.value} → {intent.state.value}")
