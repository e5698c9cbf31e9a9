"""1:1 meetings: the slot grid, the booking rules with their messages, cancel and re-book, notifications to both
companies, nothing half-written when the database refuses, two bookings at once (one wins), and the pages."""
from __future__ import annotations

import threading
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from marketplace.accounts.models import CompanyKind, User
from marketplace.catalog.models import Product
from marketplace.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.matching.models import Match
from marketplace.notifications.models import Notification
from marketplace.sessions import meetings
from marketplace.sessions.models import (
    MatchmakingSession,
    Meeting,
    ParticipantRole,
    RegistrationStatus,
    SessionStatus,
)
from tests.conftest import login, post_form
from tests.factories import make_company, make_product
from tests.test_sessions_board import (
    DAY,
    Ids,
    add_host,
    add_match,
    china,
    make_organizer,
    make_session,
    person,
    post_request,
    register,
)


def test_slot_grid_is_the_hours_cut_into_whole_slots():
    session = MatchmakingSession(starts_at=china(DAY, 9), ends_at=china(DAY, 10, 10), slot_minutes=20, tables=3)
    assert [meetings.clock(s) for s in meetings.slot_starts(session)] == ["09:00", "09:20", "09:40"]
    assert meetings.check_slot(session, china(DAY, 9, 40)) == china(DAY, 9, 40)
    for bad, words in ((china(DAY, 8, 40), "outside"), (china(DAY, 9, 55), "outside"),
                       (china(DAY, 9, 30), "every 20 minutes"), (china(DAY, 10, 0), "outside"), (None, "Choose")):
        with pytest.raises(ValidationFailed) as refused:
            meetings.check_slot(session, bad)
        assert words in in_english(refused.value) and refused.value.field == "slot"


def meeting_world(tables: int = 2) -> Ids:
    """A session (09:00–11:00, 20-minute slots) with a host buyer and a second approved buyer, exporters A and B
    approved, each matched to the host's request, and a request of an unapproved buyer on the demand list."""
    ids = Ids()
    organizer = make_organizer()
    ids.update(organizer=organizer.company_id, organizer_user=organizer.id, organizer_email=organizer.email)
    session = make_session(organizer.company, tables=tables)
    ids["session"] = session.id
    person(ids, "host", make_company(kind=CompanyKind.CHAIN_LEADER, name_zh="链主电器集团",
                                   name_en="Chain Leader Appliances Group"))
    add_host(session, ids.company("host"))
    person(ids, "buyer2", make_company(kind=CompanyKind.RETAILER, name_zh="连锁商超"))
    register(session, ids.company("buyer2"), ParticipantRole.BUYER)
    person(ids, "outsider", make_company(kind=CompanyKind.RETAILER, name_zh="未获批采购商"))
    register(session, ids.company("outsider"), ParticipantRole.BUYER, RegistrationStatus.REFUSED)
    for name in ("a", "b"):
        person(ids, name, make_company(kind=CompanyKind.EXPORTER, name_zh=f"出口企业{name.upper()}"))
        register(session, ids.company(name), ParticipantRole.EXPORTER)
        ids[name + "_product"] = make_product(company=ids.company(name), actor=ids.user(name),
                                              title_zh=f"样品{name}").id
    requests = {name: post_request(ids.user(name), session, title=f"采购折叠椅 {name}")
                for name in ("host", "buyer2", "outsider")}
    db.session.execute(sa.delete(Match))  # the test writes the board's rows
    db.session.commit()
    for name, request in requests.items():
        ids[name + "_request"] = request.id
        for exporter in ("a", "b"):
            add_match(request, db.session.get(Product, ids[exporter + "_product"]), 80)
    return ids


def book(ids: Ids, actor: str, buyer: str, exporter: str, hour: int, minute: int = 0, **kwargs) -> Meeting:
    return meetings.book_meeting(ids.user(actor), ids["session"], ids[buyer + "_request"], ids[exporter + "_product"],
                                 china(DAY, hour, minute), **kwargs)


def live() -> list[tuple[str, int, int, int]]:
    return [(meetings.clock(m.slot_start), m.table_no, m.buyer_company_id, m.exporter_company_id)
            for m in db.session.scalars(sa.select(Meeting).where(Meeting.cancelled_at.is_(None))
                                        .order_by(Meeting.slot_start, Meeting.table_no))]


def in_english(error) -> str:
    """A domain error's message as an English reader sees it (the default locale is Chinese)."""
    with force_locale("en"):
        return str(error.message)


@contextmanager
def refused_with(kind, words: str):
    """The block raises ``kind`` whose message, in English, says ``words``."""
    with pytest.raises(kind) as raised:
        yield
    assert words in in_english(raised.value)


