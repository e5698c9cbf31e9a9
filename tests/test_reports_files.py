"""The report files: the summary and session XLSX (sheets, Chinese headers, totals, neutralised formulas), the
session PDF (pages, embedded Chinese text read back, a character outside the font), and the command line.

The PDF's text is read back without a PDF library: the content streams are inflated, the ToUnicode map of the
embedded font decodes the glyph codes of each ``Tj`` (what a PDF reader's copy and search do).
"""
from __future__ import annotations

import io
import re
import zlib
from datetime import date

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from marketplace.extensions import db
from marketplace.i18n import _
from marketplace.reports import figures, pdf, xlsx
from marketplace.sessions.models import MatchmakingSession
from tests.conftest import login
from tests.test_reports import EXPECTED, make_world, scope_a

# --------------------------------------------------------------------------- reading a PDF back


def _streams(data: bytes) -> list[bytes]:
    out = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            out.append(zlib.decompress(match.group(1)))
        except zlib.error:
            out.append(match.group(1))
    return out


def _literals(content: bytes):
    """The literal strings shown with Tj, unescaped."""
    index = 0
    while (start := content.find(b"(", index)) != -1:
        out, depth, index = bytearray(), 1, start + 1
        while depth:
            byte = content[index]
            if byte == 0x5C:  # backslash
                following = content[index + 1]
                escapes = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("f"): 12}
                if chr(following) in "01234567":
                    digits = re.match(rb"[0-7]{1,3}", content[index + 1:index + 4]).group(0)
                    out.append(int(digits, 8) & 0xFF)
                    index += 1 + len(digits)
                    continue
                out.append(escapes.get(following, following))
                index += 2
                continue
            if byte == 0x28:
                depth += 1
            elif byte == 0x29:
                depth -= 1
                if not depth:
                    break
            out.append(byte)
            index += 1
        index += 1
        if content[index:index + 4].lstrip().startswith(b"Tj"):
            yield bytes(out)


def pdf_text(data: bytes) -> str:
    """The text of every Tj of the document, decoded through the fonts' ToUnicode maps (two-byte codes)."""
    streams = _streams(data)
    cmap: dict[int, str] = {}
    for stream in streams:
        if b"begincmap" not in stream:
            continue
        for block in re.findall(rb"beginbfchar(.*?)endbfchar", stream, re.S):
            for source, target in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
                cmap[int(source, 16)] = bytes.fromhex(target.decode()).decode("utf-16-be")
        for block in re.findall(rb"beginbfrange(.*?)endbfrange", stream, re.S):
            for low, high, target in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
                for offset, code in enumerate(range(int(low, 16), int(high, 16) + 1)):
                    cmap[code] = chr(int(target, 16) + offset)
    lines = []
    for stream in streams:
        if b"begincmap" in stream or b"Tj" not in stream:
            continue
        for raw in _literals(stream):
            lines.append("".join(cmap.get(int.from_bytes(raw[i:i + 2], "big"), "\ufffd")
                                 for i in range(0, len(raw) - 1, 2)))
    return "\n".join(lines)


def pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", data))


# --------------------------------------------------------------------------- XLSX


def zh(msgid: str, **variables) -> str:
    """A message as the files show it: in Chinese (inside a request context)."""
    from flask_babel import force_locale

    with force_locale("zh_CN"):
        return _(msgid, **variables)


def _sheet_rows(book, title):
    return [list(row) for row in book[title].iter_rows(values_only=True)]


def test_summary_xlsx_has_its_sheets_headers_and_totals(app):
    with app.test_request_context():
        world = make_world()
        session = db.session.get(MatchmakingSession, world["s1"])
        session.title = "=HYPERLINK(\"http://evil.example\",\"点我\")"
        db.session.commit()
        board = figures.dashboard(scope_a(world), figures.ReportFilter(date_from=date(2026, 1, 1),
                                                                       date_to=date(2026, 12, 31)))
        book = load_workbook(io.BytesIO(xlsx.summary_xlsx(board)))
        names = [zh(name) for name in ("Summary", "Sessions", "Participating companies", "Signed intents", "Intents by state",
                                       "Top products")]
        assert book.sheetnames == names
        summary = _sheet_rows(book, names[0])
        assert summary[0][0] == zh("Matchmaking sessions: results (上报)")
        assert "深圳市中小企业服务中心" in summary[1][0]
        assert zh("%(start)s to %(end)s", start="2026-01-01", end="2026-12-31") in summary[1][0]
        header = summary[3]
        assert header[:4] == [zh("Month"), zh("Sessions"), zh("Registered companies (visits)"), zh("Checked-in companies")]
        total = next(row for row in summary if row[0] == zh("Total"))
        column = {name: index for index, name in enumerate(header)}
        assert total[column[zh("Registered companies (visits)")]] == EXPECTED["total"]["registered"]
        assert total[column[zh("Order intents")]] == EXPECTED["total"]["intents"]
        assert float(total[column[zh("Intent value (yuan)")]]) == EXPECTED["total"]["intent_value"] / 100
        assert float(total[column[zh("Signed value (yuan)")]]) == EXPECTED["total"]["signed_value"] / 100
        assert total[column[zh("Tariff-hit share")]] == pytest.approx(0.6)
        titles = [row[1] for row in _sheet_rows(book, names[1])[4:-1]]
        assert titles[0] == "'=HYPERLINK(\"http://evil.example\",\"点我\")"  # neutralised: text, not a formula
        assert "纺织服装专场对接会" in titles and "杭州五金专场" not in titles
        signed = _sheet_rows(book, names[3])
        assert signed[-1][0] == zh("Total: %(count)s rows", count=2)
        amount = signed[3].index(zh("%(label)s (yuan)", label=zh("Amount")))
        assert float(signed[-1][amount]) == EXPECTED["total"]["signed_value"] / 100
        assert _sheet_rows(book, names[2])[-1][0] == zh("Total: %(count)s rows", count=6)


