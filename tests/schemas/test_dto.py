"""The CampaignSchema builder lives with the schemas: pure (no service, no store), and the one the
client uses for ``to_schema`` / ``schemas``."""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd

import campaign_sdk._campaign as campaign_module
from campaign_sdk import CampaignClient
from campaign_sdk.schemas import _dto

ROOT = Path(__file__).resolve().parents[2]


def test_the_builder_imports_only_the_schemas_layer() -> None:
    tree = ast.parse((ROOT / "campaign_sdk" / "schemas" / "_dto.py").read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert {m for m in imported if m.startswith("campaign_sdk")} <= {
        "campaign_sdk.schemas._compile", "campaign_sdk.schemas._content", "campaign_sdk.schemas._payloads"}
    assert not hasattr(campaign_module, "schema_for")


def test_to_schema_is_built_there(sqlite_url: str, monkeypatch) -> None:
    calls = []
    real = _dto.campaign_schema

    def spy(*args, **kwargs):
        calls.append(kwargs["context_variables"])
        return real(*args, **kwargs)

    import campaign_sdk.client as client_module

    monkeypatch.setattr(client_module, "campaign_schema", spy)
    with CampaignClient(sqlite_url) as client:
        campaign = client.create_campaign("Welcome", template="welcome_offer")
        campaign.add_leads(pd.DataFrame({"phone_number": ["+14155552671"], "lead_name": ["Ana"]}))
        schema = campaign.to_schema(include_leads=True)
    assert calls and schema.name == "Welcome" and schema.total_leads == 1
    assert schema.leads is not None and schema.leads[0].custom_variables == {"lead_name": "Ana"}
    assert schema.leads[0].created_at is not None and schema.leads[0].created_at.tzinfo is not None
