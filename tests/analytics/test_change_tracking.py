"""Change tracking the database keeps: every write, through the SDK or raw SQL from another
program, reaches the next metrics call. The mirror's tables come from the models."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import random

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from campaign_sdk import CampaignClient
from campaign_sdk.analytics import _store
from campaign_sdk.analytics._store import EXCLUDED, MIRRORED, NOT_MIRRORED, TABLES
from campaign_sdk.models import Base
from tests.analytics._helpers import at, campaign, convert, reply, send
from tests.analytics._reference import reference

WEEK = dt.timedelta(days=7)
_names = itertools.count(1)


def test_every_model_column_is_mirrored_or_excluded_with_a_reason() -> None:
    sources = {source: name for name, (source, _) in MIRRORED.items()}
    assert set(Base.metadata.tables) == set(sources) | set(NOT_MIRRORED)
    for source, table in Base.metadata.tables.items():
        if source in NOT_MIRRORED:
            continue
        mirrored = {c for c, _ in TABLES[sources[source]].columns}
        excluded = EXCLUDED.get(source, {})
        assert all(reason.strip() for reason in excluded.values())
        assert set(excluded) <= {c.name for c in table.columns}, f"{source}: excluded columns that do not exist"
        assert mirrored | set(excluded) == {c.name for c in table.columns}
        assert not mirrored & set(excluded)


def test_a_new_model_column_is_mirrored_without_code() -> None:
    metadata = sa.MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(metadata)
    metadata.tables["campaign_leads"].append_column(sa.Column("segment", sa.String(20)))
    leads = _store.tables_from(metadata)["leads"]
    assert ("segment", "text") in leads.columns and '"segment" VARCHAR' in leads.ddl
    assert ("variant", "text") in TABLES["leads"].columns  # added by the experiments migration, mirrored as is



def test_error_kind_and_unknown_status_of_messages_reach_the_mirror(sqlite_url) -> None:
    """Issue 11's columns are mirrored like every other (no column list to forget them in)."""
    from tests.inbox._seed import record_sids, seed_intents

    with CampaignClient(sqlite_url) as client:
        intents = seed_intents(client, 3)
        record_sids(client, intents)
        sids = [sid for *_, sid in intents]
        with pytest.warns(Warning, match="does not know"):
            client.record_statuses([{"sid": sids[0], "status": "failed", "error_code": 30008},
                                    {"sid": sids[1], "status": "exploded"}])
        query = "SELECT sid, error_kind, unknown_status FROM messages ORDER BY sid"
        assert [tuple(r) for r in client.sql(query).fetchall()] == [
            (sids[0], "undeliverable", None), (sids[1], None, "exploded"), (sids[2], None, None)]
    raw = sa.create_engine(sqlite_url)
    with raw.begin() as connection:  # another program, on the store of a persisted mirror
        connection.exec_driver_sql("UPDATE outbound_messages SET unknown_status = 'imploded' WHERE sid = ?",
                                   (sids[2],))
    raw.dispose()
    with CampaignClient(sqlite_url) as fresh:
        assert fresh.sql(query).fetchall()[2][2] == "imploded"

def test_an_in_place_edit_of_the_same_length_reaches_metrics_by_group(sqlite_url) -> None:
    """The bug that started it: another program rewrites custom_variables, same length, no updated_at."""
    A, B = "+14155550101", "+14155550102"
    with CampaignClient(sqlite_url) as client:
        spring = campaign(client, "Spring", [A, B], variables={"city": ["Lyon", "Lyon"]})
        send(client, spring, A, at(), "delivered")
        send(client, spring, B, at(), "delivered")
        assert set(client.metrics(by="city")["city"]) == {"Lyon"}
        raw = sa.create_engine(sqlite_url)
        with raw.begin() as connection:
            connection.exec_driver_sql(
                "UPDATE campaign_leads SET custom_variables = '{\"city\": \"Nice\"}' WHERE id = "
                "(SELECT min(id) FROM campaign_leads)")
        raw.dispose()
        assert sorted(client.metrics(by="city")["city"]) == ["Lyon", "Nice"]
    with CampaignClient(sqlite_url) as fresh:  # a new client starting from the mirror file
        assert sorted(fresh.metrics(by="city")["city"]) == ["Lyon", "Nice"]


# -- random writes, SDK and raw SQL, checked after every one -------------------------------------
PHONES = [f"+1415555{2000 + i:04d}" for i in range(8)]
CITIES = ["Lyon", "Nice", "Metz"]  # the same length: an edit changes no size
STATUSES = ["accepted", "sent", "delivered", "read", "failed", "undelivered"]
OPS = ["add_leads", "remove_lead", "send", "status", "reply", "convert",
       "raw_status", "raw_vars", "raw_delete_message", "raw_delete_reply", "raw_reinsert_reply",
       "raw_optout", "raw_insert_message_in_gap"]


