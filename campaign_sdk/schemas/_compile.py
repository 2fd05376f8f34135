"""Compile named variables to WhatsApp's numbered form, and render previews with values filled in."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from campaign_sdk._exceptions import Issue, TemplateValidationError
from campaign_sdk.facts.content import ANY_VALUE, Limit
from campaign_sdk.schemas._content import ContentContext
from campaign_sdk.schemas._rules import Text, char_count
from campaign_sdk.schemas._variables import find_variables, substitute, unique
from campaign_sdk.schemas._walk import iter_text, map_text

ContextT = TypeVar("ContextT", bound=ContentContext)
Missing = Literal["error", "keep", "mark"]

MAX_VALUE_LENGTH = ANY_VALUE.value


@dataclass(frozen=True)
class CompiledTemplate(Generic[ContextT]):
    """A context in numbered form plus the ``name -> number`` mapping, in order of first appearance.

    >>> from campaign_sdk.schemas import TwilioTextContext
    >>> compiled = compile_variables(TwilioTextContext(body="Hi {{lead_name}}, order {{order_id}}"))
    >>> compiled.context.body, compiled.mapping
    ('Hi {{1}}, order {{2}}', {'lead_name': '1', 'order_id': '2'})
    >>> compiled.to_json({"lead_name": "Ana", "order_id": "A-7"})
    '{"1": "Ana", "2": "A-7"}'
    """

    context: ContextT
    mapping: dict[str, str] = field(default_factory=dict)

    def content_variables(self, values: Mapping[str, Any]) -> dict[str, str]:
        """The numbered values Twilio needs at send time, from values keyed by variable name.

        A missing or empty value fails the send with Twilio error 21656, so it is refused here.
        """
        limits = type(self.context).value_limits
        issues = [
            issue for name in self.mapping if (issue := _value_issue(name, values.get(name), limits.get(name)))
        ]
        if issues:
            raise TemplateValidationError(issues, content_type=self.context.content_type)
        return {number: str(values[name]) for name, number in self.mapping.items()}

    def to_json(self, values: Mapping[str, Any]) -> str:
        """``ContentVariables`` for a send: a JSON *string*, as Twilio requires (not a dict)."""
        return json.dumps(self.content_variables(values), ensure_ascii=False)


def compile_variables(context: ContextT) -> CompiledTemplate[ContextT]:
    """Number the variables of ``context`` in order of first appearance (title, body, subtitle,
    media, then actions in order); numbered keys already in the template keep their number and
    names take the lowest numbers still free.

    >>> from campaign_sdk.schemas import TwilioTextContext
    >>> compile_variables(TwilioTextContext(body="{{2}} and {{name}} and {{1}}")).mapping
    {'2': '2', 'name': '3', '1': '1'}
    """
    mapping = _number(_keys(context))
    for name, number in type(context).implicit_variables.items():  # e.g. the OTP of an authentication
        mapping.setdefault(name, number)
    numbered = map_text(context, lambda f: substitute(f.text, lambda key: "{{" + mapping[key] + "}}"))
    # Validated again so a compiled template is always a valid one of the same type.
    validated = type(context).model_validate(numbered.model_dump())
    return CompiledTemplate(validated, mapping)


def render_preview(
    context: ContextT, variables: Mapping[str, Any], *, missing: Missing = "error"
) -> ContextT:
    """``context`` with every variable replaced by its value from ``variables``.

    ``missing``: ``"error"`` raises :class:`TemplateValidationError` naming missing or empty values
    and any field over its limit once filled in (``rendered_too_long``); ``"keep"`` leaves
    ``{{key}}``; ``"mark"`` writes ``[missing: key]``.

    >>> from campaign_sdk.schemas import TwilioTextContext
    >>> text = TwilioTextContext(body="Hi {{lead_name}} {{x}}")
    >>> render_preview(text, {"lead_name": "Ana"}, missing="mark").body
    'Hi Ana [missing: x]'
    """
    absent = [key for key in _keys(context) if _is_missing(variables.get(key))]
    rendered = map_text(
        context, lambda f: substitute(f.text, lambda key: _fill(key, variables, absent, missing))
    )
    if missing == "error":
        issues = _missing_issues(context, absent) + _rendered_issues(rendered)
        if issues:
            raise TemplateValidationError(issues, content_type=context.content_type)
    return rendered


def preview_text(context: ContentContext, variables: Mapping[str, Any], **options: Any) -> str:
    """A plain-text rendering: header, title, body, media URLs, subtitle / footer, then buttons as
    ``[ title ]``; carousel cards, list items and locations each get their lines.

    ``options`` go to :func:`render_preview` (e.g. ``missing="keep"``).

    >>> from campaign_sdk.schemas import TwilioQuickReplyContext
    >>> yes = {"type": "QUICK_REPLY", "title": "Yes", "id": "y"}
    >>> qr = TwilioQuickReplyContext(body="Coming, {{lead_name}}?", actions=[yes])
    >>> print(preview_text(qr, {"lead_name": "Ana"}))
    Coming, Ana?
    [ Yes ]
    """
    rendered = render_preview(context, variables, **options)
    if rendered.content_type == "whatsapp/authentication":
        return _otp_text(rendered, variables)
    return "\n".join(part for part in _lines(rendered) if part)


def _lines(item: Any) -> list[str]:
    parts = [getattr(item, name, None) for name in ("header_text", "title", "body")]
    media = getattr(item, "media", None)
    parts += [media] if isinstance(media, str) else list(media or [])
    parts += [getattr(item, name, None) for name in ("subtitle", "footer", "label", "address")]
    if isinstance(getattr(item, "latitude", None), int | float):
        parts.append(f"📍 {item.latitude}, {item.longitude}")
    parts += [f"[ {action.title} ]" for action in getattr(item, "actions", None) or []]
    for index, card in enumerate(getattr(item, "cards", None) or []):
        parts += [f"--- card {index + 1} ---", *_lines(card)]
    if isinstance(getattr(item, "button", None), str):
        parts.append(f"[ {item.button} ]")
    for entry in getattr(item, "items", None) or []:
        text = getattr(entry, "item", None) or getattr(entry, "name", None) or getattr(entry, "id", None)
        description = getattr(entry, "description", None)
        parts.append(f"• {text}" + (f" - {description}" if description else ""))
    return [part for part in parts if isinstance(part, str)]


def _otp_text(context: Any, variables: Mapping[str, Any]) -> str:
    """WhatsApp's preset authentication text (Meta's copy-code template page)."""
    code = variables.get("otp") or variables.get("1") or "{{1}}"
    lines = [f"{code} is your verification code."]
    if context.add_security_recommendation:
        lines[0] += " For your security, do not share this code."
    if context.code_expiration_minutes:
        lines.append(f"This code expires in {context.code_expiration_minutes} minutes.")
    lines += [f"[ {action.copy_code_text} ]" for action in context.actions]
    return "\n".join(lines)


def _number(keys: list[str]) -> dict[str, str]:
    taken = {int(key) for key in keys if key.isdigit()}
    mapping: dict[str, str] = {}
    candidate = 1
    for key in keys:
        if key.isdigit():
            mapping[key] = key
            continue
        while candidate in taken:
            candidate += 1
        mapping[key] = str(candidate)
        taken.add(candidate)
    return mapping


def _keys(context: ContentContext) -> list[str]:
    return unique(key for f in iter_text(context) for key in find_variables(f.text))


def _fill(key: str, variables: Mapping[str, Any], absent: list[str], missing: Missing) -> str:
    if key not in absent:
        return str(variables[key])
    return f"[missing: {key}]" if missing == "mark" else "{{" + key + "}}"


def _is_missing(value: Any) -> bool:
    return value is None or not str(value).strip()


def _value_issue(name: str, value: Any, limit: Limit | None = None) -> Issue | None:
    shown = "{{" + name + "}}"
    if _is_missing(value):
        rule = "missing_value" if value is None else "empty_value"
        message = f"no value for {shown}: a null or empty value fails the send with Twilio error 21656"
        return Issue(name, rule, message + "; give every lead a value")
    length = char_count(str(value))  # UTF-16 code units, as every other limit (facts.COUNT_UNIT)
    if length > MAX_VALUE_LENGTH:
        message = (
            f"the value for {shown} is {length:,} characters; Twilio allows at most {MAX_VALUE_LENGTH:,}"
        )
        return Issue(name, "value_too_long", message, limit=MAX_VALUE_LENGTH, source=ANY_VALUE.source,
                     url=ANY_VALUE.url)
    if limit is not None and length > limit.value:
        message = f"the value for {shown} is {length:,} characters; at most {limit.value} are allowed ({limit.note})"
        return Issue(name, "value_too_long", message, limit=limit.value, source=limit.source, url=limit.url)
    return None


def _missing_issues(context: ContentContext, absent: list[str]) -> list[Issue]:
    first: dict[str, str] = {}
    for f in iter_text(context):
        for key in find_variables(f.text):
            first.setdefault(key, f.path)
    message = "no value (or an empty one) for {{{{{}}}}}; give one, or preview with missing='keep' or 'mark'"
    return [Issue(first[key], "missing_value", message.format(key)) for key in absent]


def _rendered_issues(rendered: ContentContext) -> list[Issue]:
    issues = []
    for f in iter_text(rendered):
        rule = getattr(type(f.owner), "field_rules", {}).get(f.name)
        if isinstance(rule, Text) and (issue := rule.rendered_issue(f.path, f.text)):
            issues.append(issue)
    return issues