def told(ids: Ids, name: str) -> list[str]:
    return list(db.session.scalars(sa.select(Notification.subject).where(Notification.user_id == ids[name + "_user"])
                                   .order_by(Notification.id)))


def test_booking_rules_cancel_and_rebook_and_notifications(app):
    with app.app_context():
        ids = meeting_world(tables=2)
        host, a = ids["host"], ids["a"]
        first = book(ids, "a", "host", "a", 9, 20)  # the exporter books with the buyer: lowest free table
        assert (first.table_no, first.buyer_company_id, first.exporter_company_id) == (1, host, a)
        assert first.booked_by_company_id == a
        for name in ("host", "a"):  # both companies hear of it; nobody else does
            assert [s for s in told(ids, name) if "09:20" in s] and "1 号桌" in told(ids, name)[-1]
        assert told(ids, "b") == []
        second = book(ids, "buyer2", "buyer2", "b", 9, 20)  # another pair, same slot: the next table
        assert second.table_no == 2
        book(ids, "host", "host", "a", 10, 40)

        refusals = [
            # (actor, buyer, exporter, time, kwargs, error, words)
            ("host", "host", "b", (9, 20), {}, Conflict, "链主电器集团 already has a meeting at 09:20"),
            ("buyer2", "buyer2", "a", (10, 40), {}, Conflict, "出口企业A already has a meeting at 10:40"),
            ("host", "host", "b", (8, 40), {}, ValidationFailed, "outside the session's hours"),
            ("host", "host", "b", (11, 0), {}, ValidationFailed, "outside the session's hours"),
            ("host", "host", "b", (10, 50), {}, ValidationFailed, "outside the session's hours"),  # ends 11:10
            ("host", "host", "b", (9, 30), {}, ValidationFailed, "every 20 minutes from 09:00"),
            ("organizer", "outsider", "a", (10, 0), {}, ValidationFailed, "未获批采购商 is not an approved participant"),
            ("host", "host", "b", (10, 0), {"table_no": 2}, PermissionDenied, "Tables are assigned by the organizer"),
            ("organizer", "host", "b", (9, 20), {"table_no": 1}, Conflict, "already has a meeting"),
        ]
        for actor, buyer, exporter, at, kwargs, error, words in refusals:
            with pytest.raises(error) as refused:
                book(ids, actor, buyer, exporter, *at, **kwargs)
            assert words in in_english(refused.value), (actor, buyer, exporter, at)
        # a pair that is not a board row of the actor: another company's pair, an unapproved buyer's own request
        with pytest.raises(NotFound):
            book(ids, "b", "host", "a", 10, 0)
        with pytest.raises(NotFound):
            book(ids, "outsider", "outsider", "a", 10, 0)

        # the organizer may choose the table (a free one, within the room)
        third = book(ids, "organizer", "host", "b", 9, 40, table_no=2)
        assert third.table_no == 2
        with refused_with(Conflict, "Table 2 is taken at 09:40"):
            book(ids, "organizer", "buyer2", "a", 9, 40, table_no=2)
        with refused_with(ValidationFailed, "from 1 to 2"):
            book(ids, "organizer", "buyer2", "a", 9, 40, table_no=3)
        assert len(live()) == 4
        # one table left in the room: a second pair at 10:00 finds none free
        db.session.get(MatchmakingSession, ids["session"]).tables = 1
        db.session.commit()
        book(ids, "host", "host", "a", 10, 0)
        with refused_with(Conflict, "Every table is taken at 10:00"):
            book(ids, "buyer2", "buyer2", "b", 10, 0)
        db.session.get(MatchmakingSession, ids["session"]).tables = 2
        db.session.commit()
        assert len(live()) == 5

        # cancel (the other side) frees the slot; the same slot is booked again
        meetings.cancel_meeting(ids.user("host"), ids["session"], first.id)
        assert any("已取消" in s for s in told(ids, "a")) and any("已取消" in s for s in told(ids, "host"))
        with refused_with(ValidationFailed, "already cancelled"):
            meetings.cancel_meeting(ids.user("a"), ids["session"], first.id)
        with pytest.raises(NotFound):  # a company not in the meeting cannot even see it
            meetings.cancel_meeting(ids.user("buyer2"), ids["session"], third.id)
        again = book(ids, "host", "host", "a", 9, 20)
        assert again.table_no == 1 and len(live()) == 5

        # a session not open for registration or running takes no booking
        db.session.get(MatchmakingSession, ids["session"]).status = SessionStatus.FINISHED
        db.session.commit()
        with refused_with(ValidationFailed, "open for registration or in progress"):
            book(ids, "host", "host", "b", 10, 20)
        assert len(live()) == 5


