"""Catalog forms: the product form (create and edit), image upload, bulk status changes, list filters.

Forms check shape: required fields, lengths, whole numbers, prices, dates and HS codes, with the
cell parsers the spreadsheet import uses (``imports.cells``, ``catalog.vocabulary``) so that a
form and an import say the same thing about the same value; a form's text is taken as typed (no
spreadsheet un-quoting). ``ProductForm.to_input`` builds the ``ProductInput`` the services take;
business rules (unique SKU, who may edit) are the services'. Labels use ``_l``.
"""
from __future__ import annotations

from itertools import zip_longest

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, Field, HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.utils import unset_value
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import TextArea

from marketplace.accounts.company_forms import market_choices
from marketplace.catalog import rows, vocabulary
from marketplace.catalog.categories import (
    CATEGORIES,
    CATEGORY_BY_CODE,
    CERTIFICATION_CODES,
    CERTIFICATION_KINDS,
    UNITS,
)
from marketplace.catalog.models import CccStatus, Product, ProductStatus, StockLocation
from marketplace.catalog.rows import CellError, CertificationInput, PriceTierInput, ProductInput
from marketplace.catalog.services import CATALOG_QUERY_MAX, CatalogFilter
from marketplace.i18n import _, _l, current_locale_code, fen_to_yuan
from marketplace.imports import cells
from marketplace.inputs import query_id

#: rows a repeated-rows field reads at most from one submission (more is refused, not read)
ROWS_READ_LIMIT = 50
MAX_CERT_NUMBER = 100


def _too_long():
    return _l("Use at most %(max)d characters.")


def _text(value: str | None, multiline: bool = False) -> str | None:
    """Cleaned text (control characters dropped), or None when empty."""
    cleaned = cells.clean_text(value or "", multiline)
    return cleaned or None


