"""The dashboard's filter form (a GET form: no CSRF token; unknown values are ignored)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField
from wtforms.validators import Optional

from marketplace import regions
from marketplace.i18n import _, _l
from marketplace.inputs import bounded_date
from marketplace.reports.figures import DEFAULT_GROUP, GROUPS, ReportFilter


class ReportFilterForm(FlaskForm):
    """Period (the sessions' start days), province, industry chain, and how to group."""

    class Meta:
        csrf = False

    date_from = DateField(_l("Sessions from"), validators=[Optional()], name="from")
    date_to = DateField(_l("Sessions until"), validators=[Optional()], name="to")
    province = SelectField(_l("Province"), validators=[Optional()])
    industry = SelectField(_l("Industry chain"), validators=[Optional()])
    by = SelectField(_l("Group by"), validators=[Optional()], default=DEFAULT_GROUP)

    def __init__(self, *args, industries=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.province.choices = [("", _("All provinces"))] + [(p.code, p.name) for p in regions.provinces()]
        self.industry.choices = [("", _("All chains"))] + [(name, name) for name in industries]
        self.by.choices = [(key, str(label)) for key, label in GROUPS.items()]

    def to_filter(self) -> ReportFilter:
        """The filter as ``figures`` takes it (a bad date is an error on its field and is not applied)."""
        self.validate()
        provinces = {code for code, _name in self.province.choices if code}
        industries = {name for name, _label in self.industry.choices if name}
        return ReportFilter(
            date_from=bounded_date(self.date_from.data) if not self.date_from.errors else None,
            date_to=bounded_date(self.date_to.data) if not self.date_to.errors else None,
            province=self.province.data if self.province.data in provinces else None,
            industry=self.industry.data if self.industry.data in industries else None,
            group_by=self.by.data if self.by.data in GROUPS else DEFAULT_GROUP,
        )
