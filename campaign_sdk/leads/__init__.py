"""Loading leads from DataFrames, CSV / Parquet / Excel (.xlsx) files and CampaignLeadUser lists."""

from __future__ import annotations

from campaign_sdk.leads._dialect import InputFormat
from campaign_sdk.leads._input import LeadInput, read_input
from campaign_sdk.leads._load import load_leads, template_variables
from campaign_sdk.leads._report import LeadLoadReport
from campaign_sdk.leads._rows import TIMEZONE_VARIABLE, iana_zone

__all__ = [
    "TIMEZONE_VARIABLE",
    "InputFormat",
    "LeadInput",
    "LeadLoadReport",
    "iana_zone",
    "load_leads",
    "read_input",
    "template_variables",
]
