"""Turn a raw ``content_context_json`` into a validated context, or into every Issue it has."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from campaign_sdk._exceptions import Issue, TemplateValidationError
from campaign_sdk.schemas._content import ContentContext, _ContentBase, context_class
from campaign_sdk.schemas._issues import issues_from_error
from campaign_sdk.schemas._variables import find_variables, unique
from campaign_sdk.schemas._walk import TextField, iter_text

RawContext = str | Mapping[str, Any] | ContentContext


def parse_content_context(content_type: str, context: RawContext) -> ContentContext:
    """Validate ``context`` (a JSON string, a dict or a model) as a ``content_type`` context.

    Raises :class:`UnknownContentTypeError` for an unsupported type and
    :class:`TemplateValidationError` listing every problem at once otherwise.

    >>> parse_content_context("twilio/text", '{"body": "Hi {{lead_name}}"}')
    TwilioTextContext(body='Hi {{lead_name}}')
    >>> parse_content_context("twilio/text", {"body": ""}).body
    Traceback (most recent call last):
      ...
    campaign_sdk._exceptions.TemplateValidationError: The twilio/text template has 1 problem(s):
      - body: body is empty; write some text (or leave the field out if it is optional) [min_length]
    Fix the fields listed above and validate again.
    """
    cls = context_class(content_type)
    if isinstance(context, _ContentBase):
        return _same_type(cls, context)
    data = _load(content_type, context)
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise TemplateValidationError(issues_from_error(exc), content_type=content_type) from exc


def validate_context(content_type: str, context: RawContext) -> list[Issue]:
    """Every problem of ``context`` as a list (empty when it is valid); never raises for bad data.

    An unknown content type, invalid JSON or a non-object context come back as a single Issue.

    >>> [issue.rule for issue in validate_context("twilio/text", {"body": "x" * 1601, "foo": 1})]
    ['max_length', 'extra_field']
    """
    try:
        parse_content_context(content_type, context)
    except TemplateValidationError as exc:  # UnknownContentTypeError included
        return exc.issues
    return []


def find_and_validate_variables(
    context: RawContext,
    content_type: str | None = None,
    *,
    custom_variable_keys: Iterable[str] | None = None,
    context_variables: Iterable[str] | None = None,
) -> list[str]:
    """The unique variable keys of ``context`` in order of first appearance, after checking them.

    ``context`` is a model, or a raw dict / JSON string (then ``content_type`` is required).
    Raises one :class:`TemplateValidationError` with every problem: malformed placeholders,
    variables where they are not allowed, too many variables, any other template problem, and -
    when ``custom_variable_keys`` or ``context_variables`` is given - each variable that neither
    provides (rule ``variable_not_provided``).

    >>> find_and_validate_variables({"body": "Hi {{lead_name}}, {{lead_name}}!"}, "twilio/text")
    ['lead_name']
    >>> find_and_validate_variables(
    ...     {"body": "Hi {{lead_name}}, use {{code}}"}, "twilio/text", custom_variable_keys=["lead_name"]
    ... )
    Traceback (most recent call last):
      ...
    campaign_sdk._exceptions.TemplateValidationError: The twilio/text template has 1 problem(s):
      - body: {{code}} is not provided: ...
    Fix the fields listed above and validate again.
    """
    if isinstance(context, _ContentBase):
        content_type = content_type or context.content_type
    elif content_type is None:
        raise TypeError("content_type is required when the context is a dict or a JSON string")
    context_class(content_type)
    data = context if isinstance(context, _ContentBase) else _load(content_type, context)
    issues = validate_context(content_type, data)
    fields = list(iter_text(data))
    if custom_variable_keys is not None or context_variables is not None:
        issues += _not_provided(fields, set(custom_variable_keys or ()), set(context_variables or ()))
    if issues:
        raise TemplateValidationError(issues, content_type=content_type)
    return unique(key for field in fields for key in find_variables(field.text))


def _not_provided(fields: list[TextField], custom: set[str], defaults: set[str]) -> list[Issue]:
    issues, seen = [], set(custom | defaults)
    for field in fields:
        for key in find_variables(field.text):
            if key in seen:
                continue
            seen.add(key)
            issues.append(
                Issue(field.path, "variable_not_provided", _not_provided_message(key, custom, defaults))
            )
    return issues


def _not_provided_message(key: str, custom: set[str], defaults: set[str]) -> str:
    return (
        f"{{{{{key}}}}} is not provided: the leads' custom variables are {_listed(custom)} and the "
        f"template's context variables are {_listed(defaults)}. Add a {key!r} value to every lead "
        f"(a {key!r} column) or remove {{{{{key}}}}} from the template."
    )


def _listed(keys: set[str]) -> str:
    return "[" + ", ".join(sorted(keys)) + "]" if keys else "[] (none)"


def _same_type(cls: type[_ContentBase], context: _ContentBase) -> ContentContext:
    if isinstance(context, cls):
        return context
    message = f"got a {type(context).__name__} ({context.content_type}) for content type {cls.content_type}"
    raise TemplateValidationError([Issue("content_type", "content_type_mismatch", message)])


def _load(content_type: str, context: str | Mapping[str, Any]) -> dict[str, Any]:
    data: Any = context
    if isinstance(context, str | bytes):
        try:
            data = json.loads(context)
        except json.JSONDecodeError as exc:
            message = f"the context is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
            raise TemplateValidationError(
                [Issue("context", "invalid_json", message)], content_type=content_type
            ) from exc
    if not isinstance(data, Mapping):
        message = f"the context must be a JSON object (a dict), not {type(data).__name__}"
        raise TemplateValidationError([Issue("context", "wrong_type", message)], content_type=content_type)
    return dict(data)
