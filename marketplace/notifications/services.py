"""Notification rules: creating them for a company or a user, listing, counting, marking read.

``notify_company`` / ``notify_user`` add rows (and outbox e-mails) to the caller's session and
never commit: the caller owns the transaction. The read/mark functions are for this package's views.
"""
from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale

from marketplace.accounts.models import User
from marketplace.database import utcnow
from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.i18n import SUPPORTED_LOCALES, _l, encode_message, render_message
from marketplace.inputs import page_number
from marketplace.mail import queue_email
from marketplace.notifications.models import KIND_MAX, LINK_MAX, SUBJECT_MAX, Notification
from marketplace.urls import public_base_url, safe_next_url

logger = logging.getLogger(__name__)

PER_PAGE = 20


def clean_link(link: str | None) -> str | None:
    """``link`` when it is a path on this site that fits the column, else None."""
    safe = safe_next_url(link.strip() if link else None)
    if safe is None or len(safe) > LINK_MAX:
        if link:
            logger.warning("notification link dropped as unsafe: %r", link[:200])
        return None
    return safe


def _email_body(body: str, link: str | None) -> str:
    if not link:
        return body
    # the configured public address, never the request's Host (which whoever sends it chooses)
    return f"{body}\n\n{public_base_url()}{link}"


def _recipient_locale(user: User) -> str:
    return user.locale if user.locale in SUPPORTED_LOCALES else current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_CN")


def _notify(users: list[User], kind: str, subject, body, link: str | None, email: bool) -> list[Notification]:
    # store what can be re-rendered (message ids and arguments) and, per recipient, the text in
    # that recipient's saved language: the fallback, and the e-mail's words
    subject_data, body_data = encode_message(subject), encode_message(body or "")
    kind = str(kind)[:KIND_MAX]
    link = clean_link(link)
    created = []
    for user in users:
        with force_locale(_recipient_locale(user)):
            subject_text = render_message(subject_data)[:SUBJECT_MAX]
            body_text = render_message(body_data)
            mail_body = _email_body(body_text, link) if email else None
        notification = Notification(
            user_id=user.id, kind=kind, subject=subject_text, body=body_text, link=link, created_at=utcnow(),
            subject_i18n=subject_data if isinstance(subject_data, dict) else None,
            body_i18n=body_data if isinstance(body_data, dict) else None,
        )
        db.session.add(notification)
        created.append(notification)
        if email:
            queue_email(user.email, subject_text, mail_body)
    return created


def notify_company(
    company_id: int,
    kind: str,
    subject,
    body,
    link: str | None = None,
    email: bool = True,
    exclude_user_id: int | None = None,
) -> list[Notification]:
    """Notify every active user of a company (but ``exclude_user_id``); adds to the session, no commit.

    Pass ``subject`` and ``body`` as lazy strings (``_l("… %(x)s", x=…)``; arguments may be lazy
    too, e.g. a state's label or ``lazy_money(fen)``), or a list of them shown one per line: each
    reader then sees them in their own language, and e-mails go out in the recipient's saved one.
    Plain text is stored as it is.
    """
    query = sa.select(User).where(User.company_id == company_id, User.active.is_(True)).order_by(User.id)
    if exclude_user_id is not None:
        query = query.where(User.id != exclude_user_id)
    return _notify(list(db.session.scalars(query)), kind, subject, body, link, email)


def notify_user(
    user_id: int, kind: str, subject, body, link: str | None = None, email: bool = True
) -> list[Notification]:
    """Notify one user when active (subject and body as for ``notify_company``); adds to the session, no commit."""
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        return []
    return _notify([user], kind, subject, body, link, email)


def list_notifications(user: User, page=1):
    """The user's own notifications, newest first, paginated."""
    query = (
        sa.select(Notification)
        .where(Notification.user_id == user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )
    return db.paginate(query, page=page_number(page), per_page=PER_PAGE, error_out=False, count=True)


def count_unread(user: User) -> int:
    """How many of the user's notifications are unread (one COUNT query)."""
    return db.session.scalar(
        sa.select(sa.func.count(Notification.id)).where(
            Notification.user_id == user.id, Notification.read_at.is_(None)
        )
    ) or 0


def mark_notification_read(user: User, notification_id: int) -> Notification:
    """Mark one of the user's notifications read and commit; NotFound for anyone else's."""
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != user.id:
        raise NotFound(_l("This notification does not exist."))
    if notification.read_at is None:
        notification.read_at = utcnow()
        db.session.commit()
    return notification


def mark_all_notifications_read(user: User) -> int:
    """Mark every unread notification of the user read and commit; returns how many."""
    result = db.session.execute(
        sa.update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    db.session.commit()
    return result.rowcount or 0
