"""Account services: registration, login sessions, passwords, password reset, invitations, language.

Owns every write of the auth flows: companies created by registration, users, their login
sessions (``user_sessions``), invitations and the e-mails they send. Raises ``marketplace.errors``
domain errors whose messages views show as they are. Must not import views or forms. Never logs
passwords or tokens. Links in e-mails come from ``urls.external_url`` (PUBLIC_URL), never from
the request's Host.
"""
from __future__ import annotations

import functools
import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import force_locale
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from werkzeug.security import check_password_hash, generate_password_hash

from marketplace.accounts.models import (
    SELF_REGISTER_KINDS,
    Company,
    CompanyKind,
    Invitation,
    Role,
    User,
    UserSession,
    Verification,
)
from marketplace.accounts.validation import validate_phone, validate_region, validate_uscc
from marketplace.database import utcnow
from marketplace.errors import NotFound, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.i18n import _, _l
from marketplace.mail import deliver_outbox, queue_email
from marketplace.urls import external_url

logger = logging.getLogger(__name__)

PASSWORD_MIN_LENGTH = 8
#: scrypt hashes whatever it is given; a cap keeps a megabyte "password" from costing much
PASSWORD_MAX_LENGTH = 200
NAME_ZH_MAX = 200
NAME_EN_MAX = 200
INDUSTRY_MAX = 100
USER_NAME_MAX = 100
EMAIL_MAX = 254
#: roles a company admin may give a colleague
INVITABLE_ROLES = (Role.MEMBER, Role.COMPANY_ADMIN)
#: '' follows the browser; stored as None
ACCOUNT_LOCALES = ("", "zh_CN", "en")

GENERIC_LOGIN_ERROR = _l("Incorrect e-mail or password.")
RESET_REQUESTED_MESSAGE = _l(
    "If an account exists for that address, we have sent a link to reset its password. "
    "Please check your inbox (and your spam folder)."
)
_RESET_SALT = "password-reset"
_REGISTRATION_SALT = "registration"
#: the list of passwords too common to allow (see the file's header for its sources)
COMMON_PASSWORDS_FILE = Path(__file__).parent / "data" / "common_passwords.txt"
#: a session's last_seen_at is written at most this often (and only by requests that write anyway)
SESSION_TOUCH_INTERVAL = timedelta(minutes=5)
USER_AGENT_MAX = 200
# Checked against when the e-mail is unknown, so that a wrong address takes as long as a
# wrong password (no enumeration by timing).
_DUMMY_HASH = None


# --------------------------------------------------------------------------- helpers

def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = generate_password_hash(secrets.token_hex(16), method="scrypt")
    return _DUMMY_HASH


def _hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def _clean_line(value: str | None) -> str:
    """One line of text: control characters dropped, runs of whitespace made one space."""
    text = "".join(ch if ch.isprintable() or ch.isspace() else " " for ch in (value or ""))
    return " ".join(text.split())


def _check_text(value: str | None, field: str, max_length: int, required: bool = True) -> str | None:
    """The cleaned text, or ``ValidationFailed`` when it is missing or too long."""
    text = _clean_line(value)
    if not text:
        if required:
            raise ValidationFailed(_l("This field is required."), field)
        return None
    if len(text) > max_length:
        raise ValidationFailed(
            _l("Please use at most %(max)d characters (you entered %(length)d).", max=max_length, length=len(text)),
            field,
        )
    return text


def _check_email(value: str | None, field: str = "email") -> str:
    """The e-mail address in lower case, or ``ValidationFailed`` when it is not one."""
    raw = (value or "").strip()
    if not raw:
        raise ValidationFailed(_l("Enter your e-mail address."), field)
    if len(raw) > EMAIL_MAX:
        raise ValidationFailed(_l("This e-mail address is too long."), field)
    try:
        checked = validate_email(raw, check_deliverability=False)
    except EmailNotValidError:
        raise ValidationFailed(_l("Enter a valid e-mail address, such as name@example.com."), field)
    return checked.normalized.lower()


def _lookup_email(value: str | None) -> str | None:
    """The address to look a user up by, or None when it cannot be one (never a DB error)."""
    email = (value or "").strip().lower()
    if not email or len(email) > EMAIL_MAX or "\x00" in email:
        return None
    return email


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lower case (read once per process)."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


COMMON_PASSWORD_MESSAGE = _l(
    "This password is one of the most common ones, which attackers try first. "
    "Choose another: several words that do not belong together make a strong password."
)


