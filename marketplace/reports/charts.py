"""The charts' data: Chart.js configurations for the pages (``static/js/reports.js`` draws them) and the bars
the PDF draws with fpdf2 shapes. Values come from ``figures``; nothing is counted here.

Amounts on a chart axis are in 万元 (fen / 1,000,000), rounded to two places: a picture, not a ledger (the
tables beside each chart show the exact amounts).
"""
from __future__ import annotations

from marketplace.i18n import _
from marketplace.reports.figures import Dashboard, Figures, SessionReport

BRAND, GREEN, GREY, AMBER = "#b3261e", "#198754", "#adb5bd", "#e0a100"


def wan(fen: int) -> float:
    """Fen in 万元 (for an axis), two places."""
    return round(fen / 1_000_000, 2)


def _bar(labels, datasets, horizontal: bool = False, money_axis: bool = False) -> dict:
    return {"type": "bar", "data": {"labels": labels, "datasets": datasets},
            "horizontal": horizontal, "moneyAxis": money_axis,
            "moneyLabel": _("Amount (10,000 yuan)"), "countLabel": _("Count")}


def funnel_chart(figures: Figures) -> dict:
    """Match → quote → intent → signed as horizontal bars."""
    steps = figures.funnel()
    return _bar([str(step.label) for step in steps],
                [{"label": _("Count"), "data": [step.count for step in steps],
                  "backgroundColor": [GREY, BRAND, AMBER, GREEN]}], horizontal=True)


def dashboard_chart(board: Dashboard) -> dict:
    """Intents and their value per group (bars on two axes), and the funnel of all the sessions."""
    groups = board.groups
    by_group = _bar(
        [group.label for group in groups],
        [{"label": _("Order intents"), "data": [g.figures.intents for g in groups], "backgroundColor": BRAND,
          "yAxisID": "y"},
         {"label": _("Intent value (10,000 yuan)"), "data": [wan(g.figures.intent_value) for g in groups],
          "backgroundColor": AMBER, "yAxisID": "money"},
         {"label": _("Signed value (10,000 yuan)"), "data": [wan(g.figures.signed_value) for g in groups],
          "backgroundColor": GREEN, "yAxisID": "money"}],
        money_axis=True)
    return {"groups": by_group, "funnel": funnel_chart(board.total)}


def session_chart(report: SessionReport) -> dict:
    """Intents by state (count and value), and the session's funnel."""
    rows = report.figures.state_rows()
    by_state = _bar(
        [str(state.label) for state, _count, _value in rows],
        [{"label": _("Order intents"), "data": [count for _state, count, _value in rows], "backgroundColor": BRAND,
          "yAxisID": "y"},
         {"label": _("Amount (10,000 yuan)"), "data": [wan(value) for _state, _count, value in rows],
          "backgroundColor": AMBER, "yAxisID": "money"}],
        money_axis=True)
    return {"states": by_state, "funnel": funnel_chart(report.figures)}
