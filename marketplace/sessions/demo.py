"""Demo matchmaking sessions: two finished ones (registrations, check-ins, meetings, demand lines, intents
in every state, follow-up answers) and one open for registration, so the organizer's dashboard and
reports show real figures on first start.

Owns: building deterministic demo session rows inside the demo loader's transaction (no commit, no
notifications). Intents and requests are built by the deals and sourcing demo builders, so their
histories follow the same rules.
"""
from __future__ import annotations

import random
import secrets
from datetime import UTC, datetime, time, timedelta

import sqlalchemy as sa

from marketplace.accounts.models import Company, User, Verification
from marketplace.catalog.models import Product, ProductStatus
from marketplace.deals.demo import build_intent
from marketplace.deals.states import IntentState
from marketplace.extensions import db
from marketplace.i18n import CHINA, today_in_china
from marketplace.matching.models import ArchivedMatch
from marketplace.sessions.models import (
    DropReason,
    FollowUpOutcome,
    IntentFollowUp,
    MatchmakingSession,
    Meeting,
    ParticipantRole,
    RegistrationStatus,
    SessionFocus,
    SessionHost,
    SessionRegistration,
    SessionStatus,
)
from marketplace.sourcing.demo import build_request
from marketplace.sourcing.states import QuoteState as Q
from marketplace.sourcing.states import RequestState as S
from marketplace.sourcing.states import Visibility

#: (title, description, industry, cluster, category, province, city, days from today, status, focus, capacity,
#:  the demand lines (shaped as sourcing.demo.REQUESTS), the intents' final states)
SESSIONS = (
    ("宁波小家电出口转内销专场对接会", "面向受关税影响的宁波小家电出口企业，邀请华东连锁商超与电商平台现场洽谈。",
     "家用电器", "宁波小家电产业集群", "small_appliances", "330000", "330200", -45, SessionStatus.FINISHED,
     SessionFocus.TARIFF_HIT, 60,
     (("电饭煲 3L 门店款", "华东门店秋冬主推款，需 3C 认证。", "small_appliances", 2000, "台", 16900, ("CCC",),
       ("ccc", "chinese_label"), S.CLOSED, Visibility.PUBLIC, (Q.SUBMITTED, Q.SUBMITTED)),
      ("电暖器 2000W 家用", "冬季备货，需中文说明书。", "small_appliances", 1200, "台", 15900, ("CCC",),
       ("ccc", "chinese_label"), S.CLOSED, Visibility.PUBLIC, (Q.SUBMITTED,))),
     (IntentState.SIGNED, IntentState.SIGNED, IntentState.FULFILLED, IntentState.ACCEPTED, IntentState.COUNTERED,
      IntentState.SUBMITTED, IntentState.WITHDRAWN, IntentState.DECLINED, IntentState.EXPIRED, IntentState.DRAFT)),
    ("长三角纺织服装内销对接会", "杭州都市圈商超、社区团购、电商平台与外贸服装家纺工厂对接。",
     "纺织服装", "杭州萧山纺织产业集群", "textiles", "330000", "330100", -100, SessionStatus.FINISHED,
     SessionFocus.ZJTX, 40,
     (("纯棉针织 T 恤 秋冬款", "社区团购渠道主推款，需中文吊牌和洗标。", "textiles", 3000, "件", 3900, (),
       ("chinese_label",), S.CLOSED, Visibility.PUBLIC, (Q.SUBMITTED,)),),
     (IntentState.SIGNED, IntentState.FULFILLED, IntentState.ACCEPTED, IntentState.SUBMITTED,
      IntentState.WITHDRAWN, IntentState.DECLINED)),
    ("百场万企·浙江外贸优品进商超对接会", "省内连锁商超发榜，外贸企业揭榜报价，现场 1 对 1 洽谈。",
     "消费品", "浙江外贸优品", None, "330000", "330100", 12, SessionStatus.REGISTRATION,
     SessionFocus.NONE, 12,
     (("智能电热水壶 1.5L", "连锁商超新品引进，需 3C 认证、中文包装。", "small_appliances", 1500, "台", 8900, ("CCC",),
       ("ccc", "chinese_label"), S.OPEN, Visibility.PUBLIC, ()),
      ("LED 护眼台灯 学生款", "连锁商超开学季备货，需 3C 认证。", "lighting", 2000, "台", 6900, ("CCC",),
       ("ccc", "chinese_label"), S.OPEN, Visibility.PUBLIC, ())),
     ()),
)
REFUSAL = "企业资质材料不全，请补充后重新报名。"
#: follow-up answers, in turn: (outcome, reason, text)
ANSWERS = ((FollowUpOutcome.SIGNED, None, None), (FollowUpOutcome.IN_PROGRESS, None, None),
           (FollowUpOutcome.DROPPED, DropReason.PRICE, None), (FollowUpOutcome.DROPPED, DropReason.LOGISTICS, None),
           (FollowUpOutcome.DROPPED, DropReason.OTHER, "采购计划调整"))


