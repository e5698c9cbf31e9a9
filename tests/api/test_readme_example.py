"""The README's Python client example, run as written against the app (``requests`` routed to the WSGI app)."""
from __future__ import annotations

import re
import sys
import types
from pathlib import Path

from marketplace.accounts.models import CompanyKind, User
from marketplace.extensions import db
from tests.factories import make_product

README = Path(__file__).resolve().parents[2] / "README.md"


def _example() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Open API"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


class _Answer:
    def __init__(self, response):
        self.status_code = response.status_code
        self._body = response.get_json()

    def json(self):
        return self._body

    def raise_for_status(self):
        assert self.status_code < 400, (self.status_code, self._body)


def _requests_for(client, base: str) -> types.ModuleType:
    """A stand-in for the ``requests`` module sending each call to the test client."""
    module = types.ModuleType("requests")

    def call(method, url, json=None, headers=None, timeout=None):
        assert url.startswith(base) and timeout
        return _Answer(client.open(url[len(base) - len("/api/v1"):], method=method, json=json, headers=headers))

    module.get = lambda url, **kwargs: call("GET", url, **kwargs)
    module.post = lambda url, **kwargs: call("POST", url, **kwargs)
    return module


def test_readme_client_example_posts_matches_quotes_and_awards(app, api_as, capsys, monkeypatch):
    buyer = api_as(CompanyKind.CHAIN_LEADER, province_code="330000", city_code="330200")
    exporter = api_as(CompanyKind.EXPORTER, province_code="330000", city_code="330200")
    with app.app_context():
        user = db.session.get(User, exporter.user_id)
        make_product(company=user.company, actor=user, title_zh="304不锈钢保温杯 500ml 食品级", category="kitchenware",
                     unit="个", moq=1000)
    code = _example()
    code = code.replace('BUYER = {"Authorization": "Bearer rt_…"}', f'BUYER = {{"Authorization": "Bearer {buyer.token}"}}')
    code = code.replace('EXPORTER = {"Authorization": "Bearer rt_…"}',
                        f'EXPORTER = {{"Authorization": "Bearer {exporter.token}"}}')
    assert buyer.token in code and exporter.token in code, "the README's token lines changed"
    monkeypatch.setitem(sys.modules, "requests", _requests_for(app.test_client(), "http://127.0.0.1:5000/api/v1"))

    exec(compile(code, "README.md", "exec"), {"__name__": "readme_example"})  # noqa: S102

    printed = capsys.readouterr().out.splitlines()
    assert printed[-1].startswith("order intent ") and printed[-1].endswith(" submitted")
    assert any("304不锈钢保温杯" in line or str(exporter.company_id) in line or "测试企业" in line
               for line in printed[:-1]), printed
