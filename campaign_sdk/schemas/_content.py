"""Content contexts: the JSON object Twilio's Content API holds under ``types[content_type]``.

Every context is frozen, refuses unknown fields and checks the Content API's own rules at
construction (what ``POST /v1/Content`` accepts); what WhatsApp accepts on top is the lint's job
(:mod:`campaign_sdk.schemas._lint`). Lengths are UTF-16 code units (see ``char_count``).

One content type = one module in :mod:`campaign_sdk.schemas.types`, whose class subclasses
:class:`ContentBase`; defining the class registers it in :data:`CONTENT_TYPES`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import ValidationError, ValidatorFunctionWrapHandler, field_validator, model_validator

from campaign_sdk._exceptions import Issue, UnknownContentTypeError
from campaign_sdk.facts import content as facts
from campaign_sdk.schemas._actions import ACTION_CLASSES, ActionList
from campaign_sdk.schemas._issues import issues_from_error, raise_issues
from campaign_sdk.schemas._rules import Items, RuleModel, Url
from campaign_sdk.schemas._variables import MAX_VARIABLES, find_variables, unique
from campaign_sdk.schemas._walk import iter_text

MEDIA = Items(Url(variables="path"))

CONTENT_TYPES: dict[str, type[ContentBase]] = {}
"""content type (``"twilio/text"``) -> its model, in the order the types were defined."""


class ContentBase(RuleModel):
    """Shared behaviour of every content context.

    Class attributes a content type sets: ``content_type`` (Twilio's name), ``type_label`` (for
    people), ``action_rule`` (its buttons, if any), ``whatsapp_body`` (the field WhatsApp reviews
    as the template body, if any).
    """

    content_type: ClassVar[str]
    type_label: ClassVar[str] = ""
    action_rule: ClassVar[ActionList | None] = None
    whatsapp_body: ClassVar[str | None] = "body"
    # Variables Twilio fills at send time that the template does not spell (name -> number).
    implicit_variables: ClassVar[Mapping[str, str]] = {}
    # Send-time limits on one variable's value, by name (below Twilio's 1,600 for any value).
    value_limits: ClassVar[Mapping[str, facts.Limit]] = {}

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "content_type" in cls.__dict__:
            CONTENT_TYPES[cls.content_type] = cls  # the final (pydantic-built) class

    @classmethod
    def in_session_only(cls) -> bool:
        """True for types that can never start a conversation (list-picker, location)."""
        return cls.content_type in facts.IN_SESSION_ONLY

    @classmethod
    def channels(cls) -> tuple[str, ...]:
        """The channels that carry this content type (Twilio's content types overview)."""
        return facts.CHANNELS.get(cls.content_type, ())

    def whatsapp_body_field(self) -> str | None:
        """The field WhatsApp reviews as the body of this template (None: it has none)."""
        return self.whatsapp_body

    def whatsapp_issues(self) -> list[Issue]:
        """WhatsApp rules of this content type alone, added to :func:`lint_whatsapp`'s (none here)."""
        return []

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
        return validate_with(value, handler, issues)

    @model_validator(mode="wrap")
    @classmethod
    def _check_template(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        issues = cls._template_issues(data) if isinstance(data, Mapping) else []
        return validate_with(data, handler, issues)

    @classmethod
    def _template_issues(cls, data: Mapping[str, Any]) -> list[Issue]:
        keys = unique(key for field in iter_text(data) for key in find_variables(field.text))
        if len(keys) <= MAX_VARIABLES:
            return []
        message = (
            f"the template uses {len(keys)} different variables; Twilio allows at most "
            f"{MAX_VARIABLES}. Merge or remove some."
        )
        return [Issue("template", "too_many_variables", message, limit=MAX_VARIABLES, source=facts.TWILIO)]


def validate_with(value: Any, handler: ValidatorFunctionWrapHandler, issues: list[Issue]) -> Any:
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


# Kept for code that imported the private name.
_ContentBase = ContentBase
ContentContext = ContentBase
"""Any content context (every model in :data:`CONTENT_TYPES` is one)."""


def context_class(content_type: str) -> type[ContentBase]:
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
    ('title', 'body', 'media', 'actions.url', 'actions.code')
    """
    return tuple(context_class(content_type).variable_fields())


def _validate_with(value: Any, handler: ValidatorFunctionWrapHandler, issues: list[Issue]) -> Any:
    return validate_with(value, handler, issues)
