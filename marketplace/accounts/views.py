"""Account views: registration, login, logout, sessions, settings, passwords, reset, colleagues, invitations.

Each view parses its form, calls one service in ``auth_services`` and renders or redirects;
domain errors become form errors (or a flash for actions without a form).
"""
from __future__ import annotations

import logging

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from marketplace.accounts import auth_services as services
from marketplace.accounts import bp
from marketplace.accounts.forms import (
    AcceptInvitationForm,
    ConfirmForm,
    InviteForm,
    LoginForm,
    NewPasswordForm,
    PasswordChangeForm,
    RegisterEmailForm,
    RegistrationForm,
    ResetRequestForm,
    SettingsForm,
)
from marketplace.accounts.permissions import company_admin_required
from marketplace.errors import ValidationFailed
from marketplace.errors import show_on_form as _show_error
from marketplace.extensions import limiter
from marketplace.i18n import _, ngettext
from marketplace.urls import safe_next_url

logger = logging.getLogger(__name__)


def _me():
    """The logged-in user itself, not the proxy (services keep and return what they get)."""
    return current_user._get_current_object()


def _home_after_login() -> str:
    return url_for("pages.home")


def _log_in(user, remember: bool = False) -> None:
    """Start a server-side session for ``user`` and put its id in the cookies."""
    services.start_session(user, request.user_agent.string)
    login_user(user, remember=remember)


def _log_out() -> None:
    """End this browser's session on the server too, so a copied cookie stops working."""
    if current_user.is_authenticated:
        services.end_session(_me())
    logout_user()


def _register_rate_limit() -> str:
    return current_app.config["REGISTER_RATE_LIMIT"]


# --------------------------------------------------------------------------- register, log in, log out

@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_register_rate_limit, methods=["POST"])
def register():
    """Registration, step one: the e-mail address; the answer never tells whether it has an account."""
    if current_user.is_authenticated:
        flash(_("You are already logged in. Log out first to register another company."), "info")
        return redirect(_home_after_login())
    form = RegisterEmailForm()
    if form.validate_on_submit():
        try:
            address = services.request_registration(form.email.data)
        except ValidationFailed as error:
            _show_error(form, error)
        else:
            return render_template("accounts/register_sent.html", email=address)
    return render_template("accounts/register.html", form=form)


@bp.route("/register/<token>", methods=["GET", "POST"])
@limiter.limit(_register_rate_limit, methods=["POST"])
def register_company(token: str):
    """Registration, step two: one form creating a company (pending verification) and its first user."""
    if current_user.is_authenticated:
        flash(_("You are already logged in. Log out first to register another company."), "info")
        return redirect(_home_after_login())
    try:
        email = services.verify_registration_token(token)
    except ValidationFailed as error:
        return _invalid_registration_link(error)
    form = RegistrationForm()
    if form.validate_on_submit():
        try:
            user = services.register_company(
                token,
                name_zh=form.name_zh.data,
                name_en=form.name_en.data,
                uscc=form.uscc.data,
                kind=form.kind.data,
                province_code=form.province_code.data,
                city_code=form.city_code.data,
                industry=form.industry.data,
                name=form.name.data,
                phone=form.phone.data,
                password=form.password.data,
            )
        except ValidationFailed as error:
            if error.field is None:
                return _invalid_registration_link(error)
            _show_error(form, error)
        else:
            _log_in(user)
            flash(
                _("Welcome to Rongtong! Your company is registered and awaits verification by an organizer. "
                  "Meanwhile, complete your company profile."),
                "success",
            )
            return redirect(url_for("companies.profile", company_id=user.company_id))
    return render_template("accounts/register_company.html", form=form, email=email, token=token)


def _invalid_registration_link(error: ValidationFailed):
    used = error.message is services.REGISTRATION_LINK_USED_MESSAGE
    return render_template(
        "accounts/link_invalid.html",
        title=_("Registration link"),
        message=str(error.message),
        action_url=url_for("accounts.login" if used else "accounts.register"),
        action_label=_("Log in") if used else _("Register your company"),
    ), 400


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    """Log in with e-mail and password; the same message for every failure."""
    next_url = safe_next_url(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url or _home_after_login())
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate_user(form.email.data, form.password.data)
        except ValidationFailed as error:
            _show_error(form, error)
        else:
            _log_in(user, remember=bool(form.remember_me.data))
            flash(_("You are logged in. Welcome back, %(name)s.", name=user.name), "success")
            return redirect(next_url or _home_after_login())
    return render_template("accounts/login.html", form=form, next_url=next_url)


@bp.post("/logout")
def logout():
    """End the session on the server and forget its cookies (a copy of them stops working too)."""
    _log_out()
    flash(_("You are logged out."), "info")
    return redirect(url_for("pages.home"))


# --------------------------------------------------------------------------- settings and password

