"""Matchmaking-session tables: the session, its hosts (chain leaders), registrations with check-in,
1:1 meetings, and the follow-ups of the intents made at it.

Owns: the tables of the sessions feature. Imports only extensions, database helpers and the
accounts/catalog/sourcing/deals models it points to. Double booking is refused by the database
itself (partial unique indexes on live meetings), so two bookings at once cannot both win.
"""
from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import Company, User
from marketplace.database import UTCDateTime, enum_column, utcnow
from marketplace.extensions import db
from marketplace.i18n import _l


class SessionStatus(enum.Enum):
    """筹备 → 报名 → 进行 → 结束 (a session may also be cancelled before it runs)."""

    PREPARING = "preparing"
    REGISTRATION = "registration"
    RUNNING = "running"
    FINISHED = "finished"
    CANCELLED = "cancelled"

    @property
    def label(self):
        return SESSION_STATUS_LABELS[self]


SESSION_STATUS_LABELS = {
    SessionStatus.PREPARING: _l("Preparing"),
    SessionStatus.REGISTRATION: _l("Open for registration"),
    SessionStatus.RUNNING: _l("In progress"),
    SessionStatus.FINISHED: _l("Finished"),
    SessionStatus.CANCELLED: _l("Cancelled"),
}


class SessionFocus(enum.Enum):
    """Whom the match board and the invitations put first."""

    NONE = "none"
    TARIFF_HIT = "tariff_hit"
    ZJTX = "zjtx"

    @property
    def label(self):
        return SESSION_FOCUS_LABELS[self]


SESSION_FOCUS_LABELS = {
    SessionFocus.NONE: _l("No focus"),
    SessionFocus.TARIFF_HIT: _l("Tariff-hit exporters first"),
    SessionFocus.ZJTX: _l("专精特新 exporters first"),
}


class ParticipantRole(enum.Enum):
    EXPORTER = "exporter"
    BUYER = "buyer"

    @property
    def label(self):
        return PARTICIPANT_ROLE_LABELS[self]


PARTICIPANT_ROLE_LABELS = {ParticipantRole.EXPORTER: _l("Exporter"), ParticipantRole.BUYER: _l("Buyer")}


class RegistrationStatus(enum.Enum):
    PENDING = "pending"
    APPROVED = "approved"
    WAITLISTED = "waitlisted"
    REFUSED = "refused"
    CANCELLED = "cancelled"

    @property
    def label(self):
        return REGISTRATION_STATUS_LABELS[self]

    @property
    def holds_place(self) -> bool:
        """Whether the registration counts against the session's capacity."""
        return self in (RegistrationStatus.PENDING, RegistrationStatus.APPROVED)


REGISTRATION_STATUS_LABELS = {
    RegistrationStatus.PENDING: _l("Awaiting approval"),
    RegistrationStatus.APPROVED: _l("Approved"),
    RegistrationStatus.WAITLISTED: _l("On the waiting list"),
    RegistrationStatus.REFUSED: _l("Refused"),
    RegistrationStatus.CANCELLED: _l("Cancelled"),
}


class FollowUpOutcome(enum.Enum):
    SIGNED = "signed"
    IN_PROGRESS = "in_progress"
    DROPPED = "dropped"

    @property
    def label(self):
        return FOLLOW_UP_OUTCOME_LABELS[self]


FOLLOW_UP_OUTCOME_LABELS = {
    FollowUpOutcome.SIGNED: _l("Contract signed"),
    FollowUpOutcome.IN_PROGRESS: _l("Still in progress"),
    FollowUpOutcome.DROPPED: _l("Dropped"),
}


class DropReason(enum.Enum):
    PRICE = "price"
    QUALITY = "quality"
    CERTIFICATION = "certification"
    LOGISTICS = "logistics"
    OTHER = "other"

    @property
    def label(self):
        return DROP_REASON_LABELS[self]


DROP_REASON_LABELS = {
    DropReason.PRICE: _l("Price"),
    DropReason.QUALITY: _l("Quality"),
    DropReason.CERTIFICATION: _l("Certification"),
    DropReason.LOGISTICS: _l("Logistics"),
    DropReason.OTHER: _l("Other"),
}


