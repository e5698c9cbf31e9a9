"""Company forms: profile, tariff exposure, tags, verification, directory filters.

Forms check shape (required, lengths, numbers, dates); the services in ``company_services``
check the business rules again and decide. Labels use ``_l`` (evaluated at import time).
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from babel import Locale
from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import Email, InputRequired, Length, NumberRange, Optional

from marketplace import regions
from marketplace.accounts.company_services import (
    DESCRIPTION_MAX,
    QUERY_MAX,
    RATE_MAX,
    REASON_MAX,
    SHARE_MAX,
    SOURCE_DOCUMENT_MAX,
    STRANDED_STOCK_MAX_YUAN,
    TEXT_LIMITS,
    USCC_INPUT_MAX,
    export_market_codes,
)
from marketplace.accounts.fields import RegionFormMixin, uscc_check
from marketplace.accounts.models import SELF_REGISTER_KINDS, Company, CompanyKind, CompanyTagKind
from marketplace.i18n import _, _l, current_locale_code, fen_to_yuan

#: markets hit hardest by the 2025 tariffs, offered first in the picker
FREQUENT_MARKETS = ("US", "EU", "MX", "CA", "JP", "KR", "GB", "IN", "TR", "VN", "BR", "AU")


def _too_long() -> str:
    return _l("Use at most %(max)d characters.")


def limit(field: str) -> Length:
    """The length validator of a profile text field."""
    return Length(max=TEXT_LIMITS[field], message=_too_long())


class StrictDecimalField(DecimalField):
    """A decimal input that refuses NaN/Infinity and more decimal places than ``places``."""

    def process_formdata(self, valuelist):
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            return
        try:
            number = Decimal(str(valuelist[0]).strip().replace(",", ""))
        except (InvalidOperation, ValueError):
            self.data = None
            raise ValueError(_("Enter a number."))
        if not number.is_finite():
            self.data = None
            raise ValueError(_("Enter a number."))
        if number.as_tuple().exponent < -self.places:
            self.data = None
            raise ValueError(_("Use at most %(n)d decimal places.", n=self.places))
        self.data = number


def market_name(code: str) -> str:
    """The market's name in the current language (the code itself when Babel has none)."""
    return Locale.parse(current_locale_code()).territories.get(code, code)


def market_choices() -> list:
    """Optgroups for the market select: frequent markets, then every other one by name."""
    territories = Locale.parse(current_locale_code()).territories
    codes = export_market_codes()
    frequent = [(c, f"{territories.get(c, c)} ({c})") for c in FREQUENT_MARKETS if c in codes]
    rest = sorted(
        ((c, f"{territories.get(c, c)} ({c})") for c in codes if c not in FREQUENT_MARKETS),
        key=lambda pair: pair[1],
    )
    return {_("Frequent markets"): [("", _("Choose a market"))] + frequent, _("All markets"): rest}


class CompanyProfileForm(RegionFormMixin, FlaskForm):
    """The company profile; the exporter-only fields are removed for other kinds."""

    name_zh = StringField(_l("Company name (Chinese)"), validators=[InputRequired(), limit("name_zh")])
    name_en = StringField(_l("Company name (English)"), validators=[Optional(), limit("name_en")])
    uscc = StringField(
        _l("Unified social credit code"),
        validators=[InputRequired(), Length(max=USCC_INPUT_MAX, message=_too_long()), uscc_check],
        description=_l("18 characters, as on the business licence."),
    )
    industry = StringField(_l("Industry"), validators=[Optional(), limit("industry")])
    address = StringField(_l("Address"), validators=[Optional(), limit("address")])
    description = TextAreaField(
        _l("About the company"),
        validators=[Optional(), Length(max=DESCRIPTION_MAX, message=_too_long())],
        render_kw={"rows": 5},
    )
    website = StringField(_l("Website"), validators=[Optional(), limit("website")])
    contact_name = StringField(_l("Contact person"), validators=[Optional(), limit("contact_name")])
    contact_phone = StringField(_l("Contact phone"), validators=[Optional(), limit("contact_phone")])
    contact_email = StringField(
        _l("Contact e-mail"),
        validators=[
            Optional(),
            limit("contact_email"),
            Email(message=_l("Enter an e-mail address such as name@example.com."), check_deliverability=False),
        ],
    )
    stranded_stock_yuan = StrictDecimalField(
        _l("Stranded stock (yuan)"),
        places=2,
        validators=[Optional(), NumberRange(min=0, max=STRANDED_STOCK_MAX_YUAN)],
        description=_l("Value of goods made for export that can no longer be shipped."),
    )
    idle_monthly_capacity = StringField(
        _l("Idle monthly capacity"),
        validators=[Optional(), limit("idle_monthly_capacity")],
        description=_l("For example: 20,000 rice cookers a month."),
    )

    def __init__(self, *args, company: Company, **kwargs):
        if "obj" in kwargs and "stranded_stock_yuan" not in kwargs:
            kwargs["stranded_stock_yuan"] = fen_to_yuan(company.stranded_stock_fen)
        super().__init__(*args, **kwargs)
        if company.kind is not CompanyKind.EXPORTER:
            del self.stranded_stock_yuan
            del self.idle_monthly_capacity
        self.setup_regions()