def _first_user(company: Company) -> User:
    return db.session.scalars(sa.select(User).where(User.company_id == company.id).order_by(User.id)).first()


def _at(day, hour: int, minute: int = 0) -> datetime:
    """A Beijing-time wall clock on ``day``, as the UTC datetime it is stored as."""
    return datetime.combine(day, time(hour, minute), tzinfo=CHINA).astimezone(UTC)


def _products_of(exporter: Company) -> list[Product]:
    return db.session.scalars(
        sa.select(Product).where(Product.company_id == exporter.id, Product.status == ProductStatus.PUBLISHED)
        .order_by(Product.id).limit(3)).all()


def add_demo_sessions(seed: int, organizer: User, exporters: list[Company], buyers: list[Company]) -> int:
    """Add the demo sessions run by ``organizer``'s company; returns how many."""
    rng = random.Random(f"demo-sessions-{seed}")
    exporters = [e for e in exporters if e.verification is Verification.VERIFIED and _products_of(e)]
    buyers = [b for b in buyers if b.verification is Verification.VERIFIED]
    if len(exporters) < 3 or len(buyers) < 2:
        return 0
    today = today_in_china()
    for number, (title, description, industry, cluster, category, province, city, offset, status, focus, capacity,
                 lines, intent_states) in enumerate(SESSIONS):
        day = today + timedelta(days=offset)
        session = MatchmakingSession(
            organizer_company_id=organizer.company_id, created_by_id=organizer.id, title=title,
            description=description, industry=industry, cluster=cluster, category=category,
            province_code=province, city_code=city, starts_at=_at(day, 9), ends_at=_at(day, 17),
            venue=rng.choice(("宁波国际会议中心 3 号厅", "杭州国际博览中心 B1 馆", "浙江省中小企业服务中心报告厅")),
            capacity=capacity, tables=8, slot_minutes=20, focus=focus, status=status,
            created_at=_at(day - timedelta(days=30), 10), updated_at=_at(day - timedelta(days=30), 10))
        db.session.add(session)
        db.session.flush()
        hosts = [buyers[(number + i) % len(buyers)] for i in range(2)]
        for host in hosts:
            db.session.add(SessionHost(session_id=session.id, company_id=host.id, created_at=session.created_at))
        # the exporters of the session's goods first (the cluster it is for), then others
        start = number * 4 % len(exporters)
        rotated = exporters[start:] + exporters[:start]
        wanted = {entry[2] for entry in lines} | ({category} if category else set())
        rotated.sort(key=lambda e: not any(p.category in wanted for p in _products_of(e)))
        invited = rotated[:min(len(exporters), 9)]
        registrations = _register(rng, session, hosts, invited, organizer, finished=status is SessionStatus.FINISHED)
        # the hosts' demand lines (发榜), posted three weeks before the session
        for entry in lines:
            request = build_request(rng, entry, hosts[0], invited, _at(day - timedelta(days=21), 10),
                                    session_id=session.id,
                                    deadline=day + timedelta(days=20) if status is not SessionStatus.FINISHED else day)
            if status is SessionStatus.FINISHED:
                _archive_matches(rng, request, invited, session.starts_at)
        approved = [r.company for r in registrations
                    if r.status is RegistrationStatus.APPROVED and r.role is ParticipantRole.EXPORTER]
        if status is SessionStatus.FINISHED:
            _meetings(rng, session, hosts, approved)
            intents = []
            for index, state in enumerate(intent_states):
                exporter = approved[index % len(approved)]
                products = sorted(_products_of(exporter), key=lambda p: p.category not in wanted)
                product = products[0] if products[0].category in wanted else products[index % len(products)]
                at = session.starts_at + timedelta(hours=rng.randint(1, 7))
                intents.append(build_intent(rng, hosts[index % 2], exporter, product, state, at,
                                            session_id=session.id))
            _follow_ups(rng, session, intents, today)
    return len(SESSIONS)