class MatchmakingSession(db.Model):
    """A 专场对接会: an organizer hosts chain leaders and invites the exporters of a cluster."""

    __tablename__ = "matchmaking_sessions"
    __table_args__ = (
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        sa.CheckConstraint("capacity > 0", name="capacity_positive"),
        sa.CheckConstraint("tables > 0", name="tables_positive"),
        sa.CheckConstraint("slot_minutes >= 5", name="slot_minutes_min"),
        sa.Index("ix_matchmaking_sessions_organizer_starts", "organizer_company_id", "starts_at"),
        sa.Index("ix_matchmaking_sessions_province_starts", "province_code", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organizer_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    #: the industry chain (产业链) and the cluster (产业集群), free text as organizers name them
    industry: Mapped[str | None] = mapped_column(sa.String(100), index=True)
    cluster: Mapped[str | None] = mapped_column(sa.String(100))
    #: a catalog category code (marketplace.catalog.categories) the session is about, optional
    category: Mapped[str | None] = mapped_column(sa.String(32))
    #: GB/T 2260 codes of where it is held
    province_code: Mapped[str] = mapped_column(sa.String(6))
    city_code: Mapped[str | None] = mapped_column(sa.String(6))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    venue: Mapped[str | None] = mapped_column(sa.String(200))
    online_url: Mapped[str | None] = mapped_column(sa.String(500))
    #: how many companies may hold a place (pending + approved); more go on the waiting list
    capacity: Mapped[int] = mapped_column(sa.Integer, default=100)
    #: 1:1 meeting tables and the length of one meeting slot
    tables: Mapped[int] = mapped_column(sa.Integer, default=10)
    slot_minutes: Mapped[int] = mapped_column(sa.Integer, default=20)
    focus: Mapped[SessionFocus] = mapped_column(enum_column(SessionFocus), default=SessionFocus.NONE)
    status: Mapped[SessionStatus] = mapped_column(
        enum_column(SessionStatus), default=SessionStatus.PREPARING, index=True)
    #: optimistic lock: every change bumps it
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __mapper_args__ = {"version_id_col": version}

    organizer_company: Mapped[Company] = relationship(foreign_keys=[organizer_company_id])
    created_by: Mapped[User | None] = relationship()
    hosts: Mapped[list[SessionHost]] = relationship(
        back_populates="session", order_by="SessionHost.id", cascade="all, delete-orphan", passive_deletes=True)
    registrations: Mapped[list[SessionRegistration]] = relationship(
        back_populates="session", order_by="SessionRegistration.id", passive_deletes=True)

    def __repr__(self) -> str:
        return f"<MatchmakingSession {self.id} {self.status.value} v{self.version}>"


class SessionHost(db.Model):
    """A chain leader (or other buyer company) hosting a session: it publishes the session's demand list."""

    __tablename__ = "session_hosts"
    __table_args__ = (sa.UniqueConstraint("session_id", "company_id", name="uq_session_hosts_session_company"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("matchmaking_sessions.id", ondelete="CASCADE"))
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    session: Mapped[MatchmakingSession] = relationship(back_populates="hosts")
    company: Mapped[Company] = relationship()


class SessionRegistration(db.Model):
    """A company's place at a session (one per company), from registration or invitation to check-in."""

    __tablename__ = "session_registrations"
    __table_args__ = (
        sa.UniqueConstraint("session_id", "company_id", name="uq_session_registrations_session_company"),
        sa.Index("ix_session_registrations_session_status", "session_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("matchmaking_sessions.id", ondelete="CASCADE"))
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    role: Mapped[ParticipantRole] = mapped_column(enum_column(ParticipantRole))
    status: Mapped[RegistrationStatus] = mapped_column(
        enum_column(RegistrationStatus), default=RegistrationStatus.PENDING)
    #: invited by the organizer (rather than registered by the company itself)
    invited: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    #: who attends and how to reach them on the day
    attendee_name: Mapped[str | None] = mapped_column(sa.String(100))
    attendee_phone: Mapped[str | None] = mapped_column(sa.String(30))
    note: Mapped[str | None] = mapped_column(sa.Text)
    #: the organizer's reason when refusing
    refusal_reason: Mapped[str | None] = mapped_column(sa.Text)
    #: the secret in the registration's QR code (check-in on the day)
    checkin_token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}

    session: Mapped[MatchmakingSession] = relationship(back_populates="registrations")
    company: Mapped[Company] = relationship()

    def __repr__(self) -> str:
        return f"<SessionRegistration {self.id} s{self.session_id} c{self.company_id} {self.status.value}>"


LIVE_MEETING = sa.text("cancelled_at IS NULL")


class Meeting(db.Model):
    """A 1:1 meeting (供需洽谈) of a buyer and an exporter at one table in one slot of a session.

    The partial unique indexes refuse a second live meeting at the same table and slot, and a company
    in two meetings at once; a cancelled meeting keeps its row (cancelled_at) and frees its slot.
    """

    __tablename__ = "session_meetings"
    __table_args__ = (
        sa.Index("uq_session_meetings_table_slot", "session_id", "slot_start", "table_no", unique=True,
                 sqlite_where=LIVE_MEETING, postgresql_where=LIVE_MEETING),
        sa.Index("uq_session_meetings_buyer_slot", "session_id", "slot_start", "buyer_company_id", unique=True,
                 sqlite_where=LIVE_MEETING, postgresql_where=LIVE_MEETING),
        sa.Index("uq_session_meetings_exporter_slot", "session_id", "slot_start", "exporter_company_id",
                 unique=True, sqlite_where=LIVE_MEETING, postgresql_where=LIVE_MEETING),
        sa.CheckConstraint("table_no > 0", name="table_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("matchmaking_sessions.id", ondelete="CASCADE"),
                                            index=True)
    slot_start: Mapped[datetime] = mapped_column(UTCDateTime)
    slot_end: Mapped[datetime] = mapped_column(UTCDateTime)
    table_no: Mapped[int] = mapped_column(sa.Integer)
    buyer_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    exporter_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"),
                                                     index=True)
    #: the match it was booked from (request and product), when it was
    request_id: Mapped[int | None] = mapped_column(sa.ForeignKey("procurement_requests.id", ondelete="SET NULL"))
    product_id: Mapped[int | None] = mapped_column(sa.ForeignKey("products.id", ondelete="SET NULL"))
    booked_by_company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"))
    booked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_by_company_id: Mapped[int | None] = mapped_column(sa.ForeignKey("companies.id", ondelete="SET NULL"))

    session: Mapped[MatchmakingSession] = relationship()
    buyer_company: Mapped[Company] = relationship(foreign_keys=[buyer_company_id])
    exporter_company: Mapped[Company] = relationship(foreign_keys=[exporter_company_id])

    def __repr__(self) -> str:
        return f"<Meeting {self.id} s{self.session_id} t{self.table_no} {self.slot_start:%H:%M}>"


class IntentFollowUp(db.Model):
    """The question, 30 or 90 days after an intent of a session, to one of its two companies: what came of it?"""

    __tablename__ = "intent_follow_ups"
    __table_args__ = (
        sa.UniqueConstraint("intent_id", "stage", "company_id", name="uq_intent_follow_ups_intent_stage_company"),
        sa.CheckConstraint("stage IN (30, 90)", name="stage_days"),
        sa.Index("ix_intent_follow_ups_company_answered", "company_id", "answered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    intent_id: Mapped[int] = mapped_column(sa.ForeignKey("order_intents.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("matchmaking_sessions.id", ondelete="SET NULL"), index=True)
    #: days after the intent was made: 30 or 90
    stage: Mapped[int] = mapped_column(sa.Integer)
    company_id: Mapped[int] = mapped_column(sa.ForeignKey("companies.id", ondelete="CASCADE"))
    due_on: Mapped[date] = mapped_column(sa.Date)
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    outcome: Mapped[FollowUpOutcome | None] = mapped_column(enum_column(FollowUpOutcome))
    reason: Mapped[DropReason | None] = mapped_column(enum_column(DropReason))
    reason_text: Mapped[str | None] = mapped_column(sa.String(500))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    def __repr__(self) -> str:
        return f"<IntentFollowUp {self.id} intent {self.intent_id} d{self.stage} c{self.company_id}>"
