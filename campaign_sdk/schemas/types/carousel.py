"""``twilio/carousel``: https://www.twilio.com/docs/content/carousel
(``#/components/schemas/twilioCarousel``, ``carouselCard``, ``carouselAction``).

A body above 1 to 10 cards; each card has media, a body (title and body together at most 160
characters) and 1 to 2 buttons of QUICK_REPLY / URL / PHONE_NUMBER, in the same order on every card.
A card's body takes no variables; its title takes them on RCS only (the WhatsApp lint refuses them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import Field, ValidatorFunctionWrapHandler, field_validator, model_validator

from campaign_sdk._exceptions import Issue
from campaign_sdk.facts import content as facts
from campaign_sdk.schemas._actions import ActionList, PhoneAction, QuickReplyAction, UrlAction
from campaign_sdk.schemas._content import ContentBase, validate_with
from campaign_sdk.schemas._rules import FieldRule, RuleModel, Text, Url, char_count
from campaign_sdk.schemas._variables import find_variables

_LIMITS = facts.CONTENT_API["twilio/carousel"]
_CARD_TEXT = _LIMITS["card_text"]
_NO_VARS = "a carousel card's body takes no variables (Twilio's carousel page)"

CarouselAction = Annotated[QuickReplyAction | UrlAction | PhoneAction, Field(discriminator="type")]


class CarouselCard(RuleModel):
    """One card of a carousel: ``media`` (one URL), ``body``, an optional ``title``, 1-2 buttons.

    >>> card = CarouselCard(body="Warm hoodie", media="https://example.com/hoodie.jpg",
    ...                     actions=[{"type": "QUICK_REPLY", "title": "I want it", "id": "hoodie"}])
    >>> card.to_twilio()["media"]
    'https://example.com/hoodie.jpg'
    """

    title: str | None = None
    body: str
    media: str
    actions: list[CarouselAction]

    field_rules: ClassVar[Mapping[str, FieldRule]] = {
        # Twilio's page: title variables "Yes (RCS), No (WhatsApp)": the Content API takes them, the
        # WhatsApp lint refuses them (TwilioCarouselContext.whatsapp_issues).
        "title": Text.of(_CARD_TEXT, variables=True),
        "body": Text.of(_CARD_TEXT, no_variables=_NO_VARS),
        "media": Url(variables="path"),
    }
    action_rule: ClassVar[ActionList] = ActionList(
        "twilio/carousel", min_items=facts.CAROUSEL_CARD_BUTTONS[0], max_items=facts.CAROUSEL_CARD_BUTTONS[1],
        max_note="Twilio's carousel page: 1 to 2 buttons in each card",
    )

    def to_twilio(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    @field_validator("actions", mode="wrap")
    @classmethod
    def _check_actions(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        issues = cls.action_rule.check("actions", value) if isinstance(value, list) else []
        return validate_with(value, handler, issues)

    @model_validator(mode="after")
    def _combined_length(self) -> CarouselCard:
        total = char_count(self.title or "") + char_count(self.body)
        if total > _CARD_TEXT.value:
            from campaign_sdk.schemas._issues import raise_issues

            message = (
                f"the card's title and body are {total:,} characters together; Twilio allows at most "
                f"{_CARD_TEXT.value} for both. Shorten them by {total - _CARD_TEXT.value}."
            )
            raise_issues([Issue("body", "max_length", message, limit=_CARD_TEXT.value, source=facts.TWILIO,
                                url=_CARD_TEXT.url)])
        return self


class TwilioCarouselContext(ContentBase):
    """``twilio/carousel``: a body and 1 to 10 cards with the same button layout.

    >>> button = {"type": "URL", "title": "Buy", "url": "https://example.com/buy"}
    >>> card = {"body": "Mug", "media": "https://example.com/mug.jpg", "actions": [button]}
    >>> len(TwilioCarouselContext(body="New merch for {{lead_name}}!", cards=[card, card]).cards)
    2
    """

    content_type: ClassVar[str] = "twilio/carousel"
    type_label: ClassVar[str] = "Carousel"
    body: str
    cards: list[CarouselCard]

    field_rules: ClassVar[Mapping[str, FieldRule]] = {"body": Text.of(_LIMITS["body"], variables=True)}

    def whatsapp_issues(self) -> list[Issue]:
        """A card title with a variable: Twilio's carousel page supports it on RCS, not on WhatsApp."""
        return [
            Issue(f"cards[{index}].title", "wa_variable_not_allowed",
                  f"card {index}'s title holds {', '.join('{{' + k + '}}' for k in find_variables(card.title))}; "
                  "a carousel card title takes variables on RCS only, not on WhatsApp (Twilio's carousel page). "
                  "Write the title out", source=facts.TWILIO, url=_CARD_TEXT.url)
            for index, card in enumerate(self.cards) if card.title and find_variables(card.title)
        ]

    @classmethod
    def _template_issues(cls, data: Mapping[str, Any]) -> list[Issue]:
        issues = super()._template_issues(data)
        cards = data.get("cards")
        if not isinstance(cards, list):
            return issues
        limit = facts.CAROUSEL_CARDS
        if not cards or len(cards) > limit.value:
            message = f"a carousel has {len(cards)} cards; Twilio allows 1 to {limit.value}. "
            message += "Add one." if not cards else f"Remove {len(cards) - limit.value}."
            issues.append(Issue("cards", "card_count", message, limit=limit.value, source=facts.TWILIO, url=limit.url))
        return issues + _layout_issues(cards) + _media_kind_issues(cards)


