"""The reports as XLSX in a 上报 layout: a title row (who, which period), Chinese headers, totals rows.

The summary (across sessions): 汇总 (per group), 场次 (per session), 参会企业 (each company once), 签约项目
(every signed intent), 意向状态 (intents by state), 热门产品 (products and categories). One session: 概况 (its
figures), then one sheet per table: registrations, demand lines, quotes, meetings, intents, matches.

Every figure comes from ``figures``, every list from ``rows``; text cells go through
``spreadsheets.xlsx_value`` (formula injection neutralised, XML-illegal characters dropped). Written with
openpyxl in write-only mode (100,000 rows stream without holding the sheet in memory).
"""
from __future__ import annotations

import functools
import io
from datetime import datetime
from decimal import Decimal

from flask_babel import force_locale
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill

from marketplace.database import utcnow
from marketplace.i18n import CHINA, _, fen_to_yuan
from marketplace.reports import figures as fig
from marketplace.reports import rows
from marketplace.spreadsheets import column_letter, xlsx_value

TITLE_FONT = Font(bold=True, size=14)
BOLD = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
TOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")
MONEY_FORMAT = "#,##0.00"
SHARE_FORMAT = "0.0%"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
WRAP = Alignment(wrap_text=True, vertical="center")


def in_chinese(build):
    """Run a file builder in Chinese, whatever the page's language: 上报 files are Chinese documents."""
    @functools.wraps(build)
    def wrapped(*args, **kwargs):
        with force_locale("zh_CN"):
            return build(*args, **kwargs)

    return wrapped


def china_time(value: datetime | None) -> datetime | None:
    """A UTC time as Excel takes it: Asia/Shanghai, without a zone."""
    return value.astimezone(CHINA).replace(tzinfo=None, microsecond=0) if value else None


def period_text(filt: fig.ReportFilter, sessions: list[fig.SessionInfo]) -> str:
    """'2026-01-01 至 2026-06-30' (an open end: the first or last session's day)."""
    start = filt.date_from or (sessions[0].start_day if sessions else None)
    end = filt.date_to or (sessions[-1].start_day if sessions else None)
    if not start and not end:
        return _("All time")
    return _("%(start)s to %(end)s", start=start.isoformat() if start else "…", end=end.isoformat() if end else "…")


class Sheet:
    """A write-only sheet with the report's title rows, a header, body rows and a totals row."""

    def __init__(self, workbook: Workbook, title: str, widths: list[int]):
        self.sheet = workbook.create_sheet(title[:31])
        for index, width in enumerate(widths, start=1):
            self.sheet.column_dimensions[column_letter(index)].width = width

    def cell(self, value, font=None, fill=None, number_format=None, alignment=None):
        cell = WriteOnlyCell(self.sheet, value=xlsx_value(value))
        if font:
            cell.font = font
        if fill:
            cell.fill = fill
        if number_format:
            cell.number_format = number_format
        if alignment:
            cell.alignment = alignment
        return cell

    def title(self, title: str, subtitle: str) -> None:
        self.sheet.append([self.cell(title, font=TITLE_FONT)])
        self.sheet.append([self.cell(subtitle)])
        self.sheet.append([])

    def header(self, labels) -> None:
        self.sheet.append([self.cell(str(label), font=BOLD, fill=HEADER_FILL, alignment=WRAP) for label in labels])

    def row(self, values, formats=(), total: bool = False) -> None:
        """A row of values; a styled cell only where it needs a number format (or in the totals row)."""
        cells = []
        for index, value in enumerate(values):
            number_format = formats[index] if index < len(formats) else None
            if isinstance(value, datetime):
                number_format = DATETIME_FORMAT
            if total or (number_format and value is not None):
                cells.append(self.cell(value, font=BOLD if total else None, fill=TOTAL_FILL if total else None,
                                       number_format=number_format))
            else:
                cells.append(xlsx_value(value))
        self.sheet.append(cells)

    def blank(self) -> None:
        self.sheet.append([])


def _yuan(fen: int | None) -> Decimal | None:
    return fen_to_yuan(fen)


