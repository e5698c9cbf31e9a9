"""A matchmaking session's match board: its demand lines × its approved exporters' products, read from the
materialized ``matches`` table (score, parts, gaps), the session's focus first, then the best scores.

Owns: who takes part in a session and in which role (``participant_role``), who may read the board and which
rows (``board_access``), and the board query itself. Reading only.

- **Rows.** A demand line is a request with ``session_id`` = the session, open, its deadline not passed; a
  row is one of its matches whose product belongs to an exporter with an approved registration. A pair is
  shown only when the exporter may see the request (``sourcing.services.exporter_can_see``, bound to the
  row's exporter): an invited-only request never reaches an exporter it did not invite, not even through
  the buyer's or the organizer's view (a meeting booked from such a row would reveal it).
- **Who sees what.** The session's organizers (its organizer company) and platform administrators: every row. A host or an approved
  buyer registrant: the rows of its own requests. An approved exporter registrant: the rows of its own
  products. Anyone else: the same 404 as for a missing session.
- **Focus.** ``tariff_hit``: exporters with a recorded tariff exposure (``TariffExposure``) first;
  ``zjtx``: exporters holding a 专精特新 designation (specialized or little giant) first.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter

from marketplace.accounts.models import Company, User
from marketplace.catalog.flags import company_tariff_hit, company_zjtx
from marketplace.catalog.models import Product
from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.i18n import _l, today_in_china
from marketplace.inputs import page_number
from marketplace.matching.models import Match
from marketplace.sessions.models import (
    MatchmakingSession,
    Meeting,
    ParticipantRole,
    RegistrationStatus,
    SessionFocus,
    SessionHost,
    SessionRegistration,
    SessionStatus,
)
from marketplace.sourcing.models import ProcurementRequest
from marketplace.sourcing.states import RequestState

PER_PAGE = 20
#: the designations that make an exporter 专精特新 for a session's focus
#: sessions whose meetings may be booked
BOOKABLE_STATES = frozenset({SessionStatus.REGISTRATION, SessionStatus.RUNNING})


class Scope(enum.Enum):
    """Which rows of the board a reader sees."""

    ALL = "all"
    BUYER = "buyer"
    EXPORTER = "exporter"


@dataclass(frozen=True)
class BoardAccess:
    """The reader's view of a session's board: every row (organizer, admin) or its own company's side."""

    session: MatchmakingSession
    scope: Scope
    company_id: int | None

    @property
    def is_organizer(self) -> bool:
        return self.scope is Scope.ALL


@dataclass(frozen=True)
class BoardFilters:
    """The board's filters: one demand line, one exporter, a lowest score (0–100)."""

    request_id: int | None = None
    exporter_id: int | None = None
    min_score: int | None = None

    @property
    def active(self) -> bool:
        return any(value is not None for value in (self.request_id, self.exporter_id, self.min_score))


@dataclass
class BoardRow:
    """One (request, product) match with what the page shows beside it."""

    match: Match
    tariff_hit: bool = False
    zjtx: bool = False
    #: the pair's live meetings in this session
    meetings: list[Meeting] = field(default_factory=list)
    #: the reader may book a meeting from this row / start an order intent from it
    can_book: bool = False
    can_start_intent: bool = False


@dataclass
class BoardPage:
    access: BoardAccess
    page: object  # a Flask-SQLAlchemy Pagination of Match
    rows: list[BoardRow]
    request_choices: list[tuple[int, str]]
    exporter_choices: list[tuple[int, str]]
    bookable: bool


# ----------------------------------------------------------------------------- participants


def _not_found() -> NotFound:
    return NotFound(_l("This matchmaking session does not exist."))


def get_session(session_id: int) -> MatchmakingSession:
    """The session (fresh from the database), or NotFound."""
    found = db.session.get(MatchmakingSession, session_id, populate_existing=True)
    if found is None:
        raise _not_found()
    return found


def is_organizer(actor: User | None, session: MatchmakingSession) -> bool:
    """Whether the actor runs the session (``sessions.services.manages``: its organizer company's organizers,
    and platform administrators)."""
    from marketplace.sessions.services import manages

    return manages(actor, session)


def participant_role(session_id: int, company_id: int | None) -> ParticipantRole | None:
    """The company's role at the session when it takes part: a host is a buyer; an approved registration
    gives its role; anything else (pending, refused, none) is None."""
    if company_id is None:
        return None
    if db.session.scalar(sa.select(sa.exists().where(SessionHost.session_id == session_id,
                                                     SessionHost.company_id == company_id))):
        return ParticipantRole.BUYER
    return db.session.scalar(sa.select(SessionRegistration.role).where(
        SessionRegistration.session_id == session_id, SessionRegistration.company_id == company_id,
        SessionRegistration.status == RegistrationStatus.APPROVED))


