"""Session pages: the public list, a company's registrations, the organizer's list; create, edit, status;
registration, approval, invitations, check-in, badges; the hosts' demand list and its upload.

Views parse input, call one service (``services``, ``demand``) or query (``queries``) and render or
redirect; no rule lives here. ``ValidationFailed`` goes on the form (or a flash), ``Conflict`` is a
flash and a fresh page, ``PermissionDenied`` / ``NotFound`` are the 403 / 404 pages. Organizer pages
need the organizer role (others: 403; anonymous: the login page); another organizer's session is 404.
The match board and meeting routes are added to this blueprint by ``board_views``.
"""
from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from marketplace.accounts.permissions import organizer_required
from marketplace.errors import Conflict, NotFound, ValidationFailed, show_on_form
from marketplace.i18n import _, current_locale_code, format_datetime
from marketplace.imports import jobs
from marketplace.imports.forms import ImportCancelForm, ImportUploadForm
from marketplace.imports.models import ImportJobStatus
from marketplace.imports.problems import more_problems_note
from marketplace.sessions import badges, demand, queries, services
from marketplace.sessions.forms import (
    AttachForm,
    CheckInForm,
    DecisionForm,
    DetachForm,
    InviteForm,
    RegisterForm,
    SessionFilterForm,
    SessionForm,
    StatusForm,
    VersionForm,
)
from marketplace.sessions.models import ParticipantRole, RegistrationStatus, SessionStatus
from marketplace.sourcing import imports
from marketplace.sourcing import queries as sourcing_queries
from marketplace.sourcing.forms import DemandListCommitForm, RequestForm
from marketplace.sourcing.states import Visibility
from marketplace.spreadsheets import download

bp = Blueprint("sessions", __name__)

#: Bootstrap colours of the status badges
STATUS_COLOURS = {
    SessionStatus.PREPARING: "secondary", SessionStatus.REGISTRATION: "primary", SessionStatus.RUNNING: "success",
    SessionStatus.FINISHED: "dark", SessionStatus.CANCELLED: "light",
}
REGISTRATION_COLOURS = {
    RegistrationStatus.PENDING: "warning", RegistrationStatus.APPROVED: "success",
    RegistrationStatus.WAITLISTED: "info", RegistrationStatus.REFUSED: "danger",
    RegistrationStatus.CANCELLED: "secondary",
}
BOARD_ENDPOINT = "sessions.board"


@bp.context_processor
def _session_values():
    return {"SessionStatus": SessionStatus, "RegistrationStatus": RegistrationStatus,
            "RegistrationAction": services.RegistrationAction, "ParticipantRole": ParticipantRole,
            "registration_actions": services.registration_actions,
            "session_colours": STATUS_COLOURS, "registration_colours": REGISTRATION_COLOURS}


def _tabs() -> dict:
    """Which list tabs the visitor has: every company its registrations, organizers theirs."""
    authenticated = current_user.is_authenticated
    return {"show_mine": authenticated and services.participant_role(current_user.company) is not None,
            "show_organize": authenticated and services.is_organizer(current_user)}


# --------------------------------------------------------------------------- lists


@bp.get("/")
def index():
    """Sessions open for registration or under way, soonest first, filtered by province and industry."""
    form = SessionFilterForm(request.args)
    form.validate()
    filters = queries.SessionFilter.clean(form.province.data, form.industry.data)
    page = queries.public_sessions(filters, page=request.args.get("page", 1))
    return render_template("sessions/index.html", form=form, page=page, filtered=filters.active,
                           held=queries.held_counts([s.id for s in page.items]),
                           industries=queries.listed_industries(), tab="public", **_tabs())


@bp.get("/mine")
@login_required
def mine():
    """The company's registrations and where each stands."""
    page = queries.company_registrations(current_user, page=request.args.get("page", 1))
    return render_template("sessions/mine.html", page=page, tab="mine", **_tabs())


@bp.get("/organize")
@organizer_required
def organize():
    """The sessions the organizer's company runs (every session for platform administrators)."""
    status = {s.value: s for s in SessionStatus}.get(request.args.get("status") or "")
    page = queries.organizer_sessions(current_user, page=request.args.get("page", 1), status=status)
    return render_template("sessions/organize.html", page=page, status=status, tab="organize",
                           held=queries.held_counts([s.id for s in page.items]), **_tabs())


# --------------------------------------------------------------------------- create, edit, status


