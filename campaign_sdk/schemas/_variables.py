"""Twilio ``{{key}}`` placeholders in plain text: find, check and substitute them.

Keys are ASCII letters, digits and underscores, 1 to 16 characters (``{{1}}``, ``{{lead_name}}``).
Twilio documents numeric and alphanumeric keys; the underscore is accepted because campaigns use
names such as ``{{lead_name}}`` and compile them to numbers before WhatsApp sees them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from campaign_sdk._exceptions import Issue
from campaign_sdk.facts.content import MAX_KEY_LENGTH, MAX_VARIABLES

__all__ = ["MAX_KEY_LENGTH", "MAX_VARIABLES", "find_variables", "is_valid_key", "placeholder_issues"]

# A candidate is anything between double braces that holds no brace itself; it is a variable
# only when its content is a valid key. Every other brace in the text is malformed.
_CANDIDATE = re.compile(r"\{\{([^{}]*)\}\}")
_KEY_CHARS = re.compile(r"[A-Za-z0-9_]+")
# Left-over braces: a bracketed run such as "{x}}" or "{{ x }" is one problem, a lone brace another.
_STRAY = re.compile(r"\{+[^{}]*\}+|[{}]+")


def is_valid_key(key: str) -> bool:
    """Whether ``key`` may appear as ``{{key}}``: 1-16 ASCII letters, digits or underscores."""
    return len(key) <= MAX_KEY_LENGTH and _KEY_CHARS.fullmatch(key) is not None


def find_variables(text: str) -> list[str]:
    """Return the keys of the well-formed ``{{key}}`` placeholders in ``text``, in order.

    Every occurrence is listed (a key used twice appears twice); malformed placeholders are
    skipped here: :func:`find_and_validate_variables` reports them.

    >>> find_variables("Hi {{lead_name}}, order {{1}} ships. Bye {{lead_name}}")
    ['lead_name', '1', 'lead_name']
    >>> find_variables("{{ broken }")
    []
    """
    return [m.group(1) for m in _CANDIDATE.finditer(text) if is_valid_key(m.group(1))]


def unique(keys: Iterable[str]) -> list[str]:
    """The keys without repeats, in order of first appearance."""
    return list(dict.fromkeys(keys))


def substitute(text: str, replace: Callable[[str], str]) -> str:
    """Replace every well-formed placeholder with ``replace(key)``; leave the rest untouched."""

    def _one(match: re.Match[str]) -> str:
        key = match.group(1)
        return replace(key) if is_valid_key(key) else match.group(0)

    return _CANDIDATE.sub(_one, text)


def placeholder_issues(text: str) -> list[Issue]:
    """Problems with the placeholder syntax of ``text`` (field paths are left empty).

    >>> [i.rule for i in placeholder_issues("Hi {{ name }} and {x}}")]
    ['malformed_placeholder', 'malformed_placeholder']
    """
    issues = [_candidate_issue(m.group(1)) for m in _CANDIDATE.finditer(text)]
    found = [issue for issue in issues if issue is not None]
    blanked = _CANDIDATE.sub(lambda m: " " * len(m.group(0)), text)
    found.extend(_stray_issue(text, m) for m in _STRAY.finditer(blanked))
    return found


def _candidate_issue(content: str) -> Issue | None:
    if is_valid_key(content):
        return None
    shown = "{{" + content + "}}"
    if not content.strip():
        return _malformed(f"{shown} is empty; put a key between the braces, e.g. {{{{first_name}}}}")
    if content.strip() != content and is_valid_key(content.strip()):
        return _malformed(f"{shown} has spaces inside the braces; write {{{{{content.strip()}}}}}")
    if _KEY_CHARS.fullmatch(content):
        return Issue(
            "",
            "variable_key_too_long",
            f"the key of {shown} is {len(content)} characters; Twilio allows at most "
            f"{MAX_KEY_LENGTH}. Use a shorter name.",
        )
    return _malformed(
        f"{shown} is not a valid variable; keys may use only letters, digits and underscores, with no spaces"
    )


def _stray_issue(text: str, match: re.Match[str]) -> Issue:
    start, end = match.span()
    shown = text[start:end] if end - start <= 40 else text[start : start + 37] + "..."
    return _malformed(
        f"unbalanced braces in {shown!r} at character {start}; write variables as {{{{key}}}}, "
        "with two braces on each side and no spaces"
    )


def _malformed(message: str) -> Issue:
    return Issue("", "malformed_placeholder", message)