def pair_approved(session_id: int, buyer_company_id: int, exporter_company_id: int) -> bool:
    """Whether both companies take part in the session on their sides (the buyer as a host or approved buyer,
    the exporter as an approved exporter): what an order intent or a meeting of the session needs."""
    return (participant_role(session_id, buyer_company_id) is ParticipantRole.BUYER
            and participant_role(session_id, exporter_company_id) is ParticipantRole.EXPORTER)


def approved_buyers(session_id: int):
    """SQL: the ids of the session's buyer side (hosts and approved buyer registrants)."""
    hosts = sa.select(SessionHost.company_id).where(SessionHost.session_id == session_id)
    buyers = sa.select(SessionRegistration.company_id).where(
        SessionRegistration.session_id == session_id, SessionRegistration.role == ParticipantRole.BUYER,
        SessionRegistration.status == RegistrationStatus.APPROVED)
    return sa.union(hosts, buyers)


def approved_exporters(session_id: int):
    """SQL: the ids of the session's approved exporter registrants."""
    return sa.select(SessionRegistration.company_id).where(
        SessionRegistration.session_id == session_id, SessionRegistration.role == ParticipantRole.EXPORTER,
        SessionRegistration.status == RegistrationStatus.APPROVED)


def board_access(actor: User | None, session_id: int) -> BoardAccess:
    """The reader's access to the session's board, or NotFound (for anyone who takes no part in it)."""
    session = get_session(session_id)
    if is_organizer(actor, session):
        return BoardAccess(session, Scope.ALL, None)
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise _not_found()
    role = participant_role(session.id, actor.company_id)
    if role is ParticipantRole.BUYER:
        return BoardAccess(session, Scope.BUYER, actor.company_id)
    if role is ParticipantRole.EXPORTER:
        return BoardAccess(session, Scope.EXPORTER, actor.company_id)
    raise _not_found()


# ----------------------------------------------------------------------------- the query


def _exporter_may_see():
    """``sourcing.services.exporter_can_see`` with its company bound to the row's exporter (one rule)."""
    from marketplace.sourcing.services import exporter_can_see

    def bind_to_row(element):
        if isinstance(element, BindParameter) and element.key == "company":
            return Match.exporter_id
        return None

    return visitors.replacement_traverse(exporter_can_see(), {}, bind_to_row)


def tariff_hit_clause(company_id_column):
    """SQL: the exporter is tariff-hit (``catalog.flags``: the campaign's one definition)."""
    return company_tariff_hit(company_id_column)


def zjtx_clause(company_id_column):
    """SQL: the exporter holds a 专精特新 designation (``catalog.flags``)."""
    return company_zjtx(company_id_column)


def _focus_order(focus: SessionFocus):
    clause = {SessionFocus.TARIFF_HIT: tariff_hit_clause, SessionFocus.ZJTX: zjtx_clause}.get(focus)
    if clause is None:
        return []
    return [sa.case((clause(Match.exporter_id), 0), else_=1)]


def _scoped_rows(access: BoardAccess):
    """SQL: every board row the reader may see (before filters)."""
    session = access.session
    query = (sa.select(Match).join(ProcurementRequest, ProcurementRequest.id == Match.request_id)
             .where(ProcurementRequest.session_id == session.id, ProcurementRequest.state == RequestState.OPEN,
                    ProcurementRequest.deadline >= today_in_china(),
                    Match.exporter_id.in_(approved_exporters(session.id)), _exporter_may_see()))
    if access.scope is Scope.BUYER:
        query = query.where(Match.buyer_id == access.company_id)
    elif access.scope is Scope.EXPORTER:
        query = query.where(Match.exporter_id == access.company_id)
    return query


def _filtered(access: BoardAccess, filters: BoardFilters):
    query = _scoped_rows(access)
    if filters.request_id is not None:
        query = query.where(Match.request_id == filters.request_id)
    if filters.exporter_id is not None:
        query = query.where(Match.exporter_id == filters.exporter_id)
    if filters.min_score is not None:
        query = query.where(Match.score_x10 >= filters.min_score * 10)
    return query


