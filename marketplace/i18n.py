"""The one i18n import point: ``from marketplace.i18n import _, _l``.

Owns: locale and timezone selection, the language switch, and locale-aware formatting of
dates, numbers and money (integer fen in, ¥1,234.00 or 1.23万 out).
"""
from __future__ import annotations

import logging
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.numbers import format_compact_currency, format_currency, format_decimal
from flask import Flask, current_app, g, has_app_context, has_request_context, request, session
from flask_babel import format_date as _babel_format_date
from flask_babel import format_datetime as _babel_format_datetime
from flask_babel import get_locale, get_translations, ngettext
from flask_babel.speaklater import LazyString
from flask_login import current_user
from markupsafe import Markup

from marketplace.extensions import babel

__all__ = ["_", "_l", "N_", "ngettext", "format_money", "format_number", "fen_to_yuan", "yuan_to_fen",
           "lazy_money", "lazy_number", "encode_message", "render_message", "today_in_china"]

logger = logging.getLogger(__name__)

SUPPORTED_LOCALES = ("zh_CN", "en")


class EscapedLazyString(LazyString):
    """A lazy translation that Jinja escapes like any other text.

    Flask-Babel's ``LazyString.__html__`` returns the string as safe markup, so a lazy
    message quoting user input (``_l("… %(value)s", value=cell)``) would reach the page
    unescaped. Our messages carry no markup, so escaping them is always right.
    """

    def __html__(self):
        from markupsafe import escape

        return str(escape(str(self)))


def _translations():
    """The current locale's translations, kept per app and locale: Flask-Babel's own lookup spells the locale
    out and walks its domain on every call (~23 µs; a page of matches translates a hundred lines)."""
    state = g.get("_flask_babel") if has_app_context() else None
    locale = getattr(state, "babel_locale", None)  # where Flask-Babel keeps the context's (or forced) locale
    memo = getattr(state, "rongtong_translations", None)
    if memo is not None and memo[0] is locale:  # this context's last answer, for the same locale object
        return memo[1]
    if locale is None:
        locale = get_locale()
    if locale is None:  # no app context: Flask-Babel's answer (no translation)
        return get_translations()
    cache = current_app.extensions.setdefault("rongtong_translations", {})
    key = (locale.language, locale.territory, locale.script, locale.variant)
    found = cache.get(key)
    if found is None:
        found = cache[key] = get_translations()
    state = g.get("_flask_babel")
    if state is not None and getattr(state, "babel_locale", None) is locale:
        state.rongtong_translations = (locale, found)
    return found


def _(string: str, **variables) -> str:
    """Translate now, in the current locale (``%(name)s`` placeholders filled from ``variables``)."""
    text = _translations().ugettext(string)
    return text % variables if variables else text


def _l(string: str, **variables) -> EscapedLazyString:
    """Translate lazily (at display time, in the viewer's language); safe to show in templates."""
    return EscapedLazyString(_, string, **variables)


def N_(message: str) -> str:
    """Mark a string for extraction without translating it (translated later, at use)."""
    return message

LANGUAGE_NAMES = {"zh_CN": "中文", "en": "English"}


def select_locale() -> str:
    """The user's saved choice, then the language switch (session), then Accept-Language."""
    if not has_request_context():  # CLI and background work: the default language
        return current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_CN")
    if request.path.startswith("/api/"):  # the API reads no cookie: its language is Accept-Language's
        return _accept_language()
    if current_user and current_user.is_authenticated and current_user.locale in SUPPORTED_LOCALES:
        return current_user.locale
    chosen = session.get("locale")
    if chosen in SUPPORTED_LOCALES:
        return chosen
    return _accept_language()


def _accept_language() -> str:
    best = request.accept_languages.best_match(["zh-CN", "zh", "en"])
    if best and best.startswith("en"):
        return "en"
    return current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_CN")


def select_timezone() -> str:
    """Every time is shown in China Standard Time."""
    return "Asia/Shanghai"


CHINA = ZoneInfo("Asia/Shanghai")


def today_in_china() -> date:
    """Today's date in Asia/Shanghai (certificate expiry and valid-until dates are Chinese calendar days)."""
    return datetime.now(CHINA).date()


def fen_to_yuan(fen: int | None) -> Decimal | None:
    """Integer fen to a two-place Decimal of yuan."""
    if fen is None:
        return None
    return (Decimal(int(fen)) / 100).quantize(Decimal("0.01"))


def yuan_to_fen(yuan: Decimal | str | int) -> int:
    """A yuan amount (at most two decimals) to integer fen; rejects finer amounts."""
    value = Decimal(str(yuan))
    fen = value * 100
    if fen != fen.to_integral_value():
        raise ValueError("amount has more than two decimal places")
    return int(fen)


def current_locale_code() -> str:
    """'zh_CN' or 'en' for the current request (Babel spells zh_CN as zh_Hans_CN)."""
    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else "zh_CN"


_locale_str = current_locale_code


#: parsed once: Babel parses a locale given as a string on every call (a third of a 200-row page's time)
BABEL_LOCALES = {"zh_CN": Locale.parse("zh_CN"), "en": Locale.parse("en")}

#: decimals of the compact form: 12.35万 in Chinese (a 万 is a big unit), 1.2M in English
COMPACT_DIGITS = {"zh_CN": 2, "en": 1}


def format_money(fen: int | None, compact: bool = False) -> str:
    """Money in integer fen for the current locale: ¥1,234.00; compact (≥ 10,000 yuan): ¥12.35万 / CN¥1.2M."""
    if fen is None:
        return "—"
    return _money_text(int(fen), compact, _locale_str())