@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    """The user's name and saved language, and the devices they are logged in on."""
    form = SettingsForm(obj=None if request.method == "POST" else current_user)
    if request.method == "GET":
        form.locale.data = current_user.locale or ""
        form.match_digest.data = current_user.match_digest or "daily"
    if form.validate_on_submit():
        try:
            # a form posted without the choice (a script) leaves it as it is
            services.update_account(_me(), name=form.name.data, locale=form.locale.data,
                                    match_digest=form.match_digest.data if "match_digest" in request.form else None)
        except ValidationFailed as error:
            _show_error(form, error)
        else:
            flash(_("Your settings are saved."), "success")
            return redirect(url_for("accounts.settings"))
    me = _me()
    sessions = [(record, services.is_current_session(me, record)) for record in services.list_sessions(me)]
    return render_template("accounts/settings.html", form=form, sessions=sessions, confirm_form=ConfirmForm())


@bp.post("/sessions/end-others")
@login_required
def end_other_sessions():
    """Log out of every other device; this one stays logged in."""
    form = ConfirmForm()
    if form.validate_on_submit():
        ended = services.end_other_sessions(_me())
        flash(ngettext("You are logged out on %(num)d other device.",
                       "You are logged out on %(num)d other devices.", ended), "success")
    return redirect(url_for("accounts.settings"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    """Change the password; this session stays, every other one ends."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            user = services.change_password(
                _me(), current_password=form.current_password.data, new_password=form.new_password.data
            )
        except ValidationFailed as error:
            _show_error(form, error)
        else:
            # the session id carries a password fingerprint: log in again under the new one
            remembered = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
            login_user(user, remember=remembered)
            flash(_("Your password is changed. You are logged out everywhere else."), "success")
            return redirect(url_for("accounts.settings"))
    return render_template("accounts/password.html", form=form)


# --------------------------------------------------------------------------- password reset

@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RESET_RATE_LIMIT"], methods=["POST"])
def reset_request():
    """Ask for a reset link; the answer is the same whether or not the address has an account."""
    form = ResetRequestForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        flash(str(services.RESET_REQUESTED_MESSAGE), "info")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/reset_request.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Choose a new password with the token from the e-mail."""
    form = NewPasswordForm()
    if request.method == "GET":
        try:
            services.verify_reset_token(token)
        except ValidationFailed as error:
            return _invalid_reset_link(error)
        return render_template("accounts/reset_password.html", form=form)
    if form.validate_on_submit():
        try:
            services.reset_password(token, password=form.password.data)
        except ValidationFailed as error:
            if error.field is None:
                return _invalid_reset_link(error)
            _show_error(form, error)
        else:
            flash(_("Your new password is set. You can log in with it now."), "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/reset_password.html", form=form)


def _invalid_reset_link(error: ValidationFailed):
    return render_template(
        "accounts/link_invalid.html",
        title=_("Password reset link"),
        message=str(error.message),
        action_url=url_for("accounts.reset_request"),
        action_label=_("Request a new link"),
    ), 400


# --------------------------------------------------------------------------- colleagues and invitations

@bp.get("/colleagues")
@company_admin_required
def colleagues():
    """The company's users with their role and last login, and the invitation form."""
    return _render_colleagues(InviteForm())


def _render_colleagues(invite_form: InviteForm):
    overview = services.list_colleagues(_me())
    return render_template(
        "accounts/colleagues.html",
        users=overview.users,
        invitations=overview.pending_invitations,
        invite_form=invite_form,
        confirm_form=ConfirmForm(),
    )


@bp.post("/colleagues/invite")
@company_admin_required
def invite():
    """Invite a colleague by e-mail."""
    form = InviteForm()
    if form.validate_on_submit():
        try:
            invitation = services.invite_colleague(_me(), email=form.email.data, role=form.role.data)
        except ValidationFailed as error:
            _show_error(form, error)
        else:
            flash(_("We have sent an invitation to %(email)s.", email=invitation.email), "success")
            return redirect(url_for("accounts.colleagues"))
    return _render_colleagues(form)


@bp.post("/colleagues/<int:user_id>/deactivate")
@company_admin_required
def deactivate(user_id: int):
    """Deactivate a colleague (another company's user is a 404)."""
    try:
        user = services.deactivate_colleague(_me(), user_id)
    except ValidationFailed as error:
        flash(str(error.message), "danger")
    else:
        flash(_("%(name)s can no longer log in.", name=user.name), "success")
    return redirect(url_for("accounts.colleagues"))


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    """Create an account from an invitation and log in."""
    form = AcceptInvitationForm()
    try:
        invitation = services.find_invitation(token)
    except ValidationFailed as error:
        return _invalid_invitation(error)
    if form.validate_on_submit():
        try:
            user = services.accept_invitation(token, name=form.name.data, password=form.password.data)
        except ValidationFailed as error:
            if error.field is None:
                return _invalid_invitation(error)
            _show_error(form, error)
        else:
            _log_out()
            _log_in(user)
            flash(_("Welcome to Rongtong! You have joined %(company)s.", company=user.company.display_name),
                  "success")
            return redirect(url_for("companies.profile", company_id=user.company_id))
    return render_template("accounts/accept_invitation.html", form=form, invitation=invitation)


def _invalid_invitation(error: ValidationFailed):
    return render_template(
        "accounts/link_invalid.html",
        title=_("Invitation"),
        message=str(error.message),
        action_url=url_for("pages.home"),
        action_label=_("Back to the home page"),
    ), 400
