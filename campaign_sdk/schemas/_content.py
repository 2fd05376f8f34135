"""Content contexts: the JSON object Twilio's Content API holds under ``types[content_type]``.

Every context is frozen, refuses unknown fields and checks Twilio's limits at construction.
Lengths are Python ``len()`` of the text (one Unicode code point is one character).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import ValidationError, ValidatorFunctionWrapHandler, field_validator, model_validator

from campaign_sdk._exceptions import Issue, UnknownContentTypeError
from campaign_sdk.schemas._actions import ACTION_CLASSES, ActionList, TwilioAction
from campaign_sdk.schemas._issues import issues_from_error, raise_issues
from campaign_sdk.schemas._rules import FieldRule, Items, RuleModel, Text, Url
from campaign_sdk.schemas._variables import MAX_VARIABLES, find_variables, unique
from campaign_sdk.schemas._walk import iter_text

_MEDIA = Items(Url(variables="path"))


class _ContentBase(RuleModel):
    """Shared behaviour of the five content contexts."""

    content_type: ClassVar[str]
    action_rule: ClassVar[ActionList | None] = None

    def to_twilio(self) -> dict[str, Any]:
        """The context as Twilio expects it under ``types[content_type]`` (null fields left out)."""
        return self.model_dump(mode="json", exclude_none=True)

    @classmethod
    def variable_fields(cls) -> list[str]:
        """Field paths that may hold variables; ``actions.url`` means the url of any action."""
        fields = super().variable_fields()
        for kind in cls.action_rule.allowed if cls.action_rule else ():
            fields += [f"actions.{name}" for name in ACTION_CLASSES[kind].variable_fields()]
        return unique(fields)

    @field_validator("actions", mode="wrap", check_fields=False)
    @classmethod
    def _check_actions(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        rule = cls.action_rule
        issues = rule.check("actions", value) if rule and isinstance(value, list) else []
        return _validate_with(value, handler, issues)

    @model_validator(mode="wrap")
    @classmethod
    def _check_template(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        issues = cls._template_issues(data) if isinstance(data, Mapping) else []
        return _validate_with(data, handler, issues)

    @classmethod
    def _template_issues(cls, data: Mapping[str, Any]) -> list[Issue]:
        keys = unique(key for field in iter_text(data) for key in find_variables(field.text))
        if len(keys) <= MAX_VARIABLES:
            return []
        message = (
            f"the template uses {len(keys)} different variables; Twilio allows at most "
            f"{MAX_VARIABLES}. Merge or remove some."
        )
        return [Issue("template", "too_many_variables", message)]


def _validate_with(value: Any, handler: ValidatorFunctionWrapHandler, issues: list[Issue]) -> Any:
    """Run pydantic's own validation, then report its errors together with ``issues``."""
    try:
        validated = handler(value)
    except ValidationError as exc:
        if not issues:
            raise
        raise_issues(issues_from_error(exc) + issues)
    if issues:
        raise_issues(issues)
    return validated


class TwilioTextContext(_ContentBase):
    """``twilio/text``: plain text, the only type SMS can carry.

    >>> TwilioTextContext(body="Hi {{lead_name}}!").to_twilio()
    {'body': 'Hi {{lead_name}}!'}
    """

    content_type: ClassVar[str] = "twilio/text"
    body: str

    field_rules: ClassVar[Mapping[str, FieldRule]] = {
        "body": Text(
            1600,
            variables=True,
            rendered_max=1024,
            rendered_note="WhatsApp rejects a template message over 1,024 characters (Twilio error 63021)",
        ),
    }


class TwilioMediaContext(_ContentBase):
    """``twilio/media``: one or more media URLs with an optional body (WhatsApp approval needs it).

    >>> TwilioMediaContext(media=["https://example.com/img/{{sku}}.jpg"]).media
    ['https://example.com/img/{{sku}}.jpg']
    """

    content_type: ClassVar[str] = "twilio/media"
    body: str | None = None
    media: list[str]

    field_rules: ClassVar[Mapping[str, FieldRule]] = {
        "body": Text(1600, variables=True),
        "media": _MEDIA,
    }