@bp.route("/new", methods=["GET", "POST"])
@organizer_required
def new():
    """A new session, in preparation."""
    form = SessionForm(hosts=queries.host_choices())
    if request.method == "GET":
        form.prepare()
    elif form.validate_on_submit():
        try:
            session = services.create_session(current_user, form.to_input())
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            flash(_("The session has been created. Open registration when it is ready."), "success")
            return redirect(url_for(".detail", session_id=session.id))
    return render_template("sessions/form.html", form=form, editing=None), 200 if request.method == "GET" else 400


@bp.route("/<int:session_id>/edit", methods=["GET", "POST"])
@organizer_required
def edit(session_id: int):
    """Change a session until it is over."""
    session = queries.organizer_session(current_user, session_id)
    form = SessionForm(hosts=queries.host_choices())
    if request.method == "GET":
        form.fill_from(session)
    elif form.validate_on_submit():
        try:
            services.update_session(current_user, session.id, form.to_input(), form.expected_version())
        except Conflict as error:
            flash(str(error.message), "warning")
            return redirect(url_for(".detail", session_id=session_id))
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            flash(_("The session has been saved."), "success")
            return redirect(url_for(".detail", session_id=session_id))
    status = 200 if request.method == "GET" else 400
    return render_template("sessions/form.html", form=form, editing=session), status


@bp.post("/<int:session_id>/status")
@organizer_required
def change_status(session_id: int):
    """Open registration, start, finish or cancel the session."""
    form = StatusForm()
    target = form.target_status() if form.validate_on_submit() else None
    if target is None:
        abort(400)
    try:
        session = services.change_session_status(current_user, session_id, target, form.expected_version())
    except (Conflict, ValidationFailed) as error:
        flash(str(error.message), "warning" if isinstance(error, Conflict) else "danger")
    else:
        flash(_("The session is now “%(status)s”.", status=session.status.label), "success")
    return redirect(url_for(".detail", session_id=session_id))


# --------------------------------------------------------------------------- the session page


def _render_detail(session, register_form=None, status=200):
    view = queries.session_view(current_user, session)
    if register_form is None:
        register_form = RegisterForm(formdata=None)
        if current_user.is_authenticated and view["registration"] is None:
            register_form.attendee_name.data = current_user.name
    return render_template(
        "sessions/detail.html", session=session, view=view, register_form=register_form,
        version_form=VersionForm(formdata=None), status_form=StatusForm(formdata=None),
        has_board=BOARD_ENDPOINT in current_app.view_functions, **_tabs(),
    ), status


@bp.get("/<int:session_id>")
def detail(session_id: int):
    """The session: when and where, hosts, the demand list, the visitor's registration (or the register form)."""
    return _render_detail(services.get_visible_session(current_user, session_id))


@bp.post("/<int:session_id>/register")
@login_required
def register(session_id: int):
    """The visitor's company registers (awaiting approval, or on the waiting list when full)."""
    session = services.get_visible_session(current_user, session_id)
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            registration = services.register_for_session(current_user, session.id, form.to_input())
        except Conflict as error:
            flash(str(error.message), "warning")
            return redirect(url_for(".detail", session_id=session_id))
        except ValidationFailed as error:
            if error.field:
                show_on_form(form, error)
            else:
                flash(str(error.message), "danger")
                return redirect(url_for(".detail", session_id=session_id))
        else:
            if registration.status is RegistrationStatus.WAITLISTED:
                flash(_("The session is full: your company is on the waiting list. You will be told when a place "
                        "comes free."), "warning")
            else:
                flash(_("Your company is registered; the organizer will approve the registration."), "success")
            return redirect(url_for(".detail", session_id=session_id, _anchor="registration"))
    return _render_detail(session, register_form=form, status=400)


@bp.post("/<int:session_id>/registration/cancel")
@login_required
def cancel_registration(session_id: int):
    """The company withdraws its registration."""
    form = VersionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.cancel_own_registration(current_user, session_id, form.expected_version())
    except (Conflict, ValidationFailed) as error:
        flash(str(error.message), "warning" if isinstance(error, Conflict) else "danger")
    else:
        flash(_("Your company's registration has been cancelled."), "success")
    return redirect(url_for(".detail", session_id=session_id))


