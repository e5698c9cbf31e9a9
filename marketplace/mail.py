"""E-mail through an outbox: services queue rows in their transaction; delivery follows commit.

Owns: the ``outbox_emails`` table, queueing and delivery. With no ``MAIL_SERVER`` (the
embedded default) delivery writes the message to the log instead of sending it.
"""
from __future__ import annotations

import logging
import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.database import UTCDateTime, utcnow
from marketplace.extensions import db

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


class OutboxEmail(db.Model):
    """An e-mail waiting to be sent, or sent (``sent_at``)."""

    __tablename__ = "outbox_emails"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))

    def __repr__(self) -> str:
        return f"<OutboxEmail {self.id} to {self.recipient} sent={self.sent_at is not None}>"


def queue_email(recipient: str, subject: str, body: str) -> OutboxEmail:
    """Add an e-mail to the outbox in the caller's transaction (sent after commit)."""
    message = OutboxEmail(recipient=recipient, subject=str(subject), body=str(body))
    db.session.add(message)
    return message


def _send_smtp(message: OutboxEmail) -> None:
    config = current_app.config
    email = EmailMessage()
    email["From"] = config["MAIL_FROM"]
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email.set_content(message.body)
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=20) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls(context=ssl.create_default_context())  # without a context nothing is verified
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        smtp.send_message(email)


def deliver_outbox(limit: int = 50) -> int:
    """Send pending e-mails (or log them without SMTP); returns how many went out.

    On PostgreSQL the rows are locked until this transaction commits and rows another sender holds are
    skipped (``FOR UPDATE SKIP LOCKED``): the worker's every-minute job and a web request sending at the same
    moment never send one message twice. SQLite's writers take turns anyway (``BEGIN IMMEDIATE``).
    """
    pending = db.session.scalars(
        sa.select(OutboxEmail)
        .where(OutboxEmail.sent_at.is_(None), OutboxEmail.attempts < MAX_ATTEMPTS)
        .order_by(OutboxEmail.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    sent = 0
    for message in pending:
        message.attempts += 1
        try:
            if current_app.config.get("MAIL_SERVER"):
                _send_smtp(message)
            else:
                logger.info(
                    "e-mail (no MAIL_SERVER, printed instead)\nTo: %s\nSubject: %s\n\n%s",
                    message.recipient, message.subject, message.body,
                )
            message.sent_at = utcnow()
            message.last_error = None
            sent += 1
        except (OSError, smtplib.SMTPException) as error:
            message.last_error = str(error)[:500]
            logger.warning("e-mail %s to %s failed: %s", message.id, message.recipient, error)
    db.session.commit()
    return sent
