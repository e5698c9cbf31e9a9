"""Every figure of the organizer's dashboard (对接成效) and reports (上报), computed once, here.

The page, the XLSX and PDF files and the command line all ask this module; the row lists behind each
figure (``rows.py``) filter with the very predicates defined here, so a figure and its list never disagree.

**Selection.** A figure is about a set of sessions: those the viewer may see (``Scope``: an organizer its
own company's sessions, a platform administrator every session), held in the period (the session's start,
a day in Asia/Shanghai), in the province, of the industry chain, and, for a group's figures, of that group
(province, city, industry, cluster or month of the session's start). Everything belongs to a session by its
``session_id``: registrations, meetings, demand lines (requests), the matches and quotes of those requests,
and order intents. Each row belongs to exactly one session, so the figures of several sessions are sums.

**What counts** (one predicate each, below):

- *registered*: a registration not refused or cancelled (a company at two sessions counts twice: 家次);
  *attending*: of those, checked in; the tariff-hit and 专精特新 shares are of the registered exporters.
- *tariff-hit* and *专精特新* are matching's definitions (``catalog.search_kind.product_record``, read by
  ``matching.profiles``): a product is tariff-hit when it names a former export market or a tariff note, or
  its company has recorded tariff exposure; so a company is tariff-hit when it has exposure rows or such a
  product. 专精特新 is the index's ``verified`` flag: the company holds an organizer's tag (专精特新, 小巨人, 链主).
- *requests*: the session's demand lines other than drafts; *matches* (an open line's live ones, a closed
  line's kept in ``archived_matches`` when it closed) and *quotes* (not withdrawn) on them.
- *meetings*: live ones (not cancelled).
- *intents*: every intent made at the session but drafts (a draft is its buyer's alone), by state;
  *intent value*: the amount of those still standing or signed (not withdrawn, declined or expired);
  *signed*: signed or fulfilled. Amounts are integer fen.

No table of precomputed aggregates. Each figure is one ``GROUP BY session_id`` over an indexed ``session_id``
column (or the request it hangs on), except the intents: they are read once, narrow, and summed here by session
and state and by product together (``intent_tallies``); for a large selection that sum is kept in memory per
application under a marker that any new, changed or deleted intent moves (``intent_marker``), so it is never
stale. Groups are sums of their sessions, in Python.
"""
from __future__ import annotations

from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app

from marketplace.accounts.models import Company, Role
from marketplace.catalog.categories import CATEGORY_BY_CODE
from marketplace.catalog.flags import company_tariff_hit, company_zjtx
from marketplace.catalog.models import Product
from marketplace.deals.models import OrderIntent, OrderIntentEvent
from marketplace.deals.states import IntentState
from marketplace.errors import NotFound, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.i18n import CHINA, _, _l
from marketplace.matching.models import ArchivedMatch, Match
from marketplace.sessions.models import (
    MatchmakingSession,
    Meeting,
    ParticipantRole,
    RegistrationStatus,
    SessionRegistration,
    SessionStatus,
)
from marketplace.sourcing.models import ProcurementRequest, Quote
from marketplace.sourcing.states import QuoteState, RequestState

# --------------------------------------------------------------------------- what counts (one place)

#: intents counted at all (drafts are the buyer's alone), in the order they are shown
INTENT_STATES = tuple(s for s in IntentState if s is not IntentState.DRAFT)
#: intents whose amount is the "intent value": still standing, or signed
STANDING_STATES = (IntentState.SUBMITTED, IntentState.COUNTERED, IntentState.ACCEPTED, IntentState.SIGNED,
                   IntentState.FULFILLED)
#: intents that were signed (a fulfilled intent was signed first)
SIGNED_STATES = (IntentState.SIGNED, IntentState.FULFILLED)
#: the named sets of states a list of intents can be asked for (``?group=``)
INTENT_GROUPS = {"all": INTENT_STATES, "standing": STANDING_STATES, "signed": SIGNED_STATES}
#: registrations that count (refused and cancelled ones do not)
REGISTERED_STATUSES = (RegistrationStatus.PENDING, RegistrationStatus.APPROVED, RegistrationStatus.WAITLISTED)


