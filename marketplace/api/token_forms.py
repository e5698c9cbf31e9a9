"""The form of a new API token (the service checks the rules again)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField, widgets
from wtforms.validators import DataRequired, Length

from marketplace.api.models import SCOPES
from marketplace.i18n import _l


class CheckboxesField(SelectMultipleField):
    """Several choices as checkboxes."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


EXPIRY_CHOICES = [("30", _l("In 30 days")), ("90", _l("In 90 days")), ("365", _l("In a year")),
                  ("never", _l("Never (revoke it yourself)"))]


class TokenForm(FlaskForm):
    """Name, permissions and expiry of a token."""

    name = StringField(_l("Name"), validators=[DataRequired(message=_l("Give the token a name (which system uses it).")),
                                               Length(max=80)],
                       description=_l("Which system uses it, e.g. “SRM production”."))
    scopes = CheckboxesField(_l("Permissions"), choices=list(SCOPES.items()), default=["read"])
    expires = SelectField(_l("Expires"), choices=EXPIRY_CHOICES, default="90")
