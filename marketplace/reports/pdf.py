"""One session's report as PDF (fpdf2): its figures, the conversion funnel and the intents by state as bars
drawn with fpdf2 shapes, the top products and categories.

Chinese text is set in the application's own subset of Noto Sans CJK SC (``static/fonts``, SIL OFL 1.1;
``make_font.py`` says what it holds), embedded and subset again by fpdf2 to the glyphs a report uses, with a
ToUnicode map so the text can be searched and copied. A character the font lacks (a rare hanzi in a company's
name, an emoji) is drawn as □ instead of failing the report.
"""
from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

from fpdf import FPDF

from marketplace.database import utcnow
from marketplace.i18n import _, format_money
from marketplace.reports import figures as fig
from marketplace.reports.xlsx import china_time, in_chinese

# fpdf2 subsets the font with fontTools, which logs every step at INFO: keep the application's log readable
logging.getLogger("fontTools").setLevel(logging.WARNING)

FONT_PATH = Path(__file__).resolve().parent.parent / "static" / "fonts" / "NotoSansSC-Subset.otf"
FONT = "notosans"
MISSING = "□"
INK, MUTED, LINE = (33, 37, 41), (108, 117, 125), (222, 226, 230)
BAR_COLOURS = ((173, 181, 189), (179, 38, 30), (224, 161, 0), (25, 135, 84))
BRAND, AMBER = (179, 38, 30), (224, 161, 0)


@lru_cache(maxsize=1)
def font_characters() -> frozenset[int]:
    """The code points the report font can draw."""
    from fontTools.ttLib import TTFont

    with TTFont(str(FONT_PATH), lazy=True) as font:
        return frozenset(font.getBestCmap())


def printable(text) -> str:
    """Text the font can draw: every character it lacks becomes □ (line breaks and tabs kept)."""
    known = font_characters()
    return "".join(ch if ord(ch) in known or ch in "\n\t" else MISSING for ch in str(text or ""))