class TariffExposureForm(FlaskForm):
    """One former export market and the tariff that hit it."""

    market = SelectField(_l("Former export market"), validators=[InputRequired(message=_l("Choose a market."))])
    old_rate = StrictDecimalField(
        _l("Tariff before (%)"), places=2, validators=[InputRequired(), NumberRange(min=0, max=RATE_MAX)]
    )
    new_rate = StrictDecimalField(
        _l("Tariff now (%)"), places=2, validators=[InputRequired(), NumberRange(min=0, max=RATE_MAX)]
    )
    effective_on = DateField(_l("In force since"), validators=[InputRequired()])
    revenue_share = StrictDecimalField(
        _l("Revenue share (%)"), places=2, validators=[InputRequired(), NumberRange(min=0, max=SHARE_MAX)]
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.market.choices = market_choices()


class CompanyTagForm(FlaskForm):
    """An organizer's designation of a company."""

    tag = SelectField(_l("Tag"), choices=[], validators=[InputRequired()])
    source_document = StringField(
        _l("Source document"),
        validators=[InputRequired(), Length(max=SOURCE_DOCUMENT_MAX, message=_too_long())],
        description=_l("For example: the ministry's list and its document number."),
    )
    granted_on = DateField(_l("Granted on"), validators=[InputRequired()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tag.choices = [(t.value, str(t.label)) for t in CompanyTagKind]


class VerificationForm(FlaskForm):
    """An organizer's decision on a pending company."""

    decision = RadioField(
        _l("Decision"),
        choices=[("approve", _l("Approve")), ("reject", _l("Reject"))],
        validators=[InputRequired(message=_l("Choose approve or reject."))],
    )
    reason = TextAreaField(
        _l("Reason"),
        validators=[Optional(), Length(max=REASON_MAX, message=_too_long())],
        description=_l("Required when rejecting; the company will see it."),
        render_kw={"rows": 2},
    )


class DirectoryFilterForm(FlaskForm):
    """The directory's filters (a GET form: no CSRF token, bad values are ignored)."""

    class Meta:
        csrf = False

    q = StringField(_l("Name"), validators=[Optional(), Length(max=QUERY_MAX, message=_too_long())])
    kind = SelectField(_l("Kind"), validators=[Optional()])
    province = SelectField(_l("Province"), validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = [("", _("All kinds"))] + [(k.value, str(k.label)) for k in SELF_REGISTER_KINDS]
        self.province.choices = [("", _("All provinces"))] + [(p.code, p.name) for p in regions.provinces()]

    def selected_kind(self) -> CompanyKind | None:
        """The chosen kind, or None for all (or for a value that is not a kind)."""
        try:
            kind = CompanyKind(self.kind.data)
        except ValueError:
            return None
        return kind if kind in SELF_REGISTER_KINDS else None

    def selected_province(self) -> str | None:
        """The chosen province code, or None."""
        return self.province.data if regions.province(self.province.data) else None
