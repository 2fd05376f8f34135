"""Twilio content actions (buttons) and the rules a list of them must follow."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, Field, model_validator

from campaign_sdk._exceptions import Issue
from campaign_sdk.facts import content as facts
from campaign_sdk.schemas._rules import FieldRule, Phone, RuleModel, Text, Url

_CTA_TITLE = Text.of(facts.CTA_BUTTON_TITLE, no_variables="button titles cannot hold variables")


class _Action(RuleModel):
    def to_twilio(self) -> dict[str, Any]:
        """The action as Twilio's Content API expects it (its field names, no null fields)."""
        return self.model_dump(mode="json", exclude_none=True)


class QuickReplyAction(_Action):
    """A quick-reply button; tapping it sends ``title`` back with ``id`` as the payload.

    >>> QuickReplyAction(title="Yes", id="confirm").to_twilio()
    {'type': 'QUICK_REPLY', 'title': 'Yes', 'id': 'confirm'}
    """

    type: Literal["QUICK_REPLY"] = "QUICK_REPLY"
    title: str
    id: str

    field_rules: ClassVar[Mapping[str, FieldRule]] = {
        "title": Text.of(
            facts.BUTTON_TITLE,
            no_variables="quick-reply titles take variables only in-session, never in an approved template",
        ),
        "id": Text.of(facts.ACTION_TEXT["QUICK_REPLY"]["id"], no_variables="quick-reply ids cannot hold variables"),
    }


class UrlAction(_Action):
    """A button that opens ``url``; one variable may end the URL.

    >>> UrlAction(title="Track", url="https://example.com/track/{{order_id}}").url
    'https://example.com/track/{{order_id}}'
    """

    type: Literal["URL"] = "URL"
    title: str
    url: str

    field_rules: ClassVar[Mapping[str, FieldRule]] = {
        "title": _CTA_TITLE,
        "url": Url(variables="end", needs_path=True),
    }


class PhoneAction(_Action):
    """A button that calls ``phone`` (E.164, no variables).

    >>> PhoneAction(title="Call us", phone="+14155550100").to_twilio()["type"]
    'PHONE_NUMBER'
    """

    type: Literal["PHONE_NUMBER"] = "PHONE_NUMBER"
    title: str
    phone: str

    field_rules: ClassVar[Mapping[str, FieldRule]] = {"title": _CTA_TITLE, "phone": Phone()}


class CopyCodeAction(_Action):
    """A button that copies ``code`` (which may be a variable); WhatsApp shows it as "Copy Code".

    >>> CopyCodeAction(code="{{promo_code}}").title
    'Copy Code'
    """

    type: Literal["COPY_CODE"] = "COPY_CODE"
    title: str = "Copy Code"
    code: str

    field_rules: ClassVar[Mapping[str, FieldRule]] = {
        "title": _CTA_TITLE,
        # Twilio documents no limit of its own for the code; 1,600 is its limit for any value.
        # WhatsApp's 15-character limit for the code is checked by the WhatsApp lint.
        "code": Text.of(facts.ANY_VALUE, variables=True),
    }


class VoiceCallAction(_Action):
    """A WhatsApp voice-call button (private beta).

    ``ttl_minutes`` is accepted for old drafts but dropped: it is not in the Content API's action
    schema (``#/components/schemas/callToActionAction``) and twilio-python never sends it.

    >>> VoiceCallAction(title="Call now").to_twilio()
    {'type': 'VOICE_CALL', 'title': 'Call now'}
    """

    type: Literal["VOICE_CALL"] = "VOICE_CALL"
    title: str

    field_rules: ClassVar[Mapping[str, FieldRule]] = {"title": _CTA_TITLE}

    @model_validator(mode="before")
    @classmethod
    def _drop_ttl(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "ttl_minutes" in data:
            return {key: value for key, value in data.items() if key != "ttl_minutes"}
        return data


class VoiceCallRequestAction(_Action):
    """A button asking the user for permission to call (``VOICE_CALL_REQUEST``, listed by the
    Content API's ``callToActionActionType`` enum; call-to-action only).

    >>> VoiceCallRequestAction(title="May we call?").to_twilio()
    {'type': 'VOICE_CALL_REQUEST', 'title': 'May we call?'}
    """

    type: Literal["VOICE_CALL_REQUEST"] = "VOICE_CALL_REQUEST"
    title: str

    field_rules: ClassVar[Mapping[str, FieldRule]] = {"title": _CTA_TITLE}


TwilioAction = Annotated[
    QuickReplyAction | UrlAction | PhoneAction | CopyCodeAction | VoiceCallAction | VoiceCallRequestAction,
    Field(discriminator="type"),
]

ACTION_CLASSES: dict[str, type[_Action]] = {
    "QUICK_REPLY": QuickReplyAction,
    "URL": UrlAction,
    "PHONE_NUMBER": PhoneAction,
    "COPY_CODE": CopyCodeAction,
    "VOICE_CALL": VoiceCallAction,
    "VOICE_CALL_REQUEST": VoiceCallRequestAction,
}


@dataclass(frozen=True)
class ActionList:
    """Rules for a context's ``actions`` list; checked on the raw items, so they are reported
    even when an action itself is invalid."""

    where: str
    min_items: int = 1
    max_items: int = facts.MAX_ACTIONS.value
    max_note: str = facts.MAX_ACTIONS.note

    @property
    def allowed(self) -> tuple[str, ...]:
        """The action types of the Content API's enum for this content type."""
        return facts.ACTION_TYPES[self.where]

    def check(self, name: str, actions: list[Any]) -> list[Issue]:
        types = [_raw(action, "type") for action in actions]
        return self._count_issues(name, len(actions)) + self._type_issues(types) + _duplicate_id_issues(actions)

    def _count_issues(self, name: str, count: int) -> list[Issue]:
        if count < self.min_items:
            message = f"{name} is empty; {self.where} needs at least {self.min_items} button; add one"
            return [Issue("", "too_few_actions", message, limit=self.min_items, source=facts.TWILIO)]
        if count > self.max_items:
            note = f" ({self.max_note})" if self.max_note else ""
            message = (
                f"{name} has {count} buttons; Twilio allows at most {self.max_items}{note}. "
                f"Remove {count - self.max_items}."
            )
            return [Issue("", "too_many_actions", message, limit=self.max_items, source=facts.TWILIO)]
        return []

    def _type_issues(self, types: list[Any]) -> list[Issue]:
        message = "{} buttons are not allowed in {} (Twilio's Content API); use " + ", ".join(self.allowed)
        return [
            Issue(f"[{i}].type", "action_type_not_allowed", message.format(kind, self.where), source=facts.TWILIO)
            for i, kind in enumerate(types)
            if isinstance(kind, str) and kind in ACTION_CLASSES and kind not in self.allowed
        ]


def _duplicate_id_issues(actions: list[Any]) -> list[Issue]:
    seen: dict[Any, int] = {}
    issues = []
    for index, action in enumerate(actions):
        action_id = _raw(action, "id")
        if _raw(action, "type") != "QUICK_REPLY" or not isinstance(action_id, str):
            continue
        if action_id in seen:
            message = (
                f"id {action_id!r} is already used by actions[{seen[action_id]}]; quick-reply ids "
                "must be unique so replies can be told apart"
            )
            issues.append(Issue(f"[{index}].id", "duplicate_id", message))
        seen.setdefault(action_id, index)
    return issues


def _raw(action: Any, key: str) -> Any:
    if isinstance(action, Mapping):
        return action.get(key)
    return getattr(action, key, None) if isinstance(action, BaseModel) else None
