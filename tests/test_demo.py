"""``flask demo load``: counts by kind, determinism, working logins, refusal and --if-empty."""
import sqlalchemy as sa
from stdnum.cn import uscc

from marketplace import regions
from marketplace.accounts.models import (
    Company,
    CompanyKind,
    CompanyTag,
    CompanyTagKind,
    TariffExposure,
    User,
    Verification,
)
from marketplace.demo import DEMO_LOGIN_ROLES, DEMO_PASSWORD
from marketplace.extensions import db
from tests.conftest import fresh_app, login

LOAD = ["demo", "load", "--companies", "12"]


def _snapshot() -> dict:
    """Everything a load decides, in creation order, without ids or timestamps."""
    companies = db.session.scalars(sa.select(Company).order_by(Company.id)).all()
    snapshot = {
        "companies": [
            (c.name_zh, c.name_en, c.uscc, c.kind, c.city_code, c.industry, c.address, c.verification,
             c.stranded_stock_fen, c.idle_monthly_capacity, c.description)
            for c in companies
        ],
        "users": [(u.email, u.name, u.role) for u in db.session.scalars(sa.select(User).order_by(User.id))],
        "exposures": [
            (e.company.uscc, e.market, e.old_rate, e.new_rate, e.effective_on, e.revenue_share)
            for e in db.session.scalars(sa.select(TariffExposure).order_by(TariffExposure.id))
        ],
        "tags": [
            (t.company.uscc, t.tag, t.source_document, t.granted_on)
            for t in db.session.scalars(sa.select(CompanyTag).order_by(CompanyTag.id))
        ],
    }
    db.session.remove()  # end the read transaction: PostgreSQL's DROP TABLE would wait for it
    return snapshot


def _kinds() -> dict[CompanyKind, int]:
    rows = db.session.execute(sa.select(Company.kind, sa.func.count()).group_by(Company.kind)).all()
    return dict(rows)


def test_demo_load_creates_companies_of_each_kind(app, runner):
    result = runner.invoke(args=LOAD)
    assert result.exit_code == 0, result.output
    assert "products: 200 (" in result.output
    with app.app_context():
        assert _kinds() == {
            CompanyKind.ORGANIZER: 1,
            CompanyKind.EXPORTER: 6,
            CompanyKind.CHAIN_LEADER: 1,
            CompanyKind.LEADING_ENTERPRISE: 1,
            CompanyKind.RETAILER: 2,
            CompanyKind.TRADE_CIRCULATION: 1,
        }
        companies = db.session.scalars(sa.select(Company)).all()
        for company in companies:
            assert uscc.is_valid(company.uscc)
            assert regions.city_in_province(company.city_code, company.province_code)
            assert any(user.is_company_admin for user in company.users), company
        verdicts = [c.verification for c in companies]
        assert verdicts.count(Verification.REJECTED) == 1
        assert verdicts.count(Verification.PENDING) >= 1
        for company in companies:
            if company.kind is CompanyKind.EXPORTER:
                assert company.exposures and company.stranded_stock_fen > 0 and company.idle_monthly_capacity
                assert sum(e.revenue_share for e in company.exposures) <= 100
            if company.kind is CompanyKind.CHAIN_LEADER:
                assert CompanyTagKind.CHAIN_LEADER in company.tag_kinds
        organizer = db.session.scalar(sa.select(User).where(User.email == "organizer@demo.rongtong.cn"))
        assert organizer.is_organizer and organizer.company.kind is CompanyKind.ORGANIZER
        # tags are recorded by the organizer, with their source document
        assert all(t.set_by_id == organizer.id and t.source_document for c in companies for t in c.tags)


def test_demo_load_is_deterministic_for_a_seed(app, app_config, db_backend, runner, tmp_path):
    assert runner.invoke(args=LOAD).exit_code == 0
    with app.app_context():
        first = _snapshot()
        db.session.remove()
    second_app = fresh_app(app_config, db_backend, tmp_path, "second")
    try:
        assert second_app.test_cli_runner().invoke(args=LOAD).exit_code == 0
        with second_app.app_context():
            assert _snapshot() == first
            db.session.remove()
    finally:
        with second_app.app_context():
            db.engine.dispose()
    third_app = fresh_app(app_config, db_backend, tmp_path, "third")
    try:
        result = third_app.test_cli_runner().invoke(args=[*LOAD, "--seed", "7"])
        assert result.exit_code == 0, result.output
        with third_app.app_context():
            other = _snapshot()
            db.session.remove()
    finally:
        with third_app.app_context():
            db.engine.dispose()
    assert len(first["companies"]) == 12
    assert {c[2] for c in other["companies"]} != {c[2] for c in first["companies"]}


def test_demo_load_logins_can_log_in(app, runner):
    result = runner.invoke(args=LOAD)
    for _role, email in DEMO_LOGIN_ROLES:
        assert email in result.output
    for _role, email in DEMO_LOGIN_ROLES:
        client = app.test_client()
        response = login(client, email, DEMO_PASSWORD)
        assert response.status_code == 200, email
        with client.session_transaction() as session:
            assert session.get("_user_id"), f"{email} could not log in"


def test_demo_load_refuses_a_second_load(app, runner):
    assert runner.invoke(args=LOAD).exit_code == 0
    result = runner.invoke(args=LOAD)
    assert result.exit_code == 1
    assert "already has companies" in result.stderr
    with app.app_context():
        assert sum(_kinds().values()) == 12


def test_demo_load_if_empty_skips_and_prints_the_logins(app, runner):
    assert runner.invoke(args=[*LOAD, "--if-empty"]).exit_code == 0
    result = runner.invoke(args=[*LOAD, "--if-empty"])
    assert result.exit_code == 0
    assert "demo data already present" in result.output
    assert "buyer@demo.rongtong.cn" in result.output and DEMO_PASSWORD in result.output
    with app.app_context():
        assert sum(_kinds().values()) == 12


def test_demo_load_without_tables_asks_for_upgrade(app, runner):
    with app.app_context():
        db.session.remove()
        db.drop_all()
    result = runner.invoke(args=LOAD)
    assert result.exit_code == 1
    assert "db upgrade" in result.stderr


def test_demo_load_rejects_too_few_companies(runner):
    result = runner.invoke(args=["demo", "load", "--companies", "3"])
    assert result.exit_code == 2
    assert "--companies" in result.output


def test_demo_load_is_refused_in_production(app, runner):
    app.config["PRODUCTION"] = True  # demo data makes a platform administrator with a published password
    result = runner.invoke(args=LOAD)
    assert result.exit_code == 1
    assert "production" in result.stderr
    with app.app_context():
        assert _kinds() == {}
