"""Webhook forms: the endpoint form and the confirmation forms (CSRF only).

Shape only: present, not absurdly long. ``services`` checks the address (https, public network), the
events and the limits again and owns every write.
"""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional

from marketplace.i18n import _l
from marketplace.webhooks.events import EVENTS
from marketplace.webhooks.models import DESCRIPTION_MAX, URL_MAX

REQUIRED = _l("This field is required.")
TOO_LONG = _l("Please use at most %(max)d characters.")


class EndpointForm(FlaskForm):
    """The address, the events (checkboxes) and a description; ``active`` only when editing."""

    url = StringField(_l("Endpoint URL"), validators=[DataRequired(message=REQUIRED), Length(max=URL_MAX,
                                                                                           message=TOO_LONG)],
                      description=_l("An https:// address of your server. Rongtong sends each event there as a "
                                     "signed POST request."),
                      render_kw={"placeholder": "https://example.com/rongtong/webhooks", "inputmode": "url",
                                 "autocomplete": "off", "maxlength": URL_MAX})
    events = SelectMultipleField(_l("Events"), choices=[], validators=[Optional()], validate_choice=False)
    description = StringField(_l("What it is for"), validators=[Optional(), Length(max=DESCRIPTION_MAX,
                                                                                 message=TOO_LONG)],
                              description=_l("Optional: what this endpoint is for, for your colleagues."),
                              render_kw={"maxlength": DESCRIPTION_MAX})
    active = BooleanField(_l("Enabled: send events to this endpoint"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.events.choices = [(name, label) for name, label in EVENTS.items()]


class WebhookConfirmForm(FlaskForm):
    """A form with only its CSRF token: delete, roll the secret, redeliver, send a test event."""
