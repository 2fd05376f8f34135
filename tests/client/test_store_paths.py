"""CampaignClient takes a SQLite file path as well as a SQLAlchemy URL."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import campaign_sdk as cs
from campaign_sdk._store import store_url


@pytest.mark.parametrize("as_path", [True, False], ids=["pathlib", "str"])
def test_a_file_path_opens_that_sqlite_file(tmp_path: Path, as_path: bool) -> None:
    target = tmp_path / "nested dir" / "my campaigns.db"
    target.parent.mkdir()
    client = cs.CampaignClient(target if as_path else str(target))
    client.create_campaign("Paths", template="welcome_offer")
    client.close()
    assert target.is_file()
    again = cs.CampaignClient(f"sqlite:///{target}")  # the same store through its URL
    assert list(again.campaigns()["name"]) == ["Paths"]
    again.close()


def test_a_relative_path_is_relative_to_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    cs.CampaignClient("rel.db").close()
    assert (tmp_path / "rel.db").is_file()
    assert store_url("rel.db") == "sqlite:///rel.db"
    assert store_url(Path("/abs/x.db")) == "sqlite:////abs/x.db"


def test_urls_pass_through_unchanged() -> None:
    assert store_url(None) == "sqlite:///campaigns.db"
    assert store_url("sqlite:///:memory:") == "sqlite:///:memory:"
    assert store_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize("bad", ["", "   ", "sqlite:/x.db", "postgresql:db"])
def test_an_empty_or_mistyped_store_is_refused_with_the_forms_that_work(bad: str) -> None:
    with pytest.raises(cs.InvalidArgumentError, match="sqlite:///"):
        cs.CampaignClient(bad)
    assert not os.path.exists(bad.strip() or "_")