def _subtitle(scope: fig.Scope, period: str, extra: str = "") -> str:
    now = china_time(utcnow()).strftime("%Y-%m-%d %H:%M")
    text = _("Organizer: %(organizer)s · Period: %(period)s · Made: %(now)s", organizer=scope.title, period=period,
             now=now)
    return f"{text} · {extra}" if extra else text


# --------------------------------------------------------------------------- the figure columns

def figure_headers() -> list[str]:
    return [_("Sessions"), _("Registered companies (visits)"), _("Checked-in companies"), _("Exporters"),
            _("Tariff-hit exporters"), _("Tariff-hit share"), _("专精特新 exporters"), _("专精特新 share"),
            _("Demand lines"), _("Matches"), _("Quotes"), _("Meetings"), _("Order intents"),
            _("Intent value (yuan)"), _("Signed"), _("Signed value (yuan)")]


FIGURE_FORMATS = [None] * 5 + [SHARE_FORMAT, None, SHARE_FORMAT] + [None] * 5 + [MONEY_FORMAT, None, MONEY_FORMAT]


def figure_values(f: fig.Figures) -> list:
    return [f.sessions, f.registered, f.attending, f.exporters, f.tariff_hit, f.tariff_share, f.zjtx, f.zjtx_share,
            f.requests, f.matches, f.quotes, f.meetings, f.intents, _yuan(f.intent_value), f.signed,
            _yuan(f.signed_value)]


def _share_value(value: float | None) -> Decimal | None:
    """A share as the cell's number (Decimal: ``xlsx_value`` keeps numbers, and turns a float into text)."""
    return None if value is None else Decimal(value).quantize(Decimal("0.0001"))


def _figure_row(f: fig.Figures) -> list:
    values = figure_values(f)
    values[5], values[7] = _share_value(values[5]), _share_value(values[7])
    return values


# --------------------------------------------------------------------------- list sheets


def _header_of(col: rows.Col) -> str:
    label = str(col.label)
    return _("%(label)s (yuan)", label=label) if col.kind == "money" else label


def _value_of(col: rows.Col, row):
    from marketplace.templating import region_name

    value = getattr(row, col.key)
    if value is None:
        return None
    if col.kind == "money":
        return _yuan(value)
    if col.kind == "label":
        return str(value.label)
    if col.kind == "region":
        return region_name(value)
    if col.kind == "category":
        return fig.category_name(value)
    if col.kind == "flag":
        return _("Yes") if value else ""
    if col.kind == "datetime":
        return china_time(value)
    if col.kind == "score":
        return Decimal(str(value)).quantize(Decimal("0.1"))
    return value


def list_sheet(workbook: Workbook, title: str, subtitle: str, kind: str, session_ids: list[int],
               rf: rows.RowFilter | None = None) -> int:
    """A sheet of one list with a totals row (its count and the sums of its summed columns); the row count."""
    spec = rows.KINDS[kind]
    columns = [c for c in spec.columns if not (kind != "intents" and c.kind == "intent")]
    sheet = Sheet(workbook, title, [c.width for c in columns])
    sheet.title(title, subtitle)
    sheet.header([_header_of(c) for c in columns])
    formats = [MONEY_FORMAT if c.kind == "money" else None for c in columns]
    sums = {c.key: 0 for c in columns if c.total}
    count = 0
    for row in rows.every(kind, session_ids, rf):
        sheet.row([_value_of(c, row) for c in columns], formats)
        count += 1
        for key in sums:
            sums[key] += getattr(row, key) or 0
    totals = [_("Total: %(count)s rows", count=count)] + [None] * (len(columns) - 1)
    for index, col in enumerate(columns):
        if col.total and index:
            totals[index] = _yuan(sums[col.key]) if col.kind == "money" else sums[col.key]
    sheet.row(totals, formats, total=True)
    return count


