"""Helpers of the search sync tests: search shortcuts, product inputs, and the subprocess entry point.

Owns: ``found``/``results`` (what a caller of the index sees), ``unique_word`` (a token the
analyzer keeps whole), ``product_input`` (a product's current values as a ``ProductInput``,
for ``update_product``), ``pending_product_ids``, and the code the multi-process tests run in
their child processes::

    python -m tests.search._workers drain BATCH [KIND]  # sync.drain(batch=BATCH, kind=KIND), then print it
    python -m tests.search._workers save SPEC_JSON    # create/update/archive/delete products via services

The child's app settings come as JSON in ``RT_TEST_APP_CONFIG`` (the test app's own settings,
so the child uses the same database, PostgreSQL schema and index directory).
"""
from __future__ import annotations

import itertools
import json
import os
import sys
import time
from dataclasses import asdict

import sqlalchemy as sa

from search_index import Filters, SearchQuery, SearchResults

CONFIG_ENV = "RT_TEST_APP_CONFIG"
_LETTERS = "bcdfghjkmnpqrstvwxz"  # no vowels: the English stemmer leaves such words alone
_words = itertools.count(1)


def unique_word() -> str:
    """A Latin token no other product of the test run contains (indexed and searched as one term)."""
    n = next(_words)
    letters = []
    while n:
        n, digit = divmod(n, len(_LETTERS))
        letters.append(_LETTERS[digit])
    return "zq" + "".join(letters)


def results(text: str = "", *, sort: str = "relevance", page: int = 1, per_page: int = 100, facets: bool = False,
            **filters) -> SearchResults:
    """A search on this app's index, as the search page asks it."""
    from marketplace.search import sync

    return sync.get_index().search(SearchQuery(text=text, filters=Filters(**filters), sort=sort, page=page,
                                               per_page=per_page, facets=facets))


def found(text: str = "", **filters) -> set[int]:
    """Ids of every product the search finds (all pages)."""
    ids: set[int] = set()
    page = 1
    while True:
        answer = results(text, page=page, **filters)
        ids.update(hit.id for hit in answer.hits)
        if page >= answer.pages:
            return ids
        page += 1


def product_input(product, **changes):
    """The product's current values as a ``ProductInput`` with ``changes`` applied."""
    from marketplace.catalog.rows import PRODUCT_FIELDS, CertificationInput, PriceTierInput, ProductInput

    values = {name: getattr(product, name) for name in PRODUCT_FIELDS if name not in ("price_tiers", "certifications")}
    values["specs"] = [list(pair) for pair in (product.specs or [])]
    values["price_tiers"] = [PriceTierInput(t.min_quantity, t.unit_price_fen)
                             for t in sorted(product.price_tiers, key=lambda t: t.min_quantity)]
    values["certifications"] = [CertificationInput(c.kind, c.number, c.expires_on) for c in product.certifications]
    values.update(changes)
    return ProductInput(**values)


def pending_product_ids(cursor: int) -> set[int]:
    """Products named by change rows past ``cursor`` (company rows count for all their products)."""
    from sqlalchemy.orm import Session

    from marketplace.catalog.models import Product
    from marketplace.database import reading_only
    from marketplace.extensions import db
    from marketplace.search.models import KIND_COMPANY, KIND_PRODUCT, IndexChange

    with reading_only(), Session(db.engine) as session:
        rows = session.execute(sa.select(IndexChange.kind, IndexChange.object_id).where(IndexChange.id > cursor)).all()
        ids = {object_id for kind, object_id in rows if kind == KIND_PRODUCT}
        companies = {object_id for kind, object_id in rows if kind == KIND_COMPANY}
        if companies:
            ids.update(session.scalars(sa.select(Product.id).where(Product.company_id.in_(companies))))
    return ids


