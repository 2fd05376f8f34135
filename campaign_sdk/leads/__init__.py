"""Loading leads from DataFrames, CSV / Parquet files and CampaignLeadUser lists."""

from __future__ import annotations

from campaign_sdk.leads._input import LeadInput, read_input
from campaign_sdk.leads._load import load_leads, template_variables
from campaign_sdk.leads._phones import PhoneVerdicts, normalize_phones
from campaign_sdk.leads._report import LeadLoadReport

__all__ = [
    "LeadInput",
    "LeadLoadReport",
    "PhoneVerdicts",
    "load_leads",
    "normalize_phones",
    "read_input",
    "template_variables",
]
