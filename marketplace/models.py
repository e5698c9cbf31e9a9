"""Imports every feature's models so SQLAlchemy and Alembic see all tables."""
from marketplace.accounts.models import Company, CompanyTag, Invitation, TariffExposure, User  # noqa: F401
from marketplace.api.models import ApiToken, IdempotentAnswer  # noqa: F401
from marketplace.catalog.models import Certification, PriceTier, Product, ProductImage  # noqa: F401
from marketplace.deals.models import OrderIntent, OrderIntentEvent, OrderIntentMessage  # noqa: F401
from marketplace.imports.models import ImportJob  # noqa: F401
from marketplace.mail import OutboxEmail  # noqa: F401
from marketplace.matching.models import ArchivedMatch, Match, MatchCounter, MatchProfile, SupplierShortlist  # noqa: F401
from marketplace.notifications.models import Notification  # noqa: F401
from marketplace.search.models import IndexChange, IndexReplica  # noqa: F401
from marketplace.sessions.models import (  # noqa: F401
    IntentFollowUp,
    MatchmakingSession,
    Meeting,
    SessionHost,
    SessionRegistration,
)
from marketplace.sourcing.models import (  # noqa: F401
    ProcurementRequest,
    Quote,
    QuoteRevision,
    RequestAttachment,
    RequestEvent,
    RequestInvitation,
)
from marketplace.webhooks.models import WebhookDelivery, WebhookEndpoint  # noqa: F401