def ordered(query, focus: SessionFocus):
    """The board's order: the focus first, then the score, then request and product (stable pages)."""
    return query.order_by(*_focus_order(focus), Match.score_x10.desc(), Match.request_id, Match.product_id)


def _choices(access: BoardAccess) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """The filters' options: the demand lines and exporters that appear in the reader's rows."""
    rows = _scoped_rows(access).subquery()
    requests = db.session.execute(
        sa.select(ProcurementRequest.id, ProcurementRequest.title)
        .where(ProcurementRequest.id.in_(sa.select(rows.c.request_id))).order_by(ProcurementRequest.id)).all()
    exporters = db.session.execute(
        sa.select(Company.id, Company.name_zh)
        .where(Company.id.in_(sa.select(rows.c.exporter_id))).order_by(Company.name_zh, Company.id)).all()
    return [(r.id, f"#{r.id} {r.title}") for r in requests], [(c.id, c.name_zh) for c in exporters]


def _flags(company_ids: set[int]) -> tuple[set[int], set[int]]:
    """Which of these exporters are tariff-hit, and which 专精特新 (``catalog.flags``)."""
    if not company_ids:
        return set(), set()
    ids = sorted(company_ids)
    hit = set(db.session.scalars(sa.select(Company.id).where(Company.id.in_(ids), company_tariff_hit(Company.id))))
    zjtx = set(db.session.scalars(sa.select(Company.id).where(Company.id.in_(ids), company_zjtx(Company.id))))
    return hit, zjtx


def pair_meetings(session_id: int, pairs: set[tuple[int, int]]) -> dict[tuple[int, int], list[Meeting]]:
    """The live meetings of each (buyer, exporter) pair in the session, by time."""
    if not pairs:
        return {}
    buyers = {b for b, _e in pairs}
    exporters = {e for _b, e in pairs}
    found: dict[tuple[int, int], list[Meeting]] = {}
    for meeting in db.session.scalars(
            sa.select(Meeting).where(Meeting.session_id == session_id, Meeting.cancelled_at.is_(None),
                                     Meeting.buyer_company_id.in_(buyers),
                                     Meeting.exporter_company_id.in_(exporters))
            .order_by(Meeting.slot_start, Meeting.table_no)):
        key = (meeting.buyer_company_id, meeting.exporter_company_id)
        if key in pairs:
            found.setdefault(key, []).append(meeting)
    return found


def board_page(actor: User | None, session_id: int, filters: BoardFilters, page=1,
               per_page: int = PER_PAGE) -> BoardPage:
    """A page of the session's board as the reader may see it (NotFound for anyone who takes no part)."""
    access = board_access(actor, session_id)
    session = access.session
    query = ordered(_filtered(access, filters), session.focus).options(
        selectinload(Match.request).selectinload(ProcurementRequest.buyer_company),
        selectinload(Match.product).selectinload(Product.company))
    result = db.paginate(query, page=page_number(page), per_page=per_page, error_out=False, count=True)
    matches = list(result.items)
    hit, zjtx = _flags({m.exporter_id for m in matches})
    meetings = pair_meetings(session.id, {(m.buyer_id, m.exporter_id) for m in matches})
    bookable = session.status in BOOKABLE_STATES
    buyers_in = set(db.session.scalars(approved_buyers(session.id))) if matches else set()
    rows = []
    for match in matches:
        own_side = access.company_id in (match.buyer_id, match.exporter_id)
        rows.append(BoardRow(
            match=match, tariff_hit=match.exporter_id in hit, zjtx=match.exporter_id in zjtx,
            meetings=meetings.get((match.buyer_id, match.exporter_id), []),
            can_book=bookable and match.buyer_id in buyers_in and (access.is_organizer or own_side),
            can_start_intent=access.company_id is not None and access.company_id == match.buyer_id,
        ))
    request_choices, exporter_choices = _choices(access)
    return BoardPage(access, result, rows, request_choices, exporter_choices, bookable)


def board_pair(actor: User | None, session_id: int, request_id: int | None,
               product_id: int | None) -> tuple[BoardAccess, Match]:
    """One row of the board as the reader may see it (the pair a meeting or an intent starts from), or NotFound."""
    access = board_access(actor, session_id)
    match = None
    if request_id is not None and product_id is not None:
        match = db.session.scalar(_scoped_rows(access).where(Match.request_id == request_id,
                                                             Match.product_id == product_id)
                                  .options(selectinload(Match.request), selectinload(Match.product)))
    if match is None:
        raise NotFound(_l("This pair is not on the session's match board."))
    return access, match