def registration_counted():
    return SessionRegistration.status.in_(REGISTERED_STATUSES)


def registration_attended():
    return SessionRegistration.checked_in_at.is_not(None)


#: the campaign's two exporter flags, defined once in ``catalog.flags``
tariff_hit = company_tariff_hit
zjtx = company_zjtx


def request_counted():
    return ProcurementRequest.state != RequestState.DRAFT


def quote_counted():
    return Quote.state != QuoteState.WITHDRAWN


def meeting_live():
    return Meeting.cancelled_at.is_(None)


def intent_category(code: str):
    """Intents whose product is of the catalog category ``code`` ('': no product, or one of no known category,
    as ``ranked`` counts them)."""
    known = sa.select(Product.id).where(Product.category.in_(list(CATEGORY_BY_CODE)))
    if code:
        return OrderIntent.product_id.in_(sa.select(Product.id).where(Product.category == code))
    return sa.or_(OrderIntent.product_id.is_(None), OrderIntent.product_id.not_in(known))


def intent_counted():
    # "not a draft" rather than an IN list of the other states: no index on state is tempting then
    return OrderIntent.state != IntentState.DRAFT


# --------------------------------------------------------------------------- who sees what


@dataclass(frozen=True)
class Scope:
    """The sessions a viewer may report on: one organizer company's, or (``None``) every session."""

    organizer_company_id: int | None
    organizer_name: str = ""

    @classmethod
    def everything(cls) -> Scope:
        return cls(None, "")

    @classmethod
    def of_company(cls, company: Company) -> Scope:
        return cls(company.id, company.name_zh)

    @property
    def title(self) -> str:
        """Who the report is by: the organizer, or the whole platform."""
        return self.organizer_name or _("All organizers")


def scope_of(user) -> Scope:
    """The viewer's scope: organizers their company's sessions, platform administrators all; others refused."""
    if user is None or not user.is_authenticated:
        raise PermissionDenied(_l("Log in as an organizer to see session reports."))
    if user.role is Role.PLATFORM_ADMIN:
        return Scope.everything()
    if user.role is Role.ORGANIZER:
        return Scope.of_company(user.company)
    raise PermissionDenied(_l("Only organizers see session reports."))


# --------------------------------------------------------------------------- the filter and the groups

GROUPS = {
    "month": _l("Month"),
    "province": _l("Province"),
    "city": _l("City"),
    "industry": _l("Industry chain"),
    "cluster": _l("Cluster"),
    "session": _l("Session"),
}
DEFAULT_GROUP = "month"


@dataclass(frozen=True)
class ReportFilter:
    """Which sessions: started from / until (days in Asia/Shanghai, inclusive), province, industry chain;
    how the dashboard groups them."""

    date_from: date | None = None
    date_to: date | None = None
    province: str | None = None
    industry: str | None = None
    group_by: str = DEFAULT_GROUP

    def __post_init__(self):
        if self.group_by not in GROUPS:
            object.__setattr__(self, "group_by", DEFAULT_GROUP)

    def check(self) -> None:
        """Refuse a period that ends before it starts."""
        if self.date_from and self.date_to and self.date_to < self.date_from:
            raise ValidationFailed(_l("The end of the period is before its start."), field="date_to")

    @property
    def active(self) -> bool:
        return bool(self.date_from or self.date_to or self.province or self.industry)

    def args(self) -> dict[str, str]:
        """The filter as query arguments (links to row lists, downloads)."""
        values = {"from": self.date_from.isoformat() if self.date_from else "",
                  "to": self.date_to.isoformat() if self.date_to else "",
                  "province": self.province or "", "industry": self.industry or "", "by": self.group_by}
        return {key: value for key, value in values.items() if value and not (key == "by" and value == DEFAULT_GROUP)}


