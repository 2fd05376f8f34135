"""A file mirror's kept plan rows saved beside it at close (``delivery/_memo.py``: ``save`` /
``load``): a later process's first plan starts from them while the mirror (its identity), the
caches (their stamp) and the query are the same, reads again only what changed in the store in
between, and reads every row when it cannot know what changed; every such plan equals the plan
made without them."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from campaign_sdk import CampaignClient, DeliveryPolicy, FrequencyCap, TwilioTextContext
from campaign_sdk.analytics import mirror_for
from campaign_sdk.analytics._mirror import CACHE_SUFFIX
from campaign_sdk.delivery import _memo, _zone_cache

NOW = dt.datetime(2026, 7, 1, 15, 0, tzinfo=dt.UTC)
PHONES = ["+12125550100", "+14155550100", "+4915112345678", "+61412345678", "+819012345678"]
POLICY = DeliveryPolicy(caps=[FrequencyCap(limit=1, per="24h")], messaging_tier=2)
STAMP = "2026-07-01 14:00:00.000000"


@pytest.fixture
def store(sqlite_url: str) -> str:
    """A SQLite file store with one campaign of five leads, planned once and closed (its plan
    rows saved beside the mirror)."""
    with CampaignClient(sqlite_url) as client:
        campaign = client.create_campaign("Saved", content=TwilioTextContext(body="Hi {{lead_name}}, offers in {{city}}!"))
        rows = [{"phone_number": p, "lead_name": f"P{i}", "city": "Lisbon"} for i, p in enumerate(PHONES)]
        assert campaign.add_leads(pd.DataFrame(rows)).rejected.empty
        client.create_campaign("Other", content=TwilioTextContext(body="Hello"))
        campaign.plan(now=NOW, policy=POLICY)
    return sqlite_url


def _files(url: str) -> list[Path]:
    mirror = Path(url.removeprefix("sqlite:///") + CACHE_SUFFIX)
    return sorted(mirror.parent.glob(mirror.name + ".plan-*.arrow"))


def _raw(url: str) -> sqlite3.Connection:
    return sqlite3.connect(url.removeprefix("sqlite:///"))


def _first_plan(url: str, expected: str) -> pd.DataFrame:
    """The first plan of a new client (a new mirror: nothing in memory), checking how it got
    its rows (``loaded`` then reused / patched, or ``read``) and that it equals the first plan
    of another new client with nothing saved (the saved files put back after it)."""
    with CampaignClient(url) as client:
        before = dict(_memo.STATS)
        plan = client.campaign("Saved").plan(now=NOW, policy=POLICY)
        how = {k for k in ("loaded", "reused", "patched", "read") if _memo.STATS[k] > before.get(k, 0)}
        assert how == set(expected.split("+")), how
    saved = {path: path.with_suffix(".aside") for path in _files(url)}
    for path, aside in saved.items():
        path.rename(aside)
    with CampaignClient(url) as client:
        fresh = client.campaign("Saved").plan(now=NOW, policy=POLICY)
    for path in _files(url):
        path.unlink()
    for path, aside in saved.items():
        aside.rename(path)
    pd.testing.assert_frame_equal(pd.DataFrame(plan), pd.DataFrame(fresh), check_exact=True)
    return plan.set_index("phone_number")


def test_the_first_plan_of_a_new_client_starts_from_the_saved_rows(store: str) -> None:
    assert [p.name.rsplit(".plan-", 1)[1] for p in _files(store)] == ["found.arrow", "shown.arrow"]
    plan = _first_plan(store, "loaded+reused")
    assert plan.loc[PHONES[0], "message"] == "Hi P0, offers in Lisbon!"
    before = {p: p.stat().st_mtime_ns for p in _files(store)}
    _first_plan(store, "loaded+reused")  # nothing changed: the files are not written again
    assert {p: p.stat().st_mtime_ns for p in _files(store)} == before


def test_what_changed_while_no_client_was_open_is_read_again(store: str) -> None:
    """Changes another program made between two processes: the new mirror's first refresh says
    which rows changed, and only those are read again (the saved rows patched)."""
    with _raw(store) as raw:
        user = raw.execute("SELECT id FROM conversation_users WHERE phone_number = ?", [PHONES[0]]).fetchone()[0]
        raw.execute("UPDATE conversation_users SET opted_out_at = ? WHERE id = ?", [STAMP, user])
        raw.execute("UPDATE campaign_leads SET custom_variables = json_set(custom_variables, '$.lead_name', 'Zoë')"
                    " WHERE user_id = (SELECT id FROM conversation_users WHERE phone_number = ?)", [PHONES[1]])
        lead, other_user = raw.execute("SELECT id, user_id FROM campaign_leads WHERE user_id = (SELECT id FROM"
                                       " conversation_users WHERE phone_number = ?)", [PHONES[2]]).fetchone()
        raw.execute("INSERT INTO outbound_messages (sid, campaign_id, lead_id, user_id, to_number, status, created_at,"
                    " status_at, sent_at) VALUES (?, 1, ?, ?, ?, 'delivered', ?, ?, ?)",
                    ["SM" + "2" * 32, lead, other_user, PHONES[2], STAMP, STAMP, STAMP])
    plan = _first_plan(store, "loaded+patched")
    assert plan.loc[PHONES[0], "reason"] == "opted_out"
    assert plan.loc[PHONES[1], "message"] == "Hi Zoë, offers in Lisbon!"
    assert plan.loc[PHONES[2], "reason"] == "already_messaged"
    # the patched rows were saved at that client's close: the next one starts from them
    assert _first_plan(store, "loaded+reused").loc[PHONES[1], "message"] == "Hi Zoë, offers in Lisbon!"


def test_rows_saved_before_another_process_refreshed_the_mirror_are_read_again(store: str) -> None:
    """A client that refreshed the mirror after a change but planned nothing: the saved rows
    are of older generations whose changes this process cannot know: taken, then every row read."""
    with _raw(store) as raw:
        raw.execute("UPDATE conversation_users SET opted_out_at = ? WHERE phone_number = ?", [STAMP, PHONES[3]])
    with CampaignClient(store) as client, mirror_for(client.engine).reading():
        pass  # every mirrored table refreshed (the change read), nothing planned
    assert _first_plan(store, "loaded+read").loc[PHONES[3], "reason"] == "opted_out"


def test_saved_rows_of_another_cache_mirror_or_template_are_not_used(store: str, monkeypatch) -> None:
    monkeypatch.setattr(_zone_cache, "VERSION", _zone_cache.VERSION + " (another)")  # new place ids: rows written
    _first_plan(store, "read")
    monkeypatch.undo()
    _first_plan(store, "read")
    with CampaignClient(store) as client:  # the caches dropped: another stamp
        with mirror_for(client.engine).reading(()) as con:
            con.execute(f"DROP SCHEMA {_zone_cache.schema(con)} CASCADE")
    _first_plan(store, "read")
    _first_plan(store, "loaded+reused")
    with CampaignClient(store) as client:  # another template: another query
        client.campaign("Saved").update(content=TwilioTextContext(body="Hello {{lead_name}}!"))
    assert _first_plan(store, "read").loc[PHONES[4], "message"] == "Hello P4!"
    mirror = Path(store.removeprefix("sqlite:///") + CACHE_SUFFIX)
    mirror.unlink()  # a mirror made again: another identity, though its generations start alike
    assert _files(store)
    _first_plan(store, "read")


@pytest.mark.parametrize("damage", ["truncated", "one part missing", "parts of two saves"])
def test_damaged_saved_rows_are_not_used(store: str, damage: str) -> None:
    found, shown = _files(store)
    if damage == "truncated":
        found.write_bytes(found.read_bytes()[: found.stat().st_size // 2])
    elif damage == "one part missing":
        found.unlink()
    else:
        old = shown.read_bytes()
        with _raw(store) as raw:
            raw.execute("UPDATE conversation_users SET opted_out_at = ? WHERE phone_number = ?", [STAMP, PHONES[3]])
        _first_plan(store, "loaded+patched")  # saves both parts again, for newer generations
        shown.write_bytes(old)
    _first_plan(store, "read")


def test_a_process_that_exits_saves_its_rows_for_the_next(sqlite_url: str) -> None:
    """A real process that plans and exits without closing its client: its rows are saved as
    it exits, and this process's first plan starts from them."""
    script = f"""
import datetime as dt, pandas as pd
from campaign_sdk import CampaignClient, DeliveryPolicy, FrequencyCap, TwilioTextContext
client = CampaignClient({sqlite_url!r})
campaign = client.create_campaign("Saved", content=TwilioTextContext(body="Hi {{{{lead_name}}}}, offers in {{{{city}}}}!"))
rows = [{{"phone_number": p, "lead_name": f"P{{i}}", "city": "Lisbon"}} for i, p in enumerate({PHONES!r})]
assert campaign.add_leads(pd.DataFrame(rows)).rejected.empty
campaign.plan(now=dt.datetime(2026, 7, 1, 15, 0, tzinfo=dt.UTC),
              policy=DeliveryPolicy(caps=[FrequencyCap(limit=1, per="24h")], messaging_tier=2))
"""
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120, env={**os.environ})
    assert len(_files(sqlite_url)) == 2
    assert _first_plan(sqlite_url, "loaded+reused").loc[PHONES[2], "message"] == "Hi P2, offers in Lisbon!"


def test_a_mirror_in_memory_saves_nothing(pg_url: str) -> None:
    with CampaignClient(pg_url) as client:
        mirror = mirror_for(client.engine)
        assert mirror.cache_path is None and mirror.identity is None
