"""Twilio content actions (buttons) and the rules a list of them must follow."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, Field

from campaign_sdk._exceptions import Issue
from campaign_sdk.schemas._rules import STRICTER, FieldRule, Phone, Range, RuleModel, Text, Url

_TITLE_NOTE = f"some WhatsApp pages say 25; {STRICTER}"
_BUTTON_TITLE = Text(20, note=_TITLE_NOTE, no_variables="button titles cannot hold variables")


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
        "title": Text(
            20,
            note=_TITLE_NOTE,
            no_variables="quick-reply titles take variables only in-session, never in an approved template",
        ),
        "id": Text(
            128,
            note=f"Twilio allows 200 but WhatsApp approved templates allow 128; {STRICTER}",
            no_variables="quick-reply ids cannot hold variables",
        ),
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
        "title": _BUTTON_TITLE,
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

    field_rules: ClassVar[Mapping[str, FieldRule]] = {"title": _BUTTON_TITLE, "phone": Phone()}


class CopyCodeAction(_Action):
    """A button that copies ``code`` (which may be a variable); WhatsApp shows it as "Copy Code".

    >>> CopyCodeAction(code="{{promo_code}}").title
    'Copy Code'
    """

    type: Literal["COPY_CODE"] = "COPY_CODE"
    title: str = "Copy Code"
    code: str

    field_rules: ClassVar[Mapping[str, FieldRule]] = {
        "title": _BUTTON_TITLE,
        # Twilio documents no limit of its own for the code; 1,600 is its limit for any value.
        "code": Text(1600, variables=True),
    }


class VoiceCallAction(_Action):
    """A WhatsApp voice-call button (private beta) valid for ``ttl_minutes`` after sending.

    >>> VoiceCallAction(title="Call now").ttl_minutes
    10080
    """

    type: Literal["VOICE_CALL"] = "VOICE_CALL"
    title: str
    ttl_minutes: int = 10080

    field_rules: ClassVar[Mapping[str, FieldRule]] = {
        "title": _BUTTON_TITLE,
        "ttl_minutes": Range(1, 43200, unit=" minutes (30 days)"),
    }


TwilioAction = Annotated[
    QuickReplyAction | UrlAction | PhoneAction | CopyCodeAction | VoiceCallAction,
    Field(discriminator="type"),
]

ACTION_CLASSES: dict[str, type[_Action]] = {
    "QUICK_REPLY": QuickReplyAction,
    "URL": UrlAction,
    "PHONE_NUMBER": PhoneAction,
    "COPY_CODE": CopyCodeAction,
    "VOICE_CALL": VoiceCallAction,
}


@dataclass(frozen=True)
class ActionList:
    """Rules for a context's ``actions`` list; checked on the raw items, so they are reported
    even when an action itself is invalid."""

    where: str
    allowed: tuple[str, ...] = tuple(ACTION_CLASSES)
    min_items: int = 1
    max_items: int = 10
    max_note: str = "WhatsApp's limit"
    max_url: int | None = None
    max_calls: int | None = None

    def check(self, name: str, actions: list[Any]) -> list[Issue]:
        types = [_raw(action, "type") for action in actions]
        return (
            self._count_issues(name, len(actions))
            + self._type_issues(types)
            + self._limit_issues(name, types)
            + _duplicate_id_issues(actions)
        )

    def _count_issues(self, name: str, count: int) -> list[Issue]:
        if count < self.min_items:
            message = f"{name} is empty; {self.where} needs at least {self.min_items} button"
            return [Issue("", "too_few_actions", message)]
        if count > self.max_items:
            message = (
                f"{name} has {count} buttons; Twilio allows at most {self.max_items} "
                f"({self.max_note}). Remove {count - self.max_items}."
            )
            return [Issue("", "too_many_actions", message)]
        return []

    def _type_issues(self, types: list[Any]) -> list[Issue]:
        message = "{} buttons are not allowed in {}; use " + ", ".join(self.allowed)
        return [
            Issue(f"[{i}].type", "action_type_not_allowed", message.format(kind, self.where))
            for i, kind in enumerate(types)
            if kind in ACTION_CLASSES and kind not in self.allowed
        ]

    def _limit_issues(self, name: str, types: list[Any]) -> list[Issue]:
        issues = []
        urls = types.count("URL")
        if self.max_url is not None and urls > self.max_url:
            message = (
                f"{name} has {urls} URL buttons; WhatsApp allows at most {self.max_url}. "
                f"Remove {urls - self.max_url}."
            )
            issues.append(Issue("", "too_many_url_buttons", message))
        calls = types.count("PHONE_NUMBER") + types.count("VOICE_CALL")
        if self.max_calls is not None and calls > self.max_calls:
            message = (
                f"{name} has {calls} call buttons; WhatsApp allows at most {self.max_calls} "
                "PHONE_NUMBER or VOICE_CALL button (the two combined). Keep one."
            )
            issues.append(Issue("", "too_many_call_buttons", message))
        return issues


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
