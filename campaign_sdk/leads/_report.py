"""The result of a lead load: every count, and every rejected row with its reason."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import pandas as pd

REJECTED_COLUMNS = ["row", "column", "value", "reason", "message"]


def empty_rejections() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in REJECTED_COLUMNS})


@dataclass
class LeadLoadReport:
    """What ``Campaign.add_leads`` did.

    ``rejected`` has one row per rejected input row (row number in the input, 0-based; the
    column; the offending value; a reason code; a message). ``missing_variables`` lists kept
    rows that lack a variable the template needs (the send would fail with Twilio error 21656).
    """

    campaign: str
    total_rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    skipped_opted_out: int = 0
    rejected: pd.DataFrame = field(default_factory=empty_rejections)
    missing_variables: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame({"row": [], "phone_number": [], "missing": []})
    )

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
        }

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
                out += (
                    f"<p>Rejected rows (first 10 of {self.rejected_count:,}):</p>"
                    + self.rejected.head(10).to_html(index=False)
                )
            return out + "</div>"
        except Exception:  # a repr must never raise in a notebook
            return html.escape(repr(self))
