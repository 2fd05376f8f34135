"""The delivery policy: when (local time, weekdays) a message may arrive, and how many a person
may get across campaigns. Pure pydantic models; :mod:`._windows` turns them into moments.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import phonenumbers
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from campaign_sdk._exceptions import DeliveryPolicyError
from campaign_sdk.analytics import parse_window
from campaign_sdk.facts import scheduling

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = {name: name for name in DAYS} | {
    "monday": "mon", "tuesday": "tue", "wednesday": "wed", "thursday": "thu", "friday": "fri",
    "saturday": "sat", "sunday": "sun",
}
MINUTES_PER_DAY = 24 * 60


def _minute(value: Any, name: str) -> str:
    """``"9:00"`` / ``"09:00"`` / ``datetime.time`` -> ``"09:00"``; ``"24:00"`` is the day's end."""
    if isinstance(value, dt.time):
        value = value.strftime("%H:%M")
    text = str(value).strip()
    hours, sep, minutes = text.partition(":")
    if not (sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError(f"{name}={value!r} is not a time of day; write it like '09:00' or '21:30'")
    h, m = int(hours), int(minutes)
    if not (0 <= h <= 24 and 0 <= m < 60) or (h == 24 and m):
        raise ValueError(f"{name}={value!r} is not a time of day between 00:00 and 24:00")
    return f"{h:02d}:{m:02d}"


def minutes(hhmm: str) -> int:
    hours, _, mins = hhmm.partition(":")
    return int(hours) * 60 + int(mins)


def _problems(exc: ValidationError, model: type[BaseModel]) -> list[tuple[str, str]]:
    """pydantic's errors as (option, message) pairs in the SDK's words (no pydantic link or input
    dump); a nested policy model's own problems under its option's name (``caps.0.limit``)."""
    found: list[tuple[str, str]] = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(p) for p in error["loc"])
        kind, message = error["type"], str(error["msg"])
        nested = getattr(error.get("ctx", {}).get("error"), "problems", None)
        if nested is not None:
            found += [(".".join(p for p in (where, inner) if p), what) for inner, what in nested]
        elif kind == "missing":
            found.append((where, "is required"))
        elif kind == "extra_forbidden":
            found.append((where, f"is not an option of {model.__name__} (its options: {', '.join(model.model_fields)})"))
        elif message.startswith(("Value error, ", "Assertion failed, ")):
            found.append((where, message.split(", ", 1)[1]))
        else:
            found.append((where, f"{message[:1].lower()}{message[1:]} (got {error['input']!r})"))
    return found


class _Checked(BaseModel):
    """A policy model whose bad input raises :class:`DeliveryPolicyError` naming every problem at
    once, by option, in the SDK's words (its ``problems``: the (option, message) pairs)."""

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            problems = _problems(exc, type(self))
            lines = "\n".join(f"  - {where}: {what}" if where else f"  - {what}" for where, what in problems)
            raise DeliveryPolicyError(f"{type(self).__name__} has {len(problems)} problem(s):\n{lines}",
                                      problems=problems) from None


