"""Sourcing forms: the request form (post and edit), the quote form (quote and revise), actions, list filters.

Forms check shape with the catalog's cell parsers (whole numbers, prices with at most two
decimals, HS codes), so the same value gets the same message everywhere; the province/city
pickers are the accounts' ones. Business rules (deadline, who may act) are the services'.
Labels use ``_l``.
"""
from __future__ import annotations

import secrets
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from marketplace.accounts.fields import RegionFormMixin, province_choices
from marketplace.catalog import vocabulary
from marketplace.catalog.categories import CATEGORIES, CERTIFICATION_KINDS, UNITS
from marketplace.catalog.forms import ParsedField, format_hs_code
from marketplace.i18n import _, _l, current_locale_code, fen_to_yuan, yuan_to_fen
from marketplace.imports.cells import CellError, parse_int, parse_price
from marketplace.matching.requirements import REQUIREMENT_LABELS
from marketplace.sourcing.queries import RequestFilter
from marketplace.sourcing.services import (
    MAX_DESCRIPTION,
    MAX_NOTE,
    MAX_QUANTITY,
    MAX_TITLE,
    QuoteInput,
    RequestInput,
    default_musts,
    today_in_china,
)
from marketplace.sourcing.states import READINESS_ITEMS, RequestState, Visibility

DEFAULT_DEADLINE_DAYS = 14
DEFAULT_QUOTE_VALID_DAYS = 30


def _too_long():
    return _l("Use at most %(max)d characters.")


def _quantity(text: str) -> int:
    return parse_int(text, minimum=1, maximum=MAX_QUANTITY)


def parse_budget(text: str) -> int:
    """A budget in yuan (at most two decimals) as fen; may exceed a unit price's limit."""
    cleaned = text.replace(",", "").replace("，", "").replace("¥", "").replace("元", "").strip()
    try:
        value = Decimal(cleaned)
        if not value.is_finite() or value <= 0:
            raise InvalidOperation
        fen = yuan_to_fen(value)
    except InvalidOperation:
        raise CellError(_l("Not an amount: %(value)s (write the yuan amount, like 50000).", value=text[:40])) from None
    except ValueError:
        raise CellError(_l("The amount %(value)s has more than two decimals.", value=text[:40])) from None
    return fen


