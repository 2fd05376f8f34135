"""WhatsApp approval lint: catch locally what Meta rejects. Rule codes start with ``wa_``.

The lint works on the compiled (numbered) form, the one WhatsApp reviews; messages name both the
number and the original name (``{{1}} ({{lead_name}})``). For ``twilio/card`` the title is the
text WhatsApp reviews as the message body, so the body rules apply to it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

import emoji

from campaign_sdk._exceptions import Issue, TemplateValidationError
from campaign_sdk.schemas._compile import compile_variables
from campaign_sdk.schemas._content import ContentContext, TwilioCardContext, TwilioMediaContext
from campaign_sdk.schemas._variables import find_variables
from campaign_sdk.schemas._walk import iter_text

MAX_EMOJIS = 10
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
_AT_END = re.compile(r"\{\{(\w+)\}\}\Z")
_ADJACENT = re.compile(r"\{\{(\w+)\}\}\s*(?=\{\{(\w+)\}\})")
_SPACES = re.compile(r" {5,}")
_WA_ME = re.compile(r"(?<![\w.])wa\.me/", re.IGNORECASE)


def lint_whatsapp(context: ContentContext, *, samples: Mapping[str, str] | None = None) -> list[Issue]:
    """Every reason WhatsApp is likely to reject ``context`` as a template (empty list: none found).

    ``samples`` are the example values sent for approval, keyed by name (``lead_name``) or number
    (``1``). When given (non-empty), every variable needs one and none may hold a line break, a tab
    or more than 4 consecutive spaces. An empty mapping counts as no samples given.

    >>> from campaign_sdk.schemas import TwilioTextContext
    >>> [i.rule for i in lint_whatsapp(TwilioTextContext(body="{{lead_name}}, your order shipped"))]
    ['wa_variable_at_start']
    """
    compiled = compile_variables(context)
    numbered, labels = compiled.context, _labels(compiled.mapping)
    issues = _media_body_issues(numbered) + _main_text_issues(numbered, labels)
    issues += _title_issues(numbered) + _link_issues(numbered) + _gap_issues(compiled.mapping)
    if samples:
        issues += _sample_issues(compiled.mapping, samples, labels)
    return issues


def check_whatsapp(context: ContentContext, *, samples: Mapping[str, str] | None = None) -> None:
    """Raise :class:`TemplateValidationError` with every :func:`lint_whatsapp` issue, if any.

    >>> from campaign_sdk.schemas import TwilioTextContext
    >>> check_whatsapp(TwilioTextContext(body="Hi {{lead_name}}, your order has shipped."))
    """
    issues = lint_whatsapp(context, samples=samples)
    if issues:
        raise TemplateValidationError(issues, content_type=context.content_type)


def _labels(mapping: Mapping[str, str]) -> dict[str, str]:
    """number -> how to show it: ``{{1}}``, or ``{{1}} ({{lead_name}})`` for a named variable."""
    return {
        number: "{{" + number + "}}" + ("" if name == number else " ({{" + name + "}})")
        for name, number in mapping.items()
    }


def _media_body_issues(context: ContentContext) -> list[Issue]:
    if isinstance(context, TwilioMediaContext) and not context.body:
        message = "WhatsApp approval needs a body on twilio/media; add a short caption"
        return [Issue("body", "wa_media_body_required", message)]
    return []


def _main_text_issues(context: ContentContext, labels: Mapping[str, str]) -> list[Issue]:
    field = "title" if isinstance(context, TwilioCardContext) else "body"
    text: str | None = getattr(context, field)
    if not text:
        return []
    checks = (_edge_issues, _adjacent_issues, _word_issues, _whitespace_issues, _emoji_issues)
    return [Issue(field, rule, message) for check in checks for rule, message in check(field, text, labels)]


def _edge_issues(field: str, text: str, labels: Mapping[str, str]) -> list[tuple[str, str]]:
    core = _strip_punctuation(text)
    why = "WhatsApp rejects a variable at the start or end, and punctuation next to it does not help"
    found = []
    if first := _PLACEHOLDER.match(core):
        message = f"the {field} starts with {labels[first.group(1)]} ({why}); put words before it"
        found.append(("wa_variable_at_start", message))
    if last := _AT_END.search(core):
        message = f"the {field} ends with {labels[last.group(1)]} ({why}); put words after it"
        found.append(("wa_variable_at_end", message))
    return found


def _adjacent_issues(field: str, text: str, labels: Mapping[str, str]) -> list[tuple[str, str]]:
    message = (
        "{} and {} are next to each other in the {}; WhatsApp rejects adjacent variables "
        "(spaces alone do not separate them). Put words between them"
    )
    return [
        ("wa_adjacent_variables", message.format(labels[m.group(1)], labels[m.group(2)], field))
        for m in _ADJACENT.finditer(text)
    ]


def _word_issues(field: str, text: str, labels: Mapping[str, str]) -> list[tuple[str, str]]:
    variables = len(find_variables(text))
    words = sum(1 for token in _PLACEHOLDER.sub(" ", text).split() if any(c.isalnum() for c in token))
    needed = 2 * variables + 1
    if not variables or words >= needed:
        return []
    message = (
        f"the {field} has {variables} variable(s) but only {words} other word(s); WhatsApp wants at "
        f"least {needed} (2 per variable + 1). Add more text or use fewer variables"
    )
    return [("wa_too_few_words", message)]


def _whitespace_issues(field: str, text: str, labels: Mapping[str, str]) -> list[tuple[str, str]]:
    found = []
    if "\t" in text:
        found.append(("wa_tab", f"the {field} contains a tab; WhatsApp rejects tabs. Use spaces"))
    if _SPACES.search(text):
        message = f"the {field} has more than 4 consecutive spaces; WhatsApp rejects that. Use fewer"
        found.append(("wa_consecutive_spaces", message))
    return found


def _emoji_issues(field: str, text: str, labels: Mapping[str, str]) -> list[tuple[str, str]]:
    count = emoji.emoji_count(text)
    if count <= MAX_EMOJIS:
        return []
    message = f"the {field} has {count} emojis; WhatsApp rejects more than {MAX_EMOJIS}. Remove some"
    return [("wa_too_many_emojis", message)]


def _title_issues(context: ContentContext) -> list[Issue]:
    if isinstance(context, TwilioCardContext) and ("\n" in context.title or "\r" in context.title):
        message = "the card title has a line break; WhatsApp rejects line breaks there. Keep it on one line"
        return [Issue("title", "wa_newline_in_title", message)]
    return []


def _link_issues(context: ContentContext) -> list[Issue]:
    message = "{} has a wa.me link; WhatsApp rejects templates with wa.me links. Link to your own site"
    return [
        Issue(f.path, "wa_wa_me_link", message.format(f.path))
        for f in iter_text(context)
        if _WA_ME.search(f.text)
    ]


def _gap_issues(mapping: Mapping[str, str]) -> list[Issue]:
    numbers = sorted({int(number) for number in mapping.values()})
    expected = list(range(1, len(numbers) + 1))
    if numbers == expected:
        return []
    skipped = sorted(set(range(1, max(numbers) + 1)) - set(numbers))
    used = ", ".join("{{" + str(n) + "}}" for n in numbers)
    message = (
        f"the variables are numbered {used}, skipping {', '.join('{{' + str(n) + '}}' for n in skipped)}; "
        "WhatsApp needs {{1}} to {{n}} with no gaps. Renumber them, or use names and let the SDK number them"
    )
    return [Issue("template", "wa_variable_gap", message)]


def _sample_issues(
    mapping: Mapping[str, str], samples: Mapping[str, str], labels: Mapping[str, str]
) -> list[Issue]:
    issues = []
    for name, number in mapping.items():
        value = samples.get(name, samples.get(number))
        field, label = f"samples.{name}", labels[number]
        if value is None or not str(value).strip():
            message = (
                f"no sample value for {label}; WhatsApp needs one for every variable to review the template"
            )
            issues.append(Issue(field, "wa_missing_sample", message))
        elif any(char in str(value) for char in "\n\r\t") or _SPACES.search(str(value)):
            message = (
                f"the sample for {label} has a line break, a tab or more than 4 consecutive spaces; "
                "Meta forbids these in variable values. Use a single line"
            )
            issues.append(Issue(field, "wa_sample_whitespace", message))
    return issues


def _strip_punctuation(text: str) -> str:
    """``text`` without surrounding whitespace and punctuation (it does not shield a variable)."""
    start, end = 0, len(text)
    while start < end and _is_filler(text[start]):
        start += 1
    while end > start and _is_filler(text[end - 1]):
        end -= 1
    return text[start:end]


def _is_filler(char: str) -> bool:
    return char.isspace() or (char not in "{}" and unicodedata.category(char).startswith("P"))
