"""Rules shared by registration and profile editing: USCC, phone numbers, regions.

Owns: normalising and validating identifiers. Raises ``ValidationFailed`` with a message
for the user; pure functions, no database access.
"""
from __future__ import annotations

import re
import unicodedata

from stdnum.cn import uscc as stdnum_uscc
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength

from marketplace import regions
from marketplace.errors import ValidationFailed
from marketplace.i18n import _l

#: spaces and dashes people type inside a code (after NFKC, which already made full-width ones ASCII)
_SPACES = re.compile(r"[\s\-\u2010-\u2015\u2212\u30fc]+")
PHONE_PATTERN = re.compile(r"^[0-9+()\-\s]{5,40}$")
PHONE_MAX = 40


def normalize_uscc(raw: str | None) -> str:
    """NFKC (full-width letters and digits typed with an IME become ASCII), upper case, no spaces or dashes."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", raw or "")).upper()


def validate_phone(raw: str | None, field: str = "contact_phone") -> str | None:
    """The phone number (NFKC, so full-width digits are accepted), None when empty, or ``ValidationFailed``."""
    phone = unicodedata.normalize("NFKC", raw or "").strip()
    if not phone:
        return None
    if len(phone) > PHONE_MAX or not PHONE_PATTERN.match(phone):
        raise ValidationFailed(_l("Enter a phone number: digits, spaces, +, - and brackets only."), field)
    return phone


def validate_uscc(raw: str | None, field: str = "uscc") -> str:
    """The compact, valid USCC, or ``ValidationFailed`` saying what is wrong with it."""
    code = normalize_uscc(raw)
    if not code:
        raise ValidationFailed(_l("Enter the unified social credit code."), field)
    try:
        return stdnum_uscc.validate(code)
    except InvalidLength:
        raise ValidationFailed(
            _l("A unified social credit code has 18 characters; this one has %(n)d.", n=len(code)), field
        )
    except InvalidChecksum:
        raise ValidationFailed(
            _l("The check digit (the last character) of this unified social credit code is wrong: please check the code."),
            field,
        )
    except (InvalidFormat, InvalidComponent):
        raise ValidationFailed(
            _l("This is not a valid unified social credit code: it may only contain digits and the letters used in such codes."),
            field,
        )


def validate_region(province_code: str | None, city_code: str | None) -> tuple[str, str]:
    """The (province, city) pair, or ``ValidationFailed`` when the city is not in the province."""
    if not regions.province(province_code):
        raise ValidationFailed(_l("Choose a province."), "province_code")
    if not city_code:
        raise ValidationFailed(_l("Choose a city."), "city_code")
    if not regions.city_in_province(city_code, province_code):
        raise ValidationFailed(_l("The city you chose is not in the province you chose."), "city_code")
    return province_code, city_code
