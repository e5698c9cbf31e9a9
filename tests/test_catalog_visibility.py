"""Who sees which product: one rule (``catalog.services.can_view_product``) for every read path.

The table is actor × product state. Drafts, archived products and the published products of an
unverified company are the company's own (and platform admins'); organizers verify companies but
do not read unpublished catalogs. Every path answers a hidden product exactly like an unknown id.
"""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import CompanyKind, Role, User
from marketplace.catalog import services
from marketplace.catalog.models import Product, ProductStatus
from marketplace.extensions import db
from tests.conftest import login
from tests.factories import make_company, make_product, make_user

STATES = ("draft", "published", "archived", "unverified")
ACTORS = ("owner", "other_exporter", "buyer", "organizer", "admin", "anonymous")

#: (actor, state) → may see; everything not listed is hidden
VISIBLE = {
    **{(actor, "published"): True for actor in ACTORS},
    ("owner", "draft"): True, ("owner", "archived"): True, ("owner", "unverified"): True,
    ("admin", "draft"): True, ("admin", "archived"): True, ("admin", "unverified"): True,
}


@pytest.fixture
def world(app):
    """An exporter with a draft, a published and an archived product; an unverified exporter's published one."""
    with app.app_context():
        exporter = make_company(name_zh="美厨电器有限公司")
        owner = make_user(exporter, email="owner@example.com")
        draft = make_product(exporter, publish=False, actor=owner)
        published = make_product(exporter, actor=owner)
        archived = make_product(exporter, actor=owner)
        services.set_products_status(owner, exporter, [archived.id], ProductStatus.ARCHIVED)
        pending = make_company(verified=False, name_zh="待审电器有限公司")
        unverified = make_product(pending, actor=make_user(pending, email="pending@example.com"))
        # the unverified company's owner sees its own listing as "owner" does: its id stands in for the state
        make_user(make_company(), email="other_exporter@example.com")
        make_user(make_company(kind=CompanyKind.RETAILER), email="buyer@example.com")
        make_user(make_company(kind=CompanyKind.ORGANIZER), role=Role.ORGANIZER, email="organizer@example.com")
        make_user(make_company(kind=CompanyKind.ORGANIZER), role=Role.PLATFORM_ADMIN, email="admin@example.com")
        return SimpleNamespace(
            exporter=exporter.id, pending=pending.id,
            products={"draft": draft.id, "published": published.id, "archived": archived.id,
                      "unverified": unverified.id},
        )


def _email(actor: str, state: str) -> str | None:
    if actor == "anonymous":
        return None
    if actor == "owner" and state == "unverified":
        return "pending@example.com"
    return f"{actor}@example.com"


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("actor", ACTORS)
def test_product_page_visibility_table(app, client, world, actor, state):
    email = _email(actor, state)
    if email:
        login(client, email)
    response = client.get(f"/products/{world.products[state]}")
    expected = 200 if VISIBLE.get((actor, state), False) else 404
    assert response.status_code == expected
    with app.app_context():
        viewer = db.session.scalar(sa.select(User).filter_by(email=email)) if email else None
        product = db.session.get(Product, world.products[state])
        assert services.can_view_product(viewer, product) is (expected == 200)


def test_hidden_product_answers_like_an_unknown_id(app, client, world):
    login(client, "organizer@example.com")
    hidden = client.get(f"/products/{world.products['draft']}")
    unknown = client.get("/products/999999")
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.get_data(as_text=True).count("This product does not exist") == \
        unknown.get_data(as_text=True).count("This product does not exist")


@pytest.mark.parametrize("actor, status", [
    ("anonymous", 404), ("buyer", 404), ("organizer", 404), ("other_exporter", 404), ("owner", 200), ("admin", 200),
])
def test_unverified_storefront_only_for_its_company_and_admins(app, client, world, actor, status):
    email = "pending@example.com" if actor == "owner" else _email(actor, "published")
    if email:
        login(client, email)
    assert client.get(f"/companies/{world.pending}/products").status_code == status


def test_storefront_lists_only_published_products_even_to_the_owner(app, client, world):
    login(client, "owner@example.com")
    html = client.get(f"/companies/{world.exporter}/products").get_data(as_text=True)
    assert f'data-product-id="{world.products["published"]}"' in html
    assert f'data-product-id="{world.products["draft"]}"' not in html
    assert f'data-product-id="{world.products["archived"]}"' not in html


@pytest.mark.parametrize("actor", ["organizer", "buyer"])
def test_profile_links_the_storefront_only_when_it_may_be_opened(app, client, world, actor):
    login(client, f"{actor}@example.com")
    unverified = client.get(f"/companies/{world.pending}").get_data(as_text=True)
    verified = client.get(f"/companies/{world.exporter}").get_data(as_text=True)
    assert 'data-testid="storefront-link"' not in unverified
    assert 'data-testid="storefront-link"' in verified


def test_deals_start_form_answers_404_for_a_draft_like_an_unknown_id(app, client, world):
    """Security 8: a draft id on /deals/new was a 400 (telling it exists); now a 404 like an unknown id."""
    login(client, "buyer@example.com")
    for state in ("draft", "archived", "unverified"):
        assert client.get(f"/deals/new?product={world.products[state]}").status_code == 404, state
    assert client.get("/deals/new?product=999999").status_code == 404
    assert client.get(f"/deals/new?product={world.products['published']}").status_code == 200


def test_get_storefront_service_refuses_organizer_on_unverified_company(app, world):
    from marketplace.errors import NotFound

    with app.app_context():
        organizer = db.session.scalar(sa.select(User).filter_by(email="organizer@example.com"))
        with pytest.raises(NotFound):
            services.get_storefront(organizer, world.pending)