_KINDS = {"jpg": "image", "jpeg": "image", "png": "image", "mp4": "video", "3gp": "video"}
# Files a carousel card can't show: "Only images and videos are supported within carousels"
# (Twilio's carousel page); the document and audio types of Twilio's supported media list.
_NOT_IMAGE_OR_VIDEO = frozenset({"pdf", "doc", "docx", "ppt", "pptx", "xls", "xlsx", "txt", "ogg", "mp3", "amr",
                                 "aac", "m4a", "opus", "vcf"})


def _extension(media: Any) -> str:
    path = str(media or "").split("?")[0].split("#")[0]
    last = path.rsplit("/", 1)[-1]
    return last.rsplit(".", 1)[-1].lower() if "." in last and "{{" not in last else ""


def _media_kind_issues(cards: list[Any]) -> list[Issue]:
    """Every card's header is an image or a video (Twilio's carousel page), and all cards have the
    same kind (all images or all videos), as WhatsApp's carousel template requires; a URL whose
    extension is unknown (or a variable) is not judged."""
    exts = [_extension(card.get("media") if isinstance(card, Mapping) else getattr(card, "media", None))
            for card in cards]
    issues = [
        Issue(f"cards[{index}].media", "carousel_media_type",
              f"card {index}'s media is a .{ext} file; a carousel card shows only images or videos (Twilio's "
              "carousel page). Use a JPG/PNG image or an MP4 video", source=facts.TWILIO, url=_CARD_TEXT.url)
        for index, ext in enumerate(exts) if ext in _NOT_IMAGE_OR_VIDEO
    ]
    kinds = [_KINDS.get(ext) for ext in exts]
    known = [kind for kind in kinds if kind]
    if len(set(known)) <= 1:
        return issues
    first = known[0]
    return issues + [
        Issue(f"cards[{index}].media", "carousel_layout",
              f"card {index} has a {kind} header but the first card a {first}; every card of a carousel has the "
              "same kind of media (all images or all videos)", source=facts.TWILIO, url=_CARD_TEXT.url)
        for index, kind in enumerate(kinds) if kind and kind != first
    ]


def _layout_issues(cards: list[Any]) -> list[Issue]:
    layouts = [_layout(card) for card in cards]
    first = layouts[0] if layouts else None
    return [
        Issue(
            f"cards[{index}].actions", "carousel_layout",
            f"card {index} has buttons {list(layout)} but card 0 has {list(first or ())}; Twilio needs the "
            "same button types in the same order on every card",
            source=facts.TWILIO, url=_CARD_TEXT.url,
        )
        for index, layout in enumerate(layouts)
        if first is not None and layout is not None and layout != first
    ]


def _layout(card: Any) -> tuple[Any, ...] | None:
    actions = card.get("actions") if isinstance(card, Mapping) else getattr(card, "actions", None)
    if not isinstance(actions, list):
        return None
    return tuple(a.get("type") if isinstance(a, Mapping) else getattr(a, "type", None) for a in actions)
