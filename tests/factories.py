"""Test data factories: companies and users created straight in the database."""
from __future__ import annotations

import itertools

from werkzeug.security import generate_password_hash

from marketplace.accounts.models import Company, CompanyKind, Role, User, Verification
from marketplace.accounts.uscc_gen import make_uscc
from marketplace.database import utcnow
from marketplace.extensions import db

PASSWORD = "correct horse battery"
_serial = itertools.count(1000)
# one hash for every factory user, scrypt at a 32nd of the production work factor: checking it at every
# log-in of the suite took 136 ms (production's scrypt:32768:8:1), this takes 3 ms; the application's own
# hashing (registration, password change and reset) keeps its cost and is tested with it (test_auth)
FACTORY_HASH_METHOD = "scrypt:1024:8:1"
_PASSWORD_HASH = None


def _password_hash() -> str:
    global _PASSWORD_HASH
    if _PASSWORD_HASH is None:
        _PASSWORD_HASH = generate_password_hash(PASSWORD, method=FACTORY_HASH_METHOD)
    return _PASSWORD_HASH


def make_company(
    kind: CompanyKind = CompanyKind.EXPORTER,
    verified: bool = True,
    name_zh: str | None = None,
    province_code: str = "440000",
    city_code: str = "440300",
    **fields,
) -> Company:
    """A company with a valid, unique USCC (verified unless asked otherwise)."""
    serial = next(_serial)
    company = Company(
        name_zh=name_zh or f"测试企业{serial}有限公司",
        name_en=fields.pop("name_en", f"Test Company {serial} Ltd."),
        uscc=fields.pop("uscc", make_uscc(serial, province_code[:2] + "0000")),
        kind=kind,
        province_code=province_code,
        city_code=city_code,
        industry=fields.pop("industry", "小家电"),
        verification=Verification.VERIFIED if verified else Verification.PENDING,
        verified_at=utcnow() if verified else None,
        **fields,
    )
    db.session.add(company)
    db.session.commit()
    return company


def make_user(
    company: Company | None = None,
    role: Role = Role.COMPANY_ADMIN,
    email: str | None = None,
    name: str = "张三",
    **fields,
) -> User:
    """A user (company admin by default) whose password is ``PASSWORD``."""
    if company is None:
        kind = CompanyKind.ORGANIZER if role is Role.ORGANIZER else CompanyKind.EXPORTER
        company = make_company(kind=kind)
    user = User(
        company=company,
        email=(email or f"user{next(_serial)}@example.com").lower(),
        name=name,
        password_hash=_password_hash(),
        role=role,
        **fields,
    )
    db.session.add(user)
    db.session.commit()
    return user


def make_product(company: Company | None = None, publish: bool = True, actor: User | None = None, **fields):
    """A product made through ``services.create_product`` (published unless asked otherwise).

    ``fields`` override the ``ProductInput`` defaults: a rice cooker with two price breaks.
    """
    from marketplace.catalog import services
    from marketplace.catalog.rows import PriceTierInput, ProductInput

    if company is None:
        company = make_company()
    if actor is None:
        actor = next((u for u in company.users), None) or make_user(company=company)
    serial = next(_serial)
    moq = fields.pop("moq", 100)
    values = {
        "sku": f"SKU-{serial}",
        "title_zh": f"智能电饭煲{serial}",
        "category": "small_appliances",
        "unit": "台",
        "moq": moq,
        "price_tiers": [PriceTierInput(moq, 8900), PriceTierInput(moq * 10, 8250)],
    }
    values.update(fields)
    return services.create_product(actor, company, ProductInput(**values), publish=publish)