@bp.get("/<int:session_id>/registration/qr.svg")
@login_required
def registration_qr(session_id: int):
    """The QR code of the company's own approved registration (shown at the entrance)."""
    registration = queries.approved_own_registration(current_user, session_id)
    response = Response(badges.qr_svg(registration), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --------------------------------------------------------------------------- the organizer's registrations


@bp.get("/<int:session_id>/registrations")
@organizer_required
def registrations(session_id: int):
    """Every registration of the session by status, the places used, invitations by company search."""
    status = {s.value: s for s in RegistrationStatus}.get(request.args.get("status") or "")
    session, page, counts = queries.session_registrations(current_user, session_id, status=status,
                                                          page=request.args.get("page", 1))
    text = (request.args.get("q") or "").strip()[:queries.MAX_QUERY]
    found = queries.invitable_companies(current_user, session, text) if text else []
    return render_template("sessions/registrations.html", session=session, page=page, counts=counts,
                           status=status, q=text, found=found, decision_form=DecisionForm(formdata=None),
                           invite_form=InviteForm(formdata=None),
                           inviting=session.status in services.INVITING_STATUSES,
                           deciding=session.status in services.DECIDING_STATUSES)


@bp.post("/<int:session_id>/registrations/<int:registration_id>")
@organizer_required
def decide(session_id: int, registration_id: int):
    """Approve, refuse (with a reason) or cancel a registration."""
    form = DecisionForm()
    action = form.decision() if form.validate_on_submit() else None
    if action is None:
        abort(400)
    try:
        registration = services.decide_registration(current_user, session_id, registration_id, action,
                                                    form.expected_version(), form.reason.data)
    except (Conflict, ValidationFailed) as error:
        flash(str(error.message), "warning" if isinstance(error, Conflict) else "danger")
    else:
        flash(_("%(company)s: “%(status)s”.", company=registration.company.display_name,
                status=registration.status.label), "success")
    return redirect(url_for(".registrations", session_id=session_id, status=request.args.get("status") or None))


@bp.post("/<int:session_id>/invite")
@organizer_required
def invite(session_id: int):
    """Give a company an approved place."""
    form = InviteForm()
    company_id = form.company() if form.validate_on_submit() else None
    if company_id is None:
        abort(400)
    try:
        registration = services.invite_company(current_user, session_id, company_id)
    except (Conflict, ValidationFailed) as error:
        flash(str(error.message), "warning" if isinstance(error, Conflict) else "danger")
    else:
        flash(_("%(company)s is invited; its place is confirmed.", company=registration.company.display_name),
              "success")
    return redirect(url_for(".registrations", session_id=session_id))


# --------------------------------------------------------------------------- check-in and badges


def _render_check_in(session, form, status=200):
    counts = queries.registration_counts(session)
    return render_template("sessions/check_in.html", session=session, form=form, counts=counts,
                           recent=queries.recent_check_ins(session)), status


def _flash_check_in(result: services.CheckIn) -> None:
    registration = result.registration
    when = format_datetime(registration.checked_in_at, "HH:mm")
    if result.already:
        flash(_("%(company)s already checked in at %(time)s.", company=registration.company.display_name,
                time=when), "warning")
    else:
        flash(_("%(company)s checked in at %(time)s.", company=registration.company.display_name, time=when),
              "success")


@bp.route("/<int:session_id>/check-in", methods=["GET", "POST"])
@organizer_required
def check_in(session_id: int):
    """The check-in desk: type the badge's code (or scan it with the phone's camera, which opens the token page)."""
    session = queries.organizer_session(current_user, session_id)
    form = CheckInForm()
    if request.method == "GET":
        return _render_check_in(session, CheckInForm(formdata=None))
    status = 400
    if form.validate_on_submit():
        try:
            result = services.check_in(current_user, session.id, form.code.data)
        except (NotFound, ValidationFailed) as error:
            form.code.errors = [*form.code.errors, str(error.message)]
            status = error.status_code
        else:
            _flash_check_in(result)
            return redirect(url_for(".check_in", session_id=session_id))
    return _render_check_in(session, form, status=status)


@bp.route("/<int:session_id>/check-in/<token>", methods=["GET", "POST"])
@organizer_required
def check_in_token(session_id: int, token: str):
    """What a badge's QR code opens: the registration, checked in by a POST (sent by the page's script at once)."""
    session, registration = services.find_registration_by_code(current_user, session_id, token)
    if request.method == "POST":
        form = VersionForm()
        if not form.validate_on_submit():
            abort(400)
        try:
            _flash_check_in(services.check_in(current_user, session.id, token))
        except ValidationFailed as error:
            flash(str(error.message), "danger")
        return redirect(url_for(".check_in", session_id=session_id))
    can_check_in = (registration.status is RegistrationStatus.APPROVED and registration.checked_in_at is None
                    and session.status in services.CHECKIN_STATUSES)
    return render_template("sessions/check_in_token.html", session=session, registration=registration,
                           can_check_in=can_check_in, form=VersionForm(formdata=None),
                           checkin_open=session.status in services.CHECKIN_STATUSES)


@bp.get("/<int:session_id>/badges")
@organizer_required
def badges_page(session_id: int):
    """A printable A4 sheet: one badge per approved registration, with its QR code."""
    session, rows = queries.badge_registrations(current_user, session_id)
    return render_template("sessions/badges.html", session=session, rows=rows, qr=badges.qr_inline,
                           code=badges.badge_code)


# --------------------------------------------------------------------------- the hosts' demand list


def _render_demand(session, attach_form=None, status=200):
    return render_template(
        "sessions/demand.html", session=session, lines=demand.own_lines(current_user, session),
        attachable=demand.attachable_requests(current_user, session),
        attach_form=attach_form or AttachForm(formdata=None), detach_form=DetachForm(formdata=None),
        writable=session.status in demand.DEMAND_STATUSES,
    ), status


@bp.route("/<int:session_id>/demand", methods=["GET", "POST"])
@login_required
def demand_list(session_id: int):
    """The host's lines on the session's demand list; POST puts chosen requests on it."""
    session = demand.host_session(current_user, session_id)
    if request.method == "GET":
        return _render_demand(session)
    form = AttachForm()
    if form.validate_on_submit():
        try:
            added = demand.attach_requests(current_user, session.id, form.requests.data or [])
        except Conflict as error:
            flash(str(error.message), "warning")
        except ValidationFailed as error:
            show_on_form(form, error)
            return _render_demand(session, attach_form=form, status=400)
        else:
            flash(_("%(count)s requests added to the demand list.", count=added), "success")
        return redirect(url_for(".demand_list", session_id=session_id))
    return _render_demand(session, attach_form=form, status=400)


@bp.post("/<int:session_id>/demand/detach")
@login_required
def demand_detach(session_id: int):
    """Take one of the host's requests off the demand list."""
    form = DetachForm()
    request_id = form.request() if form.validate_on_submit() else None
    if request_id is None:
        abort(400)
    try:
        found = demand.detach_request(current_user, session_id, request_id)
    except (Conflict, ValidationFailed) as error:
        flash(str(error.message), "warning" if isinstance(error, Conflict) else "danger")
    else:
        flash(_("“%(title)s” is off the demand list.", title=found.title), "success")
    return redirect(url_for(".demand_list", session_id=session_id))


@bp.route("/<int:session_id>/demand/new", methods=["GET", "POST"])
@login_required
def demand_new(session_id: int):
    """Post a new request already on the session's demand list (saved as a draft: the request's preview follows)."""
    session = demand.writable_host_session(current_user, session_id)
    form = RequestForm(exporters=sourcing_queries.invitable_exporters())
    if request.method == "GET":
        form.prepare()
    elif form.validate_on_submit():
        try:
            posted, created = demand.post_session_request(current_user, session.id, form.to_input(),
                                                          form.token.data or "", form.uploads())
        except ValidationFailed as error:
            show_on_form(form, error)
        else:
            if created:
                flash(_("Saved as a draft on the session's demand list. Check the preview, then publish it."),
                      "success")
            else:
                flash(_("This request had already been saved; here it is."), "info")
            return redirect(url_for("sourcing.request_page", request_id=posted.id))
    return render_template("sessions/demand_request.html", session=session, form=form, Visibility=Visibility), \
        200 if request.method == "GET" else 400


# The demand-list upload: the sourcing import pages' templates and job flow, with the session in every URL
# (``ep`` names these endpoints; ``url_defaults`` adds the session id the shared templates do not pass).
DEMAND_EP = "sessions.demand_import_"


@bp.url_defaults
def _demand_session_in_urls(endpoint: str, values: dict) -> None:
    if endpoint.startswith(DEMAND_EP) and "session_id" not in values and "demand_session_id" in g:
        values["session_id"] = g.demand_session_id


def _demand_import(session_id: int, writable: bool = False):
    """The host's session for an upload page (its id kept for the shared templates' links)."""
    session = (demand.writable_host_session if writable else demand.host_session)(current_user, session_id)
    g.demand_session_id = session.id
    return session


def _render_upload(session, form, status=200):
    lang = "en" if current_locale_code() == "en" else "zh"
    return render_template(
        "sessions/demand_upload.html", session=session, form=form, guide=imports.column_guide(lang),
        max_megabytes=jobs.max_upload_bytes() // (1024 * 1024), verified=current_user.company.is_verified,
    ), status


@bp.route("/<int:session_id>/demand/import", methods=["GET", "POST"])
@login_required
def demand_import_upload(session_id: int):
    """Upload a demand list for the session: checked and previewed; nothing is written before the confirmation."""
    session = _demand_import(session_id, writable=True)
    form = ImportUploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read(jobs.max_upload_bytes() + 1)
        try:
            job = jobs.create_import_job(imports.KIND, current_user, upload.filename, data)
        except ValidationFailed as error:
            form.file.errors = [*form.file.errors, str(error.message)]
        else:
            return redirect(url_for(".demand_import_job", session_id=session.id, job_id=job.id))
        return _render_upload(session, form, 400)
    return _render_upload(session, form)


@bp.errorhandler(RequestEntityTooLarge)
def upload_too_large(_error):
    """A file over MAX_CONTENT_LENGTH is refused before its body is read."""
    if request.endpoint != "sessions.demand_import_upload" or not current_user.is_authenticated:
        return render_template("errors/error.html", code=413), 413
    session = _demand_import(request.view_args["session_id"])
    form = ImportUploadForm(formdata=None)
    form.file.errors = [_("The file is larger than %(limit)s MB: split it into several files.",
                          limit=jobs.max_upload_bytes() // (1024 * 1024))]
    return _render_upload(session, form, 413)


@bp.get("/<int:session_id>/demand/import/<int:job_id>")
@login_required
def demand_import_job(session_id: int, job_id: int):
    """The preview of an uploaded demand list, else its progress or outcome."""
    session = _demand_import(session_id)
    job = jobs.get_import_job(imports.KIND, current_user, job_id)
    values = {"ep": DEMAND_EP, "Status": ImportJobStatus, "session": session}
    if job.status is not ImportJobStatus.PREVIEWED:
        return render_template("sessions/demand_import_job.html", job=job, **values)
    preview = jobs.preview_import_job(imports.KIND, current_user, job_id)
    return render_template(
        "sessions/demand_import_preview.html", preview=preview, job=preview.job,
        commit_form=DemandListCommitForm(formdata=None), cancel_form=ImportCancelForm(formdata=None),
        preview_limit=jobs.PREVIEW_PROBLEMS, rows_limit=jobs.PREVIEW_ROWS,
        more_problems=more_problems_note(preview.analysis.omitted), **values)


@bp.post("/<int:session_id>/demand/import/<int:job_id>/commit")
@login_required
def demand_import_commit(session_id: int, job_id: int):
    """Post the valid lines of a previewed demand list onto the session's list."""
    session = _demand_import(session_id, writable=True)
    form = DemandListCommitForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        jobs.start_import_job(demand.session_import_kind(session.id), current_user, job_id,
                              publish=form.publish.data)
    except (ValidationFailed, Conflict) as error:
        flash(str(error.message), "warning")
    return redirect(url_for(".demand_import_job", session_id=session_id, job_id=job_id))


@bp.post("/<int:session_id>/demand/import/<int:job_id>/cancel")
@login_required
def demand_import_cancel(session_id: int, job_id: int):
    """Drop a previewed demand list; nothing is written."""
    _demand_import(session_id)
    form = ImportCancelForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        jobs.cancel_import_job(imports.KIND, current_user, job_id)
    except Conflict as error:
        flash(str(error.message), "warning")
        return redirect(url_for(".demand_import_job", session_id=session_id, job_id=job_id))
    flash(_("The import was cancelled; nothing was written."), "info")
    return redirect(url_for(".demand_list", session_id=session_id))


@bp.get("/<int:session_id>/demand/import/<int:job_id>/progress")
@login_required
def demand_import_progress(session_id: int, job_id: int):
    """JSON {status, processed, total} polled by the progress bar."""
    _demand_import(session_id)
    return jsonify(jobs.import_progress(imports.KIND, current_user, job_id))


@bp.get("/<int:session_id>/demand/import/<int:job_id>/problems.<any(csv, xlsx):fmt>")
@login_required
def demand_import_problems(session_id: int, job_id: int, fmt: str):
    """Every problem of the uploaded file, to download."""
    _demand_import(session_id)
    _job, data = jobs.problems_report(imports.KIND, current_user, job_id, fmt)
    return download(data, fmt, f"session-{session_id}-demand-list-{job_id}-problems.{fmt}")
