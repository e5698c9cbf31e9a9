"""Session match board, 1:1 meeting booking and schedules, order intents from a session, follow-ups
(routes on the sessions blueprint, at /sessions/…).

Views parse input, call one service (``board``, ``meetings``, ``followups``, ``deals.services``) and render or
redirect; refusals become form errors or flashes, NotFound the 404 page. No rule lives here.
"""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from marketplace.deals import services as deals
from marketplace.deals.forms import StartIntentForm
from marketplace.errors import Conflict, ValidationFailed, show_on_form
from marketplace.i18n import _
from marketplace.inputs import query_id
from marketplace.sessions import board, followups, meetings
from marketplace.sessions.board_forms import BoardFilterForm, BookMeetingForm, ConfirmForm, FollowUpForm
from marketplace.sessions.models import FollowUpOutcome
from marketplace.sessions.views import bp

#: the board pages' stylesheet (the tables' grid, the schedules' print rules), beside their templates


@bp.app_template_global()
def session_clock(value) -> str:
    """HH:MM in Asia/Shanghai."""
    return meetings.clock(value)


@bp.app_template_global()
def session_is_organizer(session) -> bool:
    """Whether the reader runs the session (its organizer company, or a platform administrator)."""
    return board.is_organizer(current_user, session)


@bp.app_template_global()
def session_detail_url(session) -> str | None:
    """The session's own page, when the sessions pages are there."""
    if "sessions.detail" not in current_app.view_functions:
        return None
    return url_for("sessions.detail", session_id=session.id)


@bp.app_template_global()
def session_local(value):
    """A stored time in Asia/Shanghai (for its date)."""
    return meetings.local(value)


# ----------------------------------------------------------------------------- the board


@bp.get("/<int:session_id>/board", endpoint="board")
@login_required
def board_page(session_id: int):
    """The session's match board: demand lines × approved exporters' products, the focus first, best first."""
    form = BoardFilterForm(request.args)
    found = board.board_page(current_user, session_id, form.filters(), request.args.get("page", 1))
    form.offer(found.request_choices, found.exporter_choices)
    return render_template("sessions/board/board.html", found=found, session=found.access.session, form=form,
                           access=found.access)


# ----------------------------------------------------------------------------- meetings


def _pair_args() -> tuple[int | None, int | None]:
    return query_id(request.args.get("request")), query_id(request.args.get("product"))


@bp.route("/<int:session_id>/board/meet", methods=["GET", "POST"])
@login_required
def board_book(session_id: int):
    """Book a 1:1 meeting of a board row's buyer and exporter: choose a time (the organizer: also a table)."""
    request_id, product_id = _pair_args()
    access, match = board.board_pair(current_user, session_id, request_id, product_id)
    session = access.session
    form = BookMeetingForm()
    status = 200
    if form.validate_on_submit():
        try:
            meeting = meetings.book_meeting(current_user, session_id, request_id, product_id, form.slot_start,
                                            table_no=form.table_no if access.is_organizer else None,
                                            note=form.note.data)
        except (ValidationFailed, Conflict) as error:
            show_on_form(form, error)
            status = error.status_code if isinstance(error, Conflict) else 422
        else:
            flash(_("Meeting booked: %(time)s, table %(table)s. Both companies are notified.",
                    time=meetings.stamp(meeting.slot_start), table=meeting.table_no), "success")
            if access.is_organizer:
                return redirect(url_for("sessions.board_tables", session_id=session_id))
            return redirect(url_for("sessions.board_schedule", session_id=session_id))
    elif request.method == "POST":
        status = 422
    options = meetings.slot_options(session, match.buyer_id, match.exporter_id)
    form.prepare(options, session.tables, access.is_organizer)
    existing = board.pair_meetings(session.id, {(match.buyer_id, match.exporter_id)}).get(
        (match.buyer_id, match.exporter_id), [])
    return render_template("sessions/board/book.html", session=session, access=access, match=match, form=form,
                           options=options, existing=existing,
                           bookable=session.status in board.BOOKABLE_STATES), status


