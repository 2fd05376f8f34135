"""Field rules (length, variables, URL, phone, range) and the base model that applies them.

Each rule checks one field value and returns *every* problem it finds as Issues, so a field with
two problems reports both. Lengths are counted in UTF-16 code units (:func:`char_count`; an emoji
counts 2), the stricter reading of Twilio's rule (see :mod:`campaign_sdk.facts.content`).
Limits and their sources are read from :mod:`campaign_sdk.facts.content`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from campaign_sdk._exceptions import Issue
from campaign_sdk.facts import content as facts
from campaign_sdk.facts.numbers import E164
from campaign_sdk.schemas._issues import raise_issues
from campaign_sdk.schemas._variables import find_variables, placeholder_issues

_SCHEME = re.compile(r"https?://", re.IGNORECASE)

STRICTER = "the stricter limit is enforced"


def char_count(text: str) -> int:
    """Characters as Twilio counts them: UTF-16 code units (``char_count("😀") == 2``).

    >>> char_count("Hi"), char_count("olá"), char_count("👋🏽")
    (2, 3, 4)
    """
    return len(text.encode("utf-16-le")) // 2


class FieldRule(Protocol):
    """A check for one field; ``takes_variables`` says whether ``{{key}}`` may appear in it."""

    @property
    def takes_variables(self) -> bool: ...

    def check(self, name: str, value: Any) -> list[Issue]: ...


@dataclass(frozen=True)
class Text:
    """A text field of ``min_length..max_length`` characters (UTF-16 code units).

    ``note`` explains where the limit comes from; ``rendered_max`` / ``rendered_note`` are the limit
    once variables are filled in and its reason; ``no_variables`` says why variables are refused.
    ``source`` / ``url`` say who sets the limit and where it is written.
    """

    max_length: int
    min_length: int = 1
    variables: bool = False
    note: str = ""
    rendered_max: int | None = None
    rendered_note: str = "the channel rejects content over the field's limit (Twilio error 63021)"
    no_variables: str = "this field cannot hold variables in a WhatsApp template"
    source: str = facts.TWILIO
    url: str = ""

    @classmethod
    def of(cls, limit: facts.Limit, **options: Any) -> Text:
        """A Text rule for a :class:`~campaign_sdk.facts.content.Limit` (value, source, page)."""
        options.setdefault("note", limit.note)
        return cls(limit.value, source=limit.source, url=limit.url, **options)

    @property
    def takes_variables(self) -> bool:
        return self.variables

    def check(self, name: str, value: str) -> list[Issue]:
        issues = placeholder_issues(value)
        if not self.variables:
            issues += variable_not_allowed(name, value, self.no_variables)
        length = char_count(value)
        if length < self.min_length:
            message = f"{name} is empty; write some text (or leave the field out if it is optional)"
            issues.append(Issue("", "min_length", message, limit=self.min_length))
        if length > self.max_length:
            note = f" ({self.note})" if self.note else ""
            message = (
                f"{name} is {length:,} characters; {self.source} allows at most {self.max_length:,}{note}. "
                f"Shorten it by {length - self.max_length:,}."
            )
            issues.append(Issue("", "max_length", message, limit=self.max_length, source=self.source, url=self.url))
        return issues

    def rendered_issue(self, path: str, rendered: str) -> Issue | None:
        """A ``rendered_too_long`` Issue when ``rendered`` (variables filled in) is over the limit."""
        limit = self.rendered_max or self.max_length
        length = char_count(rendered)
        if length <= limit:
            return None
        message = (
            f"{path} is {length:,} characters once the variables are filled in; at most "
            f"{limit:,} are allowed: {self.rendered_note}. Shorten the text or the values."
        )
        return Issue(path, "rendered_too_long", message, limit=limit, source=self.source, url=self.url)


@dataclass(frozen=True)
class Url:
    """An absolute http(s) URL whose variables sit after the domain.

    ``variables="path"``: anywhere after the domain (media); ``"end"``: one variable, as the very
    last thing in the URL (URL buttons). ``needs_path`` asks for a ``/`` after the domain of a URL
    that holds a variable (Twilio's call-to-action page: the variable goes after the domain and
    a path separator); a static URL without a path is an ordinary URL.
    """

    variables: Literal["path", "end"] = "path"
    needs_path: bool = False

    @property
    def takes_variables(self) -> bool:
        return True

    def check(self, name: str, value: str) -> list[Issue]:
        issues = placeholder_issues(value)
        if not issues and any(char.isspace() for char in value):
            issues.append(Issue("", "url_invalid", f"{name} contains spaces; encode them as %20"))
        if not _SCHEME.match(value):
            message = f"{name} must be an absolute URL starting with https:// or http:// (got {value[:40]!r})"
            return [*issues, Issue("", "url_scheme", message)]
        return issues + (self._host_issues(name, value) or self._variable_issues(name, value))

    def _host_issues(self, name: str, value: str) -> list[Issue]:
        rest = value.split("://", 1)[1]
        host = re.split(r"[/?#]", rest, maxsplit=1)[0]
        if "{" in host or "}" in host:
            message = f"{name} has a variable in the domain; variables may go only after the domain"
            return [Issue("", "url_variable_position", message)]
        if not host:
            return [Issue("", "url_invalid", f"{name} has no domain after the scheme")]
        if self.needs_path and find_variables(value) and not rest[len(host) :].startswith("/"):
            message = (
                f"{name} holds a variable but no '/' after the domain; Twilio needs the variable in "
                f"the path (e.g. https://{host}/{{{{1}}}})"
            )
            return [Issue("", "url_path", message, source=facts.TWILIO)]
        return []

    def _variable_issues(self, name: str, value: str) -> list[Issue]:
        keys = find_variables(value)
        if self.variables == "end" and keys and (len(keys) > 1 or not value.endswith("{{" + keys[-1] + "}}")):
            message = (
                f"{name} may hold one variable, only at the very end of the URL "
                "(e.g. https://example.com/track/{{order_id}}); move it there"
            )
            return [Issue("", "url_variable_position", message)]
        return []


@dataclass(frozen=True)
class Phone:
    """An E.164 phone number (``+`` then up to 15 digits), never a variable."""

    @property
    def takes_variables(self) -> bool:
        return False

    def check(self, name: str, value: str) -> list[Issue]:
        issues = placeholder_issues(value)
        issues += variable_not_allowed(name, value, "phone numbers cannot hold variables")
        if issues or E164.fullmatch(value):
            return issues
        message = f"{name} {value!r} is not in E.164 format: '+', country code and number, e.g. +14155550100"
        return [Issue("", "e164", message)]


@dataclass(frozen=True)
class Range:
    """An integer between ``low`` and ``high`` inclusive."""

    low: float
    high: float
    unit: str = ""
    source: str = facts.TWILIO
    url: str = ""

    @property
    def takes_variables(self) -> bool:
        return False

    def check(self, name: str, value: float) -> list[Issue]:
        if self.low <= value <= self.high:
            return []
        message = f"{name} is {value:,}; {self.source} allows {self.low:,} to {self.high:,}{self.unit}"
        return [Issue("", "out_of_range", message, limit=self.high if value > self.high else self.low,
                      source=self.source, url=self.url)]


@dataclass(frozen=True)
class Items:
    """A list whose items each follow ``rule``, with at least ``min_items`` of them."""

    rule: Url
    min_items: int = 1

    @property
    def takes_variables(self) -> bool:
        return self.rule.takes_variables

    def check(self, name: str, value: list[str]) -> list[Issue]:
        issues = []
        if len(value) < self.min_items:
            message = f"{name} is empty; give at least {self.min_items} URL (or leave an optional field out)"
            issues.append(Issue("", "min_length", message))
        for index, item in enumerate(value):
            found = self.rule.check(f"{name}[{index}]", item)
            issues += [Issue(f"[{index}]", i.rule, i.message) for i in found]
        return issues


def variable_not_allowed(name: str, value: str, reason: str) -> list[Issue]:
    """One ``variable_not_allowed`` Issue when ``value`` holds a placeholder, else none."""
    keys = find_variables(value)
    if not keys:
        return []
    shown = ", ".join("{{" + key + "}}" for key in dict.fromkeys(keys))
    message = f"{name} holds {shown} but {reason}; write the text out instead"
    return [Issue("", "variable_not_allowed", message)]


class RuleModel(BaseModel):
    """Frozen, closed model whose fields are checked by the rules in ``field_rules``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field_rules: ClassVar[Mapping[str, FieldRule]] = {}

    @field_validator("*")
    @classmethod
    def _apply_field_rule(cls, value: Any, info: ValidationInfo) -> Any:
        rule = cls.field_rules.get(info.field_name or "")
        if rule is not None and value is not None:
            issues = rule.check(info.field_name or "", value)
            if issues:
                raise_issues(issues)
        return value

    @classmethod
    def variable_fields(cls) -> list[str]:
        """The fields of this model whose rule accepts variables, in declaration order."""
        return [name for name in cls.model_fields if _takes_variables(cls.field_rules.get(name))]


def _takes_variables(rule: FieldRule | None) -> bool:
    return rule is not None and rule.takes_variables
