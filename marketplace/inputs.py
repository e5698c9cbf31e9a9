"""Input hygiene: what every request's text and ids pass through before a view sees them.

Owns: the request class whose query-string and form values (and uploaded file names) lose the
characters no one types on purpose: C0 control characters but tab, newline and carriage return
(PostgreSQL refuses NUL in text), DEL, and the bidirectional overrides and isolates that make
``invoice\u202efdp.exe`` display as ``invoiceexe.pdf``; a value of only spaces becomes empty.
Also the ``int`` URL converter bounded by the database's integer ids (an id of 2⁶³ is a 404,
not an overflow), ``query_id`` for ids in query strings and forms, ``page_number`` and
``bounded_date`` for list filters. Imports nothing of the features.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from flask import Flask, Request
from werkzeug.datastructures import FileStorage, ImmutableMultiDict, MultiDict
from werkzeug.routing import IntegerConverter, ValidationError

#: C0 controls except \t \n \r, DEL, and U+202A–U+202E, U+2066–U+2069 (embeddings, overrides, isolates)
UNSAFE_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
#: ids are INTEGER columns (PostgreSQL's int4): anything larger can name no row
MAX_ID = 2**31 - 1
#: what a date filter can mean: nothing here happened before 2000 or will after 2099, and year 1 or
#: 9999 would overflow the conversion of a Chinese calendar day to UTC
EARLIEST_DATE, LATEST_DATE = date(2000, 1, 1), date(2099, 12, 31)
#: the deepest page a listing serves (a huge page number must not reach the database as an OFFSET)
MAX_PAGE = 10_000


def clean_text(value: str) -> str:
    """``value`` without control characters (tab, newline and carriage return stay) or bidi overrides."""
    return UNSAFE_CHARACTERS.sub("", value)


def _clean(value):
    if isinstance(value, str):
        text = clean_text(value)
        # blank is empty: WTForms' Optional() lets "   " through as a value (stock_location=" " was a 500)
        return text if text.strip() else ""
    if isinstance(value, FileStorage) and value.filename:
        value.filename = clean_text(value.filename)
    return value


def _pairs(mapping):
    if isinstance(mapping, MultiDict):
        return mapping.items(multi=True)
    if isinstance(mapping, Mapping):
        return ((key, item) for key, value in mapping.items()
                for item in (value if isinstance(value, (list, tuple, set)) else (value,)))
    return mapping


class CleanParameters(ImmutableMultiDict):
    """Query or form values cleaned as Werkzeug parses them (it builds ``args``, ``form`` and ``files`` with it)."""

    def __init__(self, mapping=None):
        super().__init__(None if mapping is None else [(_clean(key), _clean(value)) for key, value in _pairs(mapping)])


class CleanRequest(Request):
    """Flask's request whose ``args``, ``form``, ``values`` and ``files`` hold cleaned text."""

    parameter_storage_class = CleanParameters


class BoundedIntegerConverter(IntegerConverter):
    """``<int:…>`` that matches 0 … MAX_ID only (a longer number is a 404, never an overflow)."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = MAX_ID,  # noqa: A002
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=MAX_ID if max is None else max, signed=signed)

    def to_python(self, value: str) -> int:
        """The number, or a routing miss when it is out of range (checked on its digits before ``int()``)."""
        if len(value.lstrip("-").lstrip("0")) > len(str(self.max)):
            raise ValidationError()
        return super().to_python(value)


def query_id(raw) -> int | None:
    """An id from a query parameter or form value: a number 1 … MAX_ID, else None."""
    text = str(raw if raw is not None else "").strip()
    if not text.isascii() or not text.isdigit() or len(text.lstrip("0")) > len(str(MAX_ID)):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None


def page_number(raw) -> int:
    """A page number from the query string, clamped to 1 … MAX_PAGE (anything not a number is page 1)."""
    try:
        number = int(raw)
    except (TypeError, ValueError):  # a word, or more digits than int() takes
        return 1
    return min(max(number, 1), MAX_PAGE)


def bounded_date(day: date | None) -> date | None:
    """A filter date clamped to EARLIEST_DATE … LATEST_DATE (the same rows, never an overflow); None stays None."""
    return None if day is None else min(max(day, EARLIEST_DATE), LATEST_DATE)


def register_inputs(app: Flask) -> None:
    """Clean request parameters and bound ``<int:…>`` URL parts, before any route is added."""
    app.request_class = CleanRequest
    app.url_map.converters["int"] = BoundedIntegerConverter


@dataclass
class ListPage:
    """A page of a list built in Python (or counted apart), shaped like Flask-SQLAlchemy's Pagination for the
    pager macro."""

    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int | None:
        return self.page - 1 if self.has_prev else None

    @property
    def next_num(self) -> int | None:
        return self.page + 1 if self.has_next else None

    def iter_pages(self, left_edge: int = 2, left_current: int = 2, right_current: int = 4, right_edge: int = 2):
        """Page numbers to show, None for a gap (as Flask-SQLAlchemy's)."""
        last = 0
        for number in range(1, self.pages + 1):
            if (number <= left_edge or self.page - left_current <= number <= self.page + right_current
                    or number > self.pages - right_edge):
                if last and number - last > 1:
                    yield None
                yield number
                last = number
