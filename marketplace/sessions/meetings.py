"""1:1 meetings (供需洽谈) of a session: the slot grid, booking from a board row, cancelling, the schedules.

Owns: every write to ``session_meetings``. The grid is the session's hours cut into ``slot_minutes`` slots,
each with ``tables`` tables. A booking names a board row (request, product: its buyer and its exporter) and a
slot; the table is the lowest free one, or one the organizer chooses. The rules are checked first, each with
its own message; the database's partial unique indexes (a table, a buyer, an exporter: one live meeting per
slot) decide a race: the loser's insert fails, it is rolled back whole and answered with a Conflict. A
cancelled meeting keeps its row and frees its slot. Both companies are notified of a booking and of a
cancellation, in the same transaction (lazy strings: each reader sees their own language).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from marketplace.accounts.models import Company, User
from marketplace.database import utcnow
from marketplace.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.i18n import CHINA, _l
from marketplace.notifications.services import notify_company
from marketplace.sessions import board
from marketplace.sessions.models import MatchmakingSession, Meeting, ParticipantRole

logger = logging.getLogger(__name__)

NOTIFY_KIND = "session_meeting"
MAX_NOTE = 500


# ----------------------------------------------------------------------------- the grid


def local(value: datetime) -> datetime:
    """A stored (UTC) time in Asia/Shanghai."""
    return value.astimezone(CHINA)


def clock(value: datetime) -> str:
    """HH:MM in Asia/Shanghai."""
    return local(value).strftime("%H:%M")


def stamp(value: datetime) -> str:
    """YYYY-MM-DD HH:MM in Asia/Shanghai (for messages read later, in any language)."""
    return local(value).strftime("%Y-%m-%d %H:%M")


def slot_length(session: MatchmakingSession) -> timedelta:
    return timedelta(minutes=session.slot_minutes)


def slot_starts(session: MatchmakingSession) -> list[datetime]:
    """Every slot's start (UTC): from the session's start, every ``slot_minutes``, each ending by its end."""
    step = slot_length(session)
    starts = []
    at = session.starts_at
    while at + step <= session.ends_at:
        starts.append(at)
        at += step
    return starts


def check_slot(session: MatchmakingSession, slot_start: datetime) -> datetime:
    """The slot's start in UTC when it is one of the grid's; ValidationFailed (on ``slot``) otherwise."""
    if slot_start is None or slot_start.tzinfo is None:
        raise ValidationFailed(_l("Choose a time."), "slot")
    slot_start = slot_start.astimezone(session.starts_at.tzinfo)
    step = slot_length(session)
    if slot_start < session.starts_at or slot_start + step > session.ends_at:
        raise ValidationFailed(_l("%(time)s is outside the session's hours (%(start)s–%(end)s).",
                                  time=stamp(slot_start), start=stamp(session.starts_at), end=clock(session.ends_at)),
                               "slot")
    if (slot_start - session.starts_at) % step:
        raise ValidationFailed(_l("Meetings start every %(minutes)s minutes from %(start)s: %(time)s is not one of "
                                  "those times.", minutes=session.slot_minutes, start=clock(session.starts_at),
                                  time=clock(slot_start)), "slot")
    return slot_start


def _live_at(session_id: int, slot_start: datetime) -> list[Meeting]:
    return list(db.session.scalars(sa.select(Meeting).where(
        Meeting.session_id == session_id, Meeting.slot_start == slot_start, Meeting.cancelled_at.is_(None))))


@dataclass
class SlotOption:
    """A slot as the booking form offers it: free for the pair, or why not."""

    start: datetime
    end: datetime
    free_tables: list[int]
    busy: list[str] = field(default_factory=list)

    @property
    def available(self) -> bool:
        return bool(self.free_tables) and not self.busy

    @property
    def value(self) -> str:
        """The form value: the start in Asia/Shanghai, ISO 8601 with its offset."""
        return local(self.start).isoformat()


def slot_options(session: MatchmakingSession, buyer_id: int, exporter_id: int) -> list[SlotOption]:
    """Every slot of the grid with its free tables and which of the two companies is busy then."""
    live = list(db.session.scalars(sa.select(Meeting).where(Meeting.session_id == session.id,
                                                            Meeting.cancelled_at.is_(None))))
    step = slot_length(session)
    options = []
    for start in slot_starts(session):
        here = [m for m in live if m.slot_start == start]
        taken = {m.table_no for m in here}
        busy = []
        if any(buyer_id == m.buyer_company_id for m in here):
            busy.append("buyer")
        if any(exporter_id == m.exporter_company_id for m in here):
            busy.append("exporter")
        options.append(SlotOption(start, start + step, [t for t in range(1, session.tables + 1) if t not in taken],
                                  busy))
    return options


# ----------------------------------------------------------------------------- booking


def _company_name(company_id: int) -> str:
    company = db.session.get(Company, company_id)
    return company.name_zh if company is not None else str(company_id)


def _schedule_link(session_id: int) -> str:
    return f"/sessions/{session_id}/schedule"


def _notify_both(meeting: Meeting, subject, body) -> None:
    for company_id in (meeting.buyer_company_id, meeting.exporter_company_id):
        notify_company(company_id, NOTIFY_KIND, subject, body, link=_schedule_link(meeting.session_id))


def _deliver() -> None:
    from marketplace.deals.services import _deliver as deliver

    deliver()


def _check_bookable(session: MatchmakingSession) -> None:
    if session.status not in board.BOOKABLE_STATES:
        raise ValidationFailed(_l("Meetings can be booked only while the session is open for registration or in "
                                  "progress; it is “%(state)s”.", state=session.status.label))


def _check_participants(session: MatchmakingSession, buyer_id: int, exporter_id: int) -> None:
    for company_id, role in ((buyer_id, ParticipantRole.BUYER), (exporter_id, ParticipantRole.EXPORTER)):
        if board.participant_role(session.id, company_id) is not role:
            raise ValidationFailed(_l("%(company)s is not an approved participant of this session.",
                                      company=_company_name(company_id)))


def _choose_table(session: MatchmakingSession, slot_start: datetime, buyer_id: int, exporter_id: int,
                  table_no: int | None) -> int:
    """The table for the pair at the slot, or the Conflict saying who or what is taken."""
    here = _live_at(session.id, slot_start)
    for company_id, busy in ((buyer_id, any(m.buyer_company_id == buyer_id for m in here)),
                             (exporter_id, any(m.exporter_company_id == exporter_id for m in here))):
        if busy:
            raise Conflict(_l("%(company)s already has a meeting at %(time)s.", company=_company_name(company_id),
                              time=clock(slot_start)), "slot")
    taken = {m.table_no for m in here}
    if table_no is not None:
        if not 1 <= table_no <= session.tables:
            raise ValidationFailed(_l("Choose a table from 1 to %(tables)s.", tables=session.tables), "table")
        if table_no in taken:
            raise Conflict(_l("Table %(table)s is taken at %(time)s.", table=table_no, time=clock(slot_start)),
                           "table")
        return table_no
    free = [t for t in range(1, session.tables + 1) if t not in taken]
    if not free:
        raise Conflict(_l("Every table is taken at %(time)s: choose another time.", time=clock(slot_start)), "slot")
    return free[0]


def _slot_taken() -> Conflict:
    return Conflict(_l("This slot was just taken by another booking. Choose another time."), "slot")


def book_meeting(actor: User, session_id: int, request_id: int | None, product_id: int | None,
                 slot_start: datetime, table_no: int | None = None, note: str | None = None) -> Meeting:
    """Book a 1:1 meeting of a board row's buyer and exporter at a slot; both companies are notified.

    The actor is one of the two companies, or the organizer (who alone may choose the table; otherwise the
    lowest free table is taken). Refused: a session not open for registration or running, a company not
    approved, a time outside the hours or off the grid, a company already in a meeting then, no free table;
    a booking that loses a race to another is a Conflict, and nothing of it is written.
    """
    access, match = board.board_pair(actor, session_id, request_id, product_id)
    session = access.session
    if not access.is_organizer and table_no is not None:
        raise PermissionDenied(_l("Tables are assigned by the organizer."))
    _check_bookable(session)
    buyer_id, exporter_id = match.buyer_id, match.exporter_id
    _check_participants(session, buyer_id, exporter_id)
    slot_start = check_slot(session, slot_start)
    clean_note = " ".join((note or "").split())[:MAX_NOTE] or None
    table = _choose_table(session, slot_start, buyer_id, exporter_id, table_no)
    meeting = Meeting(
        session_id=session.id, slot_start=slot_start, slot_end=slot_start + slot_length(session), table_no=table,
        buyer_company_id=buyer_id, exporter_company_id=exporter_id, request_id=match.request_id,
        product_id=match.product_id, booked_by_company_id=actor.company_id, booked_by_id=actor.id,
        note=clean_note, created_at=utcnow(),
    )
    db.session.add(meeting)
    try:
        db.session.flush()
    except IntegrityError:
        # another booking took the table, the buyer or the exporter at this slot since we looked
        db.session.rollback()
        logger.info("session %s: booking at %s by user %s lost a race", session_id, slot_start, actor.id)
        raise _slot_taken() from None
    buyer, exporter = _company_name(buyer_id), _company_name(exporter_id)
    _notify_both(meeting,
                 _l("1:1 meeting booked: %(time)s, table %(table)s (%(session)s)", time=stamp(slot_start),
                    table=table, session=session.title),
                 _l("%(buyer)s and %(exporter)s meet at %(time)s–%(end)s (Beijing time), table %(table)s, at "
                    "“%(session)s”.", buyer=buyer, exporter=exporter, time=stamp(slot_start),
                    end=clock(meeting.slot_end), table=table, session=session.title))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise _slot_taken() from None
    logger.info("session %s: meeting %s booked at %s table %s by user %s", session.id, meeting.id, slot_start, table,
                actor.id)
    _deliver()
    return meeting


# ----------------------------------------------------------------------------- one meeting, cancelling


def get_meeting(actor: User, session_id: int, meeting_id: int) -> Meeting:
    """A meeting of the session as one of its two companies or the organizer sees it; NotFound otherwise."""
    meeting = db.session.get(Meeting, meeting_id, populate_existing=True)
    if meeting is None or meeting.session_id != session_id:
        raise NotFound(_l("This meeting does not exist."))
    session = board.get_session(session_id)
    if not (board.is_organizer(actor, session) or (getattr(actor, "is_authenticated", False) and actor.company_id in (
            meeting.buyer_company_id, meeting.exporter_company_id))):
        raise NotFound(_l("This meeting does not exist."))
    return meeting


def cancel_meeting(actor: User, session_id: int, meeting_id: int) -> Meeting:
    """Cancel a live meeting (either company, or the organizer): its slot is free again; both companies hear."""
    meeting = get_meeting(actor, session_id, meeting_id)
    if meeting.cancelled_at is not None:
        raise ValidationFailed(_l("This meeting was already cancelled."))
    session = meeting.session
    if session.status not in board.BOOKABLE_STATES:
        raise ValidationFailed(_l("Meetings can be cancelled only while the session is open for registration or "
                                  "in progress; it is “%(state)s”.", state=session.status.label))
    # an UPDATE guarded on the row still being live: of two cancels at once, one changes it
    result = db.session.execute(
        sa.update(Meeting).where(Meeting.id == meeting.id, Meeting.cancelled_at.is_(None))
        .values(cancelled_at=utcnow(), cancelled_by_company_id=actor.company_id)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.rollback()
        raise ValidationFailed(_l("This meeting was already cancelled."))
    db.session.refresh(meeting)
    by = _company_name(actor.company_id) if actor.company_id else ""
    _notify_both(meeting,
                 _l("1:1 meeting cancelled: %(time)s, table %(table)s (%(session)s)", time=stamp(meeting.slot_start),
                    table=meeting.table_no, session=session.title),
                 _l("The meeting of %(buyer)s and %(exporter)s at %(time)s, table %(table)s, was cancelled by "
                    "%(by)s. The slot is free again.", buyer=_company_name(meeting.buyer_company_id),
                    exporter=_company_name(meeting.exporter_company_id), time=stamp(meeting.slot_start),
                    table=meeting.table_no, by=by))
    db.session.commit()
    logger.info("session %s: meeting %s cancelled by user %s", session_id, meeting.id, actor.id)
    _deliver()
    return meeting


# ----------------------------------------------------------------------------- schedules


@dataclass
class TableSchedule:
    session: MatchmakingSession
    slots: list[datetime]
    tables: list[int]
    #: (slot start, table) → meeting
    cells: dict
    count: int


def table_schedule(actor: User, session_id: int) -> TableSchedule:
    """Every table's meetings slot by slot: the organizer's (and platform administrators') printable grid."""
    session = board.get_session(session_id)
    if not board.is_organizer(actor, session):
        # participants see their own schedule; the grid names every company: not theirs to read
        raise NotFound(_l("This page does not exist."))
    meetings = db.session.scalars(
        sa.select(Meeting).where(Meeting.session_id == session.id, Meeting.cancelled_at.is_(None))
        .options(selectinload(Meeting.buyer_company), selectinload(Meeting.exporter_company))).all()
    cells = {(m.slot_start, m.table_no): m for m in meetings}
    return TableSchedule(session, slot_starts(session), list(range(1, session.tables + 1)), cells, len(meetings))


@dataclass
class CompanySchedule:
    session: MatchmakingSession
    company: Company | None
    meetings: list[Meeting]
    cancelled: list[Meeting]
    #: the reader runs the session: it may print any participant's schedule (these, by name)
    organizer: bool
    choices: list[tuple[int, str]] = field(default_factory=list)
    #: meeting id → (request title, product title) of the board row it was booked from
    subjects: dict = field(default_factory=dict)


def _subjects(rows: list[Meeting]) -> dict[int, tuple[str | None, str | None]]:
    from marketplace.catalog.models import Product
    from marketplace.sourcing.models import ProcurementRequest

    requests = dict(db.session.execute(sa.select(ProcurementRequest.id, ProcurementRequest.title).where(
        ProcurementRequest.id.in_({m.request_id for m in rows if m.request_id}))).tuples().all())
    products = dict(db.session.execute(sa.select(Product.id, Product.title_zh).where(
        Product.id.in_({m.product_id for m in rows if m.product_id}))).tuples().all())
    return {m.id: (requests.get(m.request_id), products.get(m.product_id)) for m in rows}


def _companies_meeting(session_id: int) -> list[tuple[int, str]]:
    live = sa.select(Meeting).where(Meeting.session_id == session_id, Meeting.cancelled_at.is_(None)).subquery()
    ids = sa.union(sa.select(live.c.buyer_company_id), sa.select(live.c.exporter_company_id)).subquery()
    return [(c.id, c.name_zh) for c in db.session.execute(
        sa.select(Company.id, Company.name_zh).where(Company.id.in_(sa.select(ids.c[0])))
        .order_by(Company.name_zh, Company.id))]


def company_schedule(actor: User, session_id: int, company_id: int | None = None) -> CompanySchedule:
    """A company's own meetings at the session, by time; the organizer names the company (any participant)."""
    session = board.get_session(session_id)
    organizer = board.is_organizer(actor, session)
    if organizer:
        choices = _companies_meeting(session.id)
        company = db.session.get(Company, company_id) if company_id in {c for c, _n in choices} else None
        if company is None:
            return CompanySchedule(session, None, [], [], True, choices)
    else:
        board.board_access(actor, session_id)  # 404 for anyone who takes no part
        choices = []
        company = actor.company
    side = sa.or_(Meeting.buyer_company_id == company.id, Meeting.exporter_company_id == company.id)
    rows = db.session.scalars(
        sa.select(Meeting).where(Meeting.session_id == session.id, side)
        .options(selectinload(Meeting.buyer_company), selectinload(Meeting.exporter_company))
        .order_by(Meeting.slot_start, Meeting.table_no, Meeting.id)).all()
    return CompanySchedule(session, company, [m for m in rows if m.cancelled_at is None],
                           [m for m in rows if m.cancelled_at is not None], organizer, choices, _subjects(rows))