@bp.route("/<int:session_id>/meetings/<int:meeting_id>/cancel", methods=["GET", "POST"])
@login_required
def board_cancel(session_id: int, meeting_id: int):
    """Cancel a meeting (either company or the organizer), after a confirmation page."""
    meeting = meetings.get_meeting(current_user, session_id, meeting_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            meetings.cancel_meeting(current_user, session_id, meeting_id)
        except ValidationFailed as error:
            flash(str(error), "danger")
        else:
            flash(_("The meeting is cancelled and its slot is free again. Both companies are notified."), "success")
        if board.is_organizer(current_user, meeting.session):
            return redirect(url_for("sessions.board_tables", session_id=session_id))
        return redirect(url_for("sessions.board_schedule", session_id=session_id))
    if request.method == "POST":
        abort(400)
    return render_template("sessions/board/cancel.html", session=meeting.session, meeting=meeting, form=form)


@bp.get("/<int:session_id>/schedule")
@login_required
def board_schedule(session_id: int):
    """A company's own meetings, printable (the organizer chooses the company with ``?company=``)."""
    schedule = meetings.company_schedule(current_user, session_id, query_id(request.args.get("company")))
    return render_template("sessions/board/schedule.html", schedule=schedule, session=schedule.session,
                           cancel_form=ConfirmForm(formdata=None))


@bp.get("/<int:session_id>/schedule/tables")
@login_required
def board_tables(session_id: int):
    """Every table's meetings slot by slot: the organizer's printable grid."""
    schedule = meetings.table_schedule(current_user, session_id)
    return render_template("sessions/board/tables.html", schedule=schedule, session=schedule.session)


# ----------------------------------------------------------------------------- order intents from a session


@bp.route("/<int:session_id>/board/intent", methods=["GET", "POST"])
@login_required
def board_intent(session_id: int):
    """The order-intent form for a board row's product, the session preset (kept when both companies take part)."""
    from marketplace.deals.views import _start_token, record_start_form

    form = StartIntentForm()
    request_id, product_id = _pair_args()
    access, match = board.board_pair(current_user, session_id, request_id, product_id)
    if access.company_id != match.buyer_id:
        abort(404)
    product = deals.get_product_for_intent(current_user, match.product_id)
    if request.method == "GET":
        form.prepare(product, token=_start_token(product.id, fresh=False))
        form.quantity.data = str(match.request.quantity)
    elif form.validate_on_submit():
        recorded = record_start_form(form, product.id, session_id=session_id)
        if recorded is not None:
            return recorded
    return render_template("sessions/board/start_intent.html", form=form, product=product, match=match,
                           session=access.session,
                           in_session=board.pair_approved(session_id, match.buyer_id, match.exporter_id),
                           open_intents=deals.open_intents_on_product(current_user, product.id))


# ----------------------------------------------------------------------------- follow-ups


@bp.get("/follow-ups")
@login_required
def follow_ups():
    """The company's follow-ups of order intents made at sessions: pending first, then the latest answered."""
    lists = followups.list_follow_ups(current_user)
    return render_template("sessions/board/follow_ups.html", lists=lists)


@bp.route("/follow-ups/<int:follow_up_id>", methods=["GET", "POST"])
@login_required
def follow_up(follow_up_id: int):
    """Answer one follow-up: signed, in progress, or dropped with a reason (only the asked company)."""
    found = followups.get_follow_up(current_user, follow_up_id)
    form = FollowUpForm()
    status = 200
    if found.answered_at is None and form.validate_on_submit():
        try:
            followups.answer_follow_up(current_user, follow_up_id, form.chosen_outcome, form.chosen_reason,
                                       form.reason_text.data)
        except ValidationFailed as error:
            show_on_form(form, error)
            status = 422
        else:
            flash(_("Thank you: your answer is recorded."), "success")
            return redirect(url_for("sessions.follow_ups"))
    elif request.method == "POST":
        status = 422 if found.answered_at is None else 409
        if found.answered_at is not None:
            form.form_errors.append(_("This follow-up has been answered already."))
    intent = deals.get_intent(current_user, found.intent_id) if found.intent_id else None
    return render_template("sessions/board/follow_up.html", follow_up=found, form=form, intent=intent,
                           FollowUpOutcome=FollowUpOutcome), status
