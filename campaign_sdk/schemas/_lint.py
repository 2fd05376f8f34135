"""WhatsApp approval lint: catch locally what Meta rejects. Rule codes start with ``wa_``.

The lint works on the compiled (numbered) form, the one WhatsApp reviews; messages name both the
number and the original name (``{{1}} ({{lead_name}})``). The body rules apply to the field
WhatsApp reviews as the body (``whatsapp_body_field()``: a card's body, or its title without one).

Issues have a severity: ``error`` for a rule Twilio or Meta documents, ``warning`` for a
heuristic (too few words per variable, emoji count, tabs / runs of spaces in the body).

A variable at the start or end of the body, or two adjacent variables: Twilio's text and
call-to-action pages say such a template "will not be approved by WhatsApp *without a sample
variable*", and its variables page says the same ("cannot be the start or end of a body string
without a sample"). So without a sample for those variables it is an error; with one it is a
warning, because Twilio's approval page still lists it as a common rejection reason
(``facts.WA_EDGE_SOURCES``).
:func:`check_whatsapp` refuses errors only. :func:`lint_channel` adds the SMS / MMS checks.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

import emoji

from campaign_sdk._exceptions import Issue, TemplateValidationError
from campaign_sdk.facts import content as facts
from campaign_sdk.schemas._compile import compile_variables
from campaign_sdk.schemas._content import ContentContext
from campaign_sdk.schemas._lint_buttons import button_issues, media_issues
from campaign_sdk.schemas._rules import char_count
from campaign_sdk.schemas._variables import find_variables
from campaign_sdk.schemas._walk import iter_text

MAX_EMOJIS = facts.WA_MAX_EMOJIS
_WA = facts.WHATSAPP_SOURCE
_WARN = "warning"
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
_AT_END = re.compile(r"\{\{(\w+)\}\}\Z")
_ADJACENT = re.compile(r"\{\{(\w+)\}\}\s*(?=\{\{(\w+)\}\})")
_SPACES = re.compile(f" {{{facts.WA_MAX_SPACES + 1},}}")  # more than 4 consecutive spaces
_WA_ME = re.compile(r"(?<![\w.])wa\.me/", re.IGNORECASE)


def lint_whatsapp(context: ContentContext, *, samples: Mapping[str, str] | None = None) -> list[Issue]:
    """Every reason WhatsApp is likely to reject ``context`` as a template (empty list: none found).

    ``samples`` are the example values sent for approval, keyed by name (``lead_name``) or number
    (``1``). When given (a mapping, even empty), every variable needs one, and none may be empty,
    hold a line break, a tab or more than 4 consecutive spaces (Meta's rules for values).

    >>> from campaign_sdk.schemas import TwilioTextContext
    >>> [i.rule for i in lint_whatsapp(TwilioTextContext(body="{{lead_name}}, your order shipped"))]
    ['wa_variable_at_start']
    """
    compiled = compile_variables(context)
    numbered, labels = compiled.context, _labels(compiled.mapping)
    named = _named_samples(compiled.mapping, samples)
    issues = _session_issues(numbered) + _media_body_issues(numbered) + _main_text_issues(numbered, labels, named)
    issues += _title_issues(numbered) + _link_issues(numbered) + _gap_issues(compiled.mapping)
    issues += media_issues(numbered) + _header_issues(numbered) + numbered.whatsapp_issues()
    if numbered.action_rule is not None and getattr(numbered, "actions", None):
        issues += button_issues(getattr(numbered, "actions"), named)  # noqa: B009 (not every type has actions)
    if samples is not None:
        implicit = set(type(context).implicit_variables)
        explicit = {name: number for name, number in compiled.mapping.items() if name not in implicit}
        issues += _sample_issues(explicit, samples, labels) + _media_sample_issues(numbered, named or {})
    return issues


_FILE_TYPE = re.compile(r"\.[A-Za-z0-9]{2,5}$")


def _media_sample_issues(context: ContentContext, samples: Mapping[str, str]) -> list[Issue]:
    """A media URL with a variable must, with its sample filled in, name a file with its type
    (Twilio's card and media pages: "The final URL must include the file type")."""
    media = getattr(context, "media", None)
    urls = [media] if isinstance(media, str) else list(media or [])
    issues = []
    for index, url in enumerate(urls):
        keys = find_variables(url)
        if not keys or any(key not in samples for key in keys):
            continue
        filled = url
        for key in keys:
            filled = filled.replace("{{" + key + "}}", samples[key])
        path = filled.split("?", 1)[0].split("#", 1)[0]
        if not _FILE_TYPE.search(path) or any(char.isspace() for char in filled):
            message = (
                f"with its sample, media[{index}] is {filled[:80]!r}, which names no file type; the sample must "
                "complete the URL of a public file, e.g. images/cart.png (Twilio's media page)"
            )
            issues.append(Issue(f"media[{index}]", "wa_media_sample", message, source=facts.TWILIO))
    return issues


def check_whatsapp(context: ContentContext, *, samples: Mapping[str, str] | None = None) -> list[Issue]:
    """Raise :class:`TemplateValidationError` with every :func:`lint_whatsapp` *error* (warnings
    are listed in the message too); returns the warnings when there is no error.

    >>> from campaign_sdk.schemas import TwilioTextContext
    >>> check_whatsapp(TwilioTextContext(body="Hi {{lead_name}}, your order has shipped."))
    []
    """
    issues = lint_whatsapp(context, samples=samples)
    if any(issue.is_error for issue in issues):
        raise TemplateValidationError(issues, content_type=context.content_type)
    return issues


def lint_channel(context: ContentContext, channel: str, *, samples: Mapping[str, str] | None = None) -> list[Issue]:
    """What ``channel`` (``"sms"``, ``"mms"``, ``"whatsapp"``, ...) refuses in ``context``.

    SMS carries ``twilio/text`` only, MMS ``twilio/media`` with at most 10 media; WhatsApp runs
    :func:`lint_whatsapp`.

    >>> from campaign_sdk.schemas import TwilioMediaContext
    >>> media = TwilioMediaContext(body="Hi", media=[f"https://example.com/{i}.jpg" for i in range(11)])
    >>> [i.rule for i in lint_channel(media, "mms")]
    ['mms_too_many_media']
    """
    channel = channel.lower()
    if channel == "whatsapp":
        return lint_whatsapp(context, samples=samples)
    supported = type(context).channels()
    if channel not in supported:
        message = (
            f"{context.content_type} can't be sent on {channel.upper()}; it goes on "
            f"{', '.join(supported) or 'no channel'} (Twilio's content types overview). Use another type"
        )
        return [Issue("content_type", "channel_not_supported", message, source=facts.TWILIO, url=facts.CHANNELS_SOURCE)]
    media = getattr(context, "media", None) or []
    limit = facts.MMS_MEDIA
    if channel == "mms" and len(media) > limit.value:
        message = f"the message has {len(media)} media; MMS carries at most {limit.value}. Remove {len(media) - limit.value}"
        return [Issue("media", "mms_too_many_media", message, limit=limit.value, source=limit.source, url=limit.url)]
    return []


def _named_samples(mapping: Mapping[str, str], samples: Mapping[str, str] | None) -> dict[str, str] | None:
    """Samples keyed by *number* (the compiled form's keys), from samples keyed by name or number."""
    if samples is None:
        return None
    out = {}
    for name, number in mapping.items():
        value = samples.get(name, samples.get(number))
        if value is not None:
            out[number] = str(value)
    return out


def _header_issues(context: ContentContext) -> list[Issue]:
    header = getattr(context, "header_text", None)
    count = len(find_variables(header)) if isinstance(header, str) else 0
    if count <= 1:
        return []
    message = f"the header text holds {count} variables; a WhatsApp header takes at most one. Keep one"
    return [Issue("header_text", "wa_header_variables", message, limit=1, source=_WA, url=facts.WA_HEADER_TEXT.url)]


def _session_issues(context: ContentContext) -> list[Issue]:
    if not type(context).in_session_only():
        return []
    message = (
        f"{context.content_type} is sent only inside a 24-hour session and can't be submitted for "
        "WhatsApp approval (Twilio's page for the type); use it in a service campaign: campaign.register_content()"
    )
    return [Issue("content_type", "wa_in_session_only", message, source=facts.TWILIO, url=facts.CHANNELS_SOURCE)]


def _labels(mapping: Mapping[str, str]) -> dict[str, str]:
    """number -> how to show it: ``{{1}}``, or ``{{1}} ({{lead_name}})`` for a named variable."""
    return {
        number: "{{" + number + "}}" + ("" if name == number else " ({{" + name + "}})")
        for name, number in mapping.items()
    }


def _media_body_issues(context: ContentContext) -> list[Issue]:
    if context.content_type == "twilio/media" and not getattr(context, "body", None):
        message = "WhatsApp approval needs a body on twilio/media (Twilio's media page); add a short caption"
        return [Issue("body", "wa_media_body_required", message, source=facts.TWILIO)]
    return []


# Rules Meta documents (errors) and heuristics (warnings), by rule code.
_HEURISTICS = frozenset({"wa_too_few_words", "wa_too_many_emojis", "wa_tab", "wa_consecutive_spaces"})


def _main_text_issues(
    context: ContentContext, labels: Mapping[str, str], samples: Mapping[str, str] | None
) -> list[Issue]:
    field = context.whatsapp_body_field()
    text: str | None = getattr(context, field) if field else None
    if not field or not text:
        return []
    issues = [
        Issue(field, rule, message, severity=_WARN if rule in _HEURISTICS else "error", source=_WA,
              url=facts.WA_SOURCE_GUIDELINES)
        for check in (_word_issues, _whitespace_issues, _emoji_issues)
        for rule, message in check(field, text, labels)
    ]
    issues = _placement_issues(field, text, labels, samples) + issues
    limit = facts.WA_BODY
    if char_count(text) > limit.value:
        message = (
            f"the {field} is {char_count(text):,} characters; WhatsApp allows at most {limit.value:,} in a "
            f"template body ({context.content_type} included). Shorten it by {char_count(text) - limit.value:,}"
        )
        issues.append(Issue(field, "wa_body_too_long", message, limit=limit.value, source=_WA, url=limit.url))
    return issues


def _placement_issues(
    field: str, text: str, labels: Mapping[str, str], samples: Mapping[str, str] | None
) -> list[Issue]:
    """Variables at the start / end of the body and adjacent variables: an error when one of the
    variables involved has no sample, a warning when all have one (see the module docstring)."""
    issues = []
    for rule, message, numbers in _edge_issues(field, text, labels) + _adjacent_issues(field, text, labels):
        sampled = samples is not None and all(str(samples.get(n) or "").strip() for n in numbers)
        if sampled:
            message += (
                ". With a sample Twilio's pages allow it, but WhatsApp reviewers often reject it "
                "(Twilio's approval page): a warning"
            )
        else:
            message += (
                ", or give a sample for it: without one WhatsApp does not approve it (Twilio's text, "
                "call-to-action and variables pages)"
            )
        issues.append(Issue(field, rule, message, severity=_WARN if sampled else "error", source=_WA,
                            url=facts.WA_EDGE_SOURCES[0]))
    return issues


def _edge_issues(field: str, text: str, labels: Mapping[str, str]) -> list[tuple[str, str, list[str]]]:
    core = _strip_punctuation(text)
    why = "WhatsApp rejects a variable at the start or end, and punctuation next to it does not help"
    found = []
    if first := _PLACEHOLDER.match(core):
        message = f"the {field} starts with {labels[first.group(1)]} ({why}); put words before it"
        found.append(("wa_variable_at_start", message, [first.group(1)]))
    if last := _AT_END.search(core):
        message = f"the {field} ends with {labels[last.group(1)]} ({why}); put words after it"
        found.append(("wa_variable_at_end", message, [last.group(1)]))
    return found


def _adjacent_issues(field: str, text: str, labels: Mapping[str, str]) -> list[tuple[str, str, list[str]]]:
    message = (
        "{} and {} are next to each other in the {}; WhatsApp rejects adjacent variables "
        "(spaces alone do not separate them). Put words between them"
    )
    return [
        ("wa_adjacent_variables", message.format(labels[m.group(1)], labels[m.group(2)], field),
         [m.group(1), m.group(2)])
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
        f"least {needed} (2 per variable + 1; a heuristic, not a documented rule). Add more text or use "
        "fewer variables"
    )
    return [("wa_too_few_words", message)]


def _whitespace_issues(field: str, text: str, labels: Mapping[str, str]) -> list[tuple[str, str]]:
    found = []
    if "\t" in text:
        message = f"the {field} contains a tab; Meta refuses tabs in values and reviewers often in the body. Use spaces"
        found.append(("wa_tab", message))
    if _SPACES.search(text):
        message = (
            f"the {field} has more than 4 consecutive spaces; Meta refuses that in values and reviewers "
            "often in the body. Use fewer"
        )
        found.append(("wa_consecutive_spaces", message))
    return found


def _emoji_issues(field: str, text: str, labels: Mapping[str, str]) -> list[tuple[str, str]]:
    count = emoji.emoji_count(text)
    if count <= MAX_EMOJIS:
        return []
    message = (
        f"the {field} has {count} emojis; templates with more than {MAX_EMOJIS} are often rejected "
        "(a heuristic from Twilio's list of rejection reasons). Remove some"
    )
    return [("wa_too_many_emojis", message)]


def _title_issues(context: ContentContext) -> list[Issue]:
    title = getattr(context, "title", None) if context.content_type == "twilio/card" else None
    if not title:
        return []
    issues = []
    if "\n" in title or "\r" in title:
        message = "the card title has a line break; WhatsApp rejects line breaks there. Keep it on one line"
        issues.append(Issue("title", "wa_newline_in_title", message, source=_WA))
    limit = facts.WA_HEADER_TEXT
    if getattr(context, "body", None) and char_count(title) > limit.value:
        message = (
            f"with a body, the card title likely becomes the WhatsApp header, which holds at most {limit.value} "
            f"characters (inferred from Meta's header limit); this one has {char_count(title)}. Shorten it"
        )
        issues.append(Issue("title", "wa_header_too_long", message, severity=_WARN, limit=limit.value, source=_WA,
                            url=limit.url))
    return issues


def _link_issues(context: ContentContext) -> list[Issue]:
    message = "{} has a wa.me link; WhatsApp rejects templates with wa.me links. Link to your own site"
    return [
        Issue(f.path, "wa_wa_me_link", message.format(f.path), source=_WA)
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
    return [Issue("template", "wa_variable_gap", message, source=_WA)]


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
            message += "; pass samples={...} to submit_for_approval (never a real customer's data)"
            issues.append(Issue(field, "wa_missing_sample", message, source=facts.TWILIO))
        elif any(char in str(value) for char in "\n\r\t") or _SPACES.search(str(value)):
            message = (
                f"the sample for {label} has a line break, a tab or more than 4 consecutive spaces; "
                "Meta forbids these in variable values. Use a single line"
            )
            issues.append(Issue(field, "wa_sample_whitespace", message, source=_WA))
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
