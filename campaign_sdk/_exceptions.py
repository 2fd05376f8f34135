"""Exceptions raised by campaign_sdk.

Every error the SDK raises derives from :class:`CampaignError`, and also from the builtin it
resembles, so callers can catch either::

    CampaignError
    ├── TemplateValidationError (ValueError)      a content template breaks a Twilio / WhatsApp rule
    │   └── UnknownContentTypeError               content_type is not one the SDK supports
    ├── LeadValidationError (ValueError)          lead input is unusable (rows, columns, phone numbers)
    ├── InvalidArgumentError (ValueError)         an option or argument cannot be used as given
    ├── CampaignNotFoundError (LookupError)       no campaign with that id or name
    ├── DuplicateCampaignError (ValueError)       a campaign with that name already exists
    ├── CampaignStateError (RuntimeError)         the operation is not allowed in the campaign's state
    ├── GatewayError (RuntimeError)               the messaging gateway (Twilio, sandbox) failed; ``.kind``
    ├── DeliveryPolicyError (ValueError)          a schedule, send window, cap or price table cannot be used
    └── AnalyticsError (ValueError)               a metrics option is not understood (window, group, shape)

Messages name the campaign / row / field / rule involved and say what to do next.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from campaign_sdk.facts.errors import KINDS, ErrorKind, kind_of


class CampaignError(Exception):
    """Root of every exception raised by campaign_sdk."""


@dataclass(frozen=True)
class Issue:
    """One problem found while validating a template or a row.

    ``field`` is a path such as ``"body"`` or ``"actions[1].url"``; ``rule`` is a stable code
    (e.g. ``"max_length"``, ``"wa_variable_at_start"``) that tests and UIs can rely on.
    ``severity`` is ``"error"`` (a documented rule: Twilio or WhatsApp refuses) or ``"warning"``
    (a heuristic or an inferred rule: likely, not certain, to be refused). ``limit`` is the
    number the rule enforces, when it has one; ``source`` who enforces it (``"Twilio"``,
    ``"WhatsApp"``) and ``url`` where it is written.
    """

    field: str
    rule: str
    message: str
    severity: str = "error"
    limit: float | None = None
    source: str = ""
    url: str = ""

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def __str__(self) -> str:
        tag = "" if self.is_error else "warning: "
        where = f" ({self.source})" if self.source and self.source not in self.message else ""
        return f"{self.field}: {tag}{self.message}{where} [{self.rule}]"


class TemplateValidationError(CampaignError, ValueError):
    """A content template breaks one or more rules; ``.issues`` lists every one of them."""

    def __init__(self, issues: Sequence[Issue], *, content_type: str | None = None) -> None:
        self.issues: list[Issue] = list(issues)
        self.content_type = content_type
        where = f" {content_type}" if content_type else ""
        lines = "\n".join(f"  - {issue}" for issue in self.issues)
        super().__init__(
            f"The{where} template has {len(self.issues)} problem(s):\n{lines}\n"
            "Fix the fields listed above and validate again."
        )

    @property
    def rules(self) -> list[str]:
        """The rule codes of every issue, in order."""
        return [issue.rule for issue in self.issues]


class UnknownContentTypeError(TemplateValidationError):
    """The content type is not one the SDK supports."""

    def __init__(self, content_type: str, supported: Sequence[str]) -> None:
        issue = Issue(
            "content_type",
            "unknown_content_type",
            f"unknown content type {content_type!r}; supported: {', '.join(supported)}",
        )
        super().__init__([issue], content_type=None)


class LeadValidationError(CampaignError, ValueError):
    """Lead input cannot be used as given."""


class InvalidArgumentError(CampaignError, ValueError):
    """An option or argument cannot be used as given (the message says which and why)."""


class CampaignNotFoundError(CampaignError, LookupError):
    """No campaign matches the id or name asked for."""


class DuplicateCampaignError(CampaignError, ValueError):
    """A campaign with the same name already exists."""


class CampaignStateError(CampaignError, RuntimeError):
    """The operation is not allowed in the campaign's current state."""


class GatewayError(CampaignError, RuntimeError):
    """The messaging gateway failed. ``kind`` says what went wrong in gateway-neutral words
    (:class:`campaign_sdk.facts.errors.ErrorKind`: ``rate_limited``, ``server``,
    ``invalid_number``, ``opted_out``, ...); the SDK decides by it alone. ``code`` (Twilio's error
    code), ``status`` (HTTP status) and ``retry_after`` (seconds the gateway asked to wait) are
    kept for display when the gateway has them.

    >>> GatewayError("Twilio refused the number", kind="invalid_number", code=21211).kind
    <ErrorKind.INVALID_NUMBER: 'invalid_number'>
    >>> GatewayError("busy", code=20429, status=429).kind  # no kind given: read from Twilio's code
    <ErrorKind.RATE_LIMITED: 'rate_limited'>
    """

    def __init__(
        self, message: str, *, kind: ErrorKind | str | None = None, code: int | None = None,
        status: int | None = None, retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = ErrorKind(kind) if kind is not None else kind_of(code=code, status=status)
        self.code = code
        self.status = status
        self.retry_after = retry_after

    @property
    def per_lead(self) -> bool:
        """The failure is about one recipient or message (the lead fails, a send goes on)."""
        return KINDS[self.kind].per_lead


class AnalyticsError(CampaignError, ValueError):
    """A metrics / analytics option cannot be used as given (window, group, period, shape)."""


class UnknownStatusWarning(UserWarning):
    """Twilio reported a message status this SDK does not know; it was stored verbatim
    (``OutboundMessage.unknown_status``) and the message kept its latest known status."""


class DeliveryPolicyError(CampaignError, ValueError):
    """A delivery option cannot be used: a schedule in the past, quiet hours that leave no
    allowed minute, an unknown time zone, a price table without the needed columns.
    ``problems``: for a policy model's bad options, every (option, message) pair found."""

    def __init__(self, message: str, *, problems: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)