class World:
    """A store written through the SDK and, as another program, through raw SQL."""

    def __init__(self, client: CampaignClient, url: str) -> None:
        self.client, self.raw = client, sa.create_engine(url)
        self.campaigns = [client.create_campaign(f"C{next(_names)}", template="welcome_offer")
                          for i in range(2)]
        self.pg = self.raw.dialect.name == "postgresql"
        self.deleted_replies: list[dict] = []

    def rows(self, sql: str) -> list[sa.Row]:
        with self.raw.connect() as connection:
            return list(connection.exec_driver_sql(sql))

    def write(self, sql: str, params: tuple = ()) -> None:
        if self.pg:
            sql = sql.replace("?", "%s")
        with self.raw.begin() as connection:
            connection.exec_driver_sql(sql, params)

    def do(self, op: str, rng: random.Random) -> None:
        target = rng.choice(self.campaigns)
        leads = self.rows(f"SELECT l.id, u.phone_number FROM campaign_leads l JOIN conversation_users u ON "
                          f"u.id = l.user_id WHERE l.campaign_id = {target.id} AND l.removed_at IS NULL ORDER BY l.id")
        messages = self.rows("SELECT id, sid FROM outbound_messages ORDER BY id")
        replies = self.rows("SELECT id, sid, user_id, body, kind, received_at FROM inbound_messages ORDER BY id")
        when = at(hours=rng.randrange(0, 24 * 10, 6))
        if op == "add_leads":
            import pandas as pd

            phones = rng.sample(PHONES, 2)
            target.add_leads(pd.DataFrame({"phone_number": phones, "city": [rng.choice(CITIES) for _ in phones]}))
        elif op == "remove_lead" and leads:
            target.remove_leads([rng.choice(leads)[1]])
        elif op == "send" and leads:
            phone = rng.choice(leads)[1]
            if not self.rows(f"SELECT 1 FROM outbound_messages m JOIN campaign_leads l ON l.id = m.lead_id "
                             f"JOIN conversation_users u ON u.id = l.user_id WHERE u.phone_number = '{phone}' "
                             f"AND m.campaign_id = {target.id}"):
                send(self.client, target, phone, when, *rng.sample(STATUSES[1:], rng.randint(0, 2)),
                     error_code=63016)
        elif op == "status" and messages:
            self.client.record_statuses([{"sid": rng.choice(messages)[1], "status": rng.choice(STATUSES[1:]),
                                          "timestamp": when, "error_code": 30008}])
        elif op == "reply":
            reply(self.client, rng.choice(PHONES), when, rng.choice(["yes", "STOP", "START", "hm"]))
        elif op == "convert":
            convert(self.client, rng.choice(PHONES), when)
        elif op == "raw_status" and messages:
            self.write("UPDATE outbound_messages SET status = ? WHERE id = ?",
                       (rng.choice(STATUSES), rng.choice(messages)[0]))
        elif op == "raw_vars" and leads:
            self.write("UPDATE campaign_leads SET custom_variables = ? WHERE id = ?",
                       (json.dumps({"city": rng.choice(CITIES)}), rng.choice(leads)[0]))
        elif op == "raw_delete_message" and messages:
            self.write("DELETE FROM outbound_messages WHERE id = ?", (rng.choice(messages)[0],))
        elif op == "raw_delete_reply" and replies:
            row = rng.choice(replies)
            self.write("DELETE FROM inbound_messages WHERE id = ?", (row[0],))
            self.deleted_replies.append(dict(row._mapping))
        elif op == "raw_reinsert_reply" and self.deleted_replies:  # an id below the highest, filled again
            row = self.deleted_replies.pop(rng.randrange(len(self.deleted_replies)))
            if self.rows(f"SELECT 1 FROM inbound_messages WHERE id = {row['id']}"):
                return  # SQLite gave the deleted highest id to a reply stored since: it is not free
            kind = rng.choice(["reply", "opt_out"])
            self.write("INSERT INTO inbound_messages (id, sid, user_id, body, kind, received_at) VALUES (?, ?, ?, ?, ?, ?)",
                       (row["id"], row["sid"] + "r", row["user_id"], row["body"], kind, row["received_at"]))
        elif op == "raw_optout":
            self.write("UPDATE conversation_users SET opted_out_at = ? WHERE phone_number = ?",
                       (rng.choice([None, "2026-03-02 10:00:00.000000"]), rng.choice(PHONES)))
        elif op == "raw_insert_message_in_gap" and messages and leads:
            gap = next((i for i in range(1, messages[-1][0]) if i not in {m[0] for m in messages}), None)
            lead = rng.choice(leads)[0]
            if gap is not None and not self.rows(f"SELECT 1 FROM outbound_messages WHERE lead_id = {lead}"):
                self.write("INSERT INTO outbound_messages (id, sid, campaign_id, lead_id, user_id, to_number, status,"
                           " created_at, status_at) SELECT ?, ?, campaign_id, id, user_id, 'x', 'delivered', ?, ?"
                           " FROM campaign_leads WHERE id = ?",
                           (gap, f"SMgap{gap}-{rng.random()}", when.replace(tzinfo=None).isoformat(" "),
                            when.replace(tzinfo=None).isoformat(" "), lead))

    def check(self) -> None:
        wide = self.client.metrics(reply_window="2d", attribution_window="7d")
        with self.client.transaction() as session:
            expected = reference(session, dt.timedelta(days=2), WEEK)["campaigns"]
        counts = list(next(iter(expected.values())))
        got = {int(r["campaign_id"]): {k: int(r[k]) for k in counts} for _, r in wide.iterrows()}
        assert got == expected
        for name, table in TABLES.items():  # every mirrored row equals the store's, column by column
            columns = ", ".join(c for c, _ in table.columns)
            mirror = self.client.sql(f"SELECT {columns} FROM {name} ORDER BY id").fetchall()
            store = self.rows(f"SELECT {columns} FROM {table.source} ORDER BY id")
            assert [r[0] for r in mirror] == [r[0] for r in store], name
            for mine, theirs in zip(mirror, store):
                assert [_plain(v) for v in mine] == [_plain(v) for v in theirs], (name, mine, theirs)