def china_midnight(day: date) -> datetime:
    """The UTC instant a day in Asia/Shanghai starts."""
    return datetime.combine(day, time.min, tzinfo=CHINA)


@dataclass(frozen=True)
class SessionInfo:
    """What the reports show of a session (a plain row, not the ORM object)."""

    id: int
    title: str
    organizer_company_id: int
    organizer_name: str
    province_code: str
    city_code: str | None
    industry: str | None
    cluster: str | None
    category: str | None
    starts_at: datetime
    ends_at: datetime
    venue: str | None
    status: SessionStatus

    @property
    def month(self) -> str:
        return self.starts_at.astimezone(CHINA).strftime("%Y-%m")

    @property
    def start_day(self) -> date:
        return self.starts_at.astimezone(CHINA).date()

    def group_key(self, group_by: str) -> str:
        """The session's group under ``group_by`` ('' when the session names none)."""
        if group_by == "month":
            return self.month
        if group_by == "province":
            return self.province_code or ""
        if group_by == "city":
            return self.city_code or ""
        if group_by == "industry":
            return self.industry or ""
        if group_by == "cluster":
            return self.cluster or ""
        return str(self.id)


def group_label(group_by: str, key: str, sessions: list[SessionInfo] | None = None) -> str:
    """A group's name to show."""
    from marketplace.templating import region_name

    if not key:
        return _("Not given")
    if group_by in ("province", "city"):
        return region_name(key)
    if group_by == "session" and sessions:
        return sessions[0].title
    return key


_SESSION_COLUMNS = (
    MatchmakingSession.id, MatchmakingSession.title, MatchmakingSession.organizer_company_id, Company.name_zh,
    MatchmakingSession.province_code, MatchmakingSession.city_code, MatchmakingSession.industry,
    MatchmakingSession.cluster, MatchmakingSession.category, MatchmakingSession.starts_at,
    MatchmakingSession.ends_at, MatchmakingSession.venue, MatchmakingSession.status,
)


def select_sessions(scope: Scope, filt: ReportFilter | None = None, session_id: int | None = None,
                    group_key: str | None = None) -> list[SessionInfo]:
    """The sessions in scope and filter (and group), earliest first."""
    filt = filt or ReportFilter()
    query = (sa.select(*_SESSION_COLUMNS)
             .join(Company, Company.id == MatchmakingSession.organizer_company_id)
             .order_by(MatchmakingSession.starts_at, MatchmakingSession.id))
    if scope.organizer_company_id is not None:
        query = query.where(MatchmakingSession.organizer_company_id == scope.organizer_company_id)
    if session_id is not None:
        query = query.where(MatchmakingSession.id == session_id)
    if filt.date_from:
        query = query.where(MatchmakingSession.starts_at >= china_midnight(filt.date_from))
    if filt.date_to:
        query = query.where(MatchmakingSession.starts_at < china_midnight(filt.date_to + timedelta(days=1)))
    if filt.province:
        query = query.where(MatchmakingSession.province_code == filt.province)
    if filt.industry:
        query = query.where(MatchmakingSession.industry == filt.industry)
    sessions = [SessionInfo(*row) for row in db.session.execute(query)]
    if group_key is not None:
        sessions = [s for s in sessions if s.group_key(filt.group_by) == group_key]
    return sessions


def get_session(scope: Scope, session_id: int) -> SessionInfo:
    """One session in scope; ``NotFound`` for another organizer's (as if it did not exist)."""
    found = select_sessions(scope, session_id=session_id)
    if not found:
        raise NotFound(_l("This session does not exist."))
    return found[0]


def industries(scope: Scope) -> list[str]:
    """The industry chains the scope's sessions name (the filter's choices)."""
    query = sa.select(MatchmakingSession.industry).where(MatchmakingSession.industry.is_not(None)).distinct()
    if scope.organizer_company_id is not None:
        query = query.where(MatchmakingSession.organizer_company_id == scope.organizer_company_id)
    return sorted(value for value in db.session.scalars(query) if value)


