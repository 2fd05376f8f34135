"""Bridge between pydantic errors and :class:`Issue` lists.

Validators collect every problem of a field as Issues and raise them together with
:func:`raise_issues` (one pydantic error whose context carries the Issues). :func:`issues_from_error`
turns a pydantic ``ValidationError`` back into Issues with paths such as ``"actions[1].title"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, NoReturn

from pydantic import ValidationError
from pydantic_core import PydanticCustomError

from campaign_sdk._exceptions import Issue

ISSUES_ERROR = "template_issues"

_TYPE_ERRORS = ("_type", "_parsing", "_from_float", "is_instance_of")


def raise_issues(issues: Sequence[Issue]) -> NoReturn:
    """Raise ``issues`` (paths relative to the value being validated) as one pydantic error.

    The Issues ride in the error's context, so severity, limit and source survive the trip.
    """
    if len(issues) == 1 and not issues[0].field:
        issue = issues[0]
        raise PydanticCustomError(issue.rule, "{message}", {"message": issue.message, "issues": (issue,)})
    summary = "; ".join(str(issue) if issue.field else f"{issue.message} [{issue.rule}]" for issue in issues)
    raise PydanticCustomError(ISSUES_ERROR, "{summary}", {"summary": summary, "issues": tuple(issues)})


def issues_from_error(exc: ValidationError, prefix: str = "") -> list[Issue]:
    """Every problem in ``exc`` as an Issue, in pydantic's order, paths prefixed by ``prefix``."""
    issues: list[Issue] = []
    for error in exc.errors(include_url=False):
        path = join_path(prefix, loc_to_path(error["loc"]))
        issues.extend(_error_issues(path, error))
    return issues


def loc_to_path(loc: Sequence[int | str]) -> str:
    """``("actions", 1, "URL", "title")`` -> ``"actions[1].title"``.

    Upper-case parts are the tags pydantic adds for the discriminated action union; they are dropped.
    """
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif not part.isupper():
            path = join_path(path, part)
    return path


def join_path(base: str, relative: str) -> str:
    """Join two field paths: ``join_path("media", "[0]") == "media[0]"``."""
    if not base or not relative:
        return base or relative
    return base + relative if relative.startswith("[") else f"{base}.{relative}"


def _error_issues(path: str, error: Any) -> list[Issue]:
    kind: str = error["type"]
    ctx = error.get("ctx") or {}
    if kind == ISSUES_ERROR or isinstance(ctx.get("issues"), tuple):
        return [replace(i, field=join_path(path, i.field)) for i in ctx["issues"]]
    if kind == "missing":
        return [Issue(path, "required", f"{_name(path)} is required; add it")]
    if kind == "extra_forbidden":
        return [Issue(path, "extra_field", f"{_name(path)!r} is not a field Twilio accepts here; remove it")]
    if kind == "union_tag_not_found":
        field = join_path(path, "type")
        return [Issue(field, "required", 'every action needs a \'type\', e.g. "QUICK_REPLY" or "URL"')]
    if kind == "union_tag_invalid":
        message = f"unknown action type {ctx.get('tag')!r}; use one of {ctx.get('expected_tags')}"
        return [Issue(join_path(path, "type"), "unknown_action_type", message)]
    if kind == "literal_error":
        return [Issue(path, "invalid_value", f"{_name(path)}: {error['msg']}")]
    if kind.endswith(_TYPE_ERRORS):
        return [Issue(path, "wrong_type", f"{_name(path)}: {error['msg']}")]
    return [Issue(path, kind, error["msg"])]


def _name(path: str) -> str:
    return path or "the template"
