"""The simulated people: seeded draws of what happens to a message (delivery, reads, replies,
STOP, conversions) and of how WhatsApp's review decides a template.

Every draw comes from a ``random.Random`` seeded by the simulator's seed and the message (or
content) itself, never by timing or order, so concurrent runs are reproducible.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from campaign_sdk._enums import MessageStatus as S
from campaign_sdk.facts import errors
from campaign_sdk.facts.errors import Code
from campaign_sdk.simulator._rules import strings

REPLIES = ("Thanks!", "Yes please", "When will it arrive?", "Great, thank you", "Can you call me?")
REJECTION_MARKER = "[sandbox:reject]"
RATE_NAMES = ("delivery_rate", "read_rate", "reply_rate", "conversion_rate", "opt_out_rate")
Step = tuple[dt.timedelta, str, int | None]


def _default_failures() -> dict[int, float]:
    return {int(Code.INVALID_RECIPIENT): 3.0, int(Code.MARKETING_EXPERIMENT): 2.0, int(Code.UNKNOWN_ERROR): 1.0}


@dataclass
class Fate:
    """What happens to one message, as offsets from the moment it enters Twilio's queue."""

    timeline: list[Step]
    replies: list[tuple[dt.timedelta, str, str]] = field(default_factory=list)
    conversion: tuple[dt.timedelta, float] | None = None


@dataclass
class World:
    """The true rates of the simulated audience (``rates_by_text``: a template containing a text
    gets its own rates; ``baseline_conversion_rate``: people no message reached, never messaged or whose message failed,
    convert anyway)."""

    delivery_rate: float = 0.95
    read_rate: float = 0.6
    reply_rate: float = 0.15
    conversion_rate: float = 0.05
    opt_out_rate: float = 0.02
    failure_codes: Mapping[int, float] = field(default_factory=_default_failures)
    rates_by_text: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    baseline_conversion_rate: float = 0.0
    rejection_marker: str = REJECTION_MARKER

    def __post_init__(self) -> None:
        checked = [(name, getattr(self, name)) for name in RATE_NAMES]
        checked.append(("baseline_conversion_rate", self.baseline_conversion_rate))
        checked += [(f"rates_by_text[{t!r}][{k!r}]", v) for t, r in self.rates_by_text.items() for k, v in r.items()]
        for name, value in checked:
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must be between 0 and 1, not {value!r}")
        self.failure_codes = {int(c): w for c, w in self.failure_codes.items()}
        self.rates_by_text = {t: dict(r) for t, r in self.rates_by_text.items()}

    def rates(self, types: Mapping[str, Any] | None) -> dict[str, float]:
        """The true rates of a message of a content with ``types``: the defaults, overridden by the
        first ``rates_by_text`` entry whose text the template contains."""
        rates = {name: float(getattr(self, name)) for name in RATE_NAMES}
        texts = strings(types) if types else []
        for marker, override in self.rates_by_text.items():
            if any(marker in text for text in texts):
                return {**rates, **override}
        return rates

    def fate(self, rng: random.Random, rates: Mapping[str, float], reply_sid: str) -> Fate:
        """accepted -> sent (1-3 s) -> delivered or failed/undelivered (with a code) -> read, and
        perhaps a reply or STOP and a conversion later."""
        sent = dt.timedelta(seconds=rng.uniform(1, 3))
        fate = Fate([(dt.timedelta(), S.ACCEPTED, None), (sent, S.SENT, None)])
        if rng.random() >= rates["delivery_rate"]:
            codes, weights = zip(*sorted(self.failure_codes.items()), strict=True)
            code = rng.choices(codes, weights)[0]
            status = S.UNDELIVERED if code in errors.CARRIER_CODES else S.FAILED
            fate.timeline.append((sent + dt.timedelta(seconds=rng.uniform(1, 8)), status, code))
            return fate
        delivered = sent + dt.timedelta(seconds=rng.uniform(1, 5))
        fate.timeline.append((delivered, S.DELIVERED, None))
        if rng.random() < rates["read_rate"]:
            fate.timeline.append((delivered + dt.timedelta(seconds=rng.uniform(30, 7200)), S.READ, None))
        draw = rng.random()
        at = delivered + dt.timedelta(seconds=rng.uniform(60, 6 * 3600))
        if draw < rates["opt_out_rate"]:
            fate.replies.append((at, reply_sid, "STOP"))
        elif draw < rates["opt_out_rate"] + rates["reply_rate"]:
            fate.replies.append((at, reply_sid, rng.choice(REPLIES)))
        if rng.random() < rates["conversion_rate"]:
            value = round(rng.uniform(10, 200), 2)
            fate.conversion = (delivered + dt.timedelta(seconds=rng.uniform(600, 3 * 86400)), value)
        return fate

    def review(self, content_type: str, types: Mapping[str, Any], variables: Mapping[str, str]) -> tuple[str, str | None]:
        """WhatsApp's verdict on a template: ``("approved", None)`` or ``("rejected", reason)``: rejected
        when it holds the rejection marker or WhatsApp's lint finds an error (warnings pass)."""
        from campaign_sdk.schemas import lint_whatsapp, parse_content_context

        if any(self.rejection_marker in text for text in strings(types)):
            return "rejected", "sandbox: the template contains the rejection marker"
        try:
            context = parse_content_context(content_type, types[content_type])
            issues = lint_whatsapp(context, samples=dict(variables))
        except (ValueError, KeyError) as exc:
            return "rejected", f"sandbox: invalid content ({exc})"
        found = [issue for issue in issues if issue.is_error]
        return ("rejected", f"sandbox: {found[0].message}") if found else ("approved", None)

    def organic(self, rng: random.Random, start: dt.datetime) -> tuple[dt.datetime, float] | None:
        """Whether someone no message reached (never messaged, refused, failed, undelivered)
        converts anyway: when, and for how much."""
        if rng.random() < self.baseline_conversion_rate:
            return start + dt.timedelta(seconds=rng.uniform(600, 3 * 86400)), round(rng.uniform(10, 200), 2)
        return None

