"""Notification rules: creating them for a company or a user, listing, counting, marking read.

``notify_company`` / ``notify_user`` add rows (and outbox e-mails) to the caller's session and
never commit: the caller owns the transaction. The read/mark functions are for this package's views.
"""
from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import url_for

from marketplace.accounts.company_services import page_number
from marketplace.accounts.models import User
from marketplace.database import utcnow
from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.i18n import _l
from marketplace.mail import queue_email
from marketplace.notifications.models import KIND_MAX, LINK_MAX, SUBJECT_MAX, Notification
from marketplace.urls import safe_next_url

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
    # an absolute address as the other e-mails build it (url_for _external); the bare path otherwise
    try:
        base = url_for("pages.home", _external=True).rstrip("/")
    except RuntimeError:  # no request and no SERVER_NAME (a CLI job)
        base = ""
    return f"{body}\n\n{base}{link}"


def _notify(users: list[User], kind: str, subject: str, body: str, link: str | None, email: bool) -> list[Notification]:
    subject = str(subject)[:SUBJECT_MAX]
    body = str(body or "")
    kind = str(kind)[:KIND_MAX]
    link = clean_link(link)
    created = []
    for user in users:
        notification = Notification(user_id=user.id, kind=kind, subject=subject, body=body, link=link,
                                    created_at=utcnow())
        db.session.add(notification)
        created.append(notification)
        if email:
            queue_email(user.email, subject, _email_body(body, link))
    return created


def notify_company(
    company_id: int,
    kind: str,
    subject: str,
    body: str,
    link: str | None = None,
    email: bool = True,
    exclude_user_id: int | None = None,
) -> list[Notification]:
    """Notify every active user of a company (but ``exclude_user_id``); adds to the session, no commit."""
    query = sa.select(User).where(User.company_id == company_id, User.active.is_(True)).order_by(User.id)
    if exclude_user_id is not None:
        query = query.where(User.id != exclude_user_id)
    return _notify(list(db.session.scalars(query)), kind, subject, body, link, email)


def notify_user(
    user_id: int, kind: str, subject: str, body: str, link: str | None = None, email: bool = True
) -> list[Notification]:
    """Notify one user when active; adds to the session, no commit (an empty list when inactive or unknown)."""
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