def describe(product_ids) -> dict[int, dict]:
    """For a failure message: each product's title and price in the database and in the index."""
    from marketplace.catalog.models import Product
    from marketplace.extensions import db
    from marketplace.search import sync
    from search_index import schemas

    index = sync.get_index()
    with index._lock:
        gen = index._current()
        in_index = {int(fields_[schemas.ID]): (fields_.get(schemas.TITLE), int(gen.columns[schemas.PRICE][docnum]))
                    for docnum, fields_ in gen.searcher.reader().iter_docs()}
    out = {}
    for product_id in list(product_ids)[:10]:
        product = db.session.get(Product, product_id)
        out[product_id] = {
            "database": None if product is None else (product.status.value, product.title_en, product.base_price_fen),
            "index": in_index.get(product_id),
        }
    db.session.remove()
    return out


def child_env(config: dict, **extra) -> dict[str, str]:
    """The environment of a child process running on the test app's settings."""
    env = dict(os.environ)
    env[CONFIG_ENV] = json.dumps({**config, **extra})
    env["PYTHONUNBUFFERED"] = "1"
    return env


# ----------------------------------------------------------------------------- child process actions


def _drain(batch: int, kind: str | None = None) -> None:
    from marketplace.search import sync

    result = sync.drain(batch=batch, timeout=30.0, kind=kind)
    print(json.dumps(asdict(result)))


def _save(spec: dict) -> None:
    """Create ``count`` products for the company, then edit, archive, republish and delete some of them."""
    from marketplace.accounts.models import Company, User
    from marketplace.catalog import services
    from marketplace.catalog.models import Product, ProductStatus
    from marketplace.catalog.rows import PriceTierInput
    from marketplace.extensions import db
    from tests.factories import make_product

    if spec.get("ready_file"):
        with open(spec["ready_file"], "w") as ready:
            ready.write(str(os.getpid()))
    go = spec.get("go_file")
    while go and not os.path.exists(go):  # start together with the other writers
        time.sleep(0.01)
    company = db.session.get(Company, spec["company_id"])
    user = db.session.get(User, spec["user_id"])
    word = spec["word"]
    ids: list[int] = []
    deleted: set[int] = set()
    for i in range(spec["count"]):
        product = make_product(company, actor=user, sku=f"{word}-{i}", title_en=f"{word} kettle {i}")
        ids.append(product.id)
        if i % 3 == 1 and ids[i - 1] not in deleted:  # edit the previous one: new title words and prices
            previous = db.session.get(Product, ids[i - 1])
            services.update_product(user, previous, product_input(
                previous, title_en=f"{word} teapot {i}",
                price_tiers=[PriceTierInput(previous.moq, 5000 + i), PriceTierInput(previous.moq * 10, 4000 + i)]))
        if i % 5 == 4 and ids[i - 2] not in deleted:
            services.set_products_status(user, company, [ids[i - 2]], ProductStatus.ARCHIVED)
        if i % 10 == 9 and ids[i - 7] not in deleted:  # archived at step i - 5
            services.set_products_status(user, company, [ids[i - 7]], ProductStatus.PUBLISHED)
        if i % 8 == 7 and ids[i - 3] not in deleted:
            db.session.delete(db.session.get(Product, ids[i - 3]))
            db.session.commit()
            deleted.add(ids[i - 3])
        db.session.remove()
        company = db.session.get(Company, spec["company_id"])
        user = db.session.get(User, spec["user_id"])
    print(json.dumps({"created": ids, "deleted": sorted(deleted)}))


def main(argv: list[str]) -> int:
    """Run one action in a child process on the settings in ``RT_TEST_APP_CONFIG``."""
    from marketplace import create_app

    app = create_app(json.loads(os.environ[CONFIG_ENV]))
    with app.app_context():
        if argv[1] == "drain":
            _drain(int(argv[2]), argv[3] if len(argv) > 3 else None)
        elif argv[1] == "save":
            _save(json.loads(argv[2]))
        else:
            raise SystemExit(f"unknown action {argv[1]!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