def _plain(value: object) -> object:
    """A value as both engines show it: times as naive UTC to the second, JSON parsed."""
    if isinstance(value, dt.datetime):
        value = value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value
        return value.replace(microsecond=0)
    if isinstance(value, str):
        if value[:1] in "{[":
            return json.loads(value)
        try:
            return dt.datetime.fromisoformat(value).replace(microsecond=0, tzinfo=None)
        except ValueError:
            return value
    if isinstance(value, dict):
        return value
    return value


@pytest.mark.filterwarnings("ignore:record_statuses.*could not be applied")
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
          phases=[Phase.explicit, Phase.generate])
@given(ops=st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 2**32)), min_size=1, max_size=15))
def test_random_sdk_and_raw_sql_writes_reach_every_metrics_call(client, store_url, ops) -> None:
    world = World(client, store_url)
    try:
        for op, seed in ops:
            world.do(op, random.Random(seed))
            world.check()
    finally:
        world.raw.dispose()


@pytest.mark.parametrize("case", ["reinsert_deleted_id", "fill_a_gap", "delete_only", "change_the_id"])
def test_raw_sql_rows_below_the_highest_id_are_found(store_url, case) -> None:
    A, B, C = "+14155550101", "+14155550102", "+14155550103"
    with CampaignClient(store_url) as client:
        spring = campaign(client, "Spring", [A, B, C])
        for phone in (A, B, C):
            send(client, spring, phone, at(), "delivered")
        for minutes, phone in enumerate((A, B, C)):
            reply(client, phone, at(minutes=10 + minutes))
        assert client.metrics()["messages_replied"][0] == 3
        world = World(client, store_url)
        first, middle, _ = world.rows("SELECT id, sid, user_id, received_at FROM inbound_messages ORDER BY id")
        world.write("DELETE FROM inbound_messages WHERE id = ?", (first[0],))
        if case != "delete_only":
            assert client.metrics()["messages_replied"][0] == 2  # the mirror's mark is past the deleted id now
        if case == "reinsert_deleted_id":  # the same id, now an opt-out
            world.write("INSERT INTO inbound_messages (id, sid, user_id, body, kind, received_at) VALUES "
                        "(?, ?, ?, 'STOP', 'opt_out', ?)", (first[0], first[1] + "x", first[2], first[3]))
            expected = {"messages_replied": 2, "opted_out": 1}
        elif case == "fill_a_gap":  # below the highest id, never used before
            world.write("DELETE FROM inbound_messages WHERE id = ?", (middle[0],))
            assert client.metrics()["messages_replied"][0] == 1
            world.write("INSERT INTO inbound_messages (id, sid, user_id, body, kind, received_at) VALUES "
                        "(?, 'SMgap', ?, 'ok', 'reply', ?)", (middle[0], middle[2], middle[3]))
            expected = {"messages_replied": 2, "opted_out": 0}
        elif case == "change_the_id":
            world.write("UPDATE inbound_messages SET id = id + 1000, kind = 'opt_out' WHERE id = ?", (middle[0],))
            expected = {"messages_replied": 1, "opted_out": 1}
        else:
            expected = {"messages_replied": 2, "opted_out": 0}
        wide = client.metrics()
        assert {k: int(wide[k][0]) for k in expected} == expected
        world.check()
        world.raw.dispose()