@lru_cache(maxsize=8192)
def _money_text(fen: int, compact: bool, locale: str) -> str:
    """One amount's text (Babel's currency formatting takes ~50 µs; pages repeat amounts)."""
    yuan = fen_to_yuan(fen)
    if compact and abs(yuan) >= 10000:
        return format_compact_currency(yuan, "CNY", locale=BABEL_LOCALES[locale], fraction_digits=COMPACT_DIGITS[locale])
    return format_currency(yuan, "CNY", locale=BABEL_LOCALES[locale])


def format_money_short(fen: int | None) -> Markup:
    """The compact amount for lists, totals and profiles, with the exact one as its tooltip.

    Where people scan amounts (¥12.35万 / CN¥1.2M); the intent itself shows the exact ``money``.
    """
    short, exact = format_money(fen, compact=True), format_money(fen)
    if short == exact:
        return Markup("{}").format(short)
    return Markup('<span title="{}">{}</span>').format(exact, short)


def format_number(value, compact: bool = False) -> str:
    """A number for the current locale (1,234 / 1.2万 when compact)."""
    if value is None:
        return "—"
    from babel.numbers import format_compact_decimal

    locale = _locale_str()
    if compact and abs(value) >= 10000:
        return format_compact_decimal(value, locale=BABEL_LOCALES[locale], fraction_digits=COMPACT_DIGITS[locale])
    return format_decimal(value, locale=BABEL_LOCALES[locale])


def format_datetime(value: datetime | None, fmt: str = "medium") -> str:
    """A UTC datetime shown in Asia/Shanghai for the current locale."""
    if value is None:
        return "—"
    return _babel_format_datetime(value, fmt)


def format_date(value: date | None, fmt: str = "medium") -> str:
    """A date for the current locale."""
    if value is None:
        return "—"
    return _babel_format_date(value, fmt)


# --------------------------------------------------------------------------- stored messages
#
# A message written now and read later (a notification) is stored as its message id and
# arguments, not as text, so each reader sees it in their own language. ``encode_message`` turns
# what callers pass (``_l("… %(x)s", x=…)``, ``lazy_money(fen)``, plain text, or a list of those
# shown one per line) into JSON; ``render_message`` turns it back into text in the current locale.
# Only the functions ``_renderers()`` names are ever called on the way back (never one named in the data).


def lazy_money(fen: int | None, compact: bool = False) -> EscapedLazyString:
    """An amount that formats itself in the reader's locale when shown (for stored messages)."""
    return EscapedLazyString(format_money, fen, compact=compact)


def lazy_number(value) -> EscapedLazyString:
    """A number that formats itself in the reader's locale when shown (for stored messages)."""
    return EscapedLazyString(format_number, value)


def _renderers() -> dict:
    return {"gettext": _, "ngettext": ngettext, "money": format_money, "number": format_number}


def _function_name(func) -> str | None:
    for name, known in _renderers().items():
        if func is known:
            return name
    return None


def encode_message(value) -> object:
    """JSON for a message to store: lazy strings keep their message id and (encoded) arguments."""
    if isinstance(value, LazyString):
        name = _function_name(value._func)
        if name is None:  # a lazy value we cannot replay: keep its text in the current locale
            return str(value)
        return {"f": name, "a": [encode_message(arg) for arg in value._args],
                "k": {key: encode_message(arg) for key, arg in value._kwargs.items()}}
    if isinstance(value, (list, tuple)):
        return {"lines": [encode_message(part) for part in value if part not in (None, "")]}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def render_message(data) -> str:
    """The text of an encoded message in the current locale (see ``encode_message``)."""
    if isinstance(data, dict):
        if "lines" in data:
            return "\n".join(render_message(part) for part in data["lines"])
        func = _renderers().get(data.get("f"))
        if func is None:
            return ""
        args = [_argument(arg) for arg in data.get("a") or []]
        kwargs = {key: _argument(arg) for key, arg in (data.get("k") or {}).items()}
        try:
            return str(func(*args, **kwargs))
        except (KeyError, TypeError, ValueError):  # a translation whose placeholders do not match
            logger.warning("stored message %r could not be rendered", data.get("a"))
            return str(args[0]) if args else ""
    return "" if data is None else str(data)


def _argument(value):
    # nested messages become text in the same locale; plain values stay as they are (ints format)
    return render_message(value) if isinstance(value, dict) else value


def _compile_catalogs(directory: Path) -> None:
    """Compile .po to .mo when missing or stale, so a fresh checkout shows translated pages."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po_path in directory.glob("*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        try:
            with po_path.open("rb") as handle:
                catalog = read_po(handle, locale=po_path.parent.parent.name)
            with mo_path.open("wb") as handle:
                write_mo(handle, catalog)
        except OSError as error:  # read-only deployment: compile at build time instead
            logger.warning("could not compile %s: %s", po_path, error)


def register_i18n(app: Flask) -> None:
    """Bind Flask-Babel and expose the formatting helpers to templates."""
    _compile_catalogs(Path(app.config["BABEL_TRANSLATION_DIRECTORIES"]))
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.filters.update(
        money=format_money,
        money_short=format_money_short,
        number=format_number,
        datetime=format_datetime,
        date=format_date,
    )

    @app.context_processor
    def inject_i18n():
        return {
            "current_locale": _locale_str(),
            "language_names": LANGUAGE_NAMES,
            "supported_locales": SUPPORTED_LOCALES,
        }
