"""Session forms: the session (create and edit), status moves, registration, decisions, invitations, check-in,
the demand list, the public list's filters.

Shape only (present, length, a whole number, a date and time); the rules (dates in order, a venue or
a link, capacity, hosts, who may act) are the services'. Times are typed in Asia/Shanghai: ``to_input``
hands the services aware datetimes. Labels use ``_l``; the province/city pickers are the accounts' ones.
"""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields import DateTimeLocalField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from marketplace.accounts.fields import RegionFormMixin, province_choices
from marketplace.catalog.categories import CATEGORIES
from marketplace.catalog.forms import ParsedField
from marketplace.i18n import _, _l
from marketplace.imports.cells import parse_int
from marketplace.sessions import services
from marketplace.sessions.models import MatchmakingSession, SessionFocus, SessionStatus
from marketplace.sessions.services import AttendeeInput, SessionInput

FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]


def _too_long():
    return _l("Use at most %(max)d characters.")


def _whole_number(text: str) -> int:
    return parse_int(text, minimum=0)


class LocalDateTimeField(DateTimeLocalField):
    """A date and time typed in China time; a value that is not one gets our own (translated) message."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("format", FORMATS)
        super().__init__(*args, **kwargs)

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(_("Give a date and time, like 2027-03-15 09:30.")) from None


def _int_or_none(value) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) < 10 else None


class SessionForm(RegionFormMixin, FlaskForm):
    """Everything an organizer writes about a session."""

    version = HiddenField()
    title = StringField(_l("Session title"), validators=[DataRequired(message=_l("Give the session a title.")),
                                                 Length(max=services.MAX_TITLE, message=_too_long())],
                        description=_l("For example: 宁波小家电产业集群出口转内销专场对接会"))
    description = TextAreaField(_l("About the session"), render_kw={"rows": 4},
                                validators=[Optional(), Length(max=services.MAX_DESCRIPTION, message=_too_long())],
                                description=_l("Programme, who should come, what the hosts are looking for."))
    industry = StringField(_l("Industry chain (产业链)"),
                           validators=[Optional(), Length(max=services.MAX_INDUSTRY, message=_too_long())],
                           description=_l("For example: 小家电"))
    cluster = StringField(_l("Industrial cluster (产业集群)"),
                          validators=[Optional(), Length(max=services.MAX_CLUSTER, message=_too_long())],
                          description=_l("For example: 慈溪家电产业集群"))
    category = SelectField(_l("Product category"), validators=[Optional()])
    # InputRequired, not DataRequired: a value that is not a date keeps its own message
    starts_at = LocalDateTimeField(_l("Starts"), validators=[InputRequired(message=_l("Give the date and time."))],
                                   description=_l("China time."))
    ends_at = LocalDateTimeField(_l("Ends"), validators=[InputRequired(message=_l("Give the date and time."))],
                                 description=_l("China time; after the start."))
    venue = StringField(_l("Venue"), validators=[Optional(), Length(max=services.MAX_VENUE, message=_too_long())],
                        description=_l("The address and hall, or leave empty for an online session."))
    online_url = StringField(_l("Online link"),
                             validators=[Optional(), Length(max=services.MAX_URL, message=_too_long())],
                             description=_l("Optional: the meeting or live-stream address (http:// or https://)."))
    capacity = ParsedField(_l("Capacity (companies)"), parser=_whole_number,
                           validators=[DataRequired(message=_l("Give the number of places."))],
                           description=_l("Companies beyond it go on the waiting list."))
    tables = ParsedField(_l("Meeting tables"), parser=_whole_number,
                         validators=[DataRequired(message=_l("Give the number of tables."))])
    slot_minutes = ParsedField(_l("Meeting slot (minutes)"), parser=_whole_number,
                               validators=[DataRequired(message=_l("Give the length of a meeting slot."))])
    focus = SelectField(_l("Focus"), default=SessionFocus.NONE.value)
    #: unknown or unfit companies are the service's to refuse (its message names the field)
    hosts = SelectMultipleField(_l("Host companies (chain leaders, buyers)"), coerce=int, validators=[Optional()],
                                validate_choice=False,
                                description=_l("Verified buyer companies that publish the session's demand list. "
                                               "Type in the box to find them; hold Ctrl (⌘) to choose several."))

    def __init__(self, *args, hosts=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.setup_regions()
        self.category.choices = [("", _("Any category"))] + [(c.code, str(c.label)) for c in CATEGORIES]
        self.focus.choices = [(focus.value, str(focus.label)) for focus in SessionFocus]
        self.hosts.choices = list(hosts)

    def prepare(self) -> None:
        """Defaults for a new session."""
        self.capacity.data = "100"
        self.tables.data = "10"
        self.slot_minutes.data = "20"

    def fill_from(self, session: MatchmakingSession) -> None:
        """The session's values, times in China time (the edit page)."""
        self.version.data = str(session.version)
        self.title.data = session.title
        self.description.data = session.description or ""
        self.industry.data = session.industry or ""
        self.cluster.data = session.cluster or ""
        self.category.data = session.category or ""
        self.province_code.data = session.province_code
        self.setup_regions()
        self.city_code.data = session.city_code or ""
        self.starts_at.data = services.local_time(session.starts_at)
        self.ends_at.data = services.local_time(session.ends_at)
        self.venue.data = session.venue or ""
        self.online_url.data = session.online_url or ""
        self.capacity.data = str(session.capacity)
        self.tables.data = str(session.tables)
        self.slot_minutes.data = str(session.slot_minutes)
        self.focus.data = session.focus.value
        self.hosts.data = [host.company_id for host in session.hosts]

    def to_input(self) -> SessionInput:
        """The session as the services take it (call after validation)."""
        focus = {f.value: f for f in SessionFocus}.get(self.focus.data or "", SessionFocus.NONE)
        return SessionInput(
            title=self.title.data or "", description=self.description.data, industry=self.industry.data,
            cluster=self.cluster.data, category=self.category.data or None,
            province_code=self.province_code.data or "", city_code=self.city_code.data or None,
            starts_at=services.china_time(self.starts_at.data), ends_at=services.china_time(self.ends_at.data),
            venue=self.venue.data, online_url=self.online_url.data,
            capacity=self.capacity.parsed, tables=self.tables.parsed, slot_minutes=self.slot_minutes.parsed,
            focus=focus, host_company_ids=tuple(self.hosts.data or ()),
        )

    def expected_version(self) -> int | None:
        return _int_or_none(self.version.data)


