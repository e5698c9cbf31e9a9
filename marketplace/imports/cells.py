"""Reading one cell (or form input) of text: cleaning, whole numbers, prices in yuan, dates, lists.

Owns: ``CellError`` and the parsers every kind of import shares with the web forms, so a form
and an import say the same thing about the same value. Plain text in, typed values out; no
spreadsheet quoting (``spreadsheets.unneutralise`` is the import's business), no database.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from marketplace.i18n import _l, yuan_to_fen

MAX_INT = 2_000_000_000
MAX_PRICE_FEN = 10_000_000_000  # ¥100,000,000 a unit


class CellError(Exception):
    """A cell's value is wrong; ``message`` is a lazy string."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_LINE_BREAKS = re.compile(r"[\t\r\n\u2028\u2029]+")


def clean_text(text: str, multiline: bool = False) -> str:
    """Strip control and invisible formatting characters; single-line fields lose their line breaks."""
    if text.isprintable():
        return text.strip()
    if multiline:
        text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\t", " ")
        text = _CONTROL.sub("", text)
        text = "\n".join(line.strip() for line in text.split("\n"))
        return re.sub(r"\n{3,}", "\n\n", text).strip()
    return _CONTROL.sub("", _LINE_BREAKS.sub(" ", text)).strip()


def show(text: str, limit: int = 40) -> str:
    """A cell value quoted in a message, cut short."""
    return text if len(text) <= limit else text[:limit] + "…"


_NUMBER_NOISE = re.compile(r"[\s,，_'’]")


def to_decimal(text: str) -> Decimal | None:
    """The number a cell holds ('1,000.5', full-width digits), or None."""
    try:
        value = Decimal(_NUMBER_NOISE.sub("", unicodedata.normalize("NFKC", text)))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def parse_int(text: str, minimum: int = 0, maximum: int = MAX_INT) -> int:
    """A whole number ≥ minimum: '1,000' and '1000.0' are fine, '12.5', '-3' and 'abc' are not."""
    value = to_decimal(text)
    if value is None:
        raise CellError(_l("Not a whole number: %(value)s.", value=show(text)))
    if value != value.to_integral_value():
        raise CellError(_l("Must be a whole number, not %(value)s.", value=show(text)))
    number = int(value)
    if number < 0 and minimum >= 0:
        raise CellError(_l("Must not be negative: %(value)s.", value=show(text)))
    if number < minimum:
        raise CellError(_l("Must be at least %(minimum)s, not %(value)s.", minimum=minimum, value=show(text)))
    if number > maximum:
        raise CellError(_l("Too large: %(value)s; at most %(maximum)s.", value=show(text), maximum=maximum))
    return number


_CURRENCY = re.compile(r"^(?:¥|RMB|CNY|人民币)\s*|\s*(?:元|RMB|CNY|yuan)$", re.IGNORECASE)


def parse_price(text: str) -> int:
    """A unit price in yuan ('12.50', '¥12.5', '12.50元') as integer fen; positive, at most two decimals."""
    cleaned = _CURRENCY.sub("", unicodedata.normalize("NFKC", text).strip())
    value = to_decimal(cleaned)
    if value is None:
        raise CellError(_l("Not a price: %(value)s (write the yuan amount, like 12.50).", value=show(text)))
    if value < 0:
        raise CellError(_l("The price %(value)s is negative.", value=show(text)))
    try:
        fen = yuan_to_fen(value)
    except ValueError:
        raise CellError(_l("The price %(value)s has more than two decimals.", value=show(text))) from None
    if fen == 0:
        raise CellError(_l("The price must be more than zero."))
    if fen > MAX_PRICE_FEN:
        raise CellError(_l("The price %(value)s is too high.", value=show(text)))
    return fen


DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]0{1,2}:00(?::00)?)?$")
_EXCEL_EPOCH = date(1899, 12, 30)


def parse_date(text: str) -> date:
    """YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD, YYYY年M月D日, YYYYMMDD, or an Excel day number."""
    text = unicodedata.normalize("NFKC", text).strip()
    match = DATE.match(text)
    try:
        if match:
            return date(*(int(part) for part in match.groups()))
        if re.fullmatch(r"(19|20|21)\d{6}", text):
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        if re.fullmatch(r"[2-9]\d{4}(\.0+)?", text):  # Excel serial, 1954–2173
            return _EXCEL_EPOCH + timedelta(days=int(float(text)))
    except ValueError:
        pass
    raise CellError(_l("The date %(value)s is not valid: write it as YYYY-MM-DD, for example 2027-05-01.",
                       value=show(text)))


def split_items(text: str) -> list[str]:
    """Entries of a list cell: one per line, or separated by ; ； |, or by commas when every entry has a colon."""
    if "\n" in text:
        parts = text.split("\n")
    elif re.search(r"[;；|]", text):
        parts = re.split(r"[;；|]", text)
    else:
        parts = re.split(r"[,，、]", text)
        if len(parts) > 1 and not all(re.search(r"[:：]", part) for part in parts):
            parts = [text]
    return [part.strip() for part in parts if part.strip()]


def join_items(items: list[str]) -> str:
    """The reverse of ``split_items``: '; ' between entries, or one per line when an entry holds a separator."""
    if any(re.search(r"[;；|]", item) for item in items):
        return "\n".join(items)
    return "; ".join(items)


def vocab_key(text: str) -> str:
    """A word as vocabularies compare it: NFKC, lower case, without spaces, '_' or '-'."""
    return re.sub(r"[\s_\-]+", "", unicodedata.normalize("NFKC", text).lower())
