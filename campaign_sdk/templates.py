"""Default templates: ready content contexts with named variables, sample values and a category.

Every default template passes :func:`campaign_sdk.schemas.check_whatsapp` with its samples.

>>> [template.key for template in default_templates()]  # doctest: +NORMALIZE_WHITESPACE
['order_confirmation', 'shipping_update', 'appointment_reminder', 'abandoned_cart',
 'welcome_offer', 'promo_code', 'new_arrivals', 'login_code']
>>> get_default_template("order_confirmation").context_variables
('lead_name', 'order_id')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from campaign_sdk._exceptions import Issue, TemplateValidationError
from campaign_sdk.schemas import (
    AuthenticationAction,
    CarouselCard,
    ContentContext,
    CopyCodeAction,
    QuickReplyAction,
    TwilioCallToActionContext,
    TwilioCardContext,
    TwilioMediaContext,
    TwilioQuickReplyContext,
    TwilioCarouselContext,
    TwilioTextContext,
    UrlAction,
    WhatsAppAuthenticationContext,
    find_and_validate_variables,
)

# A type for checkers; the categories themselves are campaign_sdk.facts.content.APPROVAL_CATEGORIES
# (tests/schemas/test_templates.py checks the two agree).
Category = Literal["UTILITY", "MARKETING", "AUTHENTICATION"]


@dataclass(frozen=True)
class DefaultTemplate:
    """A ready template: ``context`` uses the named variables listed in ``context_variables``.

    ``content_type`` and ``context_variables`` are derived from ``context``. ``samples`` holds one
    example value per variable (sent to WhatsApp for approval and used by previews); ``category``
    is the WhatsApp approval category.
    """

    key: str
    title: str
    description: str
    content_type: str = field(init=False)
    context: ContentContext
    context_variables: tuple[str, ...] = field(init=False)
    category: Category
    samples: dict[str, str]

    def __post_init__(self) -> None:
        # Derived from the context so they can never disagree with it.
        object.__setattr__(self, "content_type", self.context.content_type)
        object.__setattr__(self, "context_variables", tuple(find_and_validate_variables(self.context)))


def default_templates() -> list[DefaultTemplate]:
    """The catalogue of default templates (fresh objects: changing one affects nothing else).

    >>> sorted({template.content_type for template in default_templates()})  # doctest: +NORMALIZE_WHITESPACE
    ['twilio/call-to-action', 'twilio/card', 'twilio/carousel', 'twilio/media', 'twilio/quick-reply',
     'twilio/text', 'whatsapp/authentication']
    """
    return [build() for build in _CATALOGUE]


def get_default_template(key: str) -> DefaultTemplate:
    """The default template called ``key``.

    An unknown key raises :class:`TemplateValidationError` (a ``CampaignError`` and a
    ``ValueError``) with rule ``unknown_template`` and the list of available keys.

    >>> get_default_template("welcome_offer").category
    'MARKETING'
    """
    templates = {template.key: template for template in default_templates()}
    if key in templates:
        return templates[key]
    message = f"no default template {key!r}; available: {', '.join(templates)}"
    raise TemplateValidationError([Issue("template", "unknown_template", message)])


def _order_confirmation() -> DefaultTemplate:
    return DefaultTemplate(
        key="order_confirmation",
        title="Order confirmation",
        description="Confirms an order right after checkout.",
        context=TwilioTextContext(
            body="Hi {{lead_name}}, thank you for your order {{order_id}}. "
            "We will message you again as soon as it ships.",
        ),
        category="UTILITY",
        samples={"lead_name": "Ana", "order_id": "A-1042"},
    )


def _shipping_update() -> DefaultTemplate:
    return DefaultTemplate(
        key="shipping_update",
        title="Shipping update",
        description="Tells the customer the order shipped, with a tracking button.",
        context=TwilioCallToActionContext(
            body="Good news {{lead_name}}, your order {{order_id}} is on its way. "
            "Tap the button below to follow the delivery.",
            actions=[UrlAction(title="Track order", url="https://example.com/track/{{tracking_id}}")],
        ),
        category="UTILITY",
        samples={"lead_name": "Ana", "order_id": "A-1042", "tracking_id": "ZX81"},
    )


def _appointment_reminder() -> DefaultTemplate:
    return DefaultTemplate(
        key="appointment_reminder",
        title="Appointment reminder",
        description="Reminds the customer of an appointment and asks them to confirm.",
        context=TwilioQuickReplyContext(
            body="Hello {{lead_name}}, this is a reminder of your appointment on {{appointment_date}} "
            "at {{appointment_time}}. Will you be able to make it?",
            actions=[
                QuickReplyAction(title="Yes, I will be there", id="confirm"),
                QuickReplyAction(title="Reschedule", id="reschedule"),
            ],
        ),
        category="UTILITY",
        samples={"lead_name": "Ana", "appointment_date": "12 May", "appointment_time": "10:30"},
    )


def _abandoned_cart() -> DefaultTemplate:
    return DefaultTemplate(
        key="abandoned_cart",
        title="Abandoned cart",
        description="Brings back a customer who left items in the cart.",
        context=TwilioCardContext(
            title="You left something behind, {{lead_name}}! Your cart is saved for a few more days.",
            subtitle="Reply STOP to stop these messages",
            media=["https://example.com/images/cart.png"],
            actions=[UrlAction(title="Complete my order", url="https://example.com/cart/{{cart_id}}")],
        ),
        category="MARKETING",
        samples={"lead_name": "Ana", "cart_id": "c-2291"},
    )


def _welcome_offer() -> DefaultTemplate:
    return DefaultTemplate(
        key="welcome_offer",
        title="Welcome offer",
        description="Welcomes a new subscriber with a discount and an image.",
        context=TwilioMediaContext(
            body="Welcome {{lead_name}}! Enjoy {{discount}} off your first order with us. "
            "The offer is valid for seven days.",
            media=["https://example.com/images/welcome.png"],
        ),
        category="MARKETING",
        samples={"lead_name": "Ana", "discount": "15%"},
    )


def _promo_code() -> DefaultTemplate:
    return DefaultTemplate(
        key="promo_code",
        title="Promo code",
        description="Sends a personal discount code with copy and shop buttons.",
        context=TwilioCallToActionContext(
            body="Hi {{lead_name}}, here is your personal discount code for this week. "
            "Tap the button to copy it and use it at checkout.",
            actions=[
                CopyCodeAction(code="{{promo_code}}"),
                UrlAction(title="Shop now", url="https://example.com/shop"),
            ],
        ),
        category="MARKETING",
        samples={"lead_name": "Ana", "promo_code": "SPRING15"},
    )


def _new_arrivals() -> DefaultTemplate:
    def card(title: str, body: str, image: str, sku: str) -> CarouselCard:
        button = UrlAction(title="Shop now", url=f"https://example.com/shop/{sku}")
        return CarouselCard(title=title, body=body, media=f"https://example.com/images/{image}", actions=[button])

    return DefaultTemplate(
        key="new_arrivals",
        title="New arrivals (carousel)",
        description="Shows three new products side by side, each with its own shop button.",
        context=TwilioCarouselContext(
            body="Hi {{lead_name}}, our new collection has just arrived. Swipe to see the highlights.",
            cards=[
                card("Hoodie", "Warm and soft, in five colours", "hoodie.jpg", "hoodie"),
                card("Tote bag", "Carries a little more every day", "tote.jpg", "tote"),
                card("Mug", "Keeps your coffee hot for longer", "mug.jpg", "mug"),
            ],
        ),
        category="MARKETING",
        samples={"lead_name": "Ana"},
    )


def _login_code() -> DefaultTemplate:
    return DefaultTemplate(
        key="login_code",
        title="Login code (authentication)",
        description="Sends a one-time password with WhatsApp's preset text and a copy-code button.",
        context=WhatsAppAuthenticationContext(
            add_security_recommendation=True,
            code_expiration_minutes=10,
            actions=[AuthenticationAction(copy_code_text="Copy code")],
        ),
        category="AUTHENTICATION",
        samples={},
    )


_CATALOGUE = (
    _order_confirmation,
    _shipping_update,
    _appointment_reminder,
    _abandoned_cart,
    _welcome_offer,
    _promo_code,
    _new_arrivals,
    _login_code,
)