def _archive_matches(rng, request, exporters, closed_at) -> None:
    """What a closed demand line of a finished session matched, as ``archived_matches`` keeps it: the invited
    exporters' products of its category. (Generated for the demo: the scorer needs the product index, built
    after the demo data; an open line's matches are computed by the app.)"""
    for exporter in exporters:
        for product in _products_of(exporter):
            if product.category == request.category:
                db.session.add(ArchivedMatch(
                    request_id=request.id, product_id=product.id, exporter_id=exporter.id,
                    buyer_id=request.buyer_company_id, score_x10=rng.randint(450, 880),
                    first_seen_at=request.created_at + timedelta(hours=1), archived_at=closed_at + timedelta(days=1)))
    db.session.flush()


def _register(rng, session, hosts, exporters, organizer, finished: bool) -> list[SessionRegistration]:
    """The hosts as approved buyers; the exporters approved (one refused, the last on the waiting list of an
    open session that is full); attendees checked in at a finished session."""
    rows = []
    for n, company in enumerate([*hosts, *exporters]):
        role = ParticipantRole.BUYER if n < len(hosts) else ParticipantRole.EXPORTER
        status = RegistrationStatus.APPROVED
        if role is ParticipantRole.EXPORTER and n == len(hosts) + 2:
            status = RegistrationStatus.REFUSED
        elif not finished and n >= len(hosts) + 5:
            status = RegistrationStatus.PENDING
        registered = session.created_at + timedelta(days=1 + n % 10, hours=rng.randint(0, 8))
        user = _first_user(company)
        row = SessionRegistration(
            session_id=session.id, company_id=company.id, role=role, status=status, invited=n < len(hosts),
            attendee_name=user.name if user else None, attendee_phone=None,
            refusal_reason=REFUSAL if status is RegistrationStatus.REFUSED else None,
            checkin_token=secrets.token_urlsafe(32), created_by_id=user.id if user else None,
            decided_by_id=organizer.id if status is not RegistrationStatus.PENDING else None,
            decided_at=registered + timedelta(days=1) if status is not RegistrationStatus.PENDING else None,
            created_at=registered)
        if finished and status is RegistrationStatus.APPROVED and n % 6 != 5:
            row.checked_in_at = session.starts_at - timedelta(minutes=rng.randint(5, 40))
        row.company = company
        rows.append(row)
    if not finished:
        # an open session filled to its capacity, and one more company on the waiting list
        rows[-1].status = RegistrationStatus.WAITLISTED
        rows[-1].decided_by_id = rows[-1].decided_at = None
        session.capacity = sum(1 for r in rows if r.status.holds_place)
    db.session.add_all(rows)
    db.session.flush()
    return rows


def _meetings(rng, session, hosts, exporters) -> None:
    """1:1 meetings of the hosts with the approved exporters, one slot after another, a table per host."""
    slot = timedelta(minutes=session.slot_minutes)
    for n, exporter in enumerate(exporters[:6]):
        host = hosts[n % len(hosts)]
        begins = session.starts_at + timedelta(hours=1) + slot * (n // len(hosts))
        product = _products_of(exporter)[0]
        db.session.add(Meeting(
            session_id=session.id, slot_start=begins, slot_end=begins + slot, table_no=1 + n % len(hosts),
            buyer_company_id=host.id, exporter_company_id=exporter.id, product_id=product.id,
            booked_by_company_id=host.id if n % 2 == 0 else exporter.id,
            note="现场洽谈样品与报价", created_at=session.starts_at - timedelta(days=3)))
    db.session.flush()


def _follow_ups(rng, session, intents, today) -> None:
    """The 30- (and 90-) day questions on the session's open intents, most of them answered."""
    answer = 0
    for intent in intents:
        if intent.state.is_closed:
            continue
        made = intent.created_at.astimezone(CHINA).date()
        for stage in (30, 90):
            due = made + timedelta(days=stage)
            if due > today:
                continue
            for company_id in (intent.buyer_company_id, intent.exporter_company_id):
                row = IntentFollowUp(intent_id=intent.id, session_id=session.id, stage=stage, company_id=company_id,
                                     due_on=due, asked_at=_at(due, 8))
                if (intent.id + company_id + stage) % 4:
                    outcome, reason, text = ANSWERS[answer % len(ANSWERS)]
                    answer += 1
                    if intent.state is IntentState.SIGNED or intent.state is IntentState.FULFILLED:
                        outcome, reason, text = FollowUpOutcome.SIGNED, None, None
                    row.outcome, row.reason, row.reason_text = outcome, reason, text
                    row.answered_at = _at(due, 8) + timedelta(days=rng.randint(0, 5), hours=rng.randint(1, 8))
                db.session.add(row)
    db.session.flush()