def test_the_database_refusing_a_booking_writes_nothing(app, monkeypatch):
    with app.app_context():
        ids = meeting_world(tables=2)
        book(ids, "host", "host", "a", 10, 0)
        before = db.session.scalar(sa.select(sa.func.count()).select_from(Notification))
        # as if another booking took the table between the checks and the insert
        monkeypatch.setattr(meetings, "_choose_table", lambda *args: 1)
        with refused_with(Conflict, "just taken"):
            book(ids, "buyer2", "buyer2", "b", 10, 0)
        db.session.rollback()
        assert len(live()) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == before


def _book_in_thread(app, user_id: int, ids: Ids, buyer: str, barrier, outcomes, lock) -> None:
    with app.app_context():
        barrier.wait()  # outside any transaction (SQLite: BEGIN IMMEDIATE at the barrier would block the others)
        try:
            user = db.session.get(User, user_id)
            meetings.book_meeting(user, ids["session"], ids[buyer + "_request"], ids["a_product"], china(DAY, 10, 20))
            outcome = "won"
        except Conflict:
            outcome = "conflict"
        except Exception as error:  # anything else fails the test
            outcome = f"error: {type(error).__name__}: {error}"
        finally:
            db.session.remove()
        with lock:
            outcomes.append(outcome)


def test_two_buyers_booking_the_same_exporter_slot_at_once_one_wins(app, db_backend):
    with app.app_context():
        ids = meeting_world(tables=2)
        db.session.remove()
    barrier = threading.Barrier(2)
    outcomes, lock = [], threading.Lock()
    threads = [threading.Thread(target=_book_in_thread, args=(app, ids[buyer + "_user"], ids, buyer, barrier,
                                                              outcomes, lock)) for buyer in ("host", "buyer2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["conflict", "won"], outcomes
    with app.app_context():
        assert [(t, e) for _c, t, _b, e in live()] == [(1, ids["a"])]
        # the winner's two companies were told once each; the loser wrote nothing
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 2


def test_pages_book_schedule_tables_cancel(app):
    with app.app_context():
        ids = meeting_world(tables=2)
    session_id = ids["session"]
    exporter = app.test_client()
    exporter.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login(exporter, ids["a_email"])
    url = f"/sessions/{session_id}/board/meet?request={ids['host_request']}&product={ids['a_product']}"
    page = exporter.get(url)
    assert page.status_code == 200 and "09:00–09:20" in page.get_data(as_text=True)
    slot = china(DAY, 9, 40).isoformat()
    assert slot in page.get_data(as_text=True)
    booked = post_form(exporter, url, {"slot": slot, "note": "带样品"})
    assert booked.status_code == 302 and booked.headers["Location"].endswith(f"/sessions/{session_id}/schedule")
    again = post_form(exporter, url, {"slot": slot})
    assert again.status_code == 409 and "already has a meeting at 09:40" in again.get_data(as_text=True)
    off_grid = post_form(exporter, url, {"slot": (china(DAY, 9, 45)).isoformat()})
    assert off_grid.status_code == 422 and "every 20 minutes" in off_grid.get_data(as_text=True)
    schedule = exporter.get(f"/sessions/{session_id}/schedule").get_data(as_text=True)
    assert "09:40–10:00" in schedule and "Chain Leader Appliances Group" in schedule and "带样品" in schedule
    assert "/static/css/board.css" in schedule
    assert exporter.get(f"/sessions/{session_id}/schedule/tables").status_code == 404
    css = exporter.get("/static/css/board.css")
    assert css.status_code == 200 and css.mimetype == "text/css" and b"@media print" in css.data

    organizer = app.test_client()
    organizer.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login(organizer, ids["organizer_email"])
    grid = organizer.get(f"/sessions/{session_id}/schedule/tables").get_data(as_text=True)
    with app.app_context():
        exporter_a = ids.company("a").name_en  # an English page shows the English name
    assert grid.count('data-testid="grid-meeting"') == 1 and exporter_a in grid
    with app.app_context():
        meeting_id = db.session.scalar(sa.select(Meeting.id))
    other = app.test_client()
    login(other, ids["b_email"])
    assert other.get(f"/sessions/{session_id}/meetings/{meeting_id}/cancel").status_code == 404
    confirm = organizer.get(f"/sessions/{session_id}/meetings/{meeting_id}/cancel")
    assert confirm.status_code == 200 and "Cancel the meeting?" in confirm.get_data(as_text=True)
    done = post_form(organizer, f"/sessions/{session_id}/meetings/{meeting_id}/cancel", {})
    assert done.status_code == 302
    with app.app_context():
        assert db.session.get(Meeting, meeting_id).cancelled_at is not None
        assert db.session.get(Meeting, meeting_id).cancelled_by_company_id == ids["organizer"]