class RequestForm(RegionFormMixin, FlaskForm):
    """Everything a buyer writes in a procurement request; ``token`` makes a replayed post harmless."""

    token = HiddenField()
    version = HiddenField()
    title = StringField(_l("What do you need?"),
                        validators=[DataRequired(message=_l("Give the request a title.")),
                                    Length(max=MAX_TITLE, message=_too_long())],
                        description=_l("For example: 智能电饭煲 4L, for 300 supermarkets."))
    description = TextAreaField(_l("Description"),
                                validators=[Optional(), Length(max=MAX_DESCRIPTION, message=_too_long())],
                                render_kw={"rows": 5},
                                description=_l("Specifications, packaging, quality and delivery requirements."))
    category = SelectField(_l("Category"), validators=[DataRequired(message=_l("Choose a category."))])
    hs_code = ParsedField(_l("HS code"), validators=[Optional(), Length(max=13, message=_too_long())],
                          parser=vocabulary.parse_hs_code,
                          description=_l("Optional: a chapter (2 digits) or heading (4 digits); type a number or a "
                                         "word to search."))
    quantity = ParsedField(_l("Quantity"), validators=[DataRequired(message=_l("Give the quantity."))],
                           parser=_quantity)
    unit = SelectField(_l("Unit"), validators=[DataRequired(message=_l("Choose a unit."))])
    target_price = ParsedField(_l("Target unit price (CNY)"), validators=[Optional()], parser=parse_price,
                               description=_l("Optional. In yuan, at most two decimals."))
    budget = ParsedField(_l("Total budget (CNY)"), validators=[Optional()], parser=parse_budget,
                         description=_l("Optional, instead of or besides a target unit price."))
    certifications = SelectMultipleField(_l("Required certifications"), validators=[Optional()])
    readiness = SelectMultipleField(_l("Required domestic readiness"), validators=[Optional()])
    #: unknown codes are the service's to refuse (its message names the field)
    musts = SelectMultipleField(_l("Must be met"), validators=[Optional()], validate_choice=False,
                                description=_l("Must be met (a filter); unticked requirements only lower a "
                                               "supplier's score"))
    deadline = DateField(_l("Quotes by"), validators=[DataRequired(message=_l("Give the deadline for quotes."))],
                         description=_l("The last day (China time) exporters can quote."))
    visibility = RadioField(_l("Who can see it"), default=Visibility.PUBLIC.value)
    invited = SelectMultipleField(_l("Invited exporters"), coerce=int, validators=[Optional()],
                                  description=_l("Only for “Invited exporters only”. Hold Ctrl (⌘) to choose "
                                                 "several."))
    attachments = MultipleFileField(_l("Spec sheets"),
                                    description=_l("Optional: up to 5 files, PDF, JPEG, PNG, GIF, WebP or XLSX, at "
                                                   "most 10 MB each."))

    def __init__(self, *args, exporters=(), **kwargs):
        super().__init__(*args, **kwargs)
        english = current_locale_code() == "en"
        self.setup_regions()
        self.province_code.label.text = _("Delivery province")
        self.city_code.label.text = _("Delivery city")
        self.category.choices = [("", _("Choose a category"))] + [(c.code, str(c.label)) for c in CATEGORIES]
        self.unit.choices = [("", _("Choose a unit"))] + [
            (unit, vocabulary.unit_name(unit, "en") if english else unit) for unit in UNITS]
        self.certifications.choices = [(code, str(label)) for code, label in CERTIFICATION_KINDS]
        self.readiness.choices = [(code, str(label)) for code, label in READINESS_ITEMS]
        self.musts.choices = [(code, str(label)) for code, label in REQUIREMENT_LABELS.items()]
        self.visibility.choices = [(v.value, str(v.label)) for v in Visibility]
        self.invited.choices = list(exporters)

    def prepare(self) -> None:
        """Defaults for a fresh form: a new token, two weeks to quote, the default musts."""
        self.token.data = secrets.token_urlsafe(24)
        self.musts.data = list(default_musts())
        self.deadline.data = today_in_china() + timedelta(days=DEFAULT_DEADLINE_DAYS)

    def fill_from(self, request) -> None:
        """Pre-fill the inputs with an existing request (the edit page)."""
        self.version.data = str(request.version)
        self.title.data = request.title
        self.description.data = request.description or ""
        self.category.data = request.category
        self.hs_code.data = format_hs_code(request.hs_code)
        self.quantity.data = str(request.quantity)
        self.unit.data = request.unit
        self.target_price.data = str(fen_to_yuan(request.target_unit_price_fen)) if request.target_unit_price_fen else ""
        self.budget.data = str(fen_to_yuan(request.budget_fen)) if request.budget_fen else ""
        self.province_code.data = request.delivery_province_code
        self.setup_regions()
        self.province_code.label.text = _("Delivery province")
        self.city_code.label.text = _("Delivery city")
        self.city_code.data = request.delivery_city_code
        self.certifications.data = list(request.required_certifications or [])
        self.readiness.data = list(request.required_readiness or [])
        self.musts.data = list(request.must_requirements or [])
        self.deadline.data = request.deadline
        self.visibility.data = request.visibility.value
        self.invited.data = [invitation.company_id for invitation in request.invitations]

    def to_input(self) -> RequestInput:
        """The request as the services take it (call after validation)."""
        visibility = Visibility(self.visibility.data) if self.visibility.data in {v.value for v in Visibility} \
            else Visibility.PUBLIC
        return RequestInput(
            title=self.title.data or "", description=self.description.data, category=self.category.data or "",
            hs_code=self.hs_code.parsed, quantity=self.quantity.parsed, unit=self.unit.data or "",
            target_unit_price_fen=self.target_price.parsed, budget_fen=self.budget.parsed,
            delivery_province_code=self.province_code.data or "", delivery_city_code=self.city_code.data or "",
            required_certifications=tuple(self.certifications.data or ()),
            required_readiness=tuple(self.readiness.data or ()),
            must_requirements=tuple(self.musts.data or ()),
            deadline=self.deadline.data, visibility=visibility,
            invited_company_ids=tuple(self.invited.data or ()),
        )

    def uploads(self) -> list[tuple[bytes, str | None]]:
        """The chosen files as (content, name); read at most a byte past the limit each."""
        from marketplace.deals.attachments import MAX_ATTACHMENT_BYTES

        found = []
        for upload in (self.attachments.data or [])[:20]:
            if upload is not None and getattr(upload, "filename", ""):
                found.append((upload.read(MAX_ATTACHMENT_BYTES + 1), upload.filename))
        return found