def _check_password(password: str | None, field: str = "password") -> str:
    """The password, or ``ValidationFailed`` when it is too short, too long or too common."""
    password = password or ""
    if len(password) < PASSWORD_MIN_LENGTH:
        raise ValidationFailed(
            _l("Choose a password of at least %(min)d characters.", min=PASSWORD_MIN_LENGTH), field
        )
    if len(password) > PASSWORD_MAX_LENGTH:
        raise ValidationFailed(
            _l("Choose a password of at most %(max)d characters.", max=PASSWORD_MAX_LENGTH), field
        )
    if password.lower() in common_passwords():
        raise ValidationFailed(COMMON_PASSWORD_MESSAGE, field)
    return password


def _email_taken(email: str) -> bool:
    return db.session.scalar(sa.select(sa.func.count()).select_from(User).where(User.email == email)) > 0


def _uscc_taken(uscc: str) -> bool:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Company).where(Company.uscc == uscc)) > 0


EMAIL_TAKEN_MESSAGE = _l(
    "An account with this e-mail address already exists. Log in, or reset your password if you forgot it."
)
USCC_TAKEN_MESSAGE = _l(
    "A company with this unified social credit code is already registered. "
    "Ask its administrator to invite you as a colleague."
)


def _deliver_after_commit() -> None:
    """Send what was just committed to the outbox; a mail failure never fails the request."""
    try:
        deliver_outbox()
    except Exception:  # the rows stay in the outbox; `flask mail send` retries them
        logger.exception("e-mail delivery failed; the messages stay in the outbox")
        db.session.rollback()


# --------------------------------------------------------------------------- registration
#
# Registration starts with the e-mail address alone. Whether or not an account has it, the answer
# is the same ("we have sent you an e-mail") and one e-mail leaves: a link to continue for a new
# address, a note with the log-in and reset links for an address that already has an account. So
# the form cannot be used to find out who is registered, and every account's address is proven.
# The second step (the link) asks for the company; there a USCC that is already registered is
# said so: a company's registration is public (the national enterprise credit register, verified
# profiles here), only someone holding a working link gets that far, and they need to be told to
# ask their administrator for an invitation instead.

REGISTRATION_LINK_INVALID_MESSAGE = _l("This registration link is not valid.")
REGISTRATION_LINK_EXPIRED_MESSAGE = _l("This registration link has expired. Enter your e-mail address again.")
REGISTRATION_LINK_USED_MESSAGE = _l(
    "This registration link has already been used: an account with this e-mail address exists. Log in with it."
)


def _registration_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_REGISTRATION_SALT)