def test_session_xlsx_lists_every_table_with_totals(app):
    with app.test_request_context():
        world = make_world()
        book = load_workbook(io.BytesIO(xlsx.session_xlsx(figures.session_report(scope_a(world), world["s1"]))))
        names = [zh(name) for name in ("Overview", "Registration list", "Demand lines", "Quotes", "Meetings",
                                       "Order intents", "Matches")]
        assert book.sheetnames == names
        overview = {row[0]: row[1] for row in _sheet_rows(book, names[0]) if row and row[0]}
        assert overview[zh("Registered companies")] == EXPECTED["s1"]["registered"]
        assert overview[zh("Meetings")] == EXPECTED["s1"]["meetings"]
        assert overview[zh("Organizer")] == "深圳市中小企业服务中心"
        intents = _sheet_rows(book, names[5])
        assert intents[3][:3] == [zh("No."), zh("Session"), zh("Buyer")]
        assert intents[-1][0] == zh("Total: %(count)s rows", count=4)
        amount = intents[3].index(zh("%(label)s (yuan)", label=zh("Amount")))
        assert float(intents[-1][amount]) == 2520.0  # 1,000 + 1,000 + 500 + 20 yuan
        assert _sheet_rows(book, names[1])[-1][0] == zh("Total: %(count)s rows", count=4)


# --------------------------------------------------------------------------- PDF


def test_session_pdf_embeds_its_chinese_text(app):
    with app.test_request_context():
        world = make_world()
        session = db.session.get(MatchmakingSession, world["s1"])
        session.title = "小家电专场对接会 😀 𠀀"  # an emoji and a hanzi outside the font
        db.session.commit()
        data = pdf.session_pdf(figures.session_report(scope_a(world), world["s1"]))
        labels = [zh("Matchmaking session report"), zh("Signed value"), zh("Order intents by state"),
                  zh("Top products")]
    assert data.startswith(b"%PDF-")
    assert pdf_pages(data) >= 1
    assert b"/FontFile3" in data and b"NotoSansSCRongtongSubset" in data  # the font is embedded
    text = pdf_text(data)
    assert "小家电专场对接会 □ □" in text
    assert "深圳市中小企业服务中心" in text  # the organizer
    assert "智能电饭煲" in text  # the top product
    assert "¥2,000.00" in text  # the signed value
    for label in labels:
        assert label in text
    assert "\ufffd" not in text


# --------------------------------------------------------------------------- the command line


def zh_message(msgid: str):
    """A domain message as the command line prints it (translated when shown, in the default language)."""
    from marketplace.i18n import _l

    return _l(msgid)


def test_cli_writes_the_reports(app, runner, tmp_path):
    with app.app_context():
        world = make_world()
    target = tmp_path / "s1.pdf"
    result = runner.invoke(args=["reports", "session", str(world["s1"]), "--format", "pdf", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert "小家电专场对接会" in pdf_text(target.read_bytes())
    target = tmp_path / "summary.xlsx"
    result = runner.invoke(args=["reports", "summary", "--from", "2026-03-01", "--to", "2026-03-31",
                                 "--province", "广东", "--organizer", str(world["org_a"]), "-o", str(target)])
    assert result.exit_code == 0, result.output
    book = load_workbook(target)
    assert [row[1] for row in book.worksheets[1].iter_rows(min_row=5, values_only=True)] == ["小家电专场对接会", None]


@pytest.mark.parametrize("args, message", [
    (["session", "999999"], zh_message("This session does not exist.")),
    (["summary", "--from", "2026-05-01", "--to", "2026-04-01"], zh_message("The end of the period is before its start.")),
    (["summary", "--from", "2027-01-01", "--to", "2027-12-31"], "no session in this period"),
    (["summary", "--from", "2026-01-01", "--to", "2026-12-31", "--province", "火星"], "unknown province"),
    (["summary", "--from", "2026-13-01", "--to", "2026-12-31"], "2026-13-01"),
])
def test_cli_refuses_bad_input_and_writes_nothing(app, runner, tmp_path, args, message):
    with app.app_context():
        make_world()
    target = tmp_path / "out.file"
    result = runner.invoke(args=["reports", *args, "-o", str(target)])
    assert result.exit_code != 0
    with app.app_context():  # the command line speaks the default language, Chinese
        assert str(message) in result.output
    assert not target.exists()


def test_downloads_are_files_not_pages(app, en_client):
    with app.app_context():
        world = make_world()
    login(en_client, world["emails"]["org_a"])
    response = en_client.get(f"/reports/sessions/{world['s1']}/report.pdf")
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    response = en_client.get("/reports/summary.xlsx?from=2026-01-01&to=2026-12-31")
    assert response.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    with app.test_request_context():
        summary = zh("Summary")
    assert load_workbook(io.BytesIO(response.data)).sheetnames[0] == summary  # Chinese whatever the page language
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(MatchmakingSession)) == 3
