"""``flask match request ID | product ID | explain REQUEST_ID PRODUCT_ID | recompute [--all]``.

``request`` and ``product`` read the materialized matches (what the pages show); ``explain`` scores
one pair now with the canonical function ("why not" included). ``--json`` is stable:
``{"total", "results": [{"product_id" or "request_id", "exporter", "score", "parts", "missing"}]}``.
Unknown ids exit 1 with a message on stderr.
"""
from __future__ import annotations

import json

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from marketplace.extensions import db


@click.group()
def match():
    """Matching: a request's suppliers, a product's requests, one pair explained, recompute."""


def _fail(message: str):
    click.echo(message, err=True)
    raise SystemExit(1)


def _echo_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _lines(match_score, parts, gaps) -> list[str]:
    from marketplace.matching.explain import gap_text, part_lines

    return [f"    + {line}" for line in part_lines(parts)] + [f"    - {gap_text(gap)}" for gap in gaps]


@match.command("request")
@click.argument("request_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print a stable JSON object.")
@click.option("--limit", default=20, show_default=True, help="Products to show.")
@with_appcontext
def request_command(request_id: int, as_json: bool, limit: int):
    """The ranked products for a request, with explanations."""
    from marketplace.matching import explain
    from marketplace.matching.models import Match
    from marketplace.sourcing.models import ProcurementRequest

    request = db.session.get(ProcurementRequest, request_id)
    if request is None:
        _fail(f"no request {request_id}")
    rows = db.session.scalars(sa.select(Match).where(Match.request_id == request_id)
                              .order_by(Match.score_x10.desc(), Match.product_id).limit(max(limit, 0))).all()
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Match).where(Match.request_id == request_id))
    if as_json:
        _echo_json({"total": total, "results": [
            explain.as_json(m.score, m.parts, m.gaps, product_id=m.product_id, exporter=m.product.company.name_zh,
                            exporter_id=m.exporter_id, title=m.product.title_zh) for m in rows]})
        return
    click.echo(f"{request.title}: {total} matching products")
    for m in rows:
        click.echo(f"{m.score:5.1f}  #{m.product_id} {m.product.title_zh} — {m.product.company.name_zh}")
        for line in _lines(m.score, m.parts, m.gaps):
            click.echo(line)


@match.command("product")
@click.argument("product_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print a stable JSON object.")
@click.option("--limit", default=20, show_default=True, help="Requests to show.")
@with_appcontext
def product_command(product_id: int, as_json: bool, limit: int):
    """The open requests a product fits."""
    from marketplace.catalog.models import Product
    from marketplace.i18n import today_in_china
    from marketplace.matching import explain
    from marketplace.matching.models import Match
    from marketplace.sourcing.models import ProcurementRequest

    product = db.session.get(Product, product_id)
    if product is None:
        _fail(f"no product {product_id}")
    query = (sa.select(Match).join(ProcurementRequest, ProcurementRequest.id == Match.request_id)
             .where(Match.product_id == product_id, ProcurementRequest.deadline >= today_in_china()))
    rows = db.session.scalars(query.order_by(Match.score_x10.desc(), Match.request_id).limit(max(limit, 0))).all()
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    if as_json:
        _echo_json({"total": total, "results": [
            explain.as_json(m.score, m.parts, m.gaps, request_id=m.request_id, exporter=product.company.name_zh,
                            buyer=m.request.buyer_company.name_zh, title=m.request.title) for m in rows]})
        return
    click.echo(f"{product.title_zh}: fits {total} open requests")
    for m in rows:
        click.echo(f"{m.score:5.1f}  request #{m.request_id} {m.request.title} — {m.request.buyer_company.name_zh}")
        for line in _lines(m.score, m.parts, m.gaps):
            click.echo(line)


@match.command("explain")
@click.argument("request_id", type=int)
@click.argument("product_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print a stable JSON object.")
@with_appcontext
def explain_command(request_id: int, product_id: int, as_json: bool):
    """One pair's score parts and gaps (and why it is not a match, when it is not)."""
    from marketplace.catalog.models import Product
    from marketplace.matching import explain, services
    from marketplace.sourcing.models import ProcurementRequest

    request = db.session.get(ProcurementRequest, request_id)
    product = db.session.get(Product, product_id)
    if request is None:
        _fail(f"no request {request_id}")
    if product is None:
        _fail(f"no product {product_id}")
    found = services.explain_pair(db.session, request, product)
    why = str(explain.WHY_NOT[found.why_not]) if found.why_not else None
    if as_json:
        body = {"request_id": request_id, "product_id": product_id, "matches": found.why_not is None, "why_not": why}
        if found.fit is not None:
            body.update(explain.as_json(found.fit.score, found.fit.parts, found.fit.gaps,
                                        excluded_by=found.fit.excluded_by))
        _echo_json(body)
        return
    if found.fit is not None:
        click.echo(f"score {found.fit.score:.1f}")
        for line in _lines(found.fit.score, found.fit.parts, found.fit.gaps):
            click.echo(line)
    click.echo("a match" if why is None else f"not a match: {why}")


@match.command("recompute")
@click.option("--all", "everything", is_flag=True,
              help="Recompute every open request, choosing its keywords again (after a rebuild or a dictionary change).")
@with_appcontext
def recompute_command(everything: bool):
    """Bring the matches up to date with the change log (``--all``: everything from scratch)."""
    from marketplace.matching import sync

    if everything:
        stats = sync.recompute_everything(progress=lambda done, total: click.echo(f"  {done}/{total} requests"))
        click.echo(f"recomputed {stats['requests']} requests: {stats['added']} matches added, "
                   f"{stats['removed']} removed")
        return
    stats = sync.catch_up()
    click.echo(f"applied {stats['changes']} changes: {stats['requests']} requests, {stats['products']} products, "
               f"{stats['added']} matches added, {stats['removed']} removed in {stats['seconds']:.2f} s")
