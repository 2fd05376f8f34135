"""``twilio/catalog``: https://www.twilio.com/docs/content/twilio-catalog
(``#/components/schemas/twilioCatalog``, ``catalogItem``): products of a Meta catalog (its ``id``),
listed in ``items`` or chosen at send time with ``dynamic_items``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import StrictFloat, StrictInt

from campaign_sdk._exceptions import Issue
from campaign_sdk.facts import content as facts
from campaign_sdk.schemas._content import ContentBase
from campaign_sdk.schemas._rules import FieldRule, RuleModel, Text, Url

_LIMITS = facts.CONTENT_API["twilio/catalog"]


class CatalogItem(RuleModel):
    """One product: ``id`` is the Meta catalog's item (content) id.

    >>> CatalogItem(id="sku-1", section_title="Hoodies").id
    'sku-1'
    """

    id: str | None = None
    section_title: str | None = None
    name: str | None = None
    media_url: str | None = None
    price: StrictFloat | StrictInt | None = None
    description: str | None = None

    field_rules: ClassVar[Mapping[str, FieldRule]] = {"media_url": Url(variables="path")}

    def to_twilio(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class TwilioCatalogContext(ContentBase):
    """``twilio/catalog``: a body, the Meta catalog ``id`` and its ``items`` (or ``dynamic_items``).

    >>> TwilioCatalogContext(body="New arrivals for you", id="1234567890", items=[{"id": "sku-1"}]).items[0].id
    'sku-1'
    """

    content_type: ClassVar[str] = "twilio/catalog"
    type_label: ClassVar[str] = "Catalog"
    title: str | None = None
    body: str
    subtitle: str | None = None
    id: str | None = None
    items: list[CatalogItem] | None = None
    dynamic_items: str | None = None

    field_rules: ClassVar[Mapping[str, FieldRule]] = {
        "title": Text.of(_LIMITS["title"], variables=True),
        "body": Text.of(_LIMITS["body"], variables=True),
        "subtitle": Text.of(_LIMITS["subtitle"], no_variables="the subtitle becomes the WhatsApp footer, which takes no variables"),
    }

    @classmethod
    def _template_issues(cls, data: Mapping[str, Any]) -> list[Issue]:
        issues = super()._template_issues(data)
        if not data.get("items") and not data.get("dynamic_items"):
            message = "a twilio/catalog lists products: give items (catalog item ids) or dynamic_items"
            issues.append(Issue("items", "required_one_of", message, source=facts.TWILIO, url=_LIMITS["body"].url))
        return issues
