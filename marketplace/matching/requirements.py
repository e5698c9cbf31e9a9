"""The requirement codes a buyer may make musts, with their labels (imports only i18n: the sourcing
forms use it, and the matching package imports sourcing)."""
from __future__ import annotations

from marketplace.i18n import _l

#: requirement code → its label (the request form's must checkboxes, "why not", the empty state)
REQUIREMENT_LABELS = {
    "category": _l("Category or HS code"),
    "moq": _l("MOQ within my quantity"),
    "price": _l("Unit price within my target"),
    "certifications": _l("Required certifications held and valid"),
    "readiness": _l("Domestic-readiness items met"),
    "region": _l("Exporter in my delivery province"),
    "capacity": _l("Capacity or stock covers my quantity"),
}
