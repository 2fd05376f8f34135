"""``twilio/catalog``: https://www.twilio.com/docs/content/twilio-catalog
(``#/components/schemas/twilioCatalog``, ``catalogItem``): products of a Meta catalog (its ``id``),
listed in ``items`` or chosen at send time with ``dynamic_items``.

Listed items go out as a WhatsApp multi-product message: 1 to 30 items (Twilio's catalog page),
grouped by ``section_title`` into at most 10 sections whose titles hold at most 24 characters
(Meta's section object). An item without a section title beside items with one is a warning:
Meta needs a title on every section once there are two (``facts.CATALOG_SECTIONS``), and how
Twilio groups untitled items is not documented."""

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

    field_rules: ClassVar[Mapping[str, FieldRule]] = {
        "media_url": Url(variables="path"),
        "section_title": Text.of(facts.CATALOG_SECTION_TITLE, variables=False,
                                 no_variables="a section title is fixed text"),
    }

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

    def whatsapp_issues(self) -> list[Issue]:
        """A warning when some items have a section title and others not (see the module)."""
        return _untitled_issues(list(self.items or []))

    @classmethod
    def _template_issues(cls, data: Mapping[str, Any]) -> list[Issue]:
        issues = super()._template_issues(data)
        if not data.get("items") and not data.get("dynamic_items"):
            message = "a twilio/catalog lists products: give items (catalog item ids) or dynamic_items"
            issues.append(Issue("items", "required_one_of", message, source=facts.TWILIO, url=_LIMITS["body"].url))
        items = data.get("items")
        return issues + (_item_issues(items) if isinstance(items, list) else [])


def _item_issues(items: list[Any]) -> list[Issue]:
    limit, sections_limit = facts.CATALOG_ITEMS, facts.CATALOG_SECTIONS
    issues = []
    if len(items) > limit.value:
        message = (
            f"the catalog lists {len(items)} items; a WhatsApp multi-product message holds at most "
            f"{limit.value} (Twilio's catalog page). Remove {len(items) - limit.value}, or use dynamic_items"
        )
        issues.append(Issue("items", "item_count", message, limit=limit.value, source=limit.source, url=limit.url))
    titles = [_section(item) for item in items]
    sections = list(dict.fromkeys(title for title in titles if title))
    if len(sections) > sections_limit.value:
        message = (
            f"the items fall into {len(sections)} sections (section_title); WhatsApp allows at most "
            f"{sections_limit.value} sections in a multi-product message. Merge {len(sections) - sections_limit.value}"
        )
        issues.append(Issue("items", "section_count", message, limit=sections_limit.value,
                            source=sections_limit.source, url=sections_limit.url))
    return issues


def _untitled_issues(items: list[Any]) -> list[Issue]:
    titles = [_section(item) for item in items]
    if not any(titles) or all(titles):
        return []
    untitled = [index for index, title in enumerate(titles) if not title]
    message = (
        f"items {untitled} have no section_title while others have one; WhatsApp needs a title on every "
        "section once there are two (inferred: how Twilio groups untitled items is not documented, so "
        "a warning). Give them a section_title"
    )
    limit = facts.CATALOG_SECTIONS
    return [Issue("items", "wa_section_title_missing", message, severity="warning", source=limit.source,
                  url=limit.url)]


def _section(item: Any) -> Any:
    return item.get("section_title") if isinstance(item, Mapping) else getattr(item, "section_title", None)