class ParsedField(StringField):
    """A text input whose value is read by one of the import's cell parsers.

    ``data`` keeps exactly what the user typed (so a failed submission shows it again);
    ``parsed`` holds the typed value after validation (None when empty).
    """

    def __init__(self, label=None, validators=None, parser=None, multiline: bool = False, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.parser = parser
        self.multiline = multiline
        self.parsed = None

    def post_validate(self, form, validation_stopped):
        self.parsed = None
        if self.errors:
            return
        text = cells.clean_text(self.data or "", self.multiline)
        if not text:
            return
        try:
            self.parsed = self.parser(text)
        except CellError as error:
            self.errors.append(str(error.message))


class RowsField(Field):
    """Repeated rows of inputs named ``<name>-<column>`` (price tiers, certifications).

    ``rows`` are the non-empty rows as tuples of text, in order; ``parsed`` the value of each
    row from ``row_parser`` once valid. Errors name their row ("Row 2: …") and ``row_errors``
    maps a row index to its messages, so the template can mark that row.
    """

    def __init__(self, label=None, validators=None, columns=(), row_parser=None, max_rows: int = 10,
                 too_many=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.columns = tuple(columns)
        self.row_parser = row_parser
        self.max_rows = max_rows
        self.too_many = too_many
        self.rows: list[tuple[str, ...]] = []
        self.parsed: list = []
        self.row_errors: dict[int, list[str]] = {}

    def process(self, formdata, data=unset_value, extra_filters=None):
        self.process_errors = []
        if data is unset_value:
            data = self.default() if callable(self.default) else self.default
        self.object_data = data
        if formdata is not None:
            lists = [formdata.getlist(f"{self.name}-{column}")[:ROWS_READ_LIMIT] for column in self.columns]
            raw = [tuple((cell or "").strip() for cell in row) for row in zip_longest(*lists, fillvalue="")]
            self.raw_data = raw
        else:
            raw = [tuple("" if cell is None else str(cell) for cell in row) for row in (data or [])]
        self.rows = [row for row in raw if any(row)]
        self.data = self.rows

    def input_name(self, column: str) -> str:
        """The form name of one column's inputs."""
        return f"{self.name}-{column}"

    def display_rows(self, minimum: int = 1) -> list[tuple[int, tuple[str, ...]]]:
        """(index, cells) for every filled row plus blank ones, at least ``minimum`` and always one blank."""
        shown = list(self.rows)
        blanks = max(minimum - len(shown), 1)
        shown.extend([("",) * len(self.columns)] * blanks)
        return list(enumerate(shown))

    def add_row_error(self, index: int, message) -> None:
        """Record a message about row ``index`` (0-based), shown as "Row n: message"."""
        text = _("Row %(row)s: %(message)s", row=index + 1, message=str(message))
        self.row_errors.setdefault(index, []).append(text)
        self.errors.append(text)

    def post_validate(self, form, validation_stopped):
        self.parsed = []
        self.row_errors = {}
        if len(self.rows) > self.max_rows:
            self.errors.append(str(self.too_many))
            return
        for index, row in enumerate(self.rows):
            try:
                self.parsed.append(self.row_parser(index, *row))
            except CellError as error:
                self.add_row_error(index, error.message)


# --------------------------------------------------------------------------- row parsers


def parse_tier_row(index: int, quantity: str, price: str) -> tuple[int | None, int]:
    """(quantity or None for "from the MOQ", unit price in fen) of one price-break row."""
    if not price:
        raise CellError(_l("Give the unit price in yuan."))
    if quantity:
        amount = cells.parse_int(quantity, minimum=1)
    elif index == 0:
        amount = None  # the first break starts at the MOQ
    else:
        raise CellError(_l("Give the quantity from which this price applies."))
    return amount, cells.parse_price(price)


def parse_certification_row(index: int, kind: str, number: str, expires: str) -> CertificationInput:
    """One certification row: kind (a known code), number, expiry date."""
    if not kind:
        raise CellError(_l("Choose the kind of certificate."))
    if kind not in CERTIFICATION_CODES:
        raise CellError(_l("Unknown certification %(value)s.", value=kind[:40]))
    number = cells.clean_text(number)
    if len(number) > MAX_CERT_NUMBER:
        raise CellError(_l("The certificate number is too long: at most %(limit)s characters.", limit=MAX_CERT_NUMBER))
    return CertificationInput(kind, number or None, cells.parse_date(expires) if expires else None)


def _whole(text: str) -> int:
    return cells.parse_int(text, minimum=0)


def _moq(text: str) -> int:
    return cells.parse_int(text, minimum=1)


# --------------------------------------------------------------------------- product form


class ProductForm(FlaskForm):
    """Every detail of a product, for creating and editing it."""

    title_zh = StringField(
        _l("Title (Chinese)"),
        validators=[DataRequired(message=_l("Give the product a Chinese title.")), Length(max=200, message=_too_long())],
    )
    title_en = StringField(_l("Title (English)"), validators=[Optional(), Length(max=200, message=_too_long())])
    description_zh = TextAreaField(
        _l("Description (Chinese)"),
        validators=[Optional(), Length(max=10000, message=_too_long())],
        render_kw={"rows": 5},
    )
    description_en = TextAreaField(
        _l("Description (English)"),
        validators=[Optional(), Length(max=10000, message=_too_long())],
        render_kw={"rows": 3},
    )
    sku = StringField(
        _l("SKU"),
        validators=[DataRequired(message=_l("Give the product's SKU.")), Length(max=64, message=_too_long())],
        description=_l("Your own article number, unique in your catalog."),
    )
    category = SelectField(_l("Category"), validators=[DataRequired(message=_l("Choose a category."))])
    hs_code = ParsedField(
        _l("HS code"),
        validators=[Optional(), Length(max=13, message=_too_long())],
        parser=vocabulary.parse_hs_code,
        description=_l("A chapter (2 digits) or heading (4 digits), or a longer code under a known heading; "
                       "type a number or a word to search."),
    )
    brand = StringField(_l("Brand"), validators=[Optional(), Length(max=100, message=_too_long())])
    model = StringField(_l("Model"), validators=[Optional(), Length(max=100, message=_too_long())])
    specs = ParsedField(
        _l("Specifications"),
        validators=[Optional(), Length(max=12000, message=_too_long())],
        parser=vocabulary.parse_specs,
        multiline=True,
        widget=TextArea(),
        render_kw={"rows": 4},
        description=_l("One per line as name: value, for example 功率: 1200W."),
    )
    unit = SelectField(_l("Unit"), validators=[DataRequired(message=_l("Choose a unit."))])
    moq = ParsedField(
        _l("Minimum order quantity (MOQ)"),
        validators=[DataRequired(message=_l("Give the minimum order quantity.")), Length(max=20, message=_too_long())],
        parser=_moq,
        description=_l("A whole number of units, at least 1."),
    )
    price_tiers = RowsField(
        _l("Wholesale prices (CNY)"),
        columns=("quantity", "price"),
        row_parser=parse_tier_row,
        max_rows=rows.MAX_PRICE_TIERS,
        too_many=_l("At most %(limit)s price breaks.", limit=rows.MAX_PRICE_TIERS),
        description=_l("From each quantity on, the unit price in yuan (at most two decimals). The first break "
                       "starts at the MOQ; larger quantities should not cost more per unit."),
    )
    monthly_capacity = ParsedField(
        _l("Monthly capacity"), validators=[Optional(), Length(max=20, message=_too_long())], parser=_whole
    )
    stock_quantity = ParsedField(
        _l("Stock on hand"), validators=[Optional(), Length(max=20, message=_too_long())], parser=_whole
    )
    stock_location = SelectField(_l("Stock location"), validators=[Optional()])
    lead_time_days = ParsedField(
        _l("Lead time (days)"),
        validators=[Optional(), Length(max=20, message=_too_long())],
        parser=vocabulary.parse_lead_time,
        description=_l("Days from order to delivery."),
    )
    former_export_market = SelectField(_l("Former export market"), validators=[Optional()])
    tariff_note = StringField(
        _l("Tariff note"),
        validators=[Optional(), Length(max=300, message=_too_long())],
        description=_l("How tariffs hit this product, for example: in 2025 the US tariff rose to 55%, order cancelled."),
    )
    ccc_status = SelectField(
        _l("CCC (China Compulsory Certification)"), validators=[DataRequired()], default=CccStatus.MISSING.value
    )
    gb_standard = StringField(
        _l("GB standard"),
        validators=[Optional(), Length(max=100, message=_too_long())],
        description=_l("For example GB 4706.19-2008."),
    )
    gb_standard_met = BooleanField(_l("Meets the GB standard"))
    chinese_label_ready = BooleanField(_l("Chinese label and packaging ready"))
    vat_invoice = BooleanField(_l("Can issue special VAT invoices (增值税专用发票)"))
    certifications = RowsField(
        _l("Certifications"),
        columns=("kind", "number", "expires_on"),
        row_parser=parse_certification_row,
        max_rows=rows.MAX_CERTIFICATIONS,
        too_many=_l("At most %(limit)s certifications.", limit=rows.MAX_CERTIFICATIONS),
    )
    save = SubmitField(_l("Save"))
    publish = SubmitField(_l("Save and publish"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        english = current_locale_code() == "en"
        self.category.choices = [("", _("Choose a category"))] + [(c.code, str(c.label)) for c in CATEGORIES]
        self.unit.choices = [("", _("Choose a unit"))] + [
            (unit, vocabulary.unit_name(unit, "en") if english else unit) for unit in UNITS
        ]
        self.stock_location.choices = [("", "—")] + [(s.value, str(s.label)) for s in StockLocation]
        self.ccc_status.choices = [(c.value, str(c.label)) for c in CccStatus]
        self.former_export_market.choices = market_choices()

    @staticmethod
    def certification_kinds() -> list[tuple[str, str]]:
        """(code, label) of every certification kind, for the rows' select."""
        return [(code, str(label)) for code, label in CERTIFICATION_KINDS]

    def validate(self, extra_validators=None) -> bool:
        """Field checks, then the price breaks against the MOQ and each other."""
        valid = super().validate(extra_validators)
        field = self.price_tiers
        if field.errors:
            return False
        if not field.parsed:
            field.errors.append(_("Give at least one price."))
            return False
        moq = self.moq.parsed
        if moq is None:
            return False
        tiers: list[PriceTierInput] = []
        for index, (quantity, fen) in enumerate(field.parsed):
            quantity = moq if quantity is None else quantity
            if index == 0 and quantity != moq:
                field.add_row_error(index, _("The first price break must start at the MOQ (%(moq)s), not at "
                                             "%(quantity)s.", moq=moq, quantity=quantity))
            elif tiers and quantity <= tiers[-1].min_quantity:
                field.add_row_error(index, _("Price breaks out of order: %(quantity)s comes after %(previous)s; "
                                             "list them from the smallest quantity up.",
                                             quantity=quantity, previous=tiers[-1].min_quantity))
            elif tiers and fen > tiers[-1].unit_price_fen:
                field.add_row_error(index, _("The price rises from %(previous)s to %(price)s at %(quantity)s: a "
                                             "larger quantity should not cost more per unit.",
                                             previous=fen_to_yuan(tiers[-1].unit_price_fen),
                                             price=fen_to_yuan(fen), quantity=quantity))
            tiers.append(PriceTierInput(quantity, fen))
        self.tier_inputs = tiers
        return valid and not field.errors

    def to_input(self) -> ProductInput:
        """The validated form as the ``ProductInput`` the catalog services take."""
        return ProductInput(
            sku=_text(self.sku.data),
            title_zh=_text(self.title_zh.data),
            title_en=_text(self.title_en.data),
            description_zh=_text(self.description_zh.data, multiline=True),
            description_en=_text(self.description_en.data, multiline=True),
            hs_code=self.hs_code.parsed,
            category=self.category.data,
            brand=_text(self.brand.data),
            model=_text(self.model.data),
            specs=self.specs.parsed or [],
            unit=self.unit.data,
            moq=self.moq.parsed,
            price_tiers=self.tier_inputs,
            monthly_capacity=self.monthly_capacity.parsed,
            stock_quantity=self.stock_quantity.parsed,
            stock_location=StockLocation(self.stock_location.data) if self.stock_location.data else None,
            lead_time_days=self.lead_time_days.parsed,
            former_export_market=self.former_export_market.data or None,
            tariff_note=_text(self.tariff_note.data),
            ccc_status=CccStatus(self.ccc_status.data),
            gb_standard=_text(self.gb_standard.data),
            gb_standard_met=bool(self.gb_standard_met.data),
            chinese_label_ready=bool(self.chinese_label_ready.data),
            vat_invoice=bool(self.vat_invoice.data),
            certifications=list(self.certifications.parsed),
        )


def format_hs_code(code: str | None) -> str:
    """A stored HS code (digits) written as customs write it: 851660 → 8516.60."""
    if not code:
        return ""
    return f"{code[:4]}.{code[4:]}" if len(code) > 4 else code


def product_form_data(product: Product) -> dict:
    """A product's values as the product form shows them."""
    return {
        "title_zh": product.title_zh,
        "title_en": product.title_en or "",
        "description_zh": product.description_zh or "",
        "description_en": product.description_en or "",
        "sku": product.sku,
        "category": product.category,
        "hs_code": format_hs_code(product.hs_code),
        "brand": product.brand or "",
        "model": product.model or "",
        "specs": "\n".join(f"{key}: {value}" for key, value in (product.specs or [])),
        "unit": product.unit,
        "moq": str(product.moq),
        "price_tiers": [(str(t.min_quantity), str(fen_to_yuan(t.unit_price_fen))) for t in product.price_tiers],
        "monthly_capacity": "" if product.monthly_capacity is None else str(product.monthly_capacity),
        "stock_quantity": "" if product.stock_quantity is None else str(product.stock_quantity),
        "stock_location": product.stock_location.value if product.stock_location else "",
        "lead_time_days": "" if product.lead_time_days is None else str(product.lead_time_days),
        "former_export_market": product.former_export_market or "",
        "tariff_note": product.tariff_note or "",
        "ccc_status": product.ccc_status.value,
        "gb_standard": product.gb_standard or "",
        "gb_standard_met": product.gb_standard_met,
        "chinese_label_ready": product.chinese_label_ready,
        "vat_invoice": product.vat_invoice,
        "certifications": [
            (c.kind, c.number or "", c.expires_on.isoformat() if c.expires_on else "") for c in product.certifications
        ],
    }


# --------------------------------------------------------------------------- images, bulk, filters


class ImageUploadForm(FlaskForm):
    """One product image; its content is checked by the service, not its name."""

    image = FileField(_l("Image"), validators=[FileRequired(message=_l("Choose an image file to upload."))],
                      description=_l("JPEG, PNG, WebP or GIF, at most 10 MB; up to 8 images per product."))


class IdListField(Field):
    """Every value of a repeated input (checkboxes) as a list of ids; anything not a number is an error."""

    def process(self, formdata, data=unset_value, extra_filters=None):
        self.process_errors = []
        self.data = []
        if formdata is None:
            return
        values = formdata.getlist(self.name)
        self.raw_data = values
        ids = [query_id(value) for value in values[:1000]]  # a number beyond any id is as bad as a word
        if None in ids:
            self.process_errors.append(_("The selection is not valid."))
        else:
            self.data = ids
        if len(values) > 1000:
            self.process_errors.append(_("Select at most 1,000 products at once."))


BULK_ACTIONS = {"publish": ProductStatus.PUBLISHED, "archive": ProductStatus.ARCHIVED, "draft": ProductStatus.DRAFT}


class BulkActionForm(FlaskForm):
    """Publish, archive or return to draft the selected products."""

    product_ids = IdListField()
    action = SelectField(
        _l("Action"),
        choices=[("publish", _l("Publish")), ("archive", _l("Archive")), ("draft", _l("Back to draft"))],
        validators=[DataRequired()],
    )
    next = HiddenField()

    @property
    def status(self) -> ProductStatus:
        """The status the action sets."""
        return BULK_ACTIONS[self.action.data]


class CatalogFilterForm(FlaskForm):
    """The catalog list's filters (a GET form: no CSRF token; unknown values are ignored)."""

    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Optional(), Length(max=CATALOG_QUERY_MAX)])
    status = SelectField(_l("Status"), validators=[Optional()])
    category = SelectField(_l("Category"), validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.status.choices = [("", _("All statuses"))] + [(s.value, str(s.label)) for s in ProductStatus]
        self.category.choices = [("", _("All categories"))] + [(c.code, str(c.label)) for c in CATEGORIES]

    def filters(self) -> CatalogFilter:
        """The filters as the catalog service takes them (bad values ignored)."""
        statuses = {s.value: s for s in ProductStatus}
        category = self.category.data if self.category.data in CATEGORY_BY_CODE else None
        return CatalogFilter(
            status=statuses.get(self.status.data or ""),
            category=category,
            q=(self.q.data or "").strip()[:CATALOG_QUERY_MAX] or None,
        )