def request_registration(email: str | None) -> str:
    """E-mail a link to register a company, or a note if the address has an account; the caller answers the same."""
    address = _check_email(email)
    user = db.session.scalar(sa.select(User).where(User.email == address))
    hours = max(int(current_app.config["REGISTRATION_MAX_AGE"]) // 3600, 1)
    if user is None:
        token = _registration_serializer().dumps({"e": address})
        link = external_url("accounts.register_company", token=token)
        with force_locale(_current_locale()):
            subject = _("Register your company on Rongtong")
            body = _(
                "Hello,\n\n"
                "To register your company on Rongtong, open this link within %(hours)d hours:\n\n"
                "%(link)s\n\n"
                "If you did not ask for it, ignore this e-mail: no account is created.\n\n"
                "Rongtong",
                hours=hours, link=link,
            )
    else:
        with force_locale(user.locale or _current_locale()):
            subject = _("You already have a Rongtong account")
            body = _(
                "Hello %(name)s,\n\n"
                "Someone (we hope you) tried to register on Rongtong with this e-mail address, which already "
                "has an account.\n\n"
                "Log in here: %(login)s\n"
                "Forgot your password? Choose a new one here: %(reset)s\n\n"
                "If you did not try to register, ignore this e-mail: nothing has changed.\n\n"
                "Rongtong",
                name=user.name, login=external_url("accounts.login"), reset=external_url("accounts.reset_request"),
            )
    queue_email(address, subject, body)
    db.session.commit()
    logger.info("registration e-mail queued (%s address)", "new" if user is None else "known")
    _deliver_after_commit()
    return address


def verify_registration_token(token: str | None) -> str:
    """The e-mail address a registration link was sent to, or ``ValidationFailed`` (forged, expired, used)."""
    if not token or len(token) > 500:
        raise ValidationFailed(REGISTRATION_LINK_INVALID_MESSAGE)
    try:
        data = _registration_serializer().loads(token, max_age=current_app.config["REGISTRATION_MAX_AGE"])
    except SignatureExpired:
        raise ValidationFailed(REGISTRATION_LINK_EXPIRED_MESSAGE)
    except BadSignature:
        raise ValidationFailed(REGISTRATION_LINK_INVALID_MESSAGE)
    address = data.get("e") if isinstance(data, dict) else None
    if not isinstance(address, str) or not address:
        raise ValidationFailed(REGISTRATION_LINK_INVALID_MESSAGE)
    if _email_taken(address):
        raise ValidationFailed(REGISTRATION_LINK_USED_MESSAGE)
    return address


def register_company(
    token: str | None,
    *,
    name_zh: str | None,
    name_en: str | None,
    uscc: str | None,
    kind: str | CompanyKind | None,
    province_code: str | None,
    city_code: str | None,
    industry: str | None,
    name: str | None,
    phone: str | None = None,
    password: str | None,
) -> User:
    """Create a company (pending verification) and its first user, a company admin, from a registration link.

    The company's contact is the registering person: their name, e-mail address and phone.
    """
    address = verify_registration_token(token)
    name_zh = _check_text(name_zh, "name_zh", NAME_ZH_MAX)
    name_en = _check_text(name_en, "name_en", NAME_EN_MAX, required=False)
    code = validate_uscc(uscc, "uscc")
    try:
        company_kind = kind if isinstance(kind, CompanyKind) else CompanyKind(kind)
    except ValueError:
        company_kind = None
    if company_kind not in SELF_REGISTER_KINDS:
        raise ValidationFailed(_l("Choose what kind of company yours is."), "kind")
    province_code, city_code = validate_region(province_code, city_code)
    industry = _check_text(industry, "industry", INDUSTRY_MAX, required=False)
    user_name = _check_text(name, "name", USER_NAME_MAX)
    phone = validate_phone(_clean_line(phone), "phone")
    password = _check_password(password)
    if _uscc_taken(code):
        raise ValidationFailed(USCC_TAKEN_MESSAGE, "uscc")

    company = Company(
        name_zh=name_zh,
        name_en=name_en,
        uscc=code,
        kind=company_kind,
        province_code=province_code,
        city_code=city_code,
        industry=industry,
        contact_name=user_name,
        contact_email=address,
        contact_phone=phone,
        verification=Verification.PENDING,
    )
    user = User(
        company=company,
        email=address,
        name=user_name,
        password_hash=_hash_password(password),
        role=Role.COMPANY_ADMIN,
        last_login_at=utcnow(),
    )
    db.session.add_all([company, user])
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        # Someone registered the same code or address between our check and our commit.
        db.session.rollback()
        if _uscc_taken(code):
            raise ValidationFailed(USCC_TAKEN_MESSAGE, "uscc")
        raise ValidationFailed(REGISTRATION_LINK_USED_MESSAGE)
    logger.info("registered company %s (%s) with admin user %s", company.id, company.kind.value, user.id)
    return user


# --------------------------------------------------------------------------- login

def authenticate_user(email: str | None, password: str | None) -> User:
    """The active user with this e-mail and password, with ``last_login_at`` updated.

    Unknown address, wrong password and deactivated account all raise the same
    ``ValidationFailed`` (no form field), so the answer tells nothing about who has an account.
    """
    address = _lookup_email(email)
    user = db.session.scalar(sa.select(User).where(User.email == address)) if address else None
    password = (password or "")[:PASSWORD_MAX_LENGTH * 4]
    if user is None:
        check_password_hash(_dummy_hash(), password)
        raise ValidationFailed(GENERIC_LOGIN_ERROR)
    if not check_password_hash(user.password_hash, password) or not user.active:
        raise ValidationFailed(GENERIC_LOGIN_ERROR)
    user.last_login_at = utcnow()
    db.session.commit()
    return user


# --------------------------------------------------------------------------- login sessions
#
# Every login is a row of user_sessions holding the SHA-256 of a random key; the key travels in the
# Flask-Login id (``user id:password fingerprint:key``), so in the signed session cookie and the
# remember-me cookie. A cookie whose row is gone (logout, "log out everywhere else", a password
# change or reset, deactivation) or idle for SESSION_MAX_IDLE authenticates no one, even if it was
# copied before. The password fingerprint stays in the id as a second guard for passwords changed
# outside these services.

def _max_idle() -> timedelta:
    return timedelta(seconds=int(current_app.config["SESSION_MAX_IDLE"]))


def start_session(user: User, user_agent: str | None = None) -> User:
    """Open a login session for ``user`` (a new random key, set on ``user.session_key``) and commit."""
    key = secrets.token_urlsafe(32)
    db.session.execute(
        sa.delete(UserSession).where(UserSession.user_id == user.id, UserSession.last_seen_at < utcnow() - _max_idle())
    )
    db.session.add(UserSession(
        user_id=user.id, key_hash=_token_hash(key), user_agent=_clean_line(user_agent)[:USER_AGENT_MAX] or None,
    ))
    db.session.commit()
    user.session_key = key
    return user


def load_session_user(session_id: str | None, touch: bool = False) -> User | None:
    """The active user of a live login session named by a Flask-Login id, or None.

    ``touch`` (requests that write anyway) records the session as seen, at most every few minutes,
    in the request's own transaction.
    """
    user_id, fingerprint, key = ((session_id or "").split(":", 2) + ["", ""])[:3]
    if not user_id.isdigit() or len(user_id) > 18 or not key or len(key) > 100:
        return None
    user = db.session.get(User, int(user_id))
    # a deactivated user's sessions and remember-me cookies end at once
    if user is None or not user.active or not secrets.compare_digest(user.password_hash[-16:], fingerprint):
        return None
    record = db.session.scalar(
        sa.select(UserSession).where(UserSession.key_hash == _token_hash(key), UserSession.user_id == user.id)
    )
    now = utcnow()
    if record is None or record.last_seen_at < now - _max_idle():
        return None
    if touch and record.last_seen_at < now - SESSION_TOUCH_INTERVAL:
        record.last_seen_at = now
    user.session_key = key
    return user


def _session_rows(user: User):
    return sa.select(UserSession).where(UserSession.user_id == user.id)


def list_sessions(user: User) -> list[UserSession]:
    """The user's live login sessions, most recently seen first."""
    rows = db.session.scalars(
        _session_rows(user)
        .where(UserSession.last_seen_at >= utcnow() - _max_idle())
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    )
    return list(rows)


def is_current_session(user: User, record: UserSession) -> bool:
    """Whether ``record`` is the session ``user`` was loaded for (this browser)."""
    return bool(user.session_key) and secrets.compare_digest(record.key_hash, _token_hash(user.session_key))


def _end_sessions(user: User, keep_current: bool) -> int:
    """Delete the user's session rows (all, or all but the current one); no commit."""
    statement = sa.delete(UserSession).where(UserSession.user_id == user.id)
    if keep_current and user.session_key:
        statement = statement.where(UserSession.key_hash != _token_hash(user.session_key))
    return db.session.execute(statement).rowcount or 0


def end_session(user: User) -> None:
    """Log out: the current session's cookies (session and remember-me) stop working."""
    if user.session_key:
        db.session.execute(
            sa.delete(UserSession).where(
                UserSession.user_id == user.id, UserSession.key_hash == _token_hash(user.session_key)
            )
        )
        db.session.commit()


def end_other_sessions(user: User) -> int:
    """Log the user out everywhere but here; returns how many sessions ended."""
    ended = _end_sessions(user, keep_current=True)
    db.session.commit()
    logger.info("user %s ended %d other sessions", user.id, ended)
    return ended


# --------------------------------------------------------------------------- settings and password

def set_user_locale(user: User, locale: str) -> None:
    """Save the user's language choice."""
    user.locale = locale
    db.session.commit()


#: how a user hears of new matches by e-mail (in-app notifications always)
MATCH_DIGESTS = ("immediate", "daily", "off")


def update_account(user: User, *, name: str | None, locale: str | None, match_digest: str | None = None) -> User:
    """Save the user's name, language ('' follows the browser) and new-match e-mail choice (None: unchanged)."""
    user_name = _check_text(name, "name", USER_NAME_MAX)
    locale = locale or ""
    if locale not in ACCOUNT_LOCALES:
        raise ValidationFailed(_l("Choose one of the languages offered."), "locale")
    if match_digest is not None and match_digest not in MATCH_DIGESTS:
        raise ValidationFailed(_l("Choose one of the e-mail options offered."), "match_digest")
    user.name = user_name
    user.locale = locale or None
    if match_digest is not None:
        user.match_digest = match_digest
    db.session.commit()
    return user


def change_password(user: User, *, current_password: str | None, new_password: str | None) -> User:
    """Replace the user's password after checking the current one; other sessions end."""
    if not check_password_hash(user.password_hash, (current_password or "")[:PASSWORD_MAX_LENGTH * 4]):
        raise ValidationFailed(_l("Your current password is not correct."), "current_password")
    new_password = _check_password(new_password, "new_password")
    if check_password_hash(user.password_hash, new_password):
        raise ValidationFailed(
            _l("The new password is the same as your current one. Choose a different password."), "new_password"
        )
    user.password_hash = _hash_password(new_password)
    _end_sessions(user, keep_current=True)
    db.session.commit()
    logger.info("user %s changed their password", user.id)
    return user


# --------------------------------------------------------------------------- password reset

def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_RESET_SALT)