class TwilioCardContext(_ContentBase):
    """``twilio/card``: a title plus at least one of subtitle, media or actions.

    Twilio's OpenAPI spec has no ``body`` on a card, so ``title`` is always required.

    >>> TwilioCardContext(title="Your cart, {{lead_name}}", subtitle="Reply STOP to opt out").subtitle
    'Reply STOP to opt out'
    """

    content_type: ClassVar[str] = "twilio/card"
    title: str
    subtitle: str | None = None
    media: list[str] | None = None
    actions: list[TwilioAction] | None = None

    field_rules: ClassVar[Mapping[str, FieldRule]] = {
        "title": Text(1024, variables=True, note="WhatsApp's limit; RCS allows only 200"),
        "subtitle": Text(
            60, no_variables="the subtitle becomes the WhatsApp footer, which takes no variables"
        ),
        "media": _MEDIA,
    }
    action_rule: ClassVar[ActionList | None] = ActionList("twilio/card")

    @classmethod
    def _template_issues(cls, data: Mapping[str, Any]) -> list[Issue]:
        issues = super()._template_issues(data)
        if not any(data.get(name) for name in ("subtitle", "media", "actions")):
            message = "a twilio/card needs a title and at least one of subtitle, media or actions; add one"
            issues.append(Issue("template", "required_one_of", message))
        return issues


class TwilioCallToActionContext(_ContentBase):
    """``twilio/call-to-action``: a body and buttons that open a URL, call, or copy a code.

    >>> cta = TwilioCallToActionContext(
    ...     body="Your order {{order_id}} is on its way.",
    ...     actions=[{"type": "URL", "title": "Track", "url": "https://example.com/t/{{order_id}}"}],
    ... )
    >>> type(cta.actions[0]).__name__
    'UrlAction'
    """

    content_type: ClassVar[str] = "twilio/call-to-action"
    body: str
    actions: list[TwilioAction]

    field_rules: ClassVar[Mapping[str, FieldRule]] = {"body": Text(640, variables=True)}
    action_rule: ClassVar[ActionList | None] = ActionList(
        "twilio/call-to-action",
        allowed=("URL", "PHONE_NUMBER", "COPY_CODE", "VOICE_CALL"),
        max_url=2,
        max_calls=1,
    )


class TwilioQuickReplyContext(_ContentBase):
    """``twilio/quick-reply``: a body and 1 to 10 quick-reply buttons with unique ids.

    >>> yes = {"type": "QUICK_REPLY", "title": "Yes", "id": "yes"}
    >>> qr = TwilioQuickReplyContext(body="Still coming?", actions=[yes])
    >>> qr.to_twilio()["actions"]
    [{'type': 'QUICK_REPLY', 'title': 'Yes', 'id': 'yes'}]
    """

    content_type: ClassVar[str] = "twilio/quick-reply"
    body: str
    actions: list[TwilioAction]

    field_rules: ClassVar[Mapping[str, FieldRule]] = {"body": Text(1024, variables=True)}
    action_rule: ClassVar[ActionList | None] = ActionList(
        "twilio/quick-reply",
        allowed=("QUICK_REPLY",),
        max_note="Twilio's quick-reply page; an older version said 5",
    )


ContentContext = (
    TwilioTextContext
    | TwilioMediaContext
    | TwilioCardContext
    | TwilioCallToActionContext
    | TwilioQuickReplyContext
)

CONTENT_TYPES: dict[str, type[_ContentBase]] = {
    cls.content_type: cls
    for cls in (
        TwilioTextContext,
        TwilioMediaContext,
        TwilioCardContext,
        TwilioCallToActionContext,
        TwilioQuickReplyContext,
    )
}


def context_class(content_type: str) -> type[_ContentBase]:
    """The context model for ``content_type``; :class:`UnknownContentTypeError` if there is none."""
    try:
        return CONTENT_TYPES[content_type]
    except (KeyError, TypeError):
        raise UnknownContentTypeError(str(content_type), sorted(CONTENT_TYPES)) from None


def get_variable_supported_fields(content_type: str) -> tuple[str, ...]:
    """Field paths that may embed ``{{variables}}`` in a campaign (an approved WhatsApp template).

    Path notation: a plain name is a top-level field (``"media"`` covers every media URL);
    ``"actions.url"`` is the ``url`` of any action. Quick-reply titles take variables only
    in-session, so no quick-reply button field is listed.

    >>> get_variable_supported_fields("twilio/card")
    ('title', 'media', 'actions.url', 'actions.code')
    """
    return tuple(context_class(content_type).variable_fields())
