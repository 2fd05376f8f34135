"""The result of a lead load: every count, and every rejected row with its reason."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import pandas as pd

from campaign_sdk.leads._dialect import InputFormat

REJECTED_COLUMNS = ["row", "column", "value", "reason", "message"]
MISSING_COLUMNS = ["row", "phone_number", "missing"]
DUPLICATE_COLUMNS = ["row", "kept_row", "phone_number"]
OPTED_OUT_COLUMNS = ["row", "phone_number"]
ZONE_COLUMNS = ["row", "phone_number", "value", "suggestion"]


def empty_frame(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


def empty_rejections() -> pd.DataFrame:
    return empty_frame(REJECTED_COLUMNS)


@dataclass(frozen=True)
class LeadLoadReport:
    """What ``Campaign.add_leads`` did.

    Every input row is counted exactly once: ``total_rows == inserted + updated + unchanged +
    duplicates + skipped_opted_out + rejected_count``. Row numbers are 0-based positions in the
    input (for a CSV: data lines, the header not counted).

    - ``inserted``: new leads. ``updated``: leads whose custom variables changed, or that had been
      removed and are restored. ``unchanged``: already there with the same variables.
    - ``duplicates``: rows that name the same person as a later row (same E.164 number or user
      id); the last row wins. ``duplicate_rows`` lists them with the row that was kept.
    - ``skipped_opted_out``: people who opted out (STOP) are never enrolled; see ``opted_out_rows``.
    - ``rejected``: one row per rejected input row: ``row``, ``column``, the offending ``value``,
      a ``reason`` code and a ``message``. Reason codes:

      ``missing_phone``      no phone number (empty, NaN, None) and no user id
      ``no_region``          a national number but no ``default_region`` to read it with
      ``unparseable_phone``  libphonenumber cannot read it as a phone number
      ``invalid_phone``      libphonenumber parses it, but ``is_valid_number`` rejects it
      ``phone_too_long``     valid for libphonenumber but over the 15 digits E.164 allows
      ``invalid_user_id``    the user id is not a positive whole number
      ``unknown_user``       no conversation user has that id
      ``missing_variables``  (``strict=True`` only) the row lacks a variable the template needs

    - ``input_format``: how the input was read: for a CSV file the delimiter, encoding, BOM and
      whether the first line looks like a header, as detected (``str()`` says it in words).
    - ``missing_variables``: stored leads lacking a variable the template needs (``row``,
      ``phone_number``, ``missing`` names); a send to them would fail with Twilio error 21656.
    - ``invalid_timezones``: stored leads whose ``timezone`` column is not an IANA zone name
      (``row``, ``phone_number``, the ``value`` and a ``suggestion``: the zone it probably means,
      e.g. ``Europe/Paris`` for ``europe/paris``, or None): they are kept, and ``plan()`` / ``send()`` skip
      them with reason ``invalid_timezone`` until the value is fixed (e.g. ``America/New_York``)
      or removed (then the number's own zone applies). A warning, not a rejection: counted in
      ``counts`` and the repr as ``invalid_timezones`` when there are any, and explained by
      :meth:`timezone_warning`.

    >>> report = campaign.add_leads("leads.csv", default_region="US")   # doctest: +SKIP
    >>> report.rejected.groupby("reason").size()                        # doctest: +SKIP
    """

    campaign: str
    total_rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    skipped_opted_out: int = 0
    rejected: pd.DataFrame = field(default_factory=empty_rejections)
    missing_variables: pd.DataFrame = field(default_factory=lambda: empty_frame(MISSING_COLUMNS))
    duplicate_rows: pd.DataFrame = field(default_factory=lambda: empty_frame(DUPLICATE_COLUMNS))
    opted_out_rows: pd.DataFrame = field(default_factory=lambda: empty_frame(OPTED_OUT_COLUMNS))
    invalid_timezones: pd.DataFrame = field(default_factory=lambda: empty_frame(ZONE_COLUMNS))
    input_format: InputFormat = InputFormat("dataframe")

    @property
    def rejected_count(self) -> int:
        return len(self.rejected)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "rows": self.total_rows,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "duplicates": self.duplicates,
            "skipped_opted_out": self.skipped_opted_out,
            "rejected": self.rejected_count,
            "missing_variables": len(self.missing_variables),
        } | ({"invalid_timezones": len(self.invalid_timezones)} if len(self.invalid_timezones) else {})

    def timezone_warning(self, *, limit: int = 5) -> str | None:
        """What is wrong with the leads kept with a ``timezone`` that names no IANA zone, and
        what to do (None when there are none); the first ``limit`` rows are named
        (``invalid_timezones`` lists them all).

        >>> import pandas as pd
        >>> bad = pd.DataFrame({"row": [3], "phone_number": ["+14155552674"], "value": ["Mars/Olympus"],
        ...                     "suggestion": [None]})
        >>> report = LeadLoadReport(campaign="Promo", total_rows=4, inserted=4, invalid_timezones=bad)
        >>> report.counts["invalid_timezones"]
        1
        >>> print(report.timezone_warning())  # doctest: +NORMALIZE_WHITESPACE
        1 lead(s) kept with a timezone that is not an IANA zone name: row 3 (+14155552674)
        'Mars/Olympus'. plan() and send() skip them (reason invalid_timezone) until the timezone
        column holds a zone name such as America/New_York, or is left empty (the number's own
        zone then applies)
        """
        bad = self.invalid_timezones
        if not len(bad):
            return None
        head = f"{len(bad):,} lead(s) kept with a timezone that is not an IANA zone name"
        if limit > 0:
            head += ": " + "; ".join(
                f"row {r.row} ({r.phone_number}) {r.value!r}" + (f" (did you mean {r.suggestion}?)" if r.suggestion else "")
                for r in bad.head(limit).itertuples()
            ) + (f" and {len(bad) - limit:,} more" if len(bad) > limit else "")
        return (
            f"{head}. "
            "plan() and send() skip them (reason invalid_timezone) until the timezone column holds a zone "
            "name such as America/New_York, or is left empty (the number's own zone then applies)"
        )

    def __repr__(self) -> str:
        body = " ".join(f"{k}={v}" for k, v in self.counts.items())
        return f"<LeadLoadReport {self.campaign!r} {body}>"

    def _repr_html_(self) -> str:
        try:
            cells = "".join(
                f"<tr><th style='text-align:left'>{k}</th><td>{v:,}</td></tr>"
                for k, v in self.counts.items()
            )
            out = (
                f"<div><strong>Lead load into {html.escape(self.campaign)}</strong>"
                f"<table>{cells}</table>"
            )
            if self.rejected_count:
                reasons = self.rejected["reason"].value_counts().to_dict()
                summary = ", ".join(f"{html.escape(str(k))}: {v:,}" for k, v in reasons.items())
                out += (
                    f"<p>Rejected rows by reason: {summary}. First 10 of {self.rejected_count:,}:</p>"
                    + self.rejected.head(10).to_html(index=False)
                )
            if (warning := self.timezone_warning(limit=0)) is not None:
                out += (f"<p>Warning: {html.escape(warning)}. First 10:</p>"
                        + self.invalid_timezones.head(10).to_html(index=False))
            return out + "</div>"
        except Exception:  # a repr must never raise in a notebook
            return html.escape(f"<LeadLoadReport {self.campaign!r}>")