def make_reset_token(user: User) -> str:
    """A signed, timed token naming the user and the password it may replace."""
    return _reset_serializer().dumps({"u": user.id, "h": user.password_hash[-16:]})


INVALID_RESET_MESSAGE = _l("This password reset link is not valid or has already been used.")
EXPIRED_RESET_MESSAGE = _l("This password reset link has expired.")


def verify_reset_token(token: str) -> User:
    """The user a reset token is for, or ``ValidationFailed`` (forged, expired or used)."""
    serializer = _reset_serializer()
    try:
        data = serializer.loads(token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE"])
    except SignatureExpired:
        raise ValidationFailed(EXPIRED_RESET_MESSAGE)
    except BadSignature:
        raise ValidationFailed(INVALID_RESET_MESSAGE)
    if not isinstance(data, dict) or not isinstance(data.get("u"), int) or not isinstance(data.get("h"), str):
        raise ValidationFailed(INVALID_RESET_MESSAGE)
    user = db.session.get(User, data["u"])
    # the fingerprint changes with the password, so a used link stops working
    if user is None or not user.active or not secrets.compare_digest(user.password_hash[-16:], data["h"]):
        raise ValidationFailed(INVALID_RESET_MESSAGE)
    return user


def request_password_reset(email: str | None) -> None:
    """E-mail a reset link when an active account has this address; silent otherwise."""
    address = _lookup_email(email)
    user = db.session.scalar(sa.select(User).where(User.email == address)) if address else None
    if user is None or not user.active:
        logger.info("password reset requested for an address without an active account")
        return
    token = make_reset_token(user)
    link = external_url("accounts.reset_password", token=token)
    minutes = max(int(current_app.config["PASSWORD_RESET_MAX_AGE"]) // 60, 1)
    with force_locale(user.locale or _current_locale()):
        subject = _("Reset your Rongtong password")
        body = _(
            "Hello %(name)s,\n\n"
            "Someone (we hope you) asked to reset the password of your Rongtong account.\n"
            "To choose a new password, open this link within %(minutes)d minutes:\n\n"
            "%(link)s\n\n"
            "The link works once. If you did not ask for it, ignore this e-mail: your password stays as it is.\n\n"
            "Rongtong",
            name=user.name, minutes=minutes, link=link,
        )
    queue_email(user.email, subject, body)
    db.session.commit()
    logger.info("password reset e-mail queued for user %s", user.id)
    _deliver_after_commit()


def reset_password(token: str, *, password: str | None) -> User:
    """Set a new password with a reset token; the token then stops working."""
    user = verify_reset_token(token)
    password = _check_password(password, "password")
    user.password_hash = _hash_password(password)
    # whoever knew the old password may be logged in somewhere: every session ends
    _end_sessions(user, keep_current=False)
    db.session.commit()
    logger.info("user %s reset their password", user.id)
    return user


def _current_locale() -> str:
    from marketplace.i18n import current_locale_code

    return current_locale_code()


# --------------------------------------------------------------------------- colleagues and invitations

@dataclass
class Colleagues:
    """A company's users and its invitations still waiting for an answer."""

    users: list[User]
    pending_invitations: list[Invitation]


def list_colleagues(actor: User) -> Colleagues:
    """The users of the actor's company and its open invitations (company admins only)."""
    if not actor.is_company_admin:
        raise PermissionDenied(_l("Only company administrators can manage colleagues."))
    users = db.session.scalars(
        sa.select(User).where(User.company_id == actor.company_id).order_by(User.id)
    ).all()
    invitations = db.session.scalars(
        sa.select(Invitation)
        .where(
            Invitation.company_id == actor.company_id,
            Invitation.accepted_at.is_(None),
            Invitation.expires_at > utcnow(),
        )
        .order_by(Invitation.id.desc())
    ).all()
    return Colleagues(users=list(users), pending_invitations=list(invitations))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def invite_colleague(inviter: User, *, email: str | None, role: str | Role | None) -> Invitation:
    """Invite someone to join the inviter's company and e-mail them the link."""
    if not inviter.is_company_admin:
        raise PermissionDenied(_l("Only company administrators can invite colleagues."))
    address = _check_email(email)
    try:
        chosen_role = role if isinstance(role, Role) else Role(role)
    except ValueError:
        chosen_role = None
    if chosen_role not in INVITABLE_ROLES:
        raise ValidationFailed(_l("Choose a role for your colleague."), "role")
    if _email_taken(address):
        raise ValidationFailed(
            _l("This e-mail address already has an account on Rongtong, so it cannot be invited."), "email"
        )
    token = secrets.token_urlsafe(32)
    days = int(current_app.config["INVITATION_MAX_AGE_DAYS"])
    invitation = Invitation(
        company_id=inviter.company_id,
        email=address,
        role=chosen_role,
        token_hash=_token_hash(token),
        invited_by_id=inviter.id,
        expires_at=utcnow() + timedelta(days=days),
    )
    db.session.add(invitation)
    link = external_url("accounts.accept_invitation", token=token)
    company = inviter.company
    subject = _("You are invited to join your colleagues on Rongtong")
    body = _(
        "Hello,\n\n"
        "%(inviter)s invites you to join %(company)s on Rongtong, the marketplace where export "
        "manufacturers meet domestic buyers.\n\n"
        "To create your account, open this link within %(days)d days:\n\n"
        "%(link)s\n\n"
        "If you do not know %(inviter)s, ignore this e-mail.\n\n"
        "Rongtong",
        inviter=inviter.name, company=company.name_zh, days=days, link=link,
    )
    queue_email(address, subject, body)
    db.session.commit()
    logger.info("user %s invited a colleague to company %s (invitation %s)", inviter.id, company.id, invitation.id)
    _deliver_after_commit()
    return invitation


INVALID_INVITATION_MESSAGE = _l("This invitation link is not valid or has already been used.")
EXPIRED_INVITATION_MESSAGE = _l("This invitation has expired. Ask your colleague to invite you again.")


def find_invitation(token: str) -> Invitation:
    """The open invitation for a token, or ``ValidationFailed`` (unknown, used or expired)."""
    if not token or len(token) > 200:
        raise ValidationFailed(INVALID_INVITATION_MESSAGE)
    invitation = db.session.scalar(sa.select(Invitation).where(Invitation.token_hash == _token_hash(token)))
    if invitation is None or invitation.accepted_at is not None:
        raise ValidationFailed(INVALID_INVITATION_MESSAGE)
    if invitation.expires_at <= utcnow():
        raise ValidationFailed(EXPIRED_INVITATION_MESSAGE)
    return invitation


def accept_invitation(token: str, *, name: str | None, password: str | None) -> User:
    """Create the invited colleague's account in the inviting company and close the invitation."""
    invitation = find_invitation(token)
    user_name = _check_text(name, "name", USER_NAME_MAX)
    password = _check_password(password, "password")
    if _email_taken(invitation.email):
        raise ValidationFailed(EMAIL_TAKEN_MESSAGE)
    user = User(
        company_id=invitation.company_id,
        email=invitation.email,
        name=user_name,
        password_hash=_hash_password(password),
        role=invitation.role,
        last_login_at=utcnow(),
    )
    invitation.accepted_at = utcnow()
    db.session.add(user)
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()
        raise ValidationFailed(EMAIL_TAKEN_MESSAGE)
    logger.info("invitation %s accepted: user %s joined company %s", invitation.id, user.id, user.company_id)
    return user


def deactivate_colleague(actor: User, user_id: int) -> User:
    """Deactivate a user of the actor's company; they can no longer log in."""
    if not actor.is_company_admin:
        raise PermissionDenied(_l("Only company administrators can deactivate colleagues."))
    user = db.session.get(User, user_id)
    if user is None or user.company_id != actor.company_id:
        raise NotFound(_l("There is no such colleague in your company."))
    if user.id == actor.id:
        raise ValidationFailed(_l("You cannot deactivate your own account."))
    if user.role is Role.PLATFORM_ADMIN and actor.role is not Role.PLATFORM_ADMIN:
        raise PermissionDenied(_l("Only a platform administrator can deactivate a platform administrator."))
    if user.active:
        user.active = False
        _end_sessions(user, keep_current=False)
        db.session.commit()
        logger.info("user %s deactivated user %s", actor.id, user.id)
    return user