def _save(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --------------------------------------------------------------------------- the summary


@in_chinese
def summary_xlsx(board: fig.Dashboard) -> bytes:
    """The across-sessions report of a dashboard (its scope, filter and grouping)."""
    workbook = Workbook(write_only=True)
    period = period_text(board.filter, board.sessions)
    group_name = str(fig.GROUPS[board.filter.group_by])
    subtitle = _subtitle(board.scope, period)
    ids = board.session_ids

    headers = figure_headers()
    summary = Sheet(workbook, _("Summary"), [24] + [11] * len(headers))
    summary.title(_("Matchmaking sessions: results (上报)"),
                  _subtitle(board.scope, period, _("Grouped by %(group)s", group=group_name)))
    summary.header([group_name] + headers)
    for group in board.groups:
        summary.row([group.label] + _figure_row(group.figures), [None] + FIGURE_FORMATS)
    summary.row([_("Total")] + _figure_row(board.total), [None] + FIGURE_FORMATS, total=True)
    summary.blank()
    summary.row([_("Different companies"), board.companies])
    funnel = board.total.funnel()
    summary.row([_("Conversion"), *[f"{step.label} {step.count}" for step in funnel]])
    summary.row(["", *[f"{step.rate_label} {fig.share(step.rate)}" for step in funnel if step.rate is not None]])

    sessions = Sheet(workbook, _("Sessions"), [8, 30, 24, 17, 10, 10, 14, 14, 10] + [11] * len(headers))
    sessions.title(_("Sessions"), subtitle)
    sessions.header([_("No."), _("Session"), _("Organizer"), _("Starts"), _("Province"), _("City"),
                     _("Industry chain"), _("Cluster"), _("Status")] + headers)
    from marketplace.templating import region_name

    for info in board.sessions:
        meta = [info.id, info.title, info.organizer_name, china_time(info.starts_at), region_name(info.province_code),
                region_name(info.city_code) if info.city_code else "", info.industry or "", info.cluster or "",
                str(info.status.label)]
        sessions.row(meta + _figure_row(board.per_session[info.id]), [None] * 9 + FIGURE_FORMATS)
    sessions.row([_("Total")] + [None] * 8 + _figure_row(board.total), [None] * 9 + FIGURE_FORMATS, total=True)

    list_sheet(workbook, _("Participating companies"), subtitle, "companies", ids)
    list_sheet(workbook, _("Signed intents"), subtitle, "intents", ids, rows.RowFilter(group="signed"))
    _states_sheet(workbook, subtitle, board.total)
    _top_sheet(workbook, subtitle, board.products, board.categories)
    return _save(workbook)


def _states_sheet(workbook: Workbook, subtitle: str, figures: fig.Figures) -> None:
    sheet = Sheet(workbook, _("Intents by state"), [28, 12, 18])
    sheet.title(_("Order intents by state"), subtitle)
    _states_rows(sheet, figures)
    sheet.blank()
    sheet.row([_("Intent value (yuan)"), figures.standing, _yuan(figures.intent_value)], [None, None, MONEY_FORMAT])
    sheet.row([_("Signed value (yuan)"), figures.signed, _yuan(figures.signed_value)], [None, None, MONEY_FORMAT])


def _top_sheet(workbook: Workbook, subtitle: str, products: list[fig.Ranked], categories: list[fig.Ranked]) -> None:
    sheet = Sheet(workbook, _("Top products"), [8, 32, 12, 18, 18])
    sheet.title(_("Top products and categories"), subtitle)
    formats = [None, None, None, MONEY_FORMAT, MONEY_FORMAT]
    for heading, ranked in ((_("Product"), products), (_("Category"), categories)):
        sheet.header([_("Rank"), heading, _("Order intents"), _("Intent value (yuan)"), _("Signed value (yuan)")])
        for rank, item in enumerate(ranked, start=1):
            sheet.row([rank, item.label, item.intents, _yuan(item.value), _yuan(item.signed_value)], formats)
        sheet.blank()


def summary_filename(board: fig.Dashboard) -> str:
    start = board.filter.date_from.isoformat() if board.filter.date_from else "start"
    end = board.filter.date_to.isoformat() if board.filter.date_to else "now"
    return f"rongtong-sessions-{start}-{end}.xlsx"


# --------------------------------------------------------------------------- one session


def session_subtitle(report: fig.SessionReport) -> str:
    info = report.session
    return _("Organizer: %(organizer)s · Session: %(session)s (%(day)s) · Made: %(now)s",
             organizer=info.organizer_name, session=info.title, day=info.start_day.isoformat(),
             now=china_time(utcnow()).strftime("%Y-%m-%d %H:%M"))


def overview_rows(report: fig.SessionReport) -> list[tuple[str, object, str | None]]:
    """(label, value, number format) of a session's figures, as the overview sheet and the PDF list them."""
    f = report.figures
    return [
        (_("Registered companies"), f.registered, None), (_("Checked-in companies"), f.attending, None),
        (_("Exporters"), f.exporters, None), (_("Tariff-hit exporters"), f.tariff_hit, None),
        (_("Tariff-hit share"), _share_value(f.tariff_share), SHARE_FORMAT),
        (_("专精特新 exporters"), f.zjtx, None), (_("专精特新 share"), _share_value(f.zjtx_share), SHARE_FORMAT),
        (_("Demand lines"), f.requests, None), (_("Matches"), f.matches, None), (_("Quotes"), f.quotes, None),
        (_("Meetings"), f.meetings, None), (_("Order intents"), f.intents, None),
        (_("Intent value (yuan)"), _yuan(f.intent_value), MONEY_FORMAT), (_("Signed"), f.signed, None),
        (_("Signed value (yuan)"), _yuan(f.signed_value), MONEY_FORMAT),
    ]


@in_chinese
def session_xlsx(report: fig.SessionReport) -> bytes:
    """One session's report: its figures, then its tables."""
    from marketplace.templating import region_name

    info = report.session
    workbook = Workbook(write_only=True)
    subtitle = session_subtitle(report)
    overview = Sheet(workbook, _("Overview"), [28, 40, 18])
    overview.title(_("Matchmaking session report: %(title)s", title=info.title), subtitle)
    overview.header([_("Item"), _("Value"), ""])
    place = " ".join(part for part in (region_name(info.province_code),
                                       region_name(info.city_code) if info.city_code else "", info.venue or "") if part)
    for label, value in ((_("Organizer"), info.organizer_name), (_("Starts"), china_time(info.starts_at)),
                         (_("Ends"), china_time(info.ends_at)), (_("Place"), place),
                         (_("Industry chain"), info.industry or ""), (_("Cluster"), info.cluster or ""),
                         (_("Status"), str(info.status.label))):
        overview.row([label, value])
    overview.blank()
    overview.header([_("Figure"), _("Value"), ""])
    for label, value, number_format in overview_rows(report):
        overview.row([label, value], [None, number_format])
    overview.blank()
    _states_rows(overview, report.figures)
    ids = [info.id]
    list_sheet(workbook, _("Registration list"), subtitle, "registrations", ids)
    list_sheet(workbook, _("Demand lines"), subtitle, "requests", ids)
    list_sheet(workbook, _("Quotes"), subtitle, "quotes", ids)
    list_sheet(workbook, _("Meetings"), subtitle, "meetings", ids)
    list_sheet(workbook, _("Order intents"), subtitle, "intents", ids)
    list_sheet(workbook, _("Matches"), subtitle, "matches", ids)
    return _save(workbook)


def _states_rows(sheet: Sheet, figures: fig.Figures) -> None:
    sheet.header([_("State"), _("Order intents"), _("Amount (yuan)")])
    for state, count, value in figures.state_rows():
        sheet.row([str(state.label), count, _yuan(value)], [None, None, MONEY_FORMAT])
    sheet.row([_("Total"), figures.intents, _yuan(sum(v for _s, _c, v in figures.state_rows()))],
              [None, None, MONEY_FORMAT], total=True)


def session_filename(report: fig.SessionReport) -> str:
    return f"rongtong-session-{report.session.id}-{report.session.start_day.isoformat()}.xlsx"
