"""``flask companies list``: the table, --kind, --json."""
from __future__ import annotations

import json
from datetime import date

import pytest

from marketplace.accounts.models import CompanyKind, CompanyTag, CompanyTagKind
from marketplace.extensions import db
from tests.factories import make_company


@pytest.fixture
def companies(app):
    """An exporter (verified, tagged), a pending chain leader."""
    with app.app_context():
        exporter = make_company(name_zh="宁波出口电器有限公司", name_en="Ningbo Export Appliances")
        db.session.add(CompanyTag(company_id=exporter.id, tag=CompanyTagKind.SPECIALIZED, source_document="文件",
                                  granted_on=date(2024, 1, 1)))
        db.session.commit()
        leader = make_company(name_zh="浙江链主集团", name_en=None, kind=CompanyKind.CHAIN_LEADER, verified=False,
                              province_code="330000", city_code="330100")
        return [
            {"id": exporter.id, "uscc": exporter.uscc, "name_zh": "宁波出口电器有限公司",
             "name_en": "Ningbo Export Appliances", "kind": "exporter", "province_code": "440000",
             "city_code": "440300", "verification": "verified", "tags": ["specialized"]},
            {"id": leader.id, "uscc": leader.uscc, "name_zh": "浙江链主集团", "name_en": None,
             "kind": "chain_leader", "province_code": "330000", "city_code": "330100",
             "verification": "pending", "tags": []},
        ]


def test_companies_list_prints_a_table(runner, companies):
    result = runner.invoke(args=["companies", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["id", "uscc", "kind", "verification", "name_zh"]
    assert lines[2].split() == [str(companies[0]["id"]), companies[0]["uscc"], "exporter", "verified",
                                "宁波出口电器有限公司"]
    assert lines[3].split() == [str(companies[1]["id"]), companies[1]["uscc"], "chain_leader", "pending",
                                "浙江链主集团"]


def test_companies_list_filters_by_kind(runner, companies):
    result = runner.invoke(args=["companies", "list", "--kind", "chain_leader"])
    assert result.exit_code == 0
    assert "浙江链主集团" in result.output and "宁波出口电器有限公司" not in result.output


def test_companies_list_json_is_stable(runner, companies):
    result = runner.invoke(args=["companies", "list", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.output) == companies
    assert list(json.loads(result.output)[0]) == [
        "id", "uscc", "name_zh", "name_en", "kind", "province_code", "city_code", "verification", "tags",
    ]
    only_exporters = runner.invoke(args=["companies", "list", "--kind", "exporter", "--json"])
    assert json.loads(only_exporters.output) == companies[:1]


def test_companies_list_json_empty(runner, app):
    result = runner.invoke(args=["companies", "list", "--json"])
    assert result.exit_code == 0 and json.loads(result.output) == []


def test_companies_list_invalid_kind_exits_non_zero(runner, companies):
    result = runner.invoke(args=["companies", "list", "--kind", "pirate"])
    assert result.exit_code != 0
    assert "Invalid value for '--kind'" in result.output
