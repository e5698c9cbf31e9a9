"""Catalog pages: the exporter's catalog, the product form, images, the public product page, storefronts.

Views parse input, call one service from ``services`` and render or redirect. Domain errors
become form errors (``ValidationFailed``) or the 403/404 pages (the error handlers render
``PermissionDenied`` and ``NotFound``). No rule lives here.
"""
from __future__ import annotations

import logging
import re

from flask import (
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_login import current_user, login_required

from marketplace.catalog import bp, hs, images, services, vocabulary
from marketplace.catalog.categories import CATEGORY_BY_CODE
from marketplace.catalog.forms import (
    BulkActionForm,
    CatalogFilterForm,
    ImageUploadForm,
    ProductForm,
    format_hs_code,
    product_form_data,
)
from marketplace.catalog.models import CccStatus, ProductStatus
from marketplace.errors import ValidationFailed
from marketplace.errors import show_on_form as _attach_error
from marketplace.i18n import _, current_locale_code, format_date, ngettext
from marketplace.urls import safe_next_url

logger = logging.getLogger(__name__)

#: stored image names: 32 hex digits, "_t" for the thumbnail, always .jpg (nothing else is served)
MEDIA_NAME = re.compile(r"^[0-9a-f]{32}(_t)?\.jpg$")
HS_QUERY_MAX = 50
HS_RESULTS = 20


# --------------------------------------------------------------------------- template helpers


def _lang() -> str:
    return "en" if current_locale_code() == "en" else "zh"


@bp.app_template_global()
def category_label(code: str | None) -> str:
    """The category's name in the current language."""
    category = CATEGORY_BY_CODE.get(code or "")
    return str(category.label) if category else (code or "—")


#: the units of categories.UNITS in English, singular and plural (pages; exports keep "台 (unit)")
UNIT_NAMES_EN = {
    "件": ("piece", "pieces"), "个": ("piece", "pieces"), "台": ("unit", "units"), "套": ("set", "sets"),
    "双": ("pair", "pairs"), "只": ("piece", "pieces"), "箱": ("carton", "cartons"), "包": ("pack", "packs"),
    "米": ("metre", "metres"), "千克": ("kg", "kg"), "吨": ("tonne", "tonnes"), "平方米": ("m²", "m²"),
    "卷": ("roll", "rolls"), "张": ("sheet", "sheets"), "把": ("piece", "pieces"), "盏": ("lamp", "lamps"),
}


@bp.app_template_global()
def unit_label(unit: str | None, count: int | None = None) -> str:
    """The unit as shown: 台 in Chinese; in English 'unit' when ``count`` is 1, else 'units'."""
    if not unit:
        return ""
    names = UNIT_NAMES_EN.get(unit)
    if _lang() != "en" or names is None:
        return unit
    return names[0] if count == 1 else names[1]


@bp.app_template_global()
def country_label(code: str | None) -> str:
    """A market's name in the current language."""
    return vocabulary.country_name(code, _lang()) if code else "—"


@bp.app_template_global()
def hs_entry(code: str | None):
    """The HS heading (or chapter) a stored code falls under, or None."""
    if not code:
        return None
    return hs.lookup(code[:4]) or hs.lookup(code[:2])


@bp.app_template_global()
def hs_display(code: str | None) -> str:
    """An HS code written as customs write it: 8516.60."""
    return format_hs_code(code)


@bp.app_template_global()
def readiness_items(product) -> list[tuple[str, bool, str]]:
    """(label, passed, detail) of the four checks of the domestic-readiness checklist (expiry counts)."""
    ccc = product.ccc_status_on()
    if product.ccc_expired():
        last = max(cert.expires_on for cert in product.certifications if cert.kind == "CCC")
        ccc_detail = _("CCC certificate expired on %(date)s", date=format_date(last))
    else:
        ccc_detail = str(ccc.label)
    return [
        (_("China Compulsory Certification (CCC)"), ccc in (CccStatus.HELD, CccStatus.NOT_NEEDED), ccc_detail),
        (_("Meets the GB standard"), product.gb_standard_met, product.gb_standard or ""),
        (_("Chinese label and packaging ready"), product.chinese_label_ready, ""),
        (_("Can issue special VAT invoices (增值税专用发票)"), product.vat_invoice, ""),
    ]


@bp.app_template_global("can_view_storefront")
def can_view_storefront_global(company) -> bool:
    """Whether the current user may open the company's storefront (the service's rule)."""
    return services.can_view_storefront(current_user, company)


@bp.app_template_global()
def media_url(name: str) -> str:
    """The URL of a stored product image or thumbnail."""
    return url_for("catalog.media", filename=name)


@bp.context_processor
def _catalog_page_values():
    # the functions above are app-wide template globals, so the catalog macros work on any page
    return {"ProductStatus": ProductStatus, "max_images": images.MAX_IMAGES_PER_PRODUCT}


# --------------------------------------------------------------------------- the exporter's catalog


@bp.get("/catalog/")
@login_required
def my_catalog():
    """The logged-in exporter's catalog: every product in every state, filtered and paginated."""
    form = CatalogFilterForm(request.args)
    filters = form.filters()
    page = services.list_catalog(current_user, current_user.company, filters, page=request.args.get("page", 1))
    return render_template(
        "catalog/list.html", form=form, page=page, filtered=filters.active,
        company=current_user.company, bulk_form=BulkActionForm(formdata=None),
    )


@bp.post("/catalog/bulk")
@login_required
def bulk():
    """Publish, archive or return to draft the selected products of the user's own company."""
    form = BulkActionForm()
    back = safe_next_url(form.next.data) or url_for("catalog.my_catalog")
    if not form.validate_on_submit():
        abort(400)  # ids that are not numbers, or an unknown action: a forged request
    try:
        count = services.set_products_status(current_user, current_user.company, form.product_ids.data, form.status)
    except ValidationFailed as error:
        flash(str(error.message), "warning")
        return redirect(back)
    messages = {
        ProductStatus.PUBLISHED: ngettext("%(num)s product published.", "%(num)s products published.", count),
        ProductStatus.ARCHIVED: ngettext("%(num)s product archived.", "%(num)s products archived.", count),
        ProductStatus.DRAFT: ngettext("%(num)s product returned to draft.", "%(num)s products returned to draft.",
                                      count),
    }
    flash(messages[form.status], "success")
    return redirect(back)


# --------------------------------------------------------------------------- product form


def _render_form(form, product=None, image_form=None):
    return render_template(
        "catalog/form.html", form=form, product=product,
        image_form=image_form or ImageUploadForm(formdata=None),
        bulk_form=BulkActionForm(formdata=None),
        hs_chapters=hs.chapters(), locale=current_locale_code(),
    )


@bp.route("/catalog/new", methods=["GET", "POST"])
@login_required
def new_product():
    """Add a product, as a draft or published at once."""
    services.check_can_edit_catalog(current_user, current_user.company)
    form = ProductForm()
    if form.validate_on_submit():
        try:
            product = services.create_product(
                current_user, current_user.company, form.to_input(), publish=bool(form.publish.data)
            )
        except ValidationFailed as error:
            _attach_error(form, error)
        else:
            if product.status is ProductStatus.PUBLISHED:
                flash(_("The product has been saved and published. You can add images now."), "success")
            else:
                flash(_("The product has been saved as a draft. You can add images now."), "success")
            return redirect(url_for("catalog.edit_product", product_id=product.id, _anchor="images"))
    return _render_form(form)


@bp.route("/catalog/<int:product_id>/edit", methods=["GET", "POST"])
@login_required
def edit_product(product_id: int):
    """Edit a product of the user's own company (403 for another company's)."""
    product = services.get_product_for_edit(current_user, product_id)
    if request.method == "GET":
        return _render_form(ProductForm(data=product_form_data(product)), product)
    form = ProductForm()
    if form.validate_on_submit():
        try:
            services.update_product(current_user, product, form.to_input(), publish=bool(form.publish.data))
        except ValidationFailed as error:
            _attach_error(form, error)
        else:
            flash(_("The product has been saved."), "success")
            return redirect(url_for("catalog.edit_product", product_id=product.id))
    return _render_form(form, product)


# --------------------------------------------------------------------------- images


@bp.post("/catalog/<int:product_id>/images")
@login_required
def upload_image(product_id: int):
    """Add an image to a product (checked, re-encoded, at most eight)."""
    product = services.get_product_for_edit(current_user, product_id)
    image_form = ImageUploadForm()
    if image_form.validate_on_submit():
        try:
            services.add_product_image(current_user, product, images.read_upload(image_form.image.data))
        except ValidationFailed as error:
            _attach_error(image_form, error)
        else:
            flash(_("The image has been added."), "success")
            return redirect(url_for("catalog.edit_product", product_id=product.id, _anchor="images"))
    return _render_form(ProductForm(formdata=None, data=product_form_data(product)), product, image_form=image_form)


@bp.post("/catalog/<int:product_id>/images/<int:image_id>/delete")
@login_required
def delete_image(product_id: int, image_id: int):
    """Remove one image of a product."""
    product = services.get_product_for_edit(current_user, product_id)
    services.delete_product_image(current_user, product, image_id)
    flash(_("The image has been deleted."), "success")
    return redirect(url_for("catalog.edit_product", product_id=product.id, _anchor="images"))


@bp.get("/media/products/<filename>")
def media(filename: str):
    """A stored product image or thumbnail (JPEG); any other name is a 404."""
    if not MEDIA_NAME.fullmatch(filename):
        abort(404)
    folder = images.products_dir(current_app.config["UPLOAD_DIR"])
    # names are random and never reused, so the file may be cached for a long time
    return send_from_directory(folder, filename, mimetype="image/jpeg", max_age=30 * 24 * 3600)


# --------------------------------------------------------------------------- public pages


@bp.get("/products/<int:product_id>")
def product_page(product_id: int):
    """A product as buyers see it; the owner also sees drafts, archived products and unverified ones."""
    from marketplace.matching.views import product_requests

    product = services.get_visible_product(current_user, product_id)
    fits, fits_total = product_requests(product)
    return render_template(
        "catalog/product.html", product=product, can_edit=services.can_edit_product(current_user, product),
        is_public=services.is_publicly_visible(product), fits=fits, fits_total=fits_total,
    )


@bp.get("/companies/<int:company_id>/products")
def storefront(company_id: int):
    """A verified exporter's published products."""
    company, page = services.get_storefront(current_user, company_id, page=request.args.get("page", 1))
    if (request.args.get("q") or "").strip():  # a search within this exporter's products: the search pages' job
        return redirect(url_for("search.storefront", company_id=company.id, q=request.args.get("q"),
                                page=request.args.get("page")))
    is_owner = current_user.is_authenticated and current_user.company_id == company.id
    return render_template("catalog/storefront.html", company=company, page=page, is_owner=is_owner, found=None)


@bp.get("/catalog/hs.json")
def hs_json():
    """HS chapters and headings matching ``q`` (code prefix or words), for the HS picker."""
    query = (request.args.get("q") or "")[:HS_QUERY_MAX]
    locale = current_locale_code()
    return jsonify([{"code": entry.code, "name": entry.name(locale)}
                    for entry in hs.search(query, locale=locale, limit=HS_RESULTS)])