# --------------------------------------------------------------------------- the figures


@dataclass
class Step:
    """One bar of the conversion funnel: its count and its share of the step it is measured against."""

    key: str
    label: str
    count: int
    rate: float | None  # None for the first step, or when its base is 0
    before: str = ""  # the label of the step it is measured against

    @property
    def rate_label(self) -> str:
        """'Quotes / Matches', 'Order intents / Matches', 'Signed / Order intents'."""
        return f"{self.label} / {self.before}"


@dataclass
class Figures:
    """The figures of one session or of a set of sessions (sums)."""

    sessions: int = 0
    registered: int = 0
    attending: int = 0
    exporters: int = 0
    tariff_hit: int = 0
    zjtx: int = 0
    requests: int = 0
    matches: int = 0
    quotes: int = 0
    meetings: int = 0
    #: state → [count, amount in fen]
    intents_by_state: dict[IntentState, list[int]] = field(default_factory=dict)

    def add(self, other: Figures) -> None:
        for name in ("sessions", "registered", "attending", "exporters", "tariff_hit", "zjtx", "requests",
                     "matches", "quotes", "meetings"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for state, (count, value) in other.intents_by_state.items():
            mine = self.intents_by_state.setdefault(state, [0, 0])
            mine[0] += count
            mine[1] += value

    def _sum(self, states, index: int) -> int:
        return sum(self.intents_by_state.get(state, (0, 0))[index] for state in states)

    @property
    def intents(self) -> int:
        return self._sum(INTENT_STATES, 0)

    @property
    def intent_value(self) -> int:
        return self._sum(STANDING_STATES, 1)

    @property
    def standing(self) -> int:
        return self._sum(STANDING_STATES, 0)

    @property
    def signed(self) -> int:
        return self._sum(SIGNED_STATES, 0)

    @property
    def signed_value(self) -> int:
        return self._sum(SIGNED_STATES, 1)

    @property
    def tariff_share(self) -> float | None:
        return self.tariff_hit / self.exporters if self.exporters else None

    @property
    def zjtx_share(self) -> float | None:
        return self.zjtx / self.exporters if self.exporters else None

    @property
    def attendance_rate(self) -> float | None:
        return self.attending / self.registered if self.registered else None

    def state_rows(self) -> list[tuple[IntentState, int, int]]:
        """(state, count, amount) of every counted state, in the state machine's order."""
        return [(state, *self.intents_by_state.get(state, (0, 0))) for state in INTENT_STATES]

    def funnel(self) -> list[Step]:
        """Match → quote → intent → signed: quotes and intents each as a share of the matches (an intent starts
        from an awarded quote or straight from the match board, so intents may outnumber quotes), signed as a
        share of the intents."""
        steps = [("matches", _("Matches"), self.matches), ("quotes", _("Quotes"), self.quotes),
                 ("intents", _("Order intents"), self.intents), ("signed", _("Signed"), self.signed)]
        base_of = {"quotes": "matches", "intents": "matches", "signed": "intents"}
        counts = {key: (label, count) for key, label, count in steps}
        out = []
        for key, label, count in steps:
            base = base_of.get(key)
            base_label, base_count = counts[base] if base else ("", 0)
            out.append(Step(key, label, count, (count / base_count) if base_count else None, base_label))
        return out


def _in(column, ids: list[int]):
    return column.in_(ids) if ids else sa.false()


#: from this many sessions on, the pass over order intents reads the table straight through (``_session_key``)
SCAN_FROM = 25


def _session_key(column, ids: list[int]):
    """The session id column to select intents by.

    For a few sessions, the column itself: its index finds their rows. For many, the same value through an
    expression no index serves (``session_id + 0``): SQLite's planner otherwise walks the session_id index for
    an IN list of hundreds of ids, reading most of the table row by row in index order, about twice as slow as
    one pass over it (measured on 100,000 intents; PostgreSQL chooses a sequential scan either way).
    """
    return column + 0 if len(ids) >= SCAN_FROM else column


@dataclass
class Tallies:
    """The figures of each session and the intents of each product (``None``: the product was deleted)."""

    sessions: dict[int, Figures]
    #: product id → (intents, intent value, signed value)
    products: dict[int | None, tuple[int, int, int]]


def tally(session_ids: list[int]) -> Tallies:
    """Every figure of each session: one GROUP BY per kind of row, and one pass over the intents
    (``intent_tallies``)."""
    figures = {sid: Figures(sessions=1) for sid in session_ids}
    if not session_ids:
        return Tallies(figures, {})
    reg = SessionRegistration
    inner = (sa.select(reg.session_id.label("sid"), reg.role.label("role"),
                       registration_attended().label("attended"),
                       tariff_hit(reg.company_id).label("tariff"), zjtx(reg.company_id).label("zjtx"))
             .where(_in(reg.session_id, session_ids), registration_counted())
             .subquery())
    query = (sa.select(inner.c.sid, inner.c.role, inner.c.attended, inner.c.tariff, inner.c.zjtx, sa.func.count())
             .group_by(inner.c.sid, inner.c.role, inner.c.attended, inner.c.tariff, inner.c.zjtx))
    for sid, role, attended, is_tariff, is_zjtx, count in db.session.execute(query):
        entry = figures[sid]
        entry.registered += count
        entry.attending += count if attended else 0
        if role is ParticipantRole.EXPORTER:
            entry.exporters += count
            entry.tariff_hit += count if is_tariff else 0
            entry.zjtx += count if is_zjtx else 0

    req = ProcurementRequest
    counted_requests = sa.select(req.id, req.session_id).where(_in(req.session_id, session_ids),
                                                                 request_counted()).subquery()
    for sid, count in db.session.execute(sa.select(counted_requests.c.session_id, sa.func.count())
                                         .group_by(counted_requests.c.session_id)):
        figures[sid].requests = count
    for model in (Match, ArchivedMatch):  # open demand lines' matches, and those kept when a line closed
        for sid, count in db.session.execute(
                sa.select(counted_requests.c.session_id, sa.func.count()).select_from(model)
                .join(counted_requests, counted_requests.c.id == model.request_id)
                .group_by(counted_requests.c.session_id)):
            figures[sid].matches += count
    for sid, count in db.session.execute(
            sa.select(counted_requests.c.session_id, sa.func.count()).select_from(Quote)
            .join(counted_requests, counted_requests.c.id == Quote.request_id).where(quote_counted())
            .group_by(counted_requests.c.session_id)):
        figures[sid].quotes = count
    for sid, count in db.session.execute(
            sa.select(Meeting.session_id, sa.func.count())
            .where(_in(Meeting.session_id, session_ids), meeting_live()).group_by(Meeting.session_id)):
        figures[sid].meetings = count

    by_state, products = intent_tallies(session_ids)
    for (sid, state), cell in by_state.items():
        figures[sid].intents_by_state[state] = list(cell)
    return Tallies(figures, products)


#: how many selections of sessions keep their intent tallies (``intent_tallies``), per application
MEMO_SIZE = 32


def intent_marker() -> tuple:
    """What changes whenever the intents do: their number and highest id (an intent made or deleted) and the
    highest id of their events (every change of an intent's state or terms writes one: ``deals.services``).
    Three index lookups, about a millisecond at 100,000 intents."""
    count, last = db.session.execute(sa.select(sa.func.count(), sa.func.max(OrderIntent.id))
                                     .select_from(OrderIntent)).one()
    return count, last, db.session.scalar(sa.select(sa.func.max(OrderIntentEvent.id)))


def intent_tallies(session_ids: list[int]) -> tuple[dict, dict]:
    """The sessions' intents summed by (session, state) → [count, amount] and by product → [intents, intent
    value, signed value], in one narrow pass over them (session, state, product, amount).

    One pass summed here costs less than two GROUP BYs (SQLite sorts every row for each; no index of
    ``order_intents`` covers them: one on (session_id, state, product_id, amount_fen) would). For a large
    selection (``SCAN_FROM`` sessions or more) the result is kept per application, keyed by the sessions and
    ``intent_marker()``: the next view of the same dashboard reads three index entries instead of every intent,
    and any new, changed or deleted intent changes the marker, so a kept result is never out of date.
    """
    memo = None
    if len(session_ids) >= SCAN_FROM:
        memo = current_app.extensions.setdefault("reports.intent_tallies", OrderedDict())
        key = (tuple(session_ids), intent_marker())
        if key in memo:
            memo.move_to_end(key)
            return memo[key]
    states = {state.value: state for state in INTENT_STATES}
    standing = {state.value for state in STANDING_STATES}
    signed = {state.value for state in SIGNED_STATES}
    cells: dict[tuple[int, str], list[int]] = {}
    products: dict[int | None, list[int]] = {}
    sid_key = _session_key(OrderIntent.session_id, session_ids)
    # the state as its stored text: no enum conversion per row
    query = (sa.select(sid_key, sa.type_coerce(OrderIntent.state, sa.String()), OrderIntent.product_id,
                       OrderIntent.amount_fen)
             .where(_in(sid_key, session_ids), intent_counted()))
    # Rendered by SQLAlchemy (every value a literal: our own ids, the constant "draft") and run on the DBAPI
    # cursor of the session's connection: per row, SQLAlchemy's result machinery would cost more than the loop.
    connection = db.session.connection()
    cursor = connection.connection.cursor()
    try:
        cursor.execute(str(query.compile(connection, compile_kwargs={"literal_binds": True})))
        get_cell, get_product = cells.get, products.get
        for sid, state, product_id, amount in cursor:
            cell = get_cell((sid, state))
            if cell is None:
                cells[(sid, state)] = [1, amount]
            else:
                cell[0] += 1
                cell[1] += amount
            product = get_product(product_id)
            if product is None:
                product = products[product_id] = [0, 0, 0]
            product[0] += 1
            if state in standing:
                product[1] += amount
                if state in signed:
                    product[2] += amount
    finally:
        cursor.close()
    by_state = {(sid, states[value]): tuple(cell) for (sid, value), cell in cells.items()}
    result = (by_state, {pid: tuple(values) for pid, values in products.items()})
    if memo is not None:
        memo[key] = result
        while len(memo) > MEMO_SIZE:
            memo.popitem(last=False)
    return result


def total(figures) -> Figures:
    out = Figures()
    for entry in figures:
        out.add(entry)
    return out


def distinct_companies(session_ids: list[int]) -> int:
    """How many different companies registered (a company at several sessions counts once)."""
    if not session_ids:
        return 0
    return db.session.scalar(
        sa.select(sa.func.count(sa.distinct(SessionRegistration.company_id)))
        .where(_in(SessionRegistration.session_id, session_ids), registration_counted())) or 0


@dataclass
class Ranked:
    """A product or category ranked by the value of its intents."""

    key: str
    label: str
    intents: int
    value: int
    signed_value: int
    product_id: int | None = None


def ranked(tallies: Tallies, session_ids: list[int], limit: int = 10) -> tuple[list[Ranked], list[Ranked]]:
    """The products and the catalog categories with the highest intent value (ties: more intents, then the
    lower id or code)."""
    if not tallies.products:
        return [], []
    known = sorted(pid for pid in tallies.products if pid is not None)
    order = sorted(known, key=lambda pid: (-tallies.products[pid][1], -tallies.products[pid][0], pid))[:limit]
    titles = dict(db.session.execute(
        sa.select(OrderIntent.product_id, sa.func.min(OrderIntent.product_title))
        .where(OrderIntent.product_id.in_(order), _in(OrderIntent.session_id, session_ids), intent_counted())
        .group_by(OrderIntent.product_id)).all()) if order else {}
    top_products = [Ranked(str(pid), titles.get(pid, ""), *tallies.products[pid], product_id=pid) for pid in order]
    category_of: dict[int, str] = {}
    for start in range(0, len(known), 2000):  # bound parameters per statement stay well under both databases' limits
        chunk = known[start:start + 2000]
        category_of.update(db.session.execute(sa.select(Product.id, Product.category).where(Product.id.in_(chunk))).all())
    by_category: dict[str, list[int]] = {}
    for pid, (count, value, signed_value) in tallies.products.items():
        code = category_of.get(pid, "") if pid is not None else ""
        entry = by_category.setdefault(code if code in CATEGORY_BY_CODE else "", [0, 0, 0])
        entry[0] += count
        entry[1] += value
        entry[2] += signed_value
    categories = sorted(by_category.items(), key=lambda item: (-item[1][1], -item[1][0], item[0]))[:limit]
    return top_products, [Ranked(code, category_name(code), n, v, s) for code, (n, v, s) in categories]


def category_name(code: str | None) -> str:
    """A catalog category's name in the current language."""
    category = CATEGORY_BY_CODE.get(code or "")
    return str(category.label) if category else (code or _("Not given"))


# --------------------------------------------------------------------------- the reports


@dataclass
class Group:
    key: str
    label: str
    sessions: list[SessionInfo]
    figures: Figures


@dataclass
class Dashboard:
    """Everything the across-sessions page, the summary file and the command line show."""

    scope: Scope
    filter: ReportFilter
    sessions: list[SessionInfo]
    per_session: dict[int, Figures]
    groups: list[Group]
    total: Figures
    companies: int
    products: list[Ranked]
    categories: list[Ranked]

    @property
    def empty(self) -> bool:
        return not self.sessions

    @property
    def session_ids(self) -> list[int]:
        return [s.id for s in self.sessions]


def dashboard(scope: Scope, filt: ReportFilter, top: int = 10) -> Dashboard:
    """The figures of the scope's sessions in the filter, grouped by ``filt.group_by``."""
    filt.check()
    sessions = select_sessions(scope, filt)
    ids = [s.id for s in sessions]
    tallies = tally(ids)
    per_session = tallies.sessions
    buckets: dict[str, list[SessionInfo]] = defaultdict(list)
    for info in sessions:
        buckets[info.group_key(filt.group_by)].append(info)
    products, categories = ranked(tallies, ids, top)
    groups = [Group(key, group_label(filt.group_by, key, members), members,
                    total(per_session[m.id] for m in members)) for key, members in buckets.items()]
    if filt.group_by == "month":
        groups.sort(key=lambda g: g.key)
    elif filt.group_by != "session":
        groups.sort(key=lambda g: (-g.figures.intent_value, g.label))
    return Dashboard(scope=scope, filter=filt, sessions=sessions, per_session=per_session, groups=groups,
                     total=total(per_session.values()), companies=distinct_companies(ids),
                     products=products, categories=categories)


@dataclass
class SessionReport:
    """One session's figures (the session page, its XLSX and PDF)."""

    scope: Scope
    session: SessionInfo
    figures: Figures
    products: list[Ranked]
    categories: list[Ranked]


def session_report(scope: Scope, session_id: int, top: int = 10) -> SessionReport:
    info = get_session(scope, session_id)
    tallies = tally([info.id])
    figures = tallies.sessions[info.id]
    products, categories = ranked(tallies, [info.id], top)
    return SessionReport(scope=scope, session=info, figures=figures, products=products, categories=categories)


def share(value: float | None) -> str:
    """A share as a percentage to show ('—' when there is nothing to divide by)."""
    return "—" if value is None else f"{value * 100:.1f}%"
