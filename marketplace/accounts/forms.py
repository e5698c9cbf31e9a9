"""Account forms: registration, login, settings, passwords, invitations.

Forms check shape (present, not absurdly long, confirmations equal); the services in
``auth_services`` check every rule again and own every write. Labels and messages are lazy
(``_l``) because they are evaluated at import time.
"""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, Optional

from marketplace.accounts.auth_services import (
    EMAIL_MAX,
    INDUSTRY_MAX,
    INVITABLE_ROLES,
    NAME_EN_MAX,
    NAME_ZH_MAX,
    PASSWORD_MAX_LENGTH,
    PASSWORD_MIN_LENGTH,
    USER_NAME_MAX,
)
from marketplace.accounts.fields import RegionFormMixin, uscc_check
from marketplace.accounts.models import SELF_REGISTER_KINDS
from marketplace.accounts.validation import PHONE_MAX
from marketplace.i18n import _l

REQUIRED = _l("This field is required.")
TOO_LONG = _l("Please use at most %(max)d characters.")
PASSWORDS_DIFFER = _l("The two passwords are not the same.")
# A generous cap on what the form accepts; the service says exactly what is wrong.
_USCC_FIELD_MAX = 40


def _required():
    return DataRequired(message=REQUIRED)


def _max(length: int):
    return Length(max=length, message=TOO_LONG)


PASSWORD_HELP = _l("At least %(min)d characters, and not one of the most common passwords.", min=PASSWORD_MIN_LENGTH)


def _new_password(label) -> PasswordField:
    """A new password: required, at most PASSWORD_MAX_LENGTH, with the length hint (the service checks the rest)."""
    return PasswordField(label, validators=[_required(), _max(PASSWORD_MAX_LENGTH)], description=PASSWORD_HELP,
                         render_kw={"autocomplete": "new-password"})


def _repeat_password(label, of: str) -> PasswordField:
    """The same password again, compared with the field named ``of``."""
    return PasswordField(label, validators=[_required(), EqualTo(of, message=PASSWORDS_DIFFER)],
                         render_kw={"autocomplete": "new-password"})


class RegisterEmailForm(FlaskForm):
    """Registration, step one: the address the link to continue is sent to."""

    email = EmailField(_l("E-mail address"), validators=[_required(), _max(EMAIL_MAX)],
                       render_kw={"autocomplete": "email"})


class RegistrationForm(RegionFormMixin, FlaskForm):
    """Registration, step two (from the e-mailed link): the company and its first user."""

    name_zh = StringField(_l("Company name (Chinese)"), validators=[_required(), _max(NAME_ZH_MAX)])
    name_en = StringField(_l("Company name (English)"), validators=[Optional(), _max(NAME_EN_MAX)],
                          description=_l("Optional; shown to visitors who read English."))
    uscc = StringField(
        _l("Unified social credit code"),
        validators=[_required(), _max(_USCC_FIELD_MAX), uscc_check],
        description=_l("The 18-character code on your business licence (统一社会信用代码)."),
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    kind = SelectField(
        _l("Kind of company"),
        choices=[("", _l("Choose the kind of company"))] + [(k.value, k.label) for k in SELF_REGISTER_KINDS],
        validators=[InputRequired(message=_l("Choose what kind of company yours is."))],
    )
    industry = StringField(_l("Industry"), validators=[Optional(), _max(INDUSTRY_MAX)],
                           description=_l("For example: small household appliances, textiles, furniture."))
    name = StringField(_l("Your name"), validators=[_required(), _max(USER_NAME_MAX)],
                       render_kw={"autocomplete": "name"})
    phone = StringField(_l("Phone (optional)"), validators=[Optional(), _max(PHONE_MAX)],
                        description=_l("Your name, e-mail address and phone become the company's contact; "
                                       "you can change it in the company profile."),
                        render_kw={"autocomplete": "tel"})
    password = _new_password(_l("Password"))
    password_confirm = _repeat_password(_l("Repeat the password"), of="password")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.setup_regions()


class LoginForm(FlaskForm):
    """E-mail, password and "remember me"."""

    email = EmailField(_l("E-mail address"), validators=[_required()], render_kw={"autocomplete": "username"})
    password = PasswordField(_l("Password"), validators=[_required()],
                             render_kw={"autocomplete": "current-password"})
    remember_me = BooleanField(_l("Keep me logged in on this device"))


class SettingsForm(FlaskForm):
    """The user's name and saved language."""

    name = StringField(_l("Your name"), validators=[_required(), _max(USER_NAME_MAX)],
                       render_kw={"autocomplete": "name"})
    locale = SelectField(
        _l("Language"),
        choices=[("", _l("Follow my browser")), ("zh_CN", "中文"), ("en", "English")],
        validate_choice=True,
    )
    match_digest = SelectField(
        _l("E-mail about new matches"),
        choices=[("immediate", _l("At once (at most one e-mail a minute)")), ("daily", _l("A daily digest")),
                 ("off", _l("No e-mail (in-app only)"))],
        default="daily", validate_choice=True,
    )


class PasswordChangeForm(FlaskForm):
    """The current password and the new one, twice."""

    current_password = PasswordField(_l("Current password"), validators=[_required()],
                                     render_kw={"autocomplete": "current-password"})
    new_password = _new_password(_l("New password"))
    new_password_confirm = _repeat_password(_l("Repeat the new password"), of="new_password")


class ResetRequestForm(FlaskForm):
    """The address to send a reset link to."""

    email = EmailField(_l("E-mail address"), validators=[_required()], render_kw={"autocomplete": "email"})


class NewPasswordForm(FlaskForm):
    """A new password, twice (password reset and accepting an invitation)."""

    password = _new_password(_l("New password"))
    password_confirm = _repeat_password(_l("Repeat the new password"), of="password")


class AcceptInvitationForm(FlaskForm):
    """The invited colleague's name and password."""

    name = StringField(_l("Your name"), validators=[_required(), _max(USER_NAME_MAX)],
                       render_kw={"autocomplete": "name"})
    password = _new_password(_l("Password"))
    password_confirm = _repeat_password(_l("Repeat the password"), of="password")


class InviteForm(FlaskForm):
    """Whom to invite, and with which role."""

    email = EmailField(_l("Colleague's e-mail address"), validators=[_required(), _max(EMAIL_MAX)])
    role = SelectField(_l("Role"), choices=[(r.value, r.label) for r in INVITABLE_ROLES])


class ConfirmForm(FlaskForm):
    """A form with only its CSRF token: logout, deactivate, log out other devices."""
