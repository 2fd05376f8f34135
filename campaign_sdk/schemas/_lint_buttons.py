"""WhatsApp's rules for buttons and media (rule codes ``wa_*``), on a compiled context.

Sources: Meta's template components page (``facts.WA_*``): at most 10 buttons (which Twilio's
Content API enforces already, see ``ActionList``), 2 URL, 1 phone
number (a voice-call button counts as one, as Twilio's call-to-action page says), 1 copy code
(code at most 15 characters), quick replies grouped together, URLs at most 2,000 characters; one
media header (one attachment) per template.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from campaign_sdk._exceptions import Issue
from campaign_sdk.facts import content as facts
from campaign_sdk.schemas._rules import char_count
from campaign_sdk.schemas._variables import find_variables


def _issue(field: str, rule: str, message: str, limit: facts.Limit) -> Issue:
    return Issue(field, rule, message, limit=limit.value, source=limit.source, url=limit.url)


def button_issues(actions: Sequence[Any], samples: Mapping[str, str] | None) -> list[Issue]:
    """Every WhatsApp button rule broken by ``actions`` (models of a card / call-to-action)."""
    types = [action.type for action in actions]
    issues = []
    counted = (
        ("URL", types.count("URL"), facts.WA_MAX_URL_BUTTONS, "wa_too_many_url_buttons", "URL buttons"),
        ("PHONE", types.count("PHONE_NUMBER") + types.count("VOICE_CALL"), facts.WA_MAX_PHONE_BUTTONS,
         "wa_too_many_phone_buttons", "phone-call buttons (PHONE_NUMBER and VOICE_CALL together)"),
        ("COPY_CODE", types.count("COPY_CODE"), facts.WA_MAX_COPY_CODE_BUTTONS, "wa_too_many_copy_code_buttons",
         "copy-code buttons"),
    )
    for _, count, limit, rule, what in counted:
        if count > limit.value:
            message = (
                f"the template has {count} {what}; WhatsApp allows at most {limit.value}. "
                f"Remove {count - limit.value}."
            )
            issues.append(_issue("actions", rule, message, limit))
    issues += _grouping_issues(types)
    for index, action in enumerate(actions):
        issues += _action_issues(f"actions[{index}]", action, samples)
    return issues


def _grouping_issues(types: list[str]) -> list[Issue]:
    quick = [i for i, kind in enumerate(types) if kind == "QUICK_REPLY"]
    if not quick or quick[-1] - quick[0] + 1 == len(quick):
        return []
    message = (
        "the quick-reply buttons are split by other buttons; WhatsApp needs all quick replies "
        "together (before or after the other buttons). Move them next to each other"
    )
    return [_issue("actions", "wa_quick_replies_not_grouped", message, facts.WA_MAX_BUTTONS)]


def _action_issues(path: str, action: Any, samples: Mapping[str, str] | None) -> list[Issue]:
    issues = []
    if action.type == "COPY_CODE":
        code = _filled(action.code, samples)
        if code is not None and char_count(code) > facts.WA_COPY_CODE.value:
            message = (
                f"the copy code {'sample ' if code != action.code else ''}is {char_count(code)} characters; "
                f"WhatsApp allows at most {facts.WA_COPY_CODE.value}. Use a shorter code"
            )
            issues.append(_issue(f"{path}.code", "wa_code_too_long", message, facts.WA_COPY_CODE))
    if action.type == "URL" and char_count(action.url) > facts.WA_URL.value:
        message = f"the URL is {char_count(action.url):,} characters; WhatsApp allows at most {facts.WA_URL.value:,}"
        issues.append(_issue(f"{path}.url", "wa_url_too_long", message + ". Use a shorter link", facts.WA_URL))
    return issues


def _filled(text: str, samples: Mapping[str, str] | None) -> str | None:
    """``text`` with its variables replaced by samples; None when a sample is missing."""
    keys = find_variables(text)
    if not keys:
        return text
    if not samples or any(key not in samples for key in keys):
        return None
    for key in keys:
        text = text.replace("{{" + key + "}}", str(samples[key]))
    return text


def media_issues(context: Any) -> list[Issue]:
    """More than one media URL where WhatsApp takes a single header / attachment."""
    media = getattr(context, "media", None)
    if not isinstance(media, list) or len(media) <= facts.WA_MEDIA_HEADERS.value:
        return []
    message = (
        f"the template has {len(media)} media URLs; WhatsApp carries one attachment (one media header) "
        "per template. Keep one"
    )
    return [_issue("media", "wa_one_media", message, facts.WA_MEDIA_HEADERS)]
