"""Forms of the match board, meeting booking and follow-ups: shapes only (the rules are the services')."""
from __future__ import annotations

from datetime import datetime

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from marketplace.i18n import _, _l, ngettext
from marketplace.inputs import query_id
from marketplace.sessions.board import BoardFilters
from marketplace.sessions.followups import MAX_REASON_TEXT
from marketplace.sessions.meetings import MAX_NOTE, SlotOption, clock
from marketplace.sessions.models import DropReason, FollowUpOutcome


class BoardFilterForm(FlaskForm):
    """The board's filters (a GET form: no CSRF token; unknown values are ignored)."""

    class Meta:
        csrf = False

    request = SelectField(_l("Demand line"), validators=[Optional()])
    exporter = SelectField(_l("Exporter"), validators=[Optional()])
    min_score = SelectField(_l("Lowest score"), validators=[Optional()])

    def offer(self, requests=(), exporters=()) -> None:
        """The choices: the demand lines and exporters of the reader's rows."""
        self.request.choices = [("", _("All demand lines"))] + [(str(i), title) for i, title in requests]
        self.exporter.choices = [("", _("All exporters"))] + [(str(i), name) for i, name in exporters]
        self.min_score.choices = [("", _("Any score"))] + [(str(n), _("%(score)s or more", score=n))
                                                          for n in (40, 50, 60, 70, 80, 90)]

    def filters(self) -> BoardFilters:
        """The filters as the board query takes them (bad values ignored)."""
        score = self.min_score.data or ""
        return BoardFilters(
            request_id=query_id(self.request.data), exporter_id=query_id(self.exporter.data),
            min_score=int(score) if score.isascii() and score.isdigit() and int(score) <= 100 else None,
        )


def parse_slot(value: str | None) -> datetime | None:
    """A slot value (ISO 8601 with its offset) as an aware datetime, or None."""
    try:
        parsed = datetime.fromisoformat((value or "").strip()[:40])
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


class BookMeetingForm(FlaskForm):
    """A slot (and, for the organizer, a table) for a 1:1 meeting of a board row's two companies."""

    slot = SelectField(_l("Time"), validate_choice=False)
    table = SelectField(_l("Table"), validate_choice=False)
    note = StringField(_l("Note for both companies"), validators=[Optional(), Length(max=MAX_NOTE)])

    def prepare(self, options: list[SlotOption], tables: int, organizer: bool) -> None:
        """The slots as choices (those not free are marked, and refused by the service if chosen)."""
        choices = []
        for option in options:
            label = f"{clock(option.start)}–{clock(option.end)}"
            if "buyer" in option.busy and "exporter" in option.busy:
                label += " · " + _("both busy")
            elif "buyer" in option.busy:
                label += " · " + _("buyer busy")
            elif "exporter" in option.busy:
                label += " · " + _("exporter busy")
            elif not option.free_tables:
                label += " · " + _("no free table")
            else:
                label += " · " + ngettext("%(num)s table free", "%(num)s tables free", len(option.free_tables))
            choices.append((option.value, label))
        self.slot.choices = choices
        if self.slot.data is None or self.slot.data == "None":
            self.slot.data = next((o.value for o in options if o.available), "")
        if organizer:
            self.table.choices = [("", _("Lowest free table"))] + [(str(n), _("Table %(table)s", table=n))
                                                                    for n in range(1, tables + 1)]

    @property
    def slot_start(self) -> datetime | None:
        return parse_slot(self.slot.data)

    @property
    def table_no(self) -> int | None:
        return query_id(self.table.data)


class ConfirmForm(FlaskForm):
    """A confirmation button (the CSRF token is the whole form)."""


class FollowUpForm(FlaskForm):
    """What came of an order intent made at a session."""

    outcome = RadioField(_l("What came of it?"), choices=[(o.value, o.label) for o in FollowUpOutcome],
                         validate_choice=False)
    reason = SelectField(_l("Why was it dropped?"), validate_choice=False,
                         choices=[("", _l("Choose a reason"))] + [(r.value, r.label) for r in DropReason])
    reason_text = TextAreaField(_l("In a few words"), validators=[Optional(), Length(max=MAX_REASON_TEXT)],
                                description=_l("Needed when the reason is “Other”."))

    @property
    def chosen_outcome(self) -> FollowUpOutcome | None:
        return {o.value: o for o in FollowUpOutcome}.get(self.outcome.data or "")

    @property
    def chosen_reason(self) -> DropReason | None:
        return {r.value: r for r in DropReason}.get(self.reason.data or "")