class QuoteForm(FlaskForm):
    """An exporter's quote (new or revised); ``token`` makes a replayed submit harmless."""

    token = HiddenField()
    version = HiddenField()
    unit_price = ParsedField(_l("Unit price (CNY)"), validators=[DataRequired(message=_l("Give the unit price."))],
                             parser=parse_price, description=_l("In yuan, at most two decimals."))
    quantity = ParsedField(_l("Quantity you can supply"), validators=[DataRequired(message=_l("Give the quantity."))],
                           parser=_quantity)
    moq = ParsedField(_l("Minimum order quantity (MOQ)"),
                      validators=[DataRequired(message=_l("Give the minimum order quantity."))], parser=_quantity)
    lead_time_days = ParsedField(_l("Lead time (days)"), validators=[DataRequired(message=_l("Give the lead time."))],
                                 parser=vocabulary.parse_lead_time, description=_l("Days from order to delivery."))
    valid_until = DateField(_l("Valid until"), validators=[DataRequired(message=_l("Give a valid-until date."))])
    product_id = SelectField(_l("Your product"), validators=[Optional()],
                             description=_l("Optional: the product you offer (its certifications and readiness "
                                            "are shown to the buyer)."))
    note = TextAreaField(_l("Note to the buyer"), validators=[Optional(), Length(max=MAX_NOTE, message=_too_long())],
                         render_kw={"rows": 3})
    attachment = FileField(_l("Attachment"),
                           description=_l("Optional: PDF, JPEG, PNG, GIF, WebP or XLSX, at most 10 MB."))

    def __init__(self, *args, products=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.product_id.choices = [("", _("No product chosen"))] + [(str(p.id), p.title_zh) for p in products]

    def prepare(self, request) -> None:
        """Defaults for a fresh quote: a new token, the requested quantity, thirty days of validity."""
        self.token.data = secrets.token_urlsafe(24)
        self.quantity.data = str(request.quantity)
        self.valid_until.data = today_in_china() + timedelta(days=DEFAULT_QUOTE_VALID_DAYS)

    def fill_from(self, quote) -> None:
        """Pre-fill with the current terms (the revise form)."""
        self.version.data = str(quote.version)
        self.unit_price.data = str(fen_to_yuan(quote.unit_price_fen))
        self.quantity.data = str(quote.quantity)
        self.moq.data = str(quote.moq)
        self.lead_time_days.data = str(quote.lead_time_days)
        self.valid_until.data = quote.valid_until
        self.product_id.data = str(quote.product_id) if quote.product_id else ""
        self.note.data = quote.note or ""

    def to_input(self) -> QuoteInput:
        """The terms as the services take them (call after validation)."""
        product = self.product_id.data or ""
        return QuoteInput(unit_price_fen=self.unit_price.parsed, quantity=self.quantity.parsed, moq=self.moq.parsed,
                          lead_time_days=self.lead_time_days.parsed, valid_until=self.valid_until.data,
                          product_id=int(product) if product.isdigit() else None, note=self.note.data)

    def upload(self) -> tuple[bytes, str | None] | None:
        """The chosen file as (content, name), or None."""
        from marketplace.deals.attachments import MAX_ATTACHMENT_BYTES

        upload = self.attachment.data
        if upload is None or not getattr(upload, "filename", ""):
            return None
        return upload.read(MAX_ATTACHMENT_BYTES + 1), upload.filename


class ActionForm(FlaskForm):
    """One action on a request or a quote: the version the actor saw and a note (a reason, for declining)."""

    action = StringField(validators=[DataRequired()])
    version = IntegerField(validators=[DataRequired()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=MAX_NOTE, message=_too_long())])


class RequestFilterForm(FlaskForm):
    """The list filters (a GET form: no CSRF token; unknown values are ignored)."""

    class Meta:
        csrf = False

    state = SelectField(_l("State"), validators=[Optional()])
    category = SelectField(_l("Category"), validators=[Optional()])
    province = SelectField(_l("Delivery province"), validators=[Optional()])
    text = StringField(_l("Title contains"), validators=[Optional(), Length(max=100)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.state.choices = [("", _("All states"))] + [(s.value, str(s.label)) for s in RequestState]
        self.category.choices = [("", _("All categories"))] + [(c.code, str(c.label)) for c in CATEGORIES]
        self.province.choices = [("", _("All provinces"))] + province_choices()[1:]

    def filters(self) -> RequestFilter:
        """The filters as the list services take them (bad values ignored)."""
        self.validate()
        states = {s.value: s for s in RequestState}
        categories = {c.code for c in CATEGORIES}
        provinces = {code for code, _name in self.province.choices if code}
        return RequestFilter(
            state=states.get(self.state.data or ""),
            category=self.category.data if self.category.data in categories else None,
            province=self.province.data if self.province.data in provinces else None,
            text=(self.text.data or "").strip()[:100] or None,
        )


class DemandListCommitForm(FlaskForm):
    """Confirm a previewed demand list: its requests saved as drafts, or published at once."""

    publish = BooleanField(_l("Publish the requests at once"))
