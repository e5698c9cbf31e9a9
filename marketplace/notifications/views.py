"""Notification pages: the user's list, marking one or all read; and the navbar's unread count.

Views parse input, call one service and render or redirect. No rule lives here.
"""
from __future__ import annotations

import logging

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from marketplace.i18n import _
from marketplace.notifications import bp, services

logger = logging.getLogger(__name__)


class MarkReadForm(FlaskForm):
    """A button posting to mark notifications read (the form carries only the CSRF token)."""


def _unread_notifications() -> int:
    # called by the navbar only; one COUNT query, only when a template asks
    if not current_user.is_authenticated:
        return 0
    return services.count_unread(current_user)


@bp.app_context_processor
def inject_unread_notifications():
    """``unread_notifications()`` for every template (lazy: nothing runs until it is called)."""
    return {"unread_notifications": _unread_notifications}


@bp.route("/")
@login_required
def index():
    """The user's notifications, newest first, unread highlighted."""
    page = services.list_notifications(current_user, request.args.get("page", 1))
    return render_template("notifications/index.html", page=page, form=MarkReadForm())


@bp.route("/<int:notification_id>/read", methods=["POST"])
@login_required
def read(notification_id: int):
    """Mark one notification read, then follow its link (or return to the list)."""
    if not MarkReadForm().validate_on_submit():
        abort(400)
    notification = services.mark_notification_read(current_user, notification_id)
    return redirect(notification.link or url_for("notifications.index"))


@bp.route("/read-all", methods=["POST"])
@login_required
def read_all():
    """Mark every notification of the user read."""
    if not MarkReadForm().validate_on_submit():
        abort(400)
    count = services.mark_all_notifications_read(current_user)
    if count:
        flash(_("All notifications have been marked as read."), "success")
    return redirect(url_for("notifications.index"))
