"""Dashboard and report pages: across sessions, one session, the rows behind each figure, the downloads.

Every page asks ``figures.scope_of`` first: anonymous visitors go to the login page, companies that are not
organizers get 403, and a session (or intent) outside the organizer's own sessions is a 404.
"""
from __future__ import annotations

from flask import make_response, render_template, request, url_for
from flask_login import current_user, login_required

from marketplace.errors import NotFound, ValidationFailed
from marketplace.i18n import _l
from marketplace.inputs import page_number
from marketplace.reports import bp, charts, figures, pdf, rows, xlsx
from marketplace.reports.forms import ReportFilterForm
from marketplace.spreadsheets import download


@bp.app_template_filter("report_share")
def _share(value) -> str:
    return figures.share(value)


def _linker(endpoint: str, **fixed):
    """``link(kind, **narrowing)``: the URL of the rows behind a figure (templates give every number one)."""
    def link(kind: str, **narrowing) -> str:
        return url_for(endpoint, kind=kind, **fixed, **narrowing)

    return link


def _filter_form(scope):
    form = ReportFilterForm(request.args, industries=figures.industries(scope))
    filt = form.to_filter()
    try:
        filt.check()
    except ValidationFailed as error:
        form.date_to.errors = [*form.date_to.errors, str(error.message)]
        filt = figures.ReportFilter(date_from=filt.date_from, province=filt.province, industry=filt.industry,
                                    group_by=filt.group_by)
    return form, filt


@bp.get("/")
@login_required
def dashboard():
    """对接成效: the figures of the organizer's sessions, filtered and grouped."""
    scope = figures.scope_of(current_user)
    form, filt = _filter_form(scope)
    board = figures.dashboard(scope, filt)
    return render_template("reports/dashboard.html", form=form, board=board, filt=filt,
                           chart_data=charts.dashboard_chart(board), GROUPS=figures.GROUPS,
                           linker=lambda **fixed: _linker("reports.group_rows", **filt.args(), **fixed))


@bp.get("/sessions/<int:session_id>")
@login_required
def session(session_id: int):
    """One session's figures (404 for another organizer's session)."""
    report = figures.session_report(figures.scope_of(current_user), session_id)
    return render_template("reports/session.html", report=report, f=report.figures,
                           chart_data=charts.session_chart(report),
                           link=_linker("reports.session_rows", session_id=report.session.id))


def _rows_page(kind: str, session_ids: list[int], heading: str, back_url: str, session_info=None, filt=None):
    spec = rows.KINDS.get(kind)
    if spec is None:
        raise NotFound(_l("There is no such list."))
    rf = rows.RowFilter.from_args(request.args)
    found = rows.page(kind, session_ids, rf, page_number(request.args.get("page", 1)))
    return render_template("reports/rows.html", spec=spec, page=found, rf=rf, heading=heading, back_url=back_url,
                           session_info=session_info, filt=filt)


@bp.get("/sessions/<int:session_id>/<kind>")
@login_required
def session_rows(session_id: int, kind: str):
    """The rows behind one of a session's figures, e.g. ``/reports/sessions/7/intents?state=signed``."""
    info = figures.get_session(figures.scope_of(current_user), session_id)
    return _rows_page(kind, [info.id], info.title, url_for("reports.session", session_id=info.id), session_info=info)


@bp.get("/rows/<kind>")
@login_required
def group_rows(kind: str):
    """The rows behind a figure of the dashboard: its filter, and a group (``?key=``) when given."""
    scope = figures.scope_of(current_user)
    _form, filt = _filter_form(scope)
    key = request.args.get("key")
    sessions = figures.select_sessions(scope, filt, group_key=key)
    heading = figures.group_label(filt.group_by, key, sessions) if key is not None else scope.title
    return _rows_page(kind, [s.id for s in sessions], heading, url_for("reports.dashboard", **filt.args()), filt=filt)


@bp.get("/intents/<int:intent_id>")
@login_required
def intent(intent_id: int):
    """One intent made at one of the organizer's sessions (read-only; 404 outside them)."""
    view = rows.get_intent(figures.scope_of(current_user), intent_id)
    return render_template("reports/intent.html", view=view)


@bp.get("/summary.xlsx")
@login_required
def summary_xlsx():
    """The across-sessions report (上报) as XLSX, for the dashboard's filter."""
    scope = figures.scope_of(current_user)
    _form, filt = _filter_form(scope)
    board = figures.dashboard(scope, filt)
    return download(xlsx.summary_xlsx(board), "xlsx", xlsx.summary_filename(board))


@bp.get("/sessions/<int:session_id>/report.<any(xlsx, pdf):fmt>")
@login_required
def session_file(session_id: int, fmt: str):
    """One session's report as XLSX or PDF (a download, never shown in the page)."""
    report = figures.session_report(figures.scope_of(current_user), session_id)
    if fmt == "xlsx":
        return download(xlsx.session_xlsx(report), "xlsx", xlsx.session_filename(report))
    response = make_response(pdf.session_pdf(report))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{pdf.session_filename(report)}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
