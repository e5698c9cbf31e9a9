"""Deals forms: starting an intent, acting on it (with counter terms or a reason), messages, list filters.

Forms check shape (whole numbers, prices with at most two decimals, dates) with the catalog's
cell parsers, so the same value gets the same message everywhere; business rules are the
services'. The amount is never an input. Labels use ``_l``.
"""
from __future__ import annotations

import secrets
from datetime import timedelta

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from marketplace.catalog import rows
from marketplace.catalog.forms import ParsedField
from marketplace.deals.services import (
    DEFAULT_VALID_DAYS,
    MAX_MESSAGE,
    MAX_NOTE,
    MAX_PLACE,
    MAX_QUANTITY,
    IntentFilter,
    Terms,
    today_in_china,
)
from marketplace.deals.states import Action, IntentState
from marketplace.i18n import _, _l, fen_to_yuan
from marketplace.inputs import bounded_date, query_id


def new_token() -> str:
    """A fresh random start-form token."""
    return secrets.token_urlsafe(24)


def _parse_quantity(text: str) -> int:
    return rows.parse_int(text, minimum=1, maximum=MAX_QUANTITY)


class TermsMixin:
    """Quantity, unit price (yuan, at most two decimals), delivery date and place, valid until."""

    quantity = ParsedField(_l("Quantity"), validators=[DataRequired(message=_l("Give the quantity."))],
                           parser=_parse_quantity)
    unit_price = ParsedField(_l("Unit price (CNY)"), validators=[DataRequired(message=_l("Give the unit price."))],
                             parser=rows.parse_price, description=_l("In yuan, at most two decimals."))
    delivery_date = DateField(_l("Delivery date"), validators=[Optional()])
    delivery_place = StringField(_l("Delivery place"), validators=[Optional(), Length(max=MAX_PLACE)])
    valid_until = DateField(_l("Valid until"), validators=[DataRequired(message=_l("Give a valid-until date."))],
                            description=_l("The other side should answer by this day."))

    def to_terms(self) -> Terms:
        """The terms as the services take them (call after validation)."""
        return Terms(
            quantity=self.quantity.parsed, unit_price_fen=self.unit_price.parsed,
            valid_until=self.valid_until.data, delivery_date=self.delivery_date.data,
            delivery_place=(self.delivery_place.data or "").strip() or None,
        )

    def fill_from(self, terms: Terms) -> None:
        """Pre-fill the inputs with existing terms."""
        self.quantity.data = str(terms.quantity)
        self.unit_price.data = str(fen_to_yuan(terms.unit_price_fen))
        self.delivery_date.data = terms.delivery_date
        self.delivery_place.data = terms.delivery_place
        self.valid_until.data = terms.valid_until


class StartIntentForm(TermsMixin, FlaskForm):
    """A buyer's order intent on a product; ``token`` makes a replayed submit harmless."""

    product_id = HiddenField()
    token = HiddenField()
    note = TextAreaField(_l("Note to the exporter"), validators=[Optional(), Length(max=MAX_NOTE)])
    submit_action = HiddenField(default="send")
    confirm_below_moq = BooleanField(_l("Send it anyway: the quantity is below the minimum order quantity"))

    def prepare(self, product, token: str | None = None) -> None:
        """Defaults for a fresh form: the token (a new one unless given), the MOQ and the base price, two weeks."""
        self.product_id.data = str(product.id)
        self.token.data = token or new_token()
        self.quantity.data = str(product.moq)
        if product.base_price_fen:
            self.unit_price.data = str(fen_to_yuan(product.base_price_fen))
        self.valid_until.data = today_in_china() + timedelta(days=DEFAULT_VALID_DAYS)


class ActionForm(FlaskForm):
    """One action on an intent: the version the actor saw and a note (a reason, for declining)."""

    action = SelectField(choices=[(a.value, a.value) for a in Action], validators=[DataRequired()])
    version = IntegerField(validators=[DataRequired()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=MAX_NOTE)])

    @property
    def chosen(self) -> Action:
        """The action as an enum (after validation)."""
        return Action(self.action.data)


class CounterTermsForm(TermsMixin, FlaskForm):
    """The new terms of a counter-offer, posted with an ``ActionForm`` (which carries the CSRF token)."""

    class Meta:
        csrf = False


class MessageForm(FlaskForm):
    """A message to the other company, with an optional attachment (checked by content in the service)."""

    body = TextAreaField(_l("Message"), validators=[Optional(), Length(max=MAX_MESSAGE)])
    attachment = FileField(_l("Attachment"),
                           description=_l("Optional: PDF, JPEG, PNG, GIF, WebP or XLSX, at most 10 MB."))


SIDES = ("buyer", "exporter")


class IntentFilterForm(FlaskForm):
    """The list filters (a GET form: no CSRF token; unknown values are ignored)."""

    class Meta:
        csrf = False

    side = SelectField(_l("Our side"), validators=[Optional()])
    state = SelectField(_l("State"), validators=[Optional()])
    counterpart = SelectField(_l("Counterpart"), validators=[Optional()])
    date_from = DateField(_l("Created from"), validators=[Optional()])
    date_to = DateField(_l("Created until"), validators=[Optional()])
    product = StringField(_l("Product"), validators=[Optional(), Length(max=100)])

    def __init__(self, *args, counterparts=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.side.choices = [("", _("As buyer and as exporter")), ("buyer", _("As buyer")),
                             ("exporter", _("As exporter"))]
        self.state.choices = [("", _("All states"))] + [(s.value, str(s.label)) for s in IntentState]
        self.counterpart.choices = [("", _("All counterparts"))] + [(str(i), name) for i, name in counterparts]

    def filters(self) -> IntentFilter:
        """The filters as the list service takes them (bad values ignored)."""
        self.validate()
        states = {s.value: s for s in IntentState}
        counterpart = self.counterpart.data or ""
        return IntentFilter(
            side=self.side.data if self.side.data in SIDES else None,
            state=states.get(self.state.data or ""),
            counterpart_id=query_id(counterpart),
            date_from=bounded_date(self.date_from.data) if not self.date_from.errors else None,
            date_to=bounded_date(self.date_to.data) if not self.date_to.errors else None,
            product=(self.product.data or "").strip()[:100] or None,
        )