class ReportPDF(FPDF):
    """A4 portrait with the report's font, a running header and numbered pages."""

    def __init__(self, heading: str):
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.heading = heading
        self.add_font(FONT, "", str(FONT_PATH))
        self.set_margins(16, 18, 16)
        self.set_auto_page_break(auto=True, margin=18)
        self.set_title(printable(heading))
        self.set_creator("Rongtong")
        self.alias_nb_pages()

    def header(self):
        self.set_font(FONT, size=8)
        self.set_text_color(*MUTED)
        self.cell(0, 5, printable(self.heading), align="L")
        self.cell(0, 5, _("Rongtong"), align="R", new_x="LMARGIN", new_y="NEXT")
        self.set_draw_color(*LINE)
        self.line(self.l_margin, self.get_y() + 1, self.w - self.r_margin, self.get_y() + 1)
        self.ln(5)
        self.set_text_color(*INK)

    def footer(self):
        self.set_y(-12)
        self.set_font(FONT, size=8)
        self.set_text_color(*MUTED)
        self.cell(0, 5, _("Page %(page)s of %(pages)s", page=self.page_no(), pages="{nb}"), align="C")

    # ---- pieces

    def text_line(self, text, size: float = 10, colour=INK, height: float | None = None, align: str = "L"):
        self.set_font(FONT, size=size)
        self.set_text_color(*colour)
        self.multi_cell(0, height or size * 0.55, printable(text), align=align, new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(*INK)

    def section(self, title: str):
        if self.get_y() > self.h - 60:
            self.add_page()
        self.ln(3)
        self.set_font(FONT, size=12.5)
        self.set_fill_color(*BRAND)
        self.rect(self.l_margin, self.get_y() + 1, 1.2, 5, style="F")
        self.set_x(self.l_margin + 3)
        self.cell(0, 7, printable(title), new_x="LMARGIN", new_y="NEXT")
        self.ln(1)

    def table(self, headers: list[str], body: list[list[str]], widths: list[float], aligns: str):
        """A ruled table; long cells are cut to their column (the XLSX has the full text)."""
        self.set_font(FONT, size=8.5)
        self.set_fill_color(248, 236, 234)
        height = 6.5
        for text, width, align in zip(headers, widths, aligns, strict=True):
            self.cell(width, height, printable(text), border="B", align=align, fill=True)
        self.ln(height)
        for row in body:
            if self.get_y() > self.h - 25:
                self.add_page()
            for text, width, align in zip(row, widths, aligns, strict=True):
                self.cell(width, height, self.fit(printable(text), width - 2), border="B", align=align)
            self.ln(height)

    def fit(self, text: str, width: float) -> str:
        """``text`` cut with … to ``width`` mm in the current font."""
        if self.get_string_width(text) <= width:
            return text
        while text and self.get_string_width(text + "…") > width:
            text = text[:-1]
        return text + "…"

    def bars(self, items: list[tuple[str, int, str]], colours, label_width: float = 42):
        """Horizontal bars: (label, value, text shown after the bar), lengths relative to the largest value."""
        largest = max((value for _label, value, _text in items), default=0) or 1
        room = self.w - self.l_margin - self.r_margin - label_width - 38
        self.set_font(FONT, size=9)
        for index, (label, value, text) in enumerate(items):
            y = self.get_y()
            self.set_x(self.l_margin)
            self.cell(label_width, 7, self.fit(printable(label), label_width - 2))
            self.set_fill_color(*colours[index % len(colours)])
            length = room * value / largest
            if length > 0:
                self.rect(self.l_margin + label_width, y + 1.3, max(length, 0.6), 4.4, style="F")
            self.set_xy(self.l_margin + label_width + length + 2, y)
            self.cell(36, 7, printable(text))
            self.set_xy(self.l_margin, y + 7)

    def figure_grid(self, items: list[tuple[str, str]], columns: int = 3):
        """Boxes of (label, value), ``columns`` to a row."""
        gap = 3
        width = (self.w - self.l_margin - self.r_margin - gap * (columns - 1)) / columns
        height = 16
        for index, (label, value) in enumerate(items):
            column = index % columns
            if column == 0:
                if index:
                    self.ln(height + gap)
                if self.get_y() + height > self.h - 20:
                    self.add_page()
            x, y = self.l_margin + column * (width + gap), self.get_y()
            self.set_draw_color(*LINE)
            self.set_fill_color(248, 249, 250)
            self.rect(x, y, width, height, style="DF")
            self.set_xy(x + 2.5, y + 1.8)
            self.set_font(FONT, size=8)
            self.set_text_color(*MUTED)
            self.cell(width - 5, 4.5, self.fit(printable(label), width - 5))
            self.set_xy(x + 2.5, y + 6.8)
            self.set_font(FONT, size=13)
            self.set_text_color(*INK)
            self.cell(width - 5, 7, self.fit(printable(value), width - 5))
            self.set_xy(self.l_margin, y)
        self.ln(height + gap)


def _count(value: int) -> str:
    from marketplace.i18n import format_number

    return format_number(value)


@in_chinese
def session_pdf(report: fig.SessionReport) -> bytes:
    """The session's report, in Chinese."""
    from marketplace.templating import region_name

    info, f = report.session, report.figures
    pdf = ReportPDF(_("Matchmaking session report"))
    pdf.add_page()
    pdf.text_line(_("Matchmaking session report"), size=10, colour=MUTED)
    pdf.text_line(info.title, size=18, height=9)
    pdf.ln(1)
    starts, ends = china_time(info.starts_at), china_time(info.ends_at)
    place = " ".join(part for part in (region_name(info.province_code),
                                       region_name(info.city_code) if info.city_code else "", info.venue or "") if part)
    meta = [
        (_("Organizer"), info.organizer_name),
        (_("Time"), f"{starts:%Y-%m-%d %H:%M} – {ends:%H:%M}" if starts.date() == ends.date()
         else f"{starts:%Y-%m-%d %H:%M} – {ends:%Y-%m-%d %H:%M}"),
        (_("Place"), place),
        (_("Industry chain"), " · ".join(part for part in (info.industry, info.cluster) if part) or "—"),
        (_("Status"), str(info.status.label)),
        (_("Made"), f"{china_time(utcnow()):%Y-%m-%d %H:%M}"),
    ]
    for label, value in meta:
        pdf.set_font(FONT, size=9.5)
        pdf.set_text_color(*MUTED)
        pdf.cell(28, 6, printable(label))
        pdf.set_text_color(*INK)
        pdf.multi_cell(0, 6, printable(value), new_x="LMARGIN", new_y="NEXT")

    pdf.section(_("Results"))
    pdf.figure_grid([
        (_("Registered companies"), _count(f.registered)),
        (_("Checked-in companies"), f"{_count(f.attending)}（{fig.share(f.attendance_rate)}）"),
        (_("Meetings"), _count(f.meetings)),
        (_("Tariff-hit share of exporters"), f"{fig.share(f.tariff_share)}（{f.tariff_hit}/{f.exporters}）"),
        (_("专精特新 share of exporters"), f"{fig.share(f.zjtx_share)}（{f.zjtx}/{f.exporters}）"),
        (_("Demand lines"), _count(f.requests)),
        (_("Order intents"), _count(f.intents)),
        (_("Intent value"), format_money(f.intent_value, compact=True)),
        (_("Signed value"), format_money(f.signed_value, compact=True)),
    ])

    pdf.section(_("Conversion: match → quote → intent → signed"))
    pdf.bars([(str(step.label), step.count,
               _count(step.count) + (f"（{fig.share(step.rate)}）" if step.rate is not None else ""))
              for step in f.funnel()], BAR_COLOURS)

    pdf.section(_("Order intents by state"))
    state_rows = f.state_rows()
    pdf.bars([(str(state.label), value, f"{count} · {format_money(value, compact=True)}")
              for state, count, value in state_rows], (AMBER,))
    pdf.set_font(FONT, size=8)
    pdf.set_text_color(*MUTED)
    pdf.multi_cell(0, 4.5, printable(_("Bars: the amount of the intents in each state. Intent value counts the "
                                       "intents not withdrawn, declined or expired; signed value the signed and "
                                       "fulfilled ones.")), new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(*INK)

    usable = pdf.w - pdf.l_margin - pdf.r_margin
    for title, ranked, heading in ((_("Top products"), report.products, _("Product")),
                                   (_("Top categories"), report.categories, _("Category"))):
        pdf.section(title)
        if not ranked:
            pdf.text_line(_("No order intents yet."), size=9, colour=MUTED)
            continue
        pdf.table([_("Rank"), heading, _("Order intents"), _("Intent value"), _("Signed value")],
                  [[str(rank), item.label, _count(item.intents), format_money(item.value, compact=True),
                    format_money(item.signed_value, compact=True)] for rank, item in enumerate(ranked, start=1)],
                  [12, usable - 12 - 22 - 32 - 32, 22, 32, 32], "LLRRR")
    return bytes(pdf.output())


def session_filename(report: fig.SessionReport) -> str:
    return f"rongtong-session-{report.session.id}-{report.session.start_day.isoformat()}.pdf"
