"""The ``notifications`` table: one message for one user, read or unread.

Subject and body are stored twice: as the message ids with their arguments (``*_i18n``, shown in
the reader's language) and as text in the recipient's language when written (the fallback, and
what older rows have). Must not import feature services or views.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.database import UTCDateTime, utcnow
from marketplace.extensions import db
from marketplace.i18n import render_message

KIND_MAX = 40
SUBJECT_MAX = 300
LINK_MAX = 500


class Notification(db.Model):
    """A message to one user; ``link`` is a path on this site, ``read_at`` is set once read."""

    __tablename__ = "notifications"
    # the list and the unread count both filter by user, newest first
    __table_args__ = (sa.Index("ix_notifications_user_read_created", "user_id", "read_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(KIND_MAX))
    subject: Mapped[str] = mapped_column(sa.String(SUBJECT_MAX))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    #: a relative URL path only (checked with ``safe_next_url``); None when unsafe or absent
    link: Mapped[str | None] = mapped_column(sa.String(LINK_MAX))
    #: ``i18n.encode_message`` of the subject and body (message ids and arguments); None for plain text
    subject_i18n: Mapped[dict | None] = mapped_column(sa.JSON)
    body_i18n: Mapped[dict | None] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<Notification {self.id} {self.kind} to user {self.user_id} read={self.read_at is not None}>"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    @property
    def display_subject(self) -> str:
        """The subject in the current reader's language (the stored text for older rows)."""
        if self.subject_i18n is None:
            return self.subject
        return render_message(self.subject_i18n)[:SUBJECT_MAX] or self.subject

    @property
    def display_body(self) -> str:
        """The body in the current reader's language (the stored text for older rows)."""
        if self.body_i18n is None:
            return self.body or ""
        return render_message(self.body_i18n) or self.body or ""