class StatusForm(FlaskForm):
    """One status move of a session: the target and the version the organizer saw."""

    target = HiddenField(validators=[DataRequired()])
    version = HiddenField()

    def target_status(self) -> SessionStatus | None:
        return {s.value: s for s in SessionStatus}.get(self.target.data or "")

    def expected_version(self) -> int | None:
        return _int_or_none(self.version.data)


class RegisterForm(FlaskForm):
    """A company's registration: who attends, and a note to the organizer."""

    attendee_name = StringField(_l("Attendee"), validators=[
        DataRequired(message=_l("Give the name of who attends.")),
        Length(max=services.MAX_ATTENDEE, message=_too_long())])
    attendee_phone = StringField(_l("Attendee's phone"), validators=[
        Optional(), Length(max=services.MAX_PHONE, message=_too_long())])
    note = TextAreaField(_l("Note to the organizer"), render_kw={"rows": 2},
                         validators=[Optional(), Length(max=services.MAX_NOTE, message=_too_long())],
                         description=_l("Optional: what your company offers or looks for."))

    def to_input(self) -> AttendeeInput:
        return AttendeeInput(self.attendee_name.data, self.attendee_phone.data, self.note.data)


class VersionForm(FlaskForm):
    """A confirmation carrying the version the actor saw (cancelling one's own registration)."""

    version = HiddenField()

    def expected_version(self) -> int | None:
        return _int_or_none(self.version.data)


class DecisionForm(FlaskForm):
    """The organizer's decision on a registration: approve, refuse (with a reason) or cancel."""

    action = HiddenField(validators=[DataRequired()])
    version = HiddenField()
    reason = TextAreaField(_l("Reason (the company sees it)"), render_kw={"rows": 2},
                           validators=[Optional(), Length(max=services.MAX_REASON, message=_too_long())])

    def decision(self) -> services.RegistrationAction | None:
        return {a.value: a for a in services.RegistrationAction}.get(self.action.data or "")

    def expected_version(self) -> int | None:
        return _int_or_none(self.version.data)


class InviteForm(FlaskForm):
    """Invite one company (found by the search above the form)."""

    company_id = HiddenField(validators=[DataRequired()])

    def company(self) -> int | None:
        return _int_or_none(self.company_id.data)


class CheckInForm(FlaskForm):
    """A check-in code typed or scanned: the badge's short code, the token, or the whole check-in link."""

    code = StringField(_l("Check-in code"), validators=[DataRequired(message=_l("Type the code under the QR code.")),
                                                        Length(max=300, message=_too_long())],
                       render_kw={"autocomplete": "off", "autocapitalize": "off", "spellcheck": "false"},
                       description=_l("The 8 characters under the badge's QR code (upper and lower case matter), "
                                      "or the scanned link."))


class AttachForm(FlaskForm):
    """The host's requests to put on the demand list."""

    requests = SelectMultipleField(_l("Your requests"), coerce=int, validate_choice=False, validators=[Optional()])


class DetachForm(FlaskForm):
    """Take one request off the demand list."""

    request_id = HiddenField(validators=[DataRequired()])

    def request(self) -> int | None:
        return _int_or_none(self.request_id.data)


class SessionFilterForm(FlaskForm):
    """The public list's filters (a GET form: no CSRF token; unknown values are ignored)."""

    class Meta:
        csrf = False

    province = SelectField(_l("Province"), validators=[Optional()])
    industry = StringField(_l("Industry or cluster"), validators=[Optional(), Length(max=100)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.province.choices = [("", _("All provinces"))] + province_choices()[1:]
