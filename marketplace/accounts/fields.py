"""Form pieces shared by registration and the company profile: province/city pickers.

Forms check shape; services check rules (``validation.validate_region``). The city choices
follow the submitted province so that the server accepts exactly the cities of that province.
"""
from __future__ import annotations

from flask import url_for
from wtforms import SelectField
from wtforms.validators import InputRequired

from marketplace import regions
from marketplace.i18n import _, _l


def province_choices() -> list[tuple[str, str]]:
    """('', placeholder) then every province."""
    return [("", _("Choose a province"))] + [(p.code, p.name) for p in regions.provinces()]


def city_choices(province_code: str | None) -> list[tuple[str, str]]:
    """('', placeholder) then the cities of the province."""
    return [("", _("Choose a city"))] + [(c.code, c.name) for c in regions.cities(province_code or "")]


class RegionFormMixin:
    """Adds ``province_code`` and ``city_code`` selects wired to the picker script."""

    province_code = SelectField(_l("Province"), validators=[InputRequired(message=_l("Choose a province."))])
    # choices depend on the province; membership is checked in validate_city_code
    city_code = SelectField(_l("City"), validators=[InputRequired(message=_l("Choose a city."))], validate_choice=False)

    def setup_regions(self) -> None:
        """Fill the choices; call from ``__init__`` after ``super().__init__``."""
        self.province_code.choices = province_choices()
        self.city_code.choices = city_choices(self.province_code.data)
        self.province_code.render_kw = {
            "data-province-picker": "1",
            "data-city-target": f"#{self.city_code.id}",
            "data-regions-url": url_for("pages.region_data"),
        }
        self.city_code.render_kw = {"data-placeholder": _("Choose a city")}

    def validate_city_code(self, field) -> None:
        from wtforms.validators import ValidationError

        if field.data and not regions.city_in_province(field.data, self.province_code.data or ""):
            raise ValidationError(_("The city you chose is not in the province you chose."))


def uscc_check(form, field) -> None:
    """Form-level USCC check, so a wrong code is reported with the other fields (the service checks again)."""
    from wtforms.validators import ValidationError

    from marketplace.accounts.validation import validate_uscc
    from marketplace.errors import ValidationFailed

    if not field.data:
        return
    try:
        validate_uscc(field.data)
    except ValidationFailed as error:
        raise ValidationError(str(error.message))
