"""Turning user input (DataFrame, CSV / Parquet path, CampaignLeadUser list) into stored leads."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from campaign_sdk._exceptions import LeadValidationError
from campaign_sdk._phone import PhoneNumberError, normalize_phone
from campaign_sdk.leads._report import REJECTED_COLUMNS, LeadLoadReport
from campaign_sdk.models import Campaign
from campaign_sdk.schemas import CampaignLeadUser, find_variables
from campaign_sdk.schemas._payloads import clean_custom_variables
from campaign_sdk.service import NormalizedLead, content_of, upsert_leads

LeadInput = pd.DataFrame | str | os.PathLike[str] | Sequence[CampaignLeadUser]


def read_input(data: LeadInput) -> pd.DataFrame:
    """The input as a DataFrame of strings (a CSV keeps leading zeros and '+')."""
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        if not path.exists():
            raise LeadValidationError(f"lead file {str(path)!r} does not exist")
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path, dtype=str, keep_default_na=True)
    rows = []
    for item in data:
        if not isinstance(item, CampaignLeadUser):
            raise LeadValidationError(
                f"add_leads takes a DataFrame, a CSV/Parquet path or CampaignLeadUser items; got {type(item).__name__}"
            )
        rows.append(
            {
                "phone_number": item.phone_number,
                "conversation_user_id": item.conversation_user_id,
                **item.custom_variables,
            }
        )
    return pd.DataFrame(rows)


def template_variables(campaign: Campaign) -> list[str]:
    """The variables the campaign's template needs from every lead."""
    content = content_of(campaign)
    texts: list[str] = []
    for value in content.model_dump(mode="json").values():
        texts.extend(_strings(value))
    found: list[str] = []
    for text in texts:
        for key in find_variables(text):
            if key not in found:
                found.append(key)
    return found


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def load_leads(
    session: Session,
    campaign: Campaign,
    data: LeadInput,
    *,
    phone_column: str = "phone_number",
    user_id_column: str | None = None,
    default_region: str | None = None,
    variables: Sequence[str] | None = None,
    strict: bool = False,
) -> LeadLoadReport:
    """Validate every row, collapse duplicates (last row wins), and upsert the leads.

    Runs inside the caller's transaction: the caller commits, or rolls back on any error.
    """
    frame = read_input(data)
    if isinstance(data, Sequence) and not isinstance(data, (str, pd.DataFrame)):
        user_id_column = "conversation_user_id" if user_id_column is None else user_id_column
    columns = _check_columns(frame, phone_column, user_id_column, variables)
    needed = template_variables(campaign)
    report = LeadLoadReport(campaign=campaign.name, total_rows=len(frame))
    rejected: list[dict[str, Any]] = []
    kept: dict[object, NormalizedLead] = {}
    missing: list[dict[str, Any]] = []
    cache: dict[str, str | PhoneNumberError] = {}
    records = frame.to_dict("records")
    for row_number, record in enumerate(records):
        lead = _normalize_row(
            row_number, record, phone_column, user_id_column, columns, default_region, cache, rejected
        )
        if lead is None:
            continue
        lacking = [v for v in needed if v not in lead.custom_variables]
        if lacking and strict:
            rejected.append(
                _reject(row_number, ",".join(lacking), None, "missing_variables",
                        f"the template needs {', '.join(lacking)}; a send would fail with Twilio error 21656")
            )
            continue
        key = lead.phone_number or lead.conversation_user_id
        if key in kept:
            report.duplicates += 1
        kept[key] = lead
        if lacking:
            missing.append({"row": row_number, "phone_number": lead.phone_number, "missing": lacking})
    counts = upsert_leads(session, campaign, list(kept.values()))
    for row in counts.unknown_user_rows or []:
        rejected.append(
            _reject(row if row is not None else -1, user_id_column or "conversation_user_id", None,
                    "unknown_user", "no conversation user has this id; add the lead by phone number")
        )
    report.inserted, report.updated, report.unchanged = counts.inserted, counts.updated, counts.unchanged
    report.skipped_opted_out = counts.skipped_opted_out
    report.rejected = pd.DataFrame(rejected, columns=REJECTED_COLUMNS).sort_values("row", kind="stable").reset_index(drop=True)
    kept_rows = {lead.row for lead in kept.values()}
    report.missing_variables = pd.DataFrame(
        [m for m in missing if m["row"] in kept_rows], columns=["row", "phone_number", "missing"]
    )
    return report


def _check_columns(
    frame: pd.DataFrame, phone_column: str, user_id_column: str | None, variables: Sequence[str] | None
) -> list[str]:
    identity = [c for c in (phone_column, user_id_column) if c is not None]
    present = [c for c in identity if c in frame.columns]
    if not present:
        raise LeadValidationError(
            f"the input has no {' or '.join(repr(c) for c in identity)} column; its columns are "
            f"{list(frame.columns)}. Pass phone_column= (or user_id_column=) naming the right one"
        )
    if variables is not None:
        unknown = [v for v in variables if v not in frame.columns]
        if unknown:
            raise LeadValidationError(f"variables {unknown} are not columns of the input {list(frame.columns)}")
        return list(variables)
    return [str(c) for c in frame.columns if c not in identity]


def _normalize_row(
    row_number: int,
    record: dict[str, Any],
    phone_column: str,
    user_id_column: str | None,
    variable_columns: list[str],
    default_region: str | None,
    cache: dict[str, str | PhoneNumberError],
    rejected: list[dict[str, Any]],
) -> NormalizedLead | None:
    variables = clean_custom_variables({c: record.get(c) for c in variable_columns})
    user_id = record.get(user_id_column) if user_id_column else None
    if user_id is not None and not (isinstance(user_id, float) and user_id != user_id) and str(user_id).strip():
        try:
            return NormalizedLead(None, variables, conversation_user_id=int(float(str(user_id))), row=row_number)
        except ValueError:
            rejected.append(_reject(row_number, user_id_column or "", user_id, "invalid_user_id",
                                    "a conversation user id is a positive whole number"))
            return None
    raw = record.get(phone_column)
    text = "" if raw is None or (isinstance(raw, float) and raw != raw) else str(raw)
    verdict = cache.get(text)
    if verdict is None:
        try:
            verdict = normalize_phone(text, default_region)
        except PhoneNumberError as exc:
            verdict = exc
        cache[text] = verdict
    if isinstance(verdict, PhoneNumberError):
        rejected.append(_reject(row_number, phone_column, raw, verdict.code, str(verdict)))
        return None
    return NormalizedLead(verdict, variables, row=row_number)


def _reject(row: int, column: str, value: Any, reason: str, message: str) -> dict[str, Any]:
    if isinstance(value, float) and value != value:
        value = None
    return {"row": row, "column": column, "value": value, "reason": reason, "message": message}