class SendWindow(_Checked):
    """Local hours and weekdays in which a message may arrive: from ``start`` (included) to
    ``end`` (excluded), on ``days``. A window may cross midnight (``start="20:00", end="02:00"``):
    it then belongs to the day it opens on, as quiet hours do in Braze or Klaviyo, so
    ``days=["fri", "sat"]`` allows Friday 20:00 to Saturday 02:00 and Saturday 20:00 to Sunday
    02:00 ("Friday and Saturday nights"), not Friday 00:00-02:00 (Thursday night).

    >>> SendWindow()  # the marketing default
    SendWindow(start='09:00', end='21:00', days=('mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'))
    >>> SendWindow(start="10:00", end="18:00", days=["mon", "tue", "wed", "thu", "fri"]).days[-1]
    'fri'
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: str = "09:00"
    end: str = "21:00"
    days: tuple[str, ...] = DAYS

    @field_validator("start", "end", mode="before")
    @classmethod
    def _time(cls, value: Any, info: Any) -> str:
        return _minute(value, info.field_name)

    @field_validator("days", mode="before")
    @classmethod
    def _days(cls, value: Any) -> tuple[str, ...]:
        items = [value] if isinstance(value, str) else list(value)
        bad = [d for d in items if str(d).strip().lower() not in _DAY_NAMES]
        if bad:
            raise ValueError(f"unknown weekday(s) {bad}; use {', '.join(DAYS)}")
        chosen = {_DAY_NAMES[str(d).strip().lower()] for d in items}
        return tuple(d for d in DAYS if d in chosen)

    @model_validator(mode="after")
    def _some_minute(self) -> SendWindow:
        if not self.days:
            raise ValueError("the send window allows no weekday, so no message could ever be sent; "
                             "give at least one day (e.g. days=['mon', 'tue', 'wed', 'thu', 'fri'])")
        whole_day = minutes(self.start) == 0 and minutes(self.end) == MINUTES_PER_DAY  # 00:00-24:00
        if not whole_day and minutes(self.start) % MINUTES_PER_DAY == minutes(self.end) % MINUTES_PER_DAY:
            raise ValueError(
                f"the send window {self.start}-{self.end} leaves no allowed minute (start equals "
                "end); for whole days give start='00:00', end='24:00' (with days=[...]), for no "
                "quiet hours at all pass window=None"
            )
        return self

    @classmethod
    def from_quiet_hours(cls, start: str, end: str, *, days: Any = DAYS) -> SendWindow:
        """The window outside quiet hours ``start``-``end`` (e.g. ``"21:00"``, ``"09:00"``)."""
        return cls(start=end, end=start, days=days)

    def pieces(self) -> list[tuple[int, int]]:
        """The allowed minutes of one allowed day, as ``[from, to)`` ranges counted from that day's
        midnight: a window across midnight ends on the next day (20:00-02:00 -> ``[(1200, 1560)]``).

        >>> SendWindow(start="20:00", end="02:00").pieces()
        [(1200, 1560)]
        """
        a, b = minutes(self.start) % MINUTES_PER_DAY, minutes(self.end)
        return [(a, b)] if a < b else [(a, b + MINUTES_PER_DAY)]

    def allows(self, local: dt.datetime) -> bool:
        """Whether the local wall-clock moment ``local`` is inside the window (after midnight, a
        window across midnight counts for the day before, the day it opened on)."""
        minute = local.hour * 60 + local.minute
        return any(
            DAYS[(local.weekday() - back) % 7] in self.days and a <= minute + back * MINUTES_PER_DAY < b
            for back in (0, 1) for a, b in self.pieces()
        )


class FrequencyCap(_Checked):
    """At most ``limit`` marketing messages per person in any ``per`` (e.g. ``"24h"``, ``"7d"``),
    counted across every campaign of the store.

    >>> FrequencyCap(limit=3, per="1w").per
    datetime.timedelta(days=7)
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    limit: int
    per: dt.timedelta

    @field_validator("limit")
    @classmethod
    def _limit(cls, value: int) -> int:
        if value < 1:
            raise ValueError(
                f"a frequency cap of {value} messages would block every send; use a limit of 1 or "
                "more, or leave the cap out"
            )
        return value

    @field_validator("per", mode="before")
    @classmethod
    def _per(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip()[:1].upper() == "P":
            return value  # ISO 8601 (as stored): pydantic parses it
        return parse_window(value)

    @field_validator("per")
    @classmethod
    def _positive(cls, value: dt.timedelta) -> dt.timedelta:
        if value <= dt.timedelta(0):
            raise ValueError(f"a cap's window must be positive, got {value}")
        return value


class DeliveryPolicy(_Checked):
    """How a campaign's messages are timed and capped.

    - ``window``: when marketing messages may arrive, in the recipient's local time (default
      09:00-21:00 every day); None lets them arrive at any hour.
    - ``service_window``: the same for service (transactional) messages; None (default): exempt.
    - ``countries``: per-country windows by ISO region (``{"DE": SendWindow(days=[...])}``, any
      case), replacing ``window`` for that country's marketing messages (also when ``window`` is
      None: "no quiet hours, except in Germany"), and ``service_window`` only when one is set
      (service stays exempt otherwise); ``None`` as a country's window: no quiet hours there.
    - ``caps``: frequency caps across campaigns (marketing only; service is exempt).
    - ``validity_period``: Twilio's ValidityPeriod in seconds (1..36,000) for each message.
    - ``messaging_tier``: WhatsApp's messaging limit (unique users reached outside their service
      window per rolling 24 h), set by Meta per business portfolio (shared by all its numbers;
      the plan counts this store's messages); None: the gateway's ``messaging_tier`` setting
      (None there too: no limit).

    >>> policy = DeliveryPolicy(caps=[{"limit": 1, "per": "24h"}, {"limit": 3, "per": "7d"}])
    >>> policy.window_for("marketing", "US"), policy.window_for("service", "US")
    (SendWindow(start='09:00', end='21:00', days=('mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun')), None)
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    window: SendWindow | None = SendWindow()
    service_window: SendWindow | None = None
    countries: dict[str, SendWindow | None] = {}
    caps: tuple[FrequencyCap, ...] = ()
    validity_period: int | None = None
    messaging_tier: int | None = None

    @field_validator("countries")
    @classmethod
    def _countries(cls, value: dict[str, SendWindow | None]) -> dict[str, SendWindow | None]:
        codes = {code: code.strip().upper() for code in value}
        bad = [code for code, iso in codes.items() if iso not in phonenumbers.SUPPORTED_REGIONS]
        if bad:
            raise ValueError(f"unknown country code(s) {bad}; use ISO 3166 regions such as 'US', 'DE', 'BR'")
        twice = sorted({iso for iso in codes.values() if list(codes.values()).count(iso) > 1})
        if twice:
            raise ValueError(f"country code(s) {twice} given more than once (in different cases); give each once")
        return {codes[code]: window for code, window in value.items()}

    @field_validator("validity_period")
    @classmethod
    def _validity(cls, value: int | None) -> int | None:
        low, high = scheduling.VALIDITY_PERIOD_MIN, scheduling.VALIDITY_PERIOD_MAX
        if value is not None and not low <= value <= high:
            raise ValueError(f"validity_period={value} s: Twilio accepts {low} to {high:,} seconds")
        return value

    @field_validator("messaging_tier")
    @classmethod
    def _tier(cls, value: int | None) -> int | None:
        if value is not None and value < 1:
            raise ValueError(f"messaging_tier={value}: a WhatsApp messaging limit is at least 1 user per 24 h")
        return value

    def window_for(self, category: str, country: str | None) -> SendWindow | None:
        """The window that applies to a ``category`` (marketing / service) message in ``country``:
        the country's own window when ``countries`` lists it (for service only when a
        ``service_window`` is set: service is exempt otherwise), else the category's window."""
        base = self.window if category == "marketing" else self.service_window
        if (category == "marketing" or base is not None) and country in self.countries:
            return self.countries[country]
        return base

    def caps_for(self, category: str) -> tuple[FrequencyCap, ...]:
        return self.caps if category == "marketing" else ()
